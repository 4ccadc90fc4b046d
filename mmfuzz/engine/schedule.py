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

from math import comb

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


# -- preemption-bounded schedules, each run once -------------------------------------
# The default machine's schedule: the engine's default one (keep running the current
# task, else the lowest runnable) with m preemptions, each a step index at which the
# task about to run is replaced by another runnable one. For n tasks and k steps there
# are C(k, m) (n-1)^m of them, few enough to run each one once: a population's
# schedules are taken without replacement, fewest preemptions first (as CHESS bounds
# them), so a race with m preemptions is found within the first sum_{j<=m} C(k, j)
# (n-1)^j runs of its population and parameters, whatever the seed.
MAX_PREEMPTIONS = 3
# Above this many schedules of one bound, draw with replacement (repeats are rare in a
# space this large) instead of keeping a byte per schedule.
TRACKED = 1 << 18
_MIX = 0x9E3779B97F4A7C15  # Fibonacci hashing: spreads Hypothesis's small integers


def run_preemptive(run, points, offsets) -> None:
    """Run `run` to its end under the default schedule, except at each step index in
    `points` (increasing): there the task the default would run gives way to the
    runnable task `offsets[j]` places after it in id order (wrapping; modulo the
    runnable others, so a preemption is only lost when no other task can run)."""
    tasks = run.tasks
    runnable = run.runnable
    n = len(tasks)
    j, m, i = 0, len(points), 0
    while True:
        tid = run.default_task()
        if tid is None:
            return
        if j < m and points[j] == i:
            others = [t for t in range(tid + 1, tid + n) if runnable(tasks[t % n])]
            if others:
                tid = others[offsets[j] % len(others)] % n
            j += 1
        run.step(tid)
        i += 1


def unrank_combination(index: int, k: int, m: int) -> tuple:
    """The index-th m-subset of range(k), in colex order (the combinatorial number system)."""
    out = []
    for size in range(m, 0, -1):
        c = size - 1
        while comb(c + 1, size) <= index:
            c += 1
        out.append(c)
        index -= comb(c, size)
    return tuple(reversed(out))


class Schedules:
    """The preemption-bounded schedules of one population and its parameters, handed
    out once each, bound by bound (0 preemptions: the default schedule, then 1...)."""

    __slots__ = ("n", "k", "bound", "size", "left", "taken")

    def __init__(self, n: int, k: int):
        self.n, self.k = n, k
        self.bound = -1
        self._next_bound()

    def _next_bound(self) -> None:
        while self.bound < MAX_PREEMPTIONS:
            self.bound += 1
            self.size = comb(self.k, self.bound) * (self.n - 1) ** self.bound
            if self.size:
                self.left = self.size
                self.taken = bytearray(self.size) if self.size <= TRACKED else None
                return
        self.bound, self.size = MAX_PREEMPTIONS + 1, 0

    @property
    def exhausted(self) -> bool:
        return self.size == 0

    def take(self, r: int):
        """(points, offsets) for the drawn integer r: the first schedule of the current
        bound not run yet, from a place r picks; None once every bound is exhausted."""
        if self.size == 0:
            return None
        m, size = self.bound, self.size
        index = ((r * _MIX) & 0xFFFFFFFFFFFFFFFF) % size
        if self.taken is not None:
            found = self.taken.find(0, index)
            index = found if found >= 0 else self.taken.find(0)
            self.taken[index] = 1
            self.left -= 1
            if self.left == 0:
                self._next_bound()
        per = (self.n - 1) ** m
        points = unrank_combination(index // per, self.k, m)
        rest, offsets = index % per, []
        for _ in range(m):
            rest, off = divmod(rest, self.n - 1)
            offsets.append(off)
        return points, tuple(offsets)
