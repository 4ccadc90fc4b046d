"""What a run targets: a scenario with its options, the kernel's code paths composed
into one class, the actor population bounds, and the parameter combinations.

fuzz() and explore() both start here, so a bad name, count or value is refused the
same way on every entry point.
"""

from __future__ import annotations

import itertools
import json

from .scenario import get_scenario
from .versions import UnknownName, compose, select


def check_counts(scen, counts: dict[str, tuple[int, int]] | None) -> None:
    """A user's --actors must stay within the scenario's own bounds: a population it does
    not model (no hole punch in a punch-vs-fill race) would give a verdict about nothing.
    (The scenario's own explore_with populations are its author's to choose.)"""
    for kind, (lo, hi) in (counts or {}).items():
        actor = scen.actor(kind)
        if lo < actor.min or hi > actor.max:
            span = f"{actor.min}" if actor.min == actor.max else f"{actor.min}-{actor.max}"
            raise UnknownName(f"scenario {scen.name} runs {span} {kind} actor(s), not "
                              + (f"{lo}" if lo == hi else f"{lo}-{hi}"))


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
    check_overrides(scen, overrides)
    versions = select(kernel, overrides, needed=scen.paths)
    return scen, versions, compose({p: versions[p] for p in scen.paths})


def check_overrides(scen, overrides) -> None:
    """A --with for a path the scenario does not run would change nothing but the record."""
    from .versions import PATHS

    for path in overrides or ():
        if path in PATHS and path not in scen.paths:
            raise UnknownName(f"scenario {scen.name} does not run {path}; its code paths: "
                              f"{', '.join(scen.paths)}")


def _same(a, b) -> bool:
    return type(a) is type(b) and a == b  # True is not 1, 1 is not "1"


def check_params(scen, params) -> None:
    """Pinned parameters must be declared, and one of the declared values: a value the
    scenario does not know would run as some other configuration, or crash it."""
    for name, value in (params or {}).items():
        if name not in scen.params:
            raise UnknownName(f"scenario {scen.name} has no parameter {name!r}"
                              + (f"; it has: {', '.join(scen.params)}" if scen.params else ""))
        choice = scen.params[name]
        if isinstance(choice, (list, tuple)) and not any(_same(value, c) for c in choice):
            raise UnknownName(f"parameter {name} of {scen.name} is one of "
                              f"{', '.join(json.dumps(c, default=repr) for c in choice)}, "
                              f"not {json.dumps(value, default=repr)}")


def param_combinations(scenario, pinned: dict | None) -> list[dict]:
    """Every combination of the scenario's list-valued parameters (pinned ones fixed)."""
    check_params(scenario, pinned)
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
