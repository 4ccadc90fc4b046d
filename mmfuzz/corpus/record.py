"""A found race -> a corpus entry that is known to replay.

The schedule is re-executed with the engine's strict label replay and put in the
engine's canonical form (a no-op when fuzz() already did) before it becomes an
entry: a race that does not replay on its own versions is never written, and one race
has one canonical schedule, so one signature.
"""

from __future__ import annotations

import datetime

import mmfuzz
from mmfuzz import races
from mmfuzz.engine.canonical import canonical
from mmfuzz.engine.result import header_for
from mmfuzz.api import prepare
from mmfuzz.engine.run import Run, StaleSchedule
from mmfuzz.engine.timeline import render_violation
from mmfuzz.engine.violations import Violation

from .schema import Entry
from .signature import signature


class NotReproducible(Exception):
    """The found schedule does not break its invariant when re-executed."""


def entry_from_result(result, overrides: dict | None = None, *, seed: int | None = None,
                      profile: str | None = None) -> Entry:
    """`result` is a FuzzResult with found=True, from fuzz(..., overrides=overrides)."""
    overrides = dict(overrides or {})
    scen, versions, kernel_cls = prepare(result.scenario, result.kernel, overrides, result.options)
    violation = _replay(scen, kernel_cls, versions, result.schedule)
    if violation is None or violation.invariant != result.invariant:
        raise NotReproducible(f"{result.scenario} on {result.kernel}: the found schedule "
                              f"does not break {result.invariant} when replayed")
    schedule = canonical(violation, scen, kernel_cls, versions, pinned=result.pinned).run.schedule_record()
    # the strict replay a corpus test does, once more, on what is written
    violation = _replay(scen, kernel_cls, versions, schedule)
    if violation is None:
        raise NotReproducible(f"{result.scenario} on {result.kernel}: minimized schedule does not replay")
    recorded = {p: v.name for p, v in sorted(versions.items()) if p in scen.paths}
    sig = signature(scen.name, scen.opts, recorded, violation.invariant, schedule["steps"])
    found = {"seed": seed, "profile": profile, "examples": result.examples,
             "seconds": result.seconds, "hypothesis_steps": result.steps,
             "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")}
    return Entry(
        name=f"{scen.name}-{sig['id']}",
        scenario=scen.name,
        options=dict(scen.opts),
        kernel=result.kernel,
        overrides=overrides,
        versions=recorded,
        schedule=schedule,
        invariant=violation.invariant,
        message=violation.message,
        state=scen.describe(violation.run) or "",
        signature=sig,
        timeline=render_violation(violation, header=header_for(scen, result.kernel, versions)).splitlines(),
        mmfuzz_version=mmfuzz.__version__,
        found=found,
        race_package=races.package_of(type(scen)),
    )


def _replay(scen, kernel_cls, versions, schedule) -> Violation | None:
    run = Run(scen, kernel_cls, schedule["population"], schedule["params"], versions)
    try:
        run.replay(schedule["steps"])
        run.finish()
    except (Violation, StaleSchedule) as v:
        return v if isinstance(v, Violation) else None
    return None
