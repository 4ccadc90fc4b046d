"""Replay a corpus entry: does the race still happen?

Two modes, chosen by the code the replay runs:

- strict: the versions are the recorded ones (the default: the entry's kernel with
  every recorded path version pinned). The engine's label replay (``Run.replay``)
  re-executes each recorded step and checks its label. A label that is gone means the
  code changed under the entry: ``stale``, never a silent pass.
- order: any other versions (``--kernel``/``--with``). Labels may legitimately differ
  (a fix adds a re-check), so the recorded task order is followed instead: the same
  task ids for the same number of steps, a step skipped when its task has finished or
  is blocked, then every task runs to its end. The verdict is ``violates`` or
  ``clean``, and ``detail`` says where the labels first diverged. It is ``stale`` only
  when the schedule cannot be set up at all (an actor kind or parameter is gone).

``violates`` means some invariant broke; ``invariant`` says which, and may differ from
the recorded one. ``missing``: the entry's scenario comes from a race package that is
not loaded, so it could not be checked at all (the message names the package).
"""

from __future__ import annotations

import attrs

from mmfuzz import races
from mmfuzz.api import prepare
from mmfuzz.engine.scenario import SCENARIOS
from mmfuzz.engine.target import check_params
from mmfuzz.engine.run import Run, StaleSchedule
from mmfuzz.engine.versions import UnknownName
from mmfuzz.engine.violations import Violation

from .execute import execute, segments
from .schema import Entry

VIOLATES, CLEAN, STALE, BROKEN, SKIPPED, MISSING = (
    "violates", "clean", "stale", "broken", "skipped", "missing")
# what leaves a replay unfinished: the entry could not be checked (exit 3)
INCOMPLETE = (STALE, BROKEN, MISSING)


@attrs.define
class Outcome:
    name: str
    status: str
    path: str = ""
    mode: str = ""  # strict | order
    kernel: str = ""
    versions: dict = attrs.Factory(dict)
    invariant: str | None = None
    message: str = ""
    detail: str = ""

    def to_json(self) -> dict:
        return attrs.asdict(self)


def replay(entry: Entry, kernel: str | None = None, overrides: dict | None = None) -> Outcome:
    """Replay on the recorded versions, or on `kernel` (default: the recorded kernel)
    with `overrides` (default: none) when either is given."""
    pinned = kernel is None and not overrides
    kernel = kernel or entry.kernel
    out = Outcome(entry.name, STALE, kernel=kernel)
    if problem := missing_package(entry):
        out.status, out.message = MISSING, problem
        return out
    try:
        scen, versions, kernel_cls = prepare(entry.scenario, kernel,
                                             entry.versions if pinned else overrides, entry.options)
    except UnknownName as e:
        # on the recorded versions a missing path/version/option means the code moved on
        out.status, out.message = (STALE if pinned else SKIPPED), str(e)
        return out
    out.versions = {p: v.name for p, v in sorted(versions.items()) if p in scen.paths}
    strict = out.versions == entry.versions
    out.mode = "strict" if strict else "order"
    population, params = entry.schedule["population"], entry.schedule["params"]
    if problem := _setup_problem(scen, population, params):
        out.message = problem
        return out
    if strict:
        run = Run(scen, kernel_cls, population, params, versions)
        try:
            run.replay(entry.steps)
            run.finish()
        except StaleSchedule as e:
            out.message = str(e)
            return out
        except Violation as v:
            return _violated(out, v)
        out.status = CLEAN
        return out
    run, v = execute(scen, kernel_cls, versions, population, params, segments(entry.steps))
    out.detail = _divergence(entry.steps, run)
    if v is not None:
        return _violated(out, v)
    out.status = CLEAN
    return out


def missing_package(entry: Entry) -> str:
    """Why the entry cannot be checked here: its race package is not loaded (else "")."""
    races.load()
    package = entry.race_package
    if entry.scenario in SCENARIOS or package == races.BUILTIN or races.loaded(package):
        return ""  # a scenario gone from a loaded package is stale, not missing
    return (f"scenario {entry.scenario} comes from race package {package}, which is not loaded: "
            f"install it or pass --races {package}")


def _violated(out: Outcome, v: Violation) -> Outcome:
    out.status, out.invariant, out.message = VIOLATES, v.invariant, v.message
    return out


def _setup_problem(scen, population, params) -> str:
    kinds = {a.kind for a in scen.actors}
    gone = sorted(set(population) - kinds)
    if gone:
        return f"scenario {scen.name} has no actor {', '.join(gone)} any more"
    if set(params) != set(scen.params):
        return (f"scenario {scen.name} parameters are {sorted(scen.params)}, "
                f"the entry has {sorted(params)}")
    try:
        check_params(scen, params)  # a value the scenario does not declare (a hand edit, a change)
    except UnknownName as e:
        return str(e)
    return ""


def _divergence(recorded, run) -> str:
    ran = [(s.tid, s.label) for s in run.trace]
    for i, (want, have) in enumerate(zip(recorded, ran)):
        if tuple(want) != have:
            return f"labels diverge at step {i}: recorded {want[1]!r} on task {want[0]}, ran {have[1]!r} on task {have[0]}"
    if len(ran) != len(recorded):
        return f"same labels for {min(len(ran), len(recorded))} steps; ran {len(ran)}, recorded {len(recorded)}"
    return "same labels as recorded"
