"""`mmfuzz explore`: every schedule of a population, within a preemption bound or not.

For the largest actor counts and every combination of the scenario's list-valued
parameters, the search (search.py) runs every schedule with up to K preemptions, or
with ``max_preemptions=None`` every schedule; a race found is printed in canonical form
(fewest preemptions first), and a clean, complete result is a proof within K, or for
every interleaving of the population.
"""

from __future__ import annotations

import resource
import time

from .canonical import canonical
from .result import FuzzResult, fill_from_violation, header_for
from .search import Explorer
from .target import actor_bounds, param_combinations, prepare

ALL = "all"  # the bound of a search with none


def peak_rss_mb() -> float:
    """The process's peak resident memory so far (Linux reports KiB)."""
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def exhaust(scenario: str, kernel: str, *, overrides=None, options=None, counts=None, params=None,
            max_preemptions: int | None = 2, max_runs: int = 200_000, max_states: int | None = 250_000,
            prune: bool = False, run_kw: dict | None = None,
            end_states: set | None = None, reduce: bool = False):
    """Every schedule with up to `max_preemptions` preemptions (None: every schedule), for
    the population of the largest actor counts and every combination of the parameters.

    `max_runs` and `max_states` bound the work over all combinations: reaching one stops
    the search with ``complete`` false. `prune` makes a bounded search stateful (search.py;
    the unbounded one always is); `run_kw` goes to every Run; `end_states`, a set, gets each schedule's end
    state id (a campaign's coverage). `reduce` searches every interleaving with the
    partial-order reduction (por.py): the same verdict, in fewer states where CPUs touch
    different data."""
    scen, versions, kernel_cls = prepare(scenario, kernel, overrides, options)
    population = [kind for kind, (_, hi) in actor_bounds(scen, counts).items() for _ in range(hi)]
    result = FuzzResult(scen.name, kernel, dict(scen.opts),
                        {p: v.name for p, v in sorted(versions.items()) if p in scen.paths},
                        False, 0, 0.0, mode="exhaustive",
                        bound=ALL if max_preemptions is None else max_preemptions, complete=True,
                        states=0, schedules=0, pinned=sorted(params or {}))
    start = time.perf_counter()
    best = None
    for ps in param_combinations(scen, params):
        states_so_far = result.states or 0
        states_left = None if max_states is None else max_states - states_so_far
        explorer = Explorer(scen, kernel_cls, versions, population, ps, max_runs - result.examples,
                            max_states=states_left, prune=prune, run_kw=run_kw, end_states=end_states,
                            por=reduce)
        found = explorer.search(max_preemptions)
        result.examples += explorer.runs
        result.executed_steps += explorer.steps
        result.states = states_so_far + found.states
        result.complete = bool(result.complete) and found.complete
        if found.found is not None and found.preemptions is not None and (best is None or found.preemptions < best[1]
                                        or (found.preemptions == best[1]
                                            and len(found.found.run.trace) < len(best[0].run.trace))):
            best = (found.found, found.preemptions)
        if not found.complete:
            break
    if best is not None:
        # fewest CPUs too: the search itself runs every actor of the population
        fill_from_violation(result, canonical(best[0], scen, kernel_cls, versions, pinned=result.pinned),
                            header_for(scen, kernel, versions))
        result.preemptions = best[1]
        if max_preemptions is not None:
            result.bound = best[1]
    result.schedules = result.examples
    result.seconds = round(time.perf_counter() - start, 3)
    result.peak_rss_mb = peak_rss_mb()
    return result


def prove(scenario: str, kernel: str, *, max_states: int = 3000, fallback: int = 2, **kw):
    """Every interleaving when that search fits in `max_states` distinct states (a few
    seconds); otherwise every schedule within `fallback` preemptions. The result's
    ``bound`` says which ("all" or the number); a race found by either is kept."""
    kw.pop("max_preemptions", None)
    r = exhaust(scenario, kernel, max_preemptions=None, max_states=max_states, **kw)
    if r.found or r.complete:
        return r
    spent = r.schedules
    r = exhaust(scenario, kernel, max_preemptions=fallback, **kw)
    r.schedules += spent
    r.examples = r.schedules
    return r


# the documented name of the command
explore = exhaust
