"""A scenario declares actors, initial state and invariants; nothing else.

Subclass ``Scenario``, fill in the class attributes, and decorate with ``@scenario``.
The engine does the scheduling, blocking, deadlock and livelock detection, invariant
checking, shrinking, printing and replay.
"""

from __future__ import annotations

from typing import Callable

import attrs
from hypothesis import strategies as st

from .versions import UnknownName


@attrs.frozen
class Actor:
    """One kind of actor: a kernel entry point run on its own CPU."""

    kind: str
    title: str  # column heading in the timeline, e.g. "numa_maps reader"
    start: Callable  # (kernel, task, state) -> generator
    min: int = 0
    max: int = 1


class Scenario:
    name: str = ""
    doc: str = ""
    # code paths the scenario runs; a kernel lacking one cannot run it
    paths: tuple[str, ...] = ()
    actors: tuple[Actor, ...] = ()
    # scenario options (e.g. {"fs": ("xfs", "generic")}); the first value is the default
    options: dict[str, tuple[str, ...]] = {}
    # drawn once per example, before the actors start: name -> strategy, or a list of
    # values (the first is the one shrinking prefers; the minimizer tries the others)
    params: dict[str, st.SearchStrategy | list] = {}
    # the verdicts the project stands behind: named kernels (with options and path
    # overrides) on which the scenario must find nothing, and those where it must find
    # the race. Campaigns fail on a finding in `clean_on`; the corpus replays both.
    # Each item: {"kernel": "v7.0", "options": {...}, "overrides": {...}}; a clean_on
    # item also names the protections it rests on: "rests_on": {mutant: invariant}, each
    # a `mmfuzz mutate` mutant that breaks that invariant (so the verdict is not vacuous)
    clean_on: tuple = ()
    racy_on: tuple = ()
    # small populations ({kind: count}, unlisted kinds absent) whose every schedule
    # within a few preemptions is cheap to run: the tests check each declared verdict
    # with them exhaustively, and campaigns start with them
    explore_with: tuple = ()

    def __init__(self, options: dict[str, str] | None = None):
        opts = dict(options or {})
        for key, val in opts.items():
            if key not in self.options:
                raise UnknownName(f"scenario {self.name} has no option {key!r}" + (
                    f"; it has: {', '.join(self.options)}" if self.options else ""))
            if val not in self.options[key]:
                raise UnknownName(f"option {key} of {self.name} must be one of {', '.join(self.options[key])}, not {val!r}")
        self.opts = {k: v[0] for k, v in self.options.items()} | opts

    def actor(self, kind: str) -> Actor:
        for a in self.actors:
            if a.kind == kind:
                return a
        raise UnknownName(f"scenario {self.name} has no actor {kind!r}; it has: {', '.join(a.kind for a in self.actors)}")

    def exact_counts(self, population: dict) -> dict[str, tuple[int, int]]:
        """{kind: n} as the (min, max) actor bounds fuzz() and exhaust() take."""
        for kind in population:
            self.actor(kind)
        return {a.kind: (population.get(a.kind, 0),) * 2 for a in self.actors}

    # -- hooks for subclasses ---------------------------------------------------------
    def initial_state(self, kernel, params: dict):
        raise NotImplementedError

    def invariants(self, run) -> None:
        """Checked after every step; raise InvariantBroken."""

    def on_finish(self, run, task) -> None:
        """Checked when an actor's code path returns; raise InvariantBroken."""

    def describe(self, run) -> str:
        """A few lines of the state an invariant saw, for the report."""
        return ""


SCENARIOS: dict[str, type[Scenario]] = {}


def scenario(cls: type[Scenario]) -> type[Scenario]:
    if cls.name in SCENARIOS and SCENARIOS[cls.name] is not cls:
        raise ValueError(f"scenario {cls.name} registered twice")
    SCENARIOS[cls.name] = cls
    return cls


def get_scenario(name: str, options: dict[str, str] | None = None) -> Scenario:
    """A registered scenario (race packages register theirs when mmfuzz.races loads them)."""
    if name not in SCENARIOS:
        raise UnknownName(f"unknown scenario {name!r}; known: {', '.join(sorted(SCENARIOS))} "
                          "(a race package's scenario needs the package installed, or --races PKG.MOD)")
    return SCENARIOS[name](options)
