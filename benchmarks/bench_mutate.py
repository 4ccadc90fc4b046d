"""`mmfuzz mutate` over three clean verdicts, every lock and declared mutant, each with the
scenario's explore_with populations and 2 preemptions (the issue's budget: under 60 s of
one core each).

Compares the search as mutate runs it (a lock mutant reuses the unmutated runs its site
made no difference to) with every mutant exploring every schedule again. CPU seconds
(time.process_time) are the figure to quote: the machine is shared, wall time is noisy.
Run: python benchmarks/bench_mutate.py [--no-compare]
"""

import sys
import time

from mmfuzz.api import mutate

TARGETS = [("pagewalk", "v7.0", {}), ("fault-vs-invalidate", "v2.6.23", {}),
           ("punch-vs-fault-around", "v5.9", {"fs": "xfs"})]


def timed(**kw):
    cpu, wall = time.process_time(), time.perf_counter()
    m = mutate(**kw)
    return m, time.process_time() - cpu, time.perf_counter() - wall


def main():
    compare = "--no-compare" not in sys.argv
    print(f"{'verdict':<34} {'mutants':>7} {'racy':>5} {'schedules':>10} {'CPU s':>7} {'wall s':>7}"
          + (f" {'no reuse CPU s':>15}" if compare else ""))
    # "no reuse": the mutants alone, every schedule run (without the unmutated exploration)
    for scenario, kernel, options in TARGETS:
        m, cpu, wall = timed(scenario=scenario, kernel=kernel, options=options)
        schedules = m.baseline.schedules + sum(r.schedules for r in m.results)
        line = (f"{scenario + ' ' + kernel:<34} {len(m.results):>7} {len(m.rests_on):>5} {schedules:>10} "
                f"{cpu:7.1f} {wall:7.1f}")
        if compare:  # the same mutants, each exploring every schedule (the unmutated run included)
            names = [r.mutant.name for r in m.results]
            slow, slow_cpu, _ = timed(scenario=scenario, kernel=kernel, options=options, only=names, baseline=False)
            assert [r.verdict for r in slow.results] == [r.verdict for r in m.results]
            line += f" {slow_cpu:15.1f}"
        print(line, flush=True)


if __name__ == "__main__":
    main()
