"""`explore --preemptions all` (the stateful search) against the bounded search at K=2, 3.

For each target of issue 9: distinct states, schedules (runs of the engine: each replays
a prefix), seconds, peak RSS of the search's own process, and the ratio of its seconds
to the bounded (stateless) search's at K=2 and K=3; then the same search with the
partial-order reduction (`--reduce`): its states and seconds. Each search runs in its own process
(`python -m mmfuzz explore ... --json`), so peak RSS is that search's. The budgets keep
the benchmark bounded: a search that hits one prints INCOMPLETE (and its figures so far).
SPIN's counts for the hand models of the same races: C-fix with every actor 1,869
states, A-fixed 5,306, B-real 939.

A hand model is one configuration (one initial state), while `explore` without --param
searches every combination of the scenario's parameters in turn; `--configs` searches
each combination on its own, the comparison with SPIN like for like.

`--granularity` is an experiment, not a verdict: it searches each target's first
parameter combination as if each CPU ran up to n of its atomic steps in a row (fewer
where it would block or end) for n = 1, 2, 3, to show how much of the distance to
SPIN's counts is the models' granularity (a hand model folds a few kernel steps into
one statement; mmfuzz yields at each point where another CPU may run).

Run: python benchmarks/bench_explore.py [--max-states N] [--max-runs N] [--only NAME]
     [--complete | --configs | --granularity]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

TARGETS = [
    # the six CPUs: the BAR's own .pte_entry walker came later, and is left out
    ("pagewalk v7.0", ["pagewalk", "--kernel", "v7.0"],
     "numa_maps=2,vfio_fault=2,vfio_zap=1,pte_walker=1,bar_pte_walker=0", 1869),
    ("fault-vs-invalidate v2.6.23", ["fault-vs-invalidate", "--kernel", "v2.6.23"],
     "fault=2,write=1,cow=1,odirect=1,read=1", 5306),
    ("punch-vs-fault-around xfs v5.8", ["punch-vs-fault-around", "--kernel", "v5.8", "--fs", "xfs"],
     "punch=1,fault=2", 939),
    ("punch-vs-fill xfs v5.15", ["punch-vs-fill", "--kernel", "v5.15", "--fs", "xfs"],
     "punch=1,fault=1,read=1,fadvise=1,reuse=1", 939),
]


# populations both searches of every interleaving complete: the reduction's effect in full
COMPLETE = [
    ("pagewalk v7.0, 4 CPUs", ["pagewalk", "--kernel", "v7.0", "--param", "bar_align=pud", "--param", "prefaulted=true"],
     "numa_maps=1,vfio_fault=1,vfio_zap=1,pte_walker=1,bar_pte_walker=0"),
    ("pagewalk-dax v6.12 fix, 2 walkers 2 faults",
     ["pagewalk-dax", "--kernel", "v6.12", "--with", "walk_page_range=3b89863c3fa4", "--param", "dax_align=pud",
      "--param", "prefaulted=false"], "numa_maps=2,dax_fault=2"),
    ("punch-vs-fault-around xfs v5.8", ["punch-vs-fault-around", "--kernel", "v5.8", "--fs", "xfs"], "punch=1,fault=2"),
]


def explore(args: list[str], actors: str, bound: str, max_states: int, max_runs: int, *extra: str) -> dict:
    cmd = [sys.executable, "-m", "mmfuzz", "explore", *args, "--actors", actors, "--preemptions", bound,
           "--max-states", str(max_states), "--max-runs", str(max_runs), "--json", *extra]
    out = subprocess.run(cmd, capture_output=True, text=True, env=os.environ.copy())
    if out.returncode not in (0, 1, 3):
        raise SystemExit(f"{' '.join(cmd)}: exit {out.returncode}: {out.stderr.strip()}")
    return json.loads(out.stdout)


def cell(r: dict) -> str:
    done = "" if r["complete"] else " INCOMPLETE"
    found = f" RACE {r['invariant']}" if r["found"] else ""
    return f"{r['schedules']:>8} sched {r['seconds']:7.1f} s{done}{found}"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--max-states", type=int, default=50_000)
    p.add_argument("--max-runs", type=int, default=200_000)
    p.add_argument("--only", help="run only targets whose name contains this")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--complete", action="store_true",
                      help="only the populations both searches complete: reduced against unreduced")
    mode.add_argument("--configs", action="store_true",
                      help="each parameter combination of the targets on its own, against SPIN's count")
    mode.add_argument("--granularity", action="store_true",
                      help="an experiment: each CPU runs up to 1, 2, 3 steps in a row, against SPIN's count")
    a = p.parse_args()
    if a.complete:
        return compare_complete(a)
    if a.configs:
        return compare_configs(a)
    if a.granularity:
        return compare_granularity(a)
    print(__doc__.split("\n\n")[0])
    print(f"budgets: {a.max_states} states, {a.max_runs} runs; one process per search\n")
    head = f"{'target':<32} {'states':>8} {'SPIN x':>7} {'all: schedules, seconds':>30} {'RSS MiB':>8}"
    print(head + f" {'K=2':>28} {'K=3':>28} {'all/K2':>7} {'all/K3':>7} {'--reduce: states, seconds':>34}")
    for name, args, actors, spin in TARGETS:
        if a.only and a.only not in name:
            continue
        full = explore(args, actors, "all", a.max_states, a.max_runs)
        k2 = explore(args, actors, "2", a.max_states, a.max_runs)
        k3 = explore(args, actors, "3", a.max_states, a.max_runs)
        reduced = explore(args, actors, "all", a.max_states, a.max_runs, "--reduce")
        print(f"{name:<32} {full['states']:>8} {full['states'] / spin:>7.1f} {cell(full):>30} "
              f"{full['peak_rss_mb']:>8.0f} {cell(k2):>28} {cell(k3):>28} "
              f"{full['seconds'] / max(k2['seconds'], 1e-3):>7.2f} {full['seconds'] / max(k3['seconds'], 1e-3):>7.2f} "
              f"{reduced['states']:>12} {reduced['seconds']:8.1f} s{'' if reduced['complete'] else ' INCOMPLETE'}",
              flush=True)


def compare_complete(a) -> None:
    print("--preemptions all with the partial-order reduction (--reduce) and without it,")
    print(f"on populations both complete; budgets {a.max_states} states, {a.max_runs} runs\n")
    print(f"{'target':<40} {'reduced: states, seconds, MiB':>32} {'unreduced: states, seconds, MiB':>34} {'states /':>9}")
    for name, args, actors in COMPLETE:
        if a.only and a.only not in name:
            continue
        red = explore(args, actors, "all", a.max_states, a.max_runs, "--reduce")
        plain = explore(args, actors, "all", a.max_states, a.max_runs)

        def fig(r):
            done = "" if r["complete"] else " INCOMPLETE"
            return f"{r['states']:>9} {r['seconds']:7.1f} s {r['peak_rss_mb']:5.0f}{done}"
        print(f"{name:<40} {fig(red):>32} {fig(plain):>34} {plain['states'] / max(red['states'], 1):>9.1f}",
              flush=True)


def configurations(args: list[str]) -> list[list[str]]:
    """The --param flags of each parameter combination the target's scenario searches."""
    from mmfuzz.api import get_scenario, load_races
    from mmfuzz.engine.target import param_combinations

    load_races()
    options = {"fs": args[args.index("--fs") + 1]} if "--fs" in args else None
    out = []
    for combo in param_combinations(get_scenario(args[0], options), None):
        out.append([f for name, value in combo.items() for f in ("--param", f"{name}={json.dumps(value)}")])
    return out


def target_of(args: list[str], actors: str, flags: list[str]) -> tuple:
    """(scenario, kernel class, versions, population, params) of a target's command line."""
    from mmfuzz.cli.args import parse_counts, parse_params
    from mmfuzz.engine.target import actor_bounds, prepare

    options = {"fs": args[args.index("--fs") + 1]} if "--fs" in args else None
    overrides = dict(v.split("=", 1) for f, v in zip(args, args[1:]) if f == "--with")
    scen, versions, kernel_cls = prepare(args[0], args[args.index("--kernel") + 1], overrides, options)
    population = [k for k, (_, hi) in actor_bounds(scen, parse_counts(actors)).items() for _ in range(hi)]
    return scen, kernel_cls, versions, population, parse_params(flags[1::2])


def steps_per_cpu(args: list[str], actors: str, flags: list[str]) -> str:
    """Each CPU's atomic steps on the schedule with no preemption: the granularity the
    search interleaves at (a hand model has a few statements per process)."""
    from mmfuzz.engine.run import Run

    scen, kernel_cls, versions, population, params = target_of(args, actors, flags)
    run = Run(scen, kernel_cls, population, params, versions)
    while (tid := run.default_task()) is not None:
        run.step(tid)
    return "+".join(str(sum(1 for t in run.trace if t.tid == task.id)) for task in run.tasks)


def compare_configs(a) -> None:
    print("--preemptions all for each parameter combination on its own (a hand model is one),")
    print(f"without and with --reduce; budgets {a.max_states} states, {a.max_runs} runs\n")
    print(f"{'target':<32} {'configuration':<56} {'steps per CPU':<22} {'states':>8} {'SPIN x':>7} "
          f"{'seconds':>9} {'MiB':>5} {'--reduce: states, seconds':>28}")
    for name, args, actors, spin in TARGETS:
        if a.only and a.only not in name:
            continue
        for flags in configurations(args):
            plain = explore(args + flags, actors, "all", a.max_states, a.max_runs)
            red = explore(args + flags, actors, "all", a.max_states, a.max_runs, "--reduce")
            done = "" if plain["complete"] else " INCOMPLETE"
            rdone = "" if red["complete"] else " INCOMPLETE"
            config = " ".join(flags[1::2])
            steps = steps_per_cpu(args, actors, flags)
            print(f"{name:<32} {config:<56} {steps:<22} {plain['states']:>8} {plain['states'] / spin:>7.1f} "
                  f"{plain['seconds']:7.1f} s {plain['peak_rss_mb']:>5.0f}{done} "
                  f"{red['states']:>12} {red['seconds']:8.1f} s{rdone}", flush=True)


def coarse_search(args: list[str], actors: str, flags: list[str], every: int, a) -> tuple:
    """(states, complete, seconds, the invariants broken) of the unreduced search of every
    interleaving, to its end (past a race), where each CPU runs up to `every` steps in a row."""
    from mmfuzz.engine.run import Run
    from mmfuzz.engine.search import Explorer

    class CoarseRun(Run):
        def step(self, tid: int) -> None:
            self._in_a_row(super().step, tid)

        def advance(self, tid: int) -> None:
            self._in_a_row(super().advance, tid)

        def _in_a_row(self, one, tid: int) -> None:
            one(tid)
            task = self.tasks[tid]
            for _ in range(every - 1):
                if not task.alive or type(task.pending) is not str:  # it would block: the others run
                    return
                one(tid)

    class CoarseExplorer(Explorer):
        def new_run(self, record: bool = False) -> Run:
            return CoarseRun(*self.args, **self.run_kw, record=record)

    scen, kernel_cls, versions, population, params = target_of(args, actors, flags)
    x = CoarseExplorer(scen, kernel_cls, versions, population, params, max_runs=a.max_runs, max_states=a.max_states)
    start = time.perf_counter()
    broken, complete = x.invariants_broken(None)
    return x.states, complete, time.perf_counter() - start, sorted(broken)


# races the coarser searches are asked to find: does each survive n steps in a row?
RACY = [
    ("pagewalk v6.12 (the 2026 race)", ["pagewalk", "--kernel", "v6.12"],
     "numa_maps=1,vfio_fault=1,vfio_zap=0,pte_walker=0,bar_pte_walker=0", None),
    ("punch-vs-fault-around, no re-unmap", ["punch-vs-fault-around", "--kernel", "v5.8", "--fs", "xfs", "--with",
                                             "truncate_inode_pages_range=no-reunmap"], "punch=1,fault=1", None),
]


def compare_granularity(a) -> None:
    print("An experiment, not a verdict: --preemptions all (unreduced) on each target's first")
    print("parameter combination with each CPU running up to n atomic steps in a row; the")
    print("coarser searches miss the interleavings inside those n steps (the last rows: races")
    print(f"they must find). Budget {a.max_states} states\n")
    print(f"{'target':<36} {'configuration':<36} {'SPIN':>6} "
          + " ".join(f"{f'n={n}: states, SPIN x, seconds':>36}" for n in (1, 2, 3)))
    for name, args, actors, spin in TARGETS + RACY:
        if a.only and a.only not in name:
            continue
        flags = configurations(args)[0]
        cells = []
        for every in (1, 2, 3):
            states, complete, seconds, found = coarse_search(args, actors, flags, every, a)
            note = (" RACE " + ",".join(found) if found else " clean" if spin is None else "") + \
                ("" if complete else " INCOMPLETE")
            ratio = f"{states / spin:6.1f}x" if spin else f"{'':>7}"
            cells.append(f"{states:>8} {ratio} {seconds:6.1f} s{note}")
        print(f"{name:<36} {' '.join(flags[1::2]):<36} {spin or '-':>6} " + " ".join(f"{c:>36}" for c in cells),
              flush=True)


if __name__ == "__main__":
    main()
