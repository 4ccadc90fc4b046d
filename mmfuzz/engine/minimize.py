"""A last shrinking pass on the race Hypothesis returns: fewest CPUs, switches, steps.

Hypothesis shrinks the choices that produced a schedule; it does not always find the
schedule with the fewest switches (merging two runs of one CPU means changing several
choices at once). This pass works on the executed schedule itself, a sequence of task
ids: it tries dropping a CPU, moving one run of a CPU next to its neighbouring run, and
cutting the schedule short (the rest runs under the keep-current policy), and moving a
parameter towards its preferred value, and keeps any candidate that breaks the same
invariant with a smaller (CPUs, parameter rank, switches, steps).
"""

from __future__ import annotations

from collections.abc import Collection

from .run import Run
from .search import Explorer
from .violations import Violation


def _runs(tids: list[int]) -> list[tuple[int, int]]:
    """(task id, length) of each maximal run."""
    out: list[list[int]] = []
    for tid in tids:
        if out and out[-1][0] == tid:
            out[-1][1] += 1
        else:
            out.append([tid, 1])
    return [(t, n) for t, n in out]


def _flatten(runs) -> list[int]:
    return [t for t, n in runs for _ in range(n)]


def _rank(params: dict, choices: dict) -> int:
    """How far the parameters are from each list's first (preferred) value."""
    return sum(values.index(params[n]) for n, values in choices.items() if params.get(n) in values)


class Minimizer:
    def __init__(self, scenario, kernel_cls, versions, invariant: str, max_tries: int = 2000,
                 pinned: Collection[str] = ()):
        self.scenario, self.kernel_cls, self.versions = scenario, kernel_cls, versions
        self.invariant = invariant
        self.tries = max_tries
        # parameters declared as a list of values: the alternatives worth trying; not
        # those the caller pinned (--param): a race of another configuration is not theirs
        self.choices = {n: v for n, v in scenario.params.items()
                        if isinstance(v, (list, tuple)) and n not in pinned}

    def attempt(self, population, params, tids) -> Violation | None:
        """Run the schedule; the violation if it breaks the same invariant."""
        if self.tries <= 0:
            return None
        self.tries -= 1
        run = Run(self.scenario, self.kernel_cls, population, params, self.versions)
        try:
            for tid in tids:
                if tid >= len(run.tasks) or not run.runnable(run.tasks[tid]):
                    return None
                run.step(tid)
            run.finish()
        except Violation as v:
            return v if v.invariant == self.invariant else None
        return None

    def candidates(self, v: Violation):
        run = v.run
        tids = [s.tid for s in run.trace]
        pop, params = run.population, run.params
        # drop one CPU (the ids above it move down by one), possibly with another
        # value of one parameter (a prefaulted mapping saves the CPU that faulted it);
        # or only change a parameter, towards its preferred value
        variants = [params] + [params | {name: value} for name, values in self.choices.items()
                               for value in values if value != params.get(name)]
        for ps in variants[1:]:
            yield pop, ps, tids
            yield pop, ps, []
        for ps in variants:
            for gone in range(len(pop)):
                rest = [t - (t > gone) for t in tids if t != gone]
                yield pop[:gone] + pop[gone + 1:], ps, rest
        runs = _runs(tids)
        # move a run to join the next (or previous) run of the same CPU
        for i, (tid, _) in enumerate(runs):
            for j in range(i + 1, len(runs)):
                if runs[j][0] == tid:
                    moved = runs[:i] + runs[i + 1:j] + [runs[i]] + runs[j:]
                    yield pop, params, _flatten(moved)
                    break
            for j in range(i - 1, -1, -1):
                if runs[j][0] == tid:
                    moved = runs[:j + 1] + [runs[i]] + runs[j + 1:i] + runs[i + 1:]
                    yield pop, params, _flatten(moved)
                    break
        # stop scheduling explicitly after k runs: the keep-current policy does the rest
        for k in range(1, len(runs)):
            yield pop, params, _flatten(runs[:k])

    def key(self, v: Violation) -> tuple:
        run = v.run
        return (len(run.population), _rank(run.params, self.choices), run.switches(), len(run.trace))

    def minimize(self, v: Violation) -> Violation:
        best = v
        improved = True
        while improved and self.tries > 0:
            improved = False
            for pop, params, tids in self.candidates(best):
                found = self.attempt(pop, params, tids)
                if found is not None and self.key(found) < self.key(best):
                    best, improved = found, True
                    break
            else:
                found = self.preferred_params(best)
                if found is not None:
                    best, improved = found, True
        return best

    def preferred_params(self, v: Violation) -> Violation | None:
        """The same race with a parameter nearer its preferred value, whose schedule
        may need to differ: found by trying every schedule within two preemptions."""
        run = v.run
        for name, values in self.choices.items():
            for value in values[:values.index(run.params[name])] if run.params.get(name) in values else ():
                explorer = Explorer(self.scenario, self.kernel_cls, self.versions, run.population,
                                    run.params | {name: value}, max_runs=min(self.tries, 2000))
                found = explorer.search(2, invariant=self.invariant).found
                self.tries -= explorer.runs
                if found is not None and self.key(found) < self.key(v):
                    return found
        return None


def minimize(violation: Violation, scenario, kernel_cls, versions, pinned: Collection[str] = ()) -> Violation:
    return Minimizer(scenario, kernel_cls, versions, violation.invariant, pinned=pinned).minimize(violation)
