"""A found race printed again: at another width, or with each step's kernel source.

A result carries its schedule (population, parameters, labelled steps) and the
versions it ran, so re-printing is a strict replay on exactly those versions: the
same race, never a new search.
"""

from __future__ import annotations

from .result import FuzzResult, header_for
from .run import Run, StaleSchedule
from .target import prepare
from .timeline import DEFAULT_WIDTH, render_violation
from .versions import source_links
from .violations import Violation


def render_result(result: FuzzResult, *, width: int = DEFAULT_WIDTH, source: bool = False) -> str:
    if not result.found or result.schedule is None:
        return result.report
    scen, versions, kernel_cls = prepare(result.scenario, result.kernel, result.versions, result.options)
    sched = result.schedule
    run = Run(scen, kernel_cls, sched["population"], sched["params"], versions)
    try:
        run.replay([tuple(s) for s in sched["steps"]])
        run.finish()
    except Violation as v:
        sources = source_links(versions, scen.paths, result.kernel) if source else None
        return render_violation(v, header=header_for(scen, result.kernel, versions), width=width,
                                sources=sources)
    except StaleSchedule:
        pass
    return result.report  # cannot happen for a result of this process: keep what it printed
