"""A scenario's verdict on one kernel, for comparing kernels (diff, bisect).

The verdict is the explorer's over the scenario's small populations (`explore_with`,
or one given population): racy with the first population that breaks an invariant
(the fewest preemptions), clean when every population's search completed without a
violation, incomplete when a search ran out of budget first.
"""

from __future__ import annotations

from collections import Counter

import attrs

from .explore import exhaust
from .replay_string import encode_result
from .scenario import get_scenario
from .target import prepare

RACY, CLEAN, INCOMPLETE = "racy", "clean", "incomplete"


@attrs.define
class Verdict:
    kernel: str
    status: str
    versions: dict  # code path -> version name, for the scenario's paths
    invariant: str | None = None
    message: str | None = None
    preemptions: int | None = None
    population: dict | None = None
    schedules: int = 0
    replay_string: str | None = None

    def to_json(self) -> dict:
        return attrs.asdict(self)


def populations(scenario: str, options=None, population: dict | None = None) -> list[dict]:
    scen = get_scenario(scenario, options)
    if population:
        return [dict(population)]
    if scen.explore_with:
        return [dict(p) for p in scen.explore_with]
    # no declared populations: one of each kind (or its minimum), as `explore` does
    return [{a.kind: max(a.min, min(1, a.max)) for a in scen.actors}]


def verdict(scenario: str, kernel: str, *, overrides=None, options=None, population: dict | None = None,
            max_preemptions=2, max_runs: int = 200_000) -> Verdict:
    scen, versions, _ = prepare(scenario, kernel, overrides, options)
    out = Verdict(kernel, CLEAN, {p: versions[p].name for p in scen.paths})
    for pop in populations(scenario, options, population):
        r = exhaust(scenario, kernel, overrides=overrides, options=options, counts=scen.exact_counts(pop),
                    max_preemptions=max_preemptions, max_runs=max_runs)
        out.schedules += r.examples
        if r.found:
            out.status, out.invariant, out.message = RACY, r.invariant, r.message
            # the race's own CPUs (the canonical form has the fewest), not the searched population
            out.preemptions, out.population = r.preemptions, dict(Counter(r.population))
            out.replay_string = encode_result(r)
            return out
        if not r.complete:
            out.status, out.population = INCOMPLETE, pop
    return out


def changed_paths(before: Verdict, after: Verdict) -> dict[str, tuple[str | None, str | None]]:
    """The scenario's code paths whose version differs between two kernels."""
    names = sorted(set(before.versions) | set(after.versions))
    return {p: (before.versions.get(p), after.versions.get(p)) for p in names
            if before.versions.get(p) != after.versions.get(p)}
