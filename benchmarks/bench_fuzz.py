"""Fuzzing power: the fuzz machines (fuzz(schedule=...): bounded, the default; pct;
bursts) on every racy_on row of every scenario, cold end to end against SPIN, and the
memory of a long run.

Run: python benchmarks/bench_fuzz.py [--seeds 20] [--rows SUBSTRING,...] [--no-spin]
                                     [--machines bounded,pct,bursts] [--max-examples N]
                                     [--steady-examples 20] [--coverage]
     python benchmarks/bench_fuzz.py --memory SCENARIO --kernel K [--fs FS]
                                     [--with PATH=VERSION]... [--examples 50000] [--every 5000]

Per row and machine: the find rate over seeds 1..N at the ci profile's budget (or
--max-examples), then, over the seeds that found it, the median and largest examples
to the race, the median schedules run, CPU seconds to the first violation and to the
printed (canonical) race, the start-up (CPU ms from the fuzz() call to its first
schedule), fuzz steps/s to the first violation against the raw engine loop's (random
PCT runs, no Hypothesis), and the process's peak RSS so far. A quick find (a handful of
schedules in a few ms) measures start-up there, not speed; so the steady-state columns
run the machine (seed 1) for a fixed --steady-examples past every violation (the
benchmark swallows them) and give its steps/s against the raw loop's and against the
same schedules run with no Hypothesis at all (so the last ratio is the machine's own
overhead: draws, examples, handing out schedules).
Then `mmfuzz fuzz` cold (process start to exit, CPU of the child) for the three races
modelled in benchmarks/spin/, against SPIN's whole pipeline on the same race (spin -a,
gcc, BFS search, trail replay); SPIN is skipped when it is not installed.
--coverage runs the bounded machine on each row twice, without and with a target() on a
cheap interleaving-coverage score (switch pairs an example reached first), and says
whether the figures support building it in.
--memory runs one fuzz() of --examples in this process on a scenario and kernel (a
clean row, so that the whole budget runs; past the point where every schedule it can
draw has run, the machine stops early no more) and prints, every --every examples, the
schedules run, the CPU seconds, the current and the peak RSS.
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

from hypothesis import target

from mmfuzz.api import SCENARIOS, fuzz, load_races, prepare
from mmfuzz.engine import fuzz as engine_fuzz, profiles
from mmfuzz.engine.canonical import canonical
from mmfuzz.engine.run import Run
from mmfuzz.engine.fuzz import SCHEDULES
from mmfuzz.engine.schedule import MAX_DEPTH, run_pct, run_preemptive
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


def switch_pairs(run) -> set:
    """The interleaving a run exercised, cheaply: (step before, step after) at every
    switch from one CPU to another (what Snowboard/SegFuzz-style coverage approximates
    with write-then-read pairs; the engine records no footprints)."""
    trace = run.trace
    return {(a.label, b.label) for a, b in zip(trace, trace[1:]) if a.tid != b.tid}


def fuzz_row(name, row, seeds, schedule, max_examples=None, coverage=None):
    """Per seed: found, examples, runs, CPU s to the first violation, CPU s to the
    printed race, steps run, CPU s to the first schedule (canonical() is timed apart
    by wrapping it, the start-up by wrapping the schedule runners). coverage "target":
    each example reports through target() how many switch pairs it was the first to
    reach (the hook is fuzz(observe=True)'s, once per example), for Hypothesis to
    climb; "none": the same hook, reporting nothing (observe=True also lets Hypothesis
    replay the failing example, one more example counted: the same in both arms)."""
    spent, first = [0.0], [None]
    seen: set = set()
    fresh = [0]

    def timed(*args, **kw):
        t = time.process_time()
        try:
            return canonical(*args, **kw)
        finally:
            spent[0] += time.process_time() - t

    def starts(runner):
        def run(*args):
            if first[0] is None:
                first[0] = time.process_time()
            try:
                return runner(*args)
            finally:
                if coverage == "target":
                    new = switch_pairs(args[0]) - seen
                    seen.update(new)
                    fresh[0] += len(new)
        return run

    def observe(_run):
        if coverage == "target":
            target(float(fresh[0]), label="new switch pairs")
        fresh[0] = 0

    out = []
    patched = {"canonical": timed, "run_preemptive": starts(run_preemptive), "run_pct": starts(run_pct)}
    if coverage:
        patched["observe_run"] = observe
    saved = {k: getattr(engine_fuzz, k) for k in patched}
    for k, v in patched.items():
        setattr(engine_fuzz, k, v)
    try:
        for seed in seeds:
            spent[0], first[0], fresh[0] = 0.0, None, 0
            seen.clear()
            t = time.process_time()
            r = fuzz(name, row["kernel"], overrides=row.get("overrides"), options=row.get("options"),
                     seed=seed, schedule=schedule, max_examples=max_examples, observe=bool(coverage))
            total = time.process_time() - t
            start = (first[0] - t) if first[0] is not None else float("nan")
            out.append((r.found, r.examples, r.runs, total - spent[0], total, r.executed_steps, start))
    finally:
        for k, v in saved.items():
            setattr(engine_fuzz, k, v)
    return out


def steady_row(name, row, examples) -> tuple[float, float, int]:
    """The bounded machine's steps/s over a fixed budget (seed 1), every violation
    swallowed so the budget runs whole; then the same schedules, recorded, run again
    with no Hypothesis. (fuzz steps/s, same schedules' steps/s, schedules)"""
    plans = []

    def keep_going(run, points, offsets):
        plans.append((run.population, run.params, points, offsets))
        try:
            run_preemptive(run, points, offsets)
        except Violation:
            pass

    engine_fuzz.run_preemptive = keep_going
    try:
        t = time.process_time()
        r = fuzz(name, row["kernel"], overrides=row.get("overrides"), options=row.get("options"),
                 seed=1, max_examples=examples)
        fuzz_cpu = time.process_time() - t
    finally:
        engine_fuzz.run_preemptive = run_preemptive
    scen, versions, kcls = prepare(name, row["kernel"], row.get("overrides"), row.get("options"))
    steps, t = 0, time.process_time()
    for population, params, points, offsets in plans:
        run = Run(scen, kcls, population, params, versions)
        try:
            run_preemptive(run, points, offsets)
        except Violation:
            pass
        steps += len(run.trace)
    same_cpu = time.process_time() - t
    assert steps == r.executed_steps, "the schedules replayed are not the ones fuzz ran"
    return steps / fuzz_cpu, steps / same_cpu, len(plans)


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


def memory(a) -> None:
    """One fuzz() of a.examples in this process; every a.every examples: schedules run,
    CPU seconds, current and peak RSS (a machine is built per example: the hook)."""
    overrides = dict(w.split("=", 1) for w in a.with_)
    options = {"fs": a.fs} if a.fs else None
    page = os.sysconf("SC_PAGE_SIZE")
    runs, examples, start = [0], [0], time.process_time()

    def counted(*args):
        runs[0] += 1
        return run_preemptive(*args)

    class Sampled(engine_fuzz.RuleBasedStateMachine):
        def __init__(self):
            super().__init__()
            examples[0] += 1
            if examples[0] % a.every == 0:
                with open("/proc/self/statm") as f:
                    rss = int(f.read().split()[1]) * page / 2**20
                peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
                print(f"{examples[0]:>9} {runs[0]:>10} {time.process_time() - start:>8.1f} {rss:>8.0f} "
                      f"{peak:>8.0f}", flush=True)

    print(f"memory: fuzz {a.memory} --kernel {a.kernel}" + (f" --fs {a.fs}" if a.fs else "")
          + "".join(f" --with {w}" for w in a.with_) + f" --profile nightly --max-examples {a.examples} "
          f"--seed 1, one process, chunks of {engine_fuzz.CHUNK_EXAMPLES} examples")
    print(f"{'examples':>9} {'schedules':>10} {'cpu s':>8} {'rss MiB':>8} {'peak MiB':>8}")
    saved = engine_fuzz.RuleBasedStateMachine, engine_fuzz.run_preemptive, engine_fuzz.draw_targets
    # the machine stops once every schedule it can draw has run; the examples past that
    # still cost Hypothesis's bookkeeping, the most memory a budget can take: kept
    engine_fuzz.RuleBasedStateMachine, engine_fuzz.run_preemptive = Sampled, counted
    engine_fuzz.draw_targets = lambda *args: None
    try:
        r = fuzz(a.memory, a.kernel, overrides=overrides or None, options=options, seed=1,
                 max_examples=a.examples, profile="nightly")
    finally:
        engine_fuzz.RuleBasedStateMachine, engine_fuzz.run_preemptive, engine_fuzz.draw_targets = saved
    print(f"done: {'RACE ' + r.invariant if r.found else 'clean'}, {r.examples} examples, {r.runs} schedules, "
          f"{time.process_time() - start:.1f} CPU s, peak RSS "
          f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")


def row_label(name, row) -> str:
    return " ".join([name, row["kernel"]] + [f"--{k} {v}" for k, v in row.get("options", {}).items()]
                    + [f"--with {k}={v}" for k, v in row.get("overrides", {}).items()])


def coverage(a, seeds) -> None:
    """The bounded machine with and without target(new switch pairs) on each row."""
    budget = a.max_examples or profiles.CI_EXAMPLES
    print(f"coverage feedback: target(switch pairs an example reached first) against none, bounded machine, "
          f"{budget} examples, seeds 1..{a.seeds}. target() steers Hypothesis twice: while generating, a "
          "mutated example replaces the one it came from only if no target score drops; from half the budget "
          "on, it hill-climbs the scores. Examples to the race (medians and largest over the seeds that found "
          "it; both arms count Hypothesis's replay of the failing example); CPU s, median per seed")
    print(f"{'row':<58} {'':>8} {'found':>6} {'med ex':>6} {'max ex':>6} {'cpu s':>6}")
    totals = {"none": [0, 0], "target": [0, 0]}  # found, examples (an unfound seed counts the budget)
    worse_rows = 0
    for name, row in racy_rows():
        label = row_label(name, row)
        if not any(part in label for part in a.rows.split(",")):
            continue
        found = {}
        for cov in ("none", "target"):
            res = fuzz_row(name, row, seeds, "bounded", a.max_examples, coverage=cov)
            hit = [x for x in res if x[0]] or res
            found[cov] = sum(x[0] for x in res)
            totals[cov][0] += found[cov]
            totals[cov][1] += sum(x[1] if x[0] else budget for x in res)
            print(f"{label if cov == 'none' else '':<58} {cov:>8} {found[cov]:>3}/{len(res):<2} "
                  f"{statistics.median(x[1] for x in hit):>6.0f} {max(x[1] for x in hit):>6} "
                  f"{statistics.median(x[4] for x in res):>6.2f}", flush=True)
        worse_rows += found["target"] < found["none"]
    (f0, e0), (f1, e1) = totals["none"], totals["target"]
    keep = worse_rows == 0 and e1 <= 0.9 * e0
    print(f"all rows: none found {f0}, {e0} examples in all; target found {f1}, {e1} examples in all "
          f"({e1 / max(e0, 1):.2f}x), fewer finds on {worse_rows} row(s). Rule: worth building into the machine "
          f"only with no row found less often and at least 10 % fewer examples in all: "
          + ("met, a lever to build" if keep else "not met, so the machine has no target() "
                                                     "(fuzz(observe=True) still reports its statistics)"))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=20)
    ap.add_argument("--rows", default="", help="rows whose label holds one of these comma-separated strings")
    ap.add_argument("--no-spin", action="store_true")
    ap.add_argument("--machines", default=SCHEDULES[0], help=f"comma-separated, of {', '.join(SCHEDULES)}")
    ap.add_argument("--max-examples", type=int, help="default: the ci profile's")
    ap.add_argument("--steady-examples", type=int, default=20,
                    help="examples of the steady-state run per row (0: skip it)")
    ap.add_argument("--coverage", action="store_true",
                    help="instead: the bounded machine with and without a coverage target()")
    ap.add_argument("--memory", metavar="SCENARIO", help="measure one long run's memory instead")
    ap.add_argument("--kernel")
    ap.add_argument("--fs")
    ap.add_argument("--with", dest="with_", action="append", default=[], metavar="PATH=VERSION")
    ap.add_argument("--examples", type=int, default=50_000)
    ap.add_argument("--every", type=int, default=5_000)
    a = ap.parse_args()
    if a.memory:
        if not a.kernel:
            ap.error("--memory needs --kernel")
        memory(a)
        return
    seeds = range(1, a.seeds + 1)
    if a.coverage:
        coverage(a, seeds)
        return
    print(f"bounded: {engine_fuzz.BOUNDED_RULES} rules of {engine_fuzz.RUNS_PER_RULE} schedules an example, "
          f"ci {profiles.CI_EXAMPLES} examples, no Hypothesis shrink phase (canonical() prints the race). Kept "
          "because: each population's schedules run once, fewest preemptions first, so the 3-CPU rows are "
          "no longer left to chance; many runs a draw keep fuzz near the raw loop's steps/s; fewer rules an "
          "example keep Hypothesis's memory per example down (see engine/fuzz.py)")
    print(f"find rate over seeds 1..{a.seeds} at {a.max_examples or 'the ci'} examples; medians over "
          "the seeds that found it; CPU seconds (process time). 'start ms': fuzz() to its first schedule "
          "(settings, Hypothesis's set-up, the default run of the first population). 'find st/s': steps/s to "
          "the first violation, start-up included (a find of a few schedules measures start-up, not speed). "
          f"'steady': the bounded machine over {a.steady_examples} examples (seed 1) past every violation; "
          "'of raw': against the raw loop (random PCT runs, no Hypothesis); 'of same': against the same "
          "schedules run with no Hypothesis (the machine's own overhead)")
    print(f"{'row':<58} {'machine':<7} {'found':>6} {'med ex':>6} {'max ex':>6} {'runs':>6} "
          f"{'s find':>6} {'s race':>6} {'start ms':>8} {'find st/s':>9} {'of raw':>6} {'rss MiB':>7} "
          f"{'steady st/s':>11} {'of raw':>6} {'of same':>7}")
    for name, row in racy_rows():
        label = row_label(name, row)
        if not any(part in label for part in a.rows.split(",")):
            continue
        raw = raw_steps_per_second(name, row)
        steady = steady_row(name, row, a.steady_examples) if a.steady_examples else None
        for machine in a.machines.split(","):
            res = fuzz_row(name, row, seeds, machine, a.max_examples)
            hit = [x for x in res if x[0]] or res
            sps = statistics.median(x[5] / x[3] for x in res if x[3] > 0)
            line = (f"{label:<58} {machine:<7} {sum(x[0] for x in res):>3}/{len(res):<2} "
                    f"{statistics.median(x[1] for x in hit):>6.0f} {max(x[1] for x in hit):>6} "
                    f"{statistics.median(x[2] for x in hit):>6.0f} {statistics.median(x[3] for x in hit):>6.2f} "
                    f"{statistics.median(x[4] for x in hit):>6.2f} {1000 * statistics.median(x[6] for x in res):>8.1f} "
                    f"{sps:>9.0f} {sps / raw:>6.2f} "
                    f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:>7.0f}")
            if steady and machine == "bounded":
                line += f" {steady[0]:>11.0f} {steady[0] / raw:>6.2f} {steady[0] / steady[1]:>7.2f}"
            print(line, flush=True)
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
