"""Throughput: fuzzed examples and steps per CPU second, and exhaustive schedules per
CPU second, on scenarios that stay clean (so every example runs to the end).
Run: python benchmarks/bench_speed.py"""

import time

from mmfuzz.api import exhaust
from mmfuzz.api import fuzz

CLEAN = [("pagewalk", "v7.0", {}), ("fault-vs-invalidate", "v2.6.23", {}),
         ("punch-vs-fill", "v5.15", {"fs": "xfs"})]


def main():
    for scenario, kernel, options in CLEAN:
        t = time.process_time()
        r = fuzz(scenario, kernel, options=options, seed=1, max_examples=1000)
        dt = time.process_time() - t
        print(f"fuzz    {scenario:<22} {kernel:<8} {r.examples / dt:7.0f} examples/s "
              f"{r.executed_steps / dt:8.0f} steps/s")
    for scenario, kernel, options in CLEAN:
        t = time.process_time()
        r = exhaust(scenario, kernel, options=options, max_preemptions=2)
        dt = time.process_time() - t
        print(f"explore {scenario:<22} {kernel:<8} {r.examples / dt:7.0f} schedules/s "
              f"({r.examples} schedules, 2 preemptions)")


if __name__ == "__main__":
    main()
