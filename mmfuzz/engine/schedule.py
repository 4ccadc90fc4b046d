"""PCT schedules: random priorities plus d-1 priority change points.

Burckhardt et al., "A Randomized Scheduler with Probabilistic Guarantees of Finding
Bugs" (ASPLOS 2010): give the n tasks distinct priorities, always run the highest-
priority runnable one, and at each of d-1 change points (step indices in 0..k-1) drop
the running task below every other. A race that needs d ordering constraints is then
found by one run with probability at least 1/(n k^(d-1)).

The schedule is plain data (a priority order and the change points), so the fuzzer
draws it from Hypothesis's choices: it shrinks to fewer change points, earlier ones,
and the identity order, which is the engine's default schedule (lowest id first,
keep running it).
"""

from __future__ import annotations

from .run import Run
from .violations import Violation

# the deepest schedule drawn: the modelled races need at most three ordering
# constraints (two change points); one more keeps a margin for new races
MAX_DEPTH = 4


def run_pct(run, order, change_points) -> None:
    """Run `run` to its end: `order` lists task ids, highest priority first; at each
    step index in `change_points` the task about to run drops to the lowest priority
    (a later change point lower still) before the highest runnable one is picked."""
    order = list(order)
    points = sorted(set(change_points), reverse=True)
    tasks = run.tasks
    runnable = run.runnable
    i = 0
    while True:
        for tid in order:
            if runnable(tasks[tid]):
                break
        else:
            return
        if points and points[-1] <= i:
            points.pop()
            order.remove(tid)
            order.append(tid)
            continue
        run.step(tid)
        i += 1


def sequential_length(scenario, kernel_cls, versions, population, params, cache: dict) -> int:
    """Steps in the population's default schedule (k, the range of a change point),
    cached: it depends only on the population and parameters."""
    key = (tuple(population), repr(sorted(params.items())))
    k = cache.get(key)
    if k is None:
        run = Run(scenario, kernel_cls, population, params, versions)
        try:
            run.finish()
        except Violation:
            pass
        k = cache[key] = max(1, len(run.trace))
    return k
