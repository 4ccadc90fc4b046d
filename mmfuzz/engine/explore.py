"""`mmfuzz explore`: every schedule of a population within a preemption bound.

For the largest actor counts and every combination of the scenario's list-valued
parameters, the search (search.py) runs every schedule with up to K preemptions; a
race found is printed in canonical form, and a clean result is a proof within K.
"""

from __future__ import annotations

import time

from .canonical import canonical
from .result import FuzzResult, fill_from_violation, header_for
from .search import Explorer
from .target import actor_bounds, param_combinations, prepare


def exhaust(scenario: str, kernel: str, *, overrides=None, options=None, counts=None, params=None,
            max_preemptions: int = 2, max_runs: int = 200_000):
    """Every schedule with up to `max_preemptions` preemptions, for the population of
    the largest actor counts and every combination of the parameters."""
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


# the documented name of the command
explore = exhaust
