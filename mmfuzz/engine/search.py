"""Bounded-exhaustive exploration: every schedule with at most K preemptions.

The default schedule keeps running the current task, and when it blocks or finishes
runs the lowest-numbered runnable one. A *preemption* is a step where another task
runs instead. Most races need very few (the 2026 PUD race needs one), so trying every
schedule with up to K of them, K = 0, 1, 2, ..., finds the race with the fewest
switches first, and a clean result is a proof within that bound: a statement that
fuzzing alone cannot make.

Search is stateless: each schedule is one fresh run of the deterministic engine, named
by its preemptions (step index, task id), indices strictly increasing, so no schedule
is run twice.
"""

from __future__ import annotations

import time

import attrs

from .run import Run
from .violations import Violation


@attrs.define
class ExploreResult:
    found: Violation | None
    runs: int
    bound: int  # the preemption bound searched to (inclusive)
    complete: bool  # every schedule within the bound was run
    preemptions: int | None = None  # in the race found
    seconds: float = 0.0


class Explorer:
    def __init__(self, scenario, kernel_cls, versions, population, params, max_runs: int = 200_000,
                 run_kw: dict | None = None):
        self.args = (scenario, kernel_cls, population, params, versions)
        self.run_kw = dict(run_kw or {})  # passed to every Run
        self.max_runs = max_runs
        self.runs = 0
        self.steps = 0  # atomic steps over all runs

    def execute(self, preempt: dict[int, int]):
        """Run one schedule. Returns (violation or None, alternatives per step index)."""
        self.runs += 1
        run = Run(*self.args, **self.run_kw)
        alternatives: list[list[int]] = []
        try:
            while True:
                default = run.default_task()
                if default is None:
                    self.steps += len(run.trace)
                    return None, alternatives
                runnable = [t.id for t in run.tasks if t.id != default and run.runnable(t)]
                alternatives.append(runnable)
                tid = preempt.get(len(alternatives) - 1, default)
                run.step(tid)
        except Violation as v:
            self.steps += len(run.trace)
            return v, alternatives

    def search(self, max_preemptions: int, stop_at_first: bool = True,
               invariant: str | None = None) -> ExploreResult:
        start = time.perf_counter()
        best: Violation | None = None
        best_k = None
        complete = True
        for k in range(max_preemptions + 1):
            for v in self._schedules_with(k):
                if v is None:
                    complete = False
                    break
                if invariant is not None and v.invariant != invariant:
                    continue
                if best is None or len(v.run.trace) < len(best.run.trace):
                    best, best_k = v, k
            if best is not None and stop_at_first or not complete:
                return ExploreResult(best, self.runs, k, complete, best_k,
                                     round(time.perf_counter() - start, 3))
        return ExploreResult(best, self.runs, max_preemptions, complete, best_k,
                             round(time.perf_counter() - start, 3))

    def _schedules_with(self, k: int):
        """Yield each violation among schedules with exactly k preemptions; None if out of runs."""
        stack = [({}, -1)]
        while stack:
            preempt, last = stack.pop()
            if self.runs >= self.max_runs:
                yield None
                return
            v, alts = self.execute(preempt)
            if len(preempt) == k:
                if v is not None:
                    yield v
                continue
            # extend with one more preemption after the last one, within the steps run
            for i in range(len(alts) - 1, last, -1):
                for tid in alts[i]:
                    stack.append((preempt | {i: tid}, i))
