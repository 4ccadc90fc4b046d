"""Protection mutants: what does a clean verdict rest on?

A clean verdict is evidence only if the model would have shown the race had a
protection been missing. A *mutant* removes one protection and nothing else:

- a **lock** mutant elides one acquisition site (engine/elide.py). The sites are found
  by running: every site the unmutated exploration reaches. A site it never reaches
  cannot change any schedule within the bound, so none is missed.
- a **declared** mutant is a code path's version flagged ``mutant`` (a re-check, a
  second unmap, a single snapshot: protections that are not locks); it applies when the
  kernel runs the version it mutates.

``mutate()`` explores the unmutated kernel (it must be clean), then each mutant with the
same populations, parameter combinations and preemption bound, and says which mutants
break an invariant (the protections the verdict rests on) and which do not. With no
bound (``max_preemptions=None``) every exploration is the stateful search over every
interleaving (search.py); its sites are those of every state it expands.
"""

from __future__ import annotations

import itertools
import time

import attrs

from .elide import SiteLog, site_name
from .search import Explorer
from .target import actor_bounds, param_combinations, prepare
from .versions import PATHS, UnknownName

LOCK, DECLARED = "lock", "declared"
RACY, CLEAN, INCOMPLETE = "racy", "clean", "incomplete"


@attrs.frozen
class Mutant:
    name: str  # "lock_page in filemap_fault" | "truncate_inode_pages_range=no-reunmap"
    kind: str  # LOCK | DECLARED
    function: str
    step: str | None
    override: tuple | None = None  # a declared mutant's (path, version)

    @property
    def site(self) -> tuple[str, str | None]:
        return self.function, self.step


def lock_mutant(site: tuple[str, str]) -> Mutant:
    return Mutant(site_name(site), LOCK, site[0], site[1])


def declared_mutants(versions: dict, paths) -> list[Mutant]:
    """The mutants declared for the versions a run of these paths uses."""
    out = []
    for pname in paths:
        running = versions.get(pname)
        for v in PATHS[pname].versions.values():
            if v.mutant and running is not None and running.name in v.mutates:
                functions = sorted(a for a in vars(v.cls) if not a.startswith("__") and callable(vars(v.cls)[a]))
                out.append(Mutant(f"{pname}={v.name}", DECLARED, ", ".join(functions) or pname, None,
                                  (pname, v.name)))
    return out


def parse_mutant(name: str, declared: list[Mutant]) -> Mutant:
    """A mutant by the name mutate prints: "STEP in FUNCTION" or "PATH=VERSION"."""
    for m in declared:
        if m.name == name:
            return m
    if "=" in name and " in " not in name:
        raise UnknownName(f"no declared mutant {name!r} for this kernel; it has: "
                          + (", ".join(m.name for m in declared) or "none"))
    step, sep, function = name.rpartition(" in ")
    if not sep or not step or not function:
        raise UnknownName(f"not a mutant name: {name!r} (expected 'STEP in FUNCTION' or 'PATH=VERSION')")
    return lock_mutant((function, step))


@attrs.define
class MutantResult:
    mutant: Mutant | None  # None: the unmutated kernel
    verdict: str
    invariant: str | None = None
    message: str | None = None
    preemptions: int | None = None
    schedules: int = 0
    seconds: float = 0.0
    violation: object = attrs.field(default=None, repr=False, eq=False)
    reached: bool | None = None  # a lock mutant's site: did the unmutated kernel reach it?
    states: int = 0  # distinct states (the stateful search: every interleaving)

    def to_json(self) -> dict:
        m = self.mutant
        return {"mutant": m.name if m else None, "kind": m.kind if m else None,
                "site": {"function": m.function, "step": m.step} if m else None,
                "verdict": self.verdict, "invariant": self.invariant, "preemptions": self.preemptions,
                "schedules": self.schedules, "states": self.states, "message": self.message,
                "seconds": self.seconds}


@attrs.define
class Mutation:
    scenario: str
    kernel: str
    options: dict
    versions: dict
    populations: list
    bound: int | None  # None: every interleaving
    baseline: MutantResult
    results: list = attrs.Factory(list)
    seconds: float = 0.0

    def _named(self, verdict: str) -> list[str]:
        return [r.mutant.name for r in self.results if r.verdict == verdict]

    rests_on = property(lambda self: self._named(RACY))
    not_needed = property(lambda self: self._named(CLEAN))
    incomplete = property(lambda self: self._named(INCOMPLETE))

    @property
    def vacuous(self) -> bool:
        """Clean, every mutant explored completely, and none breaks anything."""
        return (self.baseline.verdict == CLEAN and not self.rests_on and not self.incomplete)


class _Recording(Explorer):
    """The unmutated exploration: each schedule's alternatives, and the sites whose
    elision would change its run (elide.SiteLog). The stateful search never runs a whole
    schedule: its runs all log into one SiteLog, for the sites reached."""

    def __init__(self, *args, reached: set, **kw):
        super().__init__(*args, **kw)
        self.reached = reached
        self.schedules: dict = {}
        self.log = self.run_kw["sites"] = SiteLog()

    def execute(self, preempt):
        log = self.run_kw["sites"] = SiteLog()
        try:
            v, alternatives = super().execute(preempt)
        finally:
            self.run_kw["sites"] = self.log
        self.reached |= log.reached
        self.schedules[frozenset(preempt.items())] = (alternatives, frozenset(log.diverged))
        return v, alternatives

    def search(self, *args, **kw):
        try:
            return super().search(*args, **kw)
        finally:
            self.reached |= self.log.reached


class _Eliding(Explorer):
    """A lock mutant's exploration: a schedule whose unmutated run the elided site made no
    difference to runs the same (and clean): its recorded alternatives are reused."""

    def __init__(self, *args, recorded: dict, **kw):
        super().__init__(*args, **kw)
        self.recorded = recorded
        (self.site,) = self.run_kw["elide"]

    def execute(self, preempt):
        seen = self.recorded.get(frozenset(preempt.items()))
        if seen is not None and self.site not in seen[1]:
            self.runs += 1
            return None, seen[0]
        return super().execute(preempt)


def _explore(populations, combos, bound, max_runs, max_states, make) -> MutantResult:
    """The fewest-preemption violation over every population and parameter combination;
    make(i, population, params, max_runs, max_states) is the explorer of the i-th one."""
    start = time.perf_counter()
    best, runs, states, complete = None, 0, 0, True
    for i, (population, params) in enumerate(itertools.product(populations, combos)):
        limit = bound if best is None else best[1] - 1  # only a race with fewer preemptions matters now
        if (limit is not None and limit < 0) or runs >= max_runs or (max_states is not None and states >= max_states):
            if best is None:
                complete = False  # combinations left unexplored
            break
        explorer = make(i, population, params, max_runs - runs,
                        None if max_states is None else max_states - states)
        found = explorer.search(limit)
        runs += explorer.runs
        states += found.states
        if found.found is not None:
            best = (found.found, found.preemptions)
        elif not found.complete:
            complete = False
    seconds = round(time.perf_counter() - start, 3)
    if best is not None:
        v = best[0]
        return MutantResult(None, RACY, v.invariant, v.message, best[1], runs, seconds, v, states=states)
    return MutantResult(None, CLEAN if complete else INCOMPLETE, schedules=runs, seconds=seconds, states=states)


def _maker(m: Mutant, recorders, scenario, kernel, overrides, options, scen, kernel_cls, versions):
    """The explorer factory for one mutant's exploration (see _explore)."""
    if m.kind == DECLARED:
        assert m.override is not None  # a declared mutant names its (path, version)
        path, version = m.override
        _, mversions, mkernel = prepare(scenario, kernel, overrides | {path: version}, options)
        return lambda i, population, ps, n, states: Explorer(scen, mkernel, mversions, population, ps, n,
                                                             max_states=states)
    elide = frozenset({m.site})
    if not recorders or not recorders[0].schedules:  # no baseline, or a stateful one: run every schedule
        return lambda i, population, ps, n, states: Explorer(scen, kernel_cls, versions, population, ps, n,
                                                             max_states=states, run_kw={"elide": elide})
    return lambda i, population, ps, n, states: _Eliding(scen, kernel_cls, versions, population, ps, n,
                                                         max_states=states, recorded=recorders[i].schedules,
                                                         run_kw={"elide": elide})


def populations_of(scen, counts=None) -> list[list[str]]:
    """--actors (the largest counts: one population), else the scenario's explore_with."""
    if counts:
        pops = [counts]
    elif scen.explore_with:
        pops = [scen.exact_counts(p) for p in scen.explore_with]
    else:
        pops = [{a.kind: (a.min, max(a.min, min(1, a.max))) for a in scen.actors}]
    return [[kind for kind, (_, hi) in actor_bounds(scen, c).items() for _ in range(hi)] for c in pops]


def mutate(scenario: str, kernel: str, *, overrides=None, options=None, counts=None, params=None,
           max_preemptions: int | None = 2, max_runs: int = 200_000, max_states: int | None = 250_000,
           only=None, baseline: bool = True) -> Mutation:
    """Explore the unmutated kernel, then every mutant (or only those named in `only`),
    each within `max_preemptions` (None: every interleaving). `max_runs` and
    `max_states` (the stateful search's distinct states) bound each exploration.

    Without `baseline` the unmutated kernel is not explored (nor its sites discovered):
    only the mutants named in `only` run, for a quick check of a declaration.
    """
    start = time.perf_counter()
    overrides = dict(overrides or {})
    scen, versions, kernel_cls = prepare(scenario, kernel, overrides, options)
    populations = populations_of(scen, counts)
    combos = param_combinations(scen, params)
    declared = declared_mutants(versions, scen.paths)
    out = Mutation(scen.name, kernel, dict(scen.opts), {p: versions[p].name for p in sorted(scen.paths)},
                   populations, max_preemptions, MutantResult(None, CLEAN))
    wanted = None if only is None else [parse_mutant(n, declared) for n in only]  # bad names: before any run
    reached: set = set()
    recorders: list = []

    def unmutated(i, population, ps, n, states):
        recorders.append(_Recording(scen, kernel_cls, versions, population, ps, n, max_states=states,
                                    reached=reached))
        return recorders[-1]

    if baseline:
        out.baseline = _explore(populations, combos, max_preemptions, max_runs, max_states, unmutated)
        if out.baseline.verdict != CLEAN:
            out.seconds = round(time.perf_counter() - start, 3)
            return out
    elif only is None:
        raise ValueError("mutate(baseline=False) needs the mutants to run (only=...)")
    mutants = wanted if wanted is not None else [lock_mutant(s) for s in sorted(reached, key=site_name)] + declared
    for m in mutants:
        r = _explore(populations, combos, max_preemptions, max_runs, max_states, _maker(m, recorders, scenario, kernel,
                                                                             overrides, options, scen,
                                                                             kernel_cls, versions))
        r.mutant = m
        if m.kind == LOCK and baseline:
            r.reached = m.site in reached
        out.results.append(r)
    out.seconds = round(time.perf_counter() - start, 3)
    return out
