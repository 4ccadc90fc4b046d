"""The canonical form of a race: what fuzz and explore print and the corpus saves.

The minimizer gives the fewest CPUs and preferred parameters; then, for those, the
schedule with the fewest preemptions (then steps) breaking the same invariant. It
depends only on the population, parameters and invariant, not on how the race was
first found, so one race has one printed form and one corpus signature.
"""

from __future__ import annotations

from collections.abc import Collection

from .minimize import minimize
from .search import Explorer
from .violations import Violation


def shortest(violation: Violation, scenario, kernel_cls, versions, max_preemptions: int = 2,
             max_runs: int = 5000) -> Violation:
    """Among the race's CPUs and parameters, the fewest-preemption schedule breaking
    the same invariant. The race itself is kept when the bound or the budget does not reach it.
    """
    run = violation.run
    explorer = Explorer(scenario, kernel_cls, versions, run.population, run.params, max_runs)
    found = explorer.search(max_preemptions, invariant=violation.invariant).found
    return found if found is not None else violation


def canonical(violation: Violation, scenario, kernel_cls, versions, pinned: Collection[str] = ()) -> Violation:
    """Minimize (fewest CPUs, preferred parameters but for those `pinned`), then the
    shortest schedule."""
    return shortest(minimize(violation, scenario, kernel_cls, versions, pinned), scenario, kernel_cls, versions)
