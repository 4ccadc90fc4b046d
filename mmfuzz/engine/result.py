"""What fuzz() and explore() return: one result type for both, plain data for --json.

A found race is filled in from its Violation (the canonical schedule, the timeline);
a clean result says how complete it is: ``mode`` fuzz (a budget of examples) or
exhaustive (``bound`` preemptions, ``complete`` when every schedule within it ran).
"""

from __future__ import annotations

import attrs

from .timeline import render_violation
from .violations import Violation


@attrs.define
class FuzzResult:
    scenario: str
    kernel: str
    options: dict
    versions: dict
    found: bool
    examples: int
    seconds: float
    invariant: str | None = None
    message: str | None = None
    steps: int = 0
    switches: int = 0
    actors: list = attrs.Factory(list)
    population: list = attrs.Factory(list)
    params: dict = attrs.Factory(dict)
    pinned: list = attrs.Factory(list)  # the parameters the caller fixed: canonical() keeps them
    schedule: dict | None = None
    report: str = ""
    culprit: str | None = None
    mode: str = "fuzz"  # or "exhaustive" (mmfuzz.engine.explore)
    # exhaustive: preemptions searched to, or of the race found; "all": no bound
    bound: int | str | None = None
    complete: bool | None = None  # exhaustive: every schedule within the bound ran
    executed_steps: int = 0  # atomic steps run over all examples (campaign speed)
    runs: int = 0  # fuzz: schedules run (each example runs several)
    states: int | None = None  # exhaustive: distinct states expanded (the stateful search)
    schedules: int | None = None  # exhaustive: runs of the engine (each replays a prefix)
    preemptions: int | None = None  # exhaustive: in the race found
    peak_rss_mb: float | None = None  # exhaustive: the process's peak resident memory

    def to_json(self) -> dict:
        out = attrs.asdict(self)
        if self.mode == "fuzz":  # the exhaustive search's own fields
            for name in ("states", "schedules", "preemptions", "peak_rss_mb"):
                del out[name]
        return out


def header_for(scen, kernel, versions) -> str:
    opts = "".join(f" --{k} {v}" for k, v in scen.opts.items())
    return f"mmfuzz: {scen.name}{opts} on {kernel}   [" + ", ".join(
        f"{p}={v.name}" for p, v in sorted(versions.items()) if p in scen.paths) + "]"



def fill_from_violation(result: FuzzResult, v: Violation, header: str) -> None:
    run = v.run
    result.found = True
    result.invariant = v.invariant
    result.message = v.message
    result.steps = len(run.trace)
    result.switches = run.switches()
    result.population = list(run.population)
    result.actors = [run.tasks[tid].title for tid in sorted({s.tid for s in run.trace})]
    result.params = dict(run.params)
    result.schedule = run.schedule_record()
    result.culprit = run.tasks[v.culprit].title if v.culprit is not None else None
    result.report = render_violation(v, header=header)
