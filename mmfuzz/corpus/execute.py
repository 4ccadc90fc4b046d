"""Run a population through a schedule given as task-id segments, without Hypothesis.

A segment (tid, n) runs task tid for up to n steps; a step whose task has finished or
is blocked is skipped, so a segment list fits code whose steps differ from the ones it
was recorded on. After the segments every task runs to its end under the engine's
keep-current policy (``Run.finish``), as in a fuzzed example.
"""

from __future__ import annotations

from mmfuzz.engine.run import Run
from mmfuzz.engine.violations import Violation


def segments(steps) -> list[tuple[int, int]]:
    out: list[list[int]] = []
    for tid, _label in steps:
        if out and out[-1][0] == tid:
            out[-1][1] += 1
        else:
            out.append([tid, 1])
    return [(tid, n) for tid, n in out]


def execute(scen, kernel_cls, versions, population, params, segs) -> tuple[Run, Violation | None]:
    run = Run(scen, kernel_cls, population, params, versions)
    try:
        for tid, n in segs:
            for _ in range(n):
                if tid >= len(run.tasks) or not run.runnable(run.tasks[tid]):
                    break
                run.step(tid)
        run.finish()
    except Violation as v:
        return run, v
    return run, None
