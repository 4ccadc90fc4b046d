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

import itertools
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
    def __init__(self, scenario, kernel_cls, versions, population, params, max_runs: int = 200_000):
        self.args = (scenario, kernel_cls, population, params, versions)
        self.max_runs = max_runs
        self.runs = 0
        self.steps = 0  # atomic steps over all runs

    def execute(self, preempt: dict[int, int]):
        """Run one schedule. Returns (violation or None, alternatives per step index)."""
        self.runs += 1
        run = Run(*self.args)
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


def shortest(violation: Violation, scenario, kernel_cls, versions, max_preemptions: int = 2,
             max_runs: int = 5000) -> Violation:
    """The canonical form of a race: among the found race's CPUs and parameters, the
    schedule with the fewest preemptions (then steps) breaking the same invariant.

    It depends only on the population, parameters and invariant, not on how the race
    was first found, so the same race found twice prints, and is saved, the same way.
    The race itself is kept when the bound or the budget does not reach it.
    """
    run = violation.run
    explorer = Explorer(scenario, kernel_cls, versions, run.population, run.params, max_runs)
    found = explorer.search(max_preemptions, invariant=violation.invariant).found
    return found if found is not None else violation


def canonical(violation: Violation, scenario, kernel_cls, versions) -> Violation:
    """What a race is printed and saved as: the fewest CPUs and preferred parameters
    (the minimizer), then the fewest-preemption schedule for them (shortest)."""
    from .minimize import minimize

    return shortest(minimize(violation, scenario, kernel_cls, versions), scenario, kernel_cls, versions)


def param_combinations(scenario, pinned: dict | None) -> list[dict]:
    """Every combination of the scenario's list-valued parameters (pinned ones fixed)."""
    pinned = dict(pinned or {})
    names, values = [], []
    for name, choice in scenario.params.items():
        if name in pinned:
            names.append(name)
            values.append([pinned[name]])
        elif isinstance(choice, (list, tuple)):
            names.append(name)
            values.append(list(choice))
        else:
            raise ValueError(f"parameter {name} of {scenario.name} is a strategy: pin it with --param")
    return [dict(zip(names, combo)) for combo in itertools.product(*values)]


__all__ = ["Explorer", "ExploreResult", "canonical", "exhaust", "param_combinations", "shortest"]


def exhaust(scenario: str, kernel: str, *, overrides=None, options=None, counts=None, params=None,
            max_preemptions: int = 2, max_runs: int = 200_000):
    """Every schedule with up to `max_preemptions` preemptions, for the population of
    the largest actor counts and every combination of the parameters."""
    from .explore import FuzzResult, actor_bounds, fill_from_violation, header_for, prepare

    scen, versions, kernel_cls = prepare(scenario, kernel, overrides, options)
    population = [kind for kind, (_, hi) in actor_bounds(scen, counts).items() for _ in range(hi)]
    result = FuzzResult(scen.name, kernel, dict(scen.opts),
                        {p: v.name for p, v in sorted(versions.items()) if p in scen.paths},
                        False, 0, 0.0, mode="exhaustive", bound=max_preemptions, complete=True)
    start = time.perf_counter()
    best = None
    for ps in param_combinations(scen, params):
        explorer = Explorer(scen, kernel_cls, versions, population, ps, max_runs - result.examples)
        found = explorer.search(max_preemptions)
        result.examples += explorer.runs
        result.executed_steps += explorer.steps
        result.complete &= found.complete
        if found.found is not None and (best is None or found.preemptions < best[1]
                                        or (found.preemptions == best[1]
                                            and len(found.found.run.trace) < len(best[0].run.trace))):
            best = (found.found, found.preemptions)
        if not found.complete:
            break
    if best is not None:
        # fewest CPUs too: the search itself runs every actor of the population
        fill_from_violation(result, canonical(best[0], scen, kernel_cls, versions),
                            header_for(scen, kernel, versions))
        result.bound = best[1]
    result.seconds = round(time.perf_counter() - start, 3)
    return result
