"""How fast races are found and how small they shrink; with and without the explain
phase and the minimizer. Run: python benchmarks/bench_shrink.py [seeds]

Prints, per configuration, the median seconds (CPU) to a reported race and the shrunk
(CPUs, switches, steps) for each seed. The minimal C.4 race is (2, 2, 11).
"""

import statistics
import sys
import time

from mmfuzz.api import fuzz

CONFIGS = {
    "default (no explain, minimizer)": dict(),
    "with explain phase": dict(explain=True),
    "without the minimizer": dict(minimize_race=False),
}


def main(seeds):
    for name, kw in CONFIGS.items():
        times, shapes = [], []
        for seed in seeds:
            t = time.process_time()
            r = fuzz("pagewalk", "v6.12", seed=seed, max_examples=3000, **kw)
            times.append(time.process_time() - t)
            shapes.append((len(r.population), r.switches, r.steps) if r.found else None)
        print(f"{name:<34} median {statistics.median(times):6.2f}s cpu   shapes {shapes}")


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [1, 2, 3])
