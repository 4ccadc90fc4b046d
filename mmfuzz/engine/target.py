"""What a run targets: a scenario with its options, the kernel's code paths composed
into one class, the actor population bounds, and the parameter combinations.

fuzz() and explore() both start here, so a bad name, count or value is refused the
same way on every entry point.
"""

from __future__ import annotations

import itertools

from .scenario import get_scenario
from .versions import UnknownName, compose, select


def actor_bounds(scen, counts: dict[str, tuple[int, int]] | None) -> dict[str, tuple[int, int]]:
    bounds = {a.kind: (a.min, a.max) for a in scen.actors}
    for kind, (lo, hi) in (counts or {}).items():
        scen.actor(kind)  # raises UnknownName for a kind the scenario lacks
        if not 0 <= lo <= hi:
            raise UnknownName(f"bad actor count for {kind}: {lo}-{hi}")
        bounds[kind] = (lo, hi)
    if sum(hi for _, hi in bounds.values()) == 0:
        raise UnknownName("the actor counts leave no actor to run")
    return bounds


def prepare(scenario: str, kernel: str, overrides=None, options=None):
    scen = get_scenario(scenario, options)
    versions = select(kernel, overrides, needed=scen.paths)
    return scen, versions, compose({p: versions[p] for p in scen.paths})


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
