"""Print a run the way kernel developers draw races: one column per CPU."""

from __future__ import annotations

import textwrap

WIDTH = 46


def _cell_lines(step) -> list[str]:
    lines = textwrap.wrap(f"{step.func}: {step.step}", WIDTH, subsequent_indent="  ") or [""]
    for note in step.notes:
        lines += textwrap.wrap(note, WIDTH, initial_indent="  -> ", subsequent_indent="     ")
    return lines


def render_timeline(run, *, header: str = "", only_involved: bool = True) -> str:
    """Two (or more) columns: each row is one atomic step, in the order they ran."""
    tids = sorted({s.tid for s in run.trace}) if only_involved else [t.id for t in run.tasks]
    if not tids:
        tids = [t.id for t in run.tasks]
    col = {tid: i for i, tid in enumerate(tids)}
    titles = [f"CPU{i} {run.tasks[tid].title}" for i, tid in enumerate(tids)]
    width = max([WIDTH + 2] + [len(t) + 1 for t in titles])
    sep = " | "

    def row(cells: list[str]) -> str:
        return sep.join(c.ljust(width) for c in cells).rstrip()

    out = []
    if header:
        out.append(header)
    out.append(row(titles))
    out.append("-+-".join("-" * width for _ in tids))
    prev = None
    for step in run.trace:
        if prev is not None and prev != step.tid:
            out.append(row([""] * len(tids)))
        for line in _cell_lines(step):
            cells = [""] * len(tids)
            cells[col[step.tid]] = line
            out.append(row(cells))
        prev = step.tid
    return "\n".join(out)


def render_violation(violation, *, header: str = "") -> str:
    run = violation.run
    parts = [render_timeline(run, header=header), ""]
    parts.append(f"BROKEN  {violation.invariant}: {violation.message}")
    for task in run.tasks:
        held = run.state.locks.held_by(task.id)
        if task.crashed:
            locks = ", ".join(f"{name} ({mode})" for name, mode in held) or "no locks"
            parts.append(f"        {task.title} died holding {locks}")
    desc = run.scenario.describe(run)
    if desc:
        parts.append("STATE   " + desc.replace("\n", "\n        "))
    return "\n".join(parts)
