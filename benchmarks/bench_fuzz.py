"""Fuzzing power: the fuzz machines (fuzz(schedule=...): bounded, the default; pct;
bursts) on every racy_on row of every scenario, and cold end to end against SPIN.

Run: python benchmarks/bench_fuzz.py [--seeds 20] [--rows SUBSTRING] [--no-spin]
                                     [--machines bounded,pct,bursts] [--max-examples N]

Per row and machine: the find rate over seeds 1..N at the ci profile's budget (or
--max-examples), then, over the seeds that found it, the median and largest examples
to the race, the median schedules run, CPU seconds to the first violation and to the
printed (canonical) race, fuzz steps/s (to the first violation) against the raw
engine loop's (random PCT runs, no Hypothesis), and the process's peak RSS so far.
Then `mmfuzz fuzz` cold (process start to exit, CPU of the child) for the three races
modelled in benchmarks/spin/, against SPIN's whole pipeline on the same race (spin -a,
gcc, BFS search, trail replay); SPIN is skipped when it is not installed.
CPU time (resource/process_time) is quoted: the machine is shared, wall time is noise.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from mmfuzz.api import SCENARIOS, fuzz, load_races, prepare
from mmfuzz.engine import fuzz as engine_fuzz, profiles
from mmfuzz.engine.canonical import canonical
from mmfuzz.engine.run import Run
from mmfuzz.engine.fuzz import SCHEDULES
from mmfuzz.engine.schedule import MAX_DEPTH, run_pct
from mmfuzz.engine.target import actor_bounds
from mmfuzz.engine.violations import Violation

HERE = Path(__file__).parent
SPIN_RACES = [  # (CLI arguments, Promela model)
    (["pagewalk", "--kernel", "v6.12"], "pagewalk_v6_12.pml"),
    (["fault-vs-invalidate", "--kernel", "v2.6.20"], "fault_vs_invalidate_v2_6_20.pml"),
    (["punch-vs-fault-around", "--fs", "xfs", "--kernel", "v5.8",
      "--with", "truncate_inode_pages_range=no-reunmap"], "punch_vs_fault_around_v5_8.pml"),
]


def racy_rows():
    load_races()
    for name, cls in sorted(SCENARIOS.items()):
        for row in cls.racy_on:
            yield name, row


def raw_steps_per_second(name, row, runs=300) -> float:
    """The engine alone: random PCT runs of random populations, no Hypothesis."""
    scen, versions, kcls = prepare(name, row["kernel"], row.get("overrides"), row.get("options"))
    rng = random.Random(1)
    bounds = actor_bounds(scen, None)
    steps, t = 0, time.process_time()
    for _ in range(runs):
        pop = [k for k, (lo, hi) in bounds.items() for i in range(hi) if i < lo or rng.random() < 0.5]
        params = {p: rng.choice(v) for p, v in scen.params.items()}
        run = Run(scen, kcls, pop, params, versions)
        order = list(range(len(pop)))
        rng.shuffle(order)
        try:
            run_pct(run, order, [rng.randrange(40) for _ in range(rng.randrange(MAX_DEPTH))])
        except Violation:
            pass
        steps += len(run.trace)
    return steps / (time.process_time() - t)


def fuzz_row(name, row, seeds, schedule, max_examples=None):
    """Per seed: found, examples, runs, CPU s to the first violation, CPU s to the
    printed race, steps run (canonical() is timed apart by wrapping it)."""
    spent = [0.0]

    def timed(*args, **kw):
        t = time.process_time()
        try:
            return canonical(*args, **kw)
        finally:
            spent[0] += time.process_time() - t

    out = []
    engine_fuzz.canonical = timed
    try:
        for seed in seeds:
            spent[0] = 0.0
            t = time.process_time()
            r = fuzz(name, row["kernel"], overrides=row.get("overrides"), options=row.get("options"),
                     seed=seed, schedule=schedule, max_examples=max_examples)
            total = time.process_time() - t
            out.append((r.found, r.examples, r.runs, total - spent[0], total, r.executed_steps))
    finally:
        engine_fuzz.canonical = canonical
    return out


def cold_cli(args, seed) -> float:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run([sys.executable, "-m", "mmfuzz", "fuzz", *args, "--seed", str(seed)],
                   stdout=subprocess.DEVNULL, env=dict(os.environ))
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime


def spin_pipeline(model) -> float | None:
    """CPU seconds of spin -a, gcc, the BFS search and the trail replay (children)."""
    if shutil.which("spin") is None or shutil.which("gcc") is None:
        return None
    with tempfile.TemporaryDirectory() as d:
        shutil.copy(HERE / "spin" / model, d)
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        for cmd in (["spin", "-a", model], ["gcc", "-O2", "-DBFS", "-o", "pan", "pan.c"], ["./pan"],
                    ["spin", "-t", "-p", model]):
            subprocess.run(cmd, cwd=d, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        assert (Path(d) / f"{model}.trail").exists(), f"SPIN found no violation in {model}"
    return after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=20)
    ap.add_argument("--rows", default="")
    ap.add_argument("--no-spin", action="store_true")
    ap.add_argument("--machines", default=SCHEDULES[0], help=f"comma-separated, of {', '.join(SCHEDULES)}")
    ap.add_argument("--max-examples", type=int, help="default: the ci profile's")
    a = ap.parse_args()
    seeds = range(1, a.seeds + 1)
    print(f"bounded: {engine_fuzz.BOUNDED_RULES} rules of {engine_fuzz.RUNS_PER_RULE} schedules an example, "
          f"ci {profiles.CI_EXAMPLES} examples, no Hypothesis shrink phase (canonical() prints the race). Kept "
          "because: each population's schedules run once, fewest preemptions first, so the 3-CPU rows are "
          "no longer left to chance; many runs a draw keep fuzz near the raw loop's steps/s; fewer rules an "
          "example keep Hypothesis's memory per example down (see engine/fuzz.py)")
    print(f"find rate over seeds 1..{a.seeds} at {a.max_examples or 'the ci'} examples; medians over "
          "the seeds that found it; CPU seconds (process time)")
    print(f"{'row':<58} {'machine':<7} {'found':>6} {'med ex':>6} {'max ex':>6} {'runs':>6} "
          f"{'s find':>6} {'s race':>6} {'steps/s':>8} {'of raw':>6} {'rss MiB':>7}")
    for name, row in racy_rows():
        label = " ".join([name, row["kernel"]] + [f"--{k} {v}" for k, v in row.get("options", {}).items()]
                         + [f"--with {k}={v}" for k, v in row.get("overrides", {}).items()])
        if a.rows not in label:
            continue
        raw = raw_steps_per_second(name, row)
        for machine in a.machines.split(","):
            res = fuzz_row(name, row, seeds, machine, a.max_examples)
            hit = [x for x in res if x[0]] or res
            sps = statistics.median(x[5] / x[3] for x in res if x[3] > 0)
            print(f"{label:<58} {machine:<7} {sum(x[0] for x in res):>3}/{len(res):<2} "
                  f"{statistics.median(x[1] for x in hit):>6.0f} {max(x[1] for x in hit):>6} "
                  f"{statistics.median(x[2] for x in hit):>6.0f} {statistics.median(x[3] for x in hit):>6.2f} "
                  f"{statistics.median(x[4] for x in hit):>6.2f} {sps:>8.0f} {sps / raw:>6.2f} "
                  f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:>7.0f}", flush=True)
    if a.no_spin:
        return
    print("\ncold end to end, CPU seconds, median over seeds 1..5 (fuzz) / 3 runs (SPIN)")
    for args, model in SPIN_RACES:
        cold = statistics.median(cold_cli(args, s) for s in range(1, 6))
        spin = [spin_pipeline(model) for _ in range(3)]
        spin_s = "not installed" if spin[0] is None else f"{statistics.median(spin):.2f}"
        print(f"  mmfuzz fuzz {' '.join(args):<90} {cold:6.2f}   spin {spin_s}")


if __name__ == "__main__":
    main()
