"""Print a run the way kernel developers draw races: one column per CPU.

The whole printout fits ``width`` columns (default 75, checkpatch's limit for a
commit message body, so a race pastes into a mail or a commit as it is); width 0
means no limit (46-column cells). ``sources`` maps a kernel function to where it is
(``mm/pagewalk.c:walk_pud_range()``) and a link to it; with it each step says where
it runs and a SOURCE list follows the race.
"""

from __future__ import annotations

import textwrap

DEFAULT_WIDTH = 75
UNLIMITED_CELL = 46
MIN_CELL = 16
SEP = " | "


def cell_width(columns: int, width: int) -> int:
    if not width:
        return UNLIMITED_CELL
    return max(MIN_CELL, (width - len(SEP) * (columns - 1)) // max(columns, 1))


def _cell_lines(step, cell: int, sources: dict | None) -> list[str]:
    head = f"{step.func}: {step.step}"
    lines = textwrap.wrap(head, cell, subsequent_indent="  ", break_on_hyphens=False) or [""]
    if sources and step.func in sources:
        lines += textwrap.wrap(f"[{sources[step.func][0]}]", cell, initial_indent="  ",
                               subsequent_indent="   ", break_on_hyphens=False)
    for note in step.notes:
        lines += textwrap.wrap(note, cell, initial_indent="  -> ", subsequent_indent="     ",
                               break_on_hyphens=False)
    return lines


def _wrap_block(text: str, width: int, indent: str = "") -> list[str]:
    if not width:
        return text.splitlines() or [""]
    out = []
    for line in text.splitlines() or [""]:  # later lines carry their own indent
        out += textwrap.wrap(line, width, subsequent_indent=indent, drop_whitespace=False,
                             break_on_hyphens=False) or [""]
    return [line.rstrip() for line in out]


def render_timeline(run, *, header: str = "", only_involved: bool = True, width: int = DEFAULT_WIDTH,
                    sources: dict | None = None) -> str:
    """Two (or more) columns: each row is one atomic step, in the order they ran."""
    tids = sorted({s.tid for s in run.trace}) if only_involved else [t.id for t in run.tasks]
    if not tids:
        tids = [t.id for t in run.tasks]
    col = {tid: i for i, tid in enumerate(tids)}
    cell = cell_width(len(tids), width)
    titles = [textwrap.shorten(f"CPU{i} {run.tasks[tid].title}", cell, placeholder="~")
              if width else f"CPU{i} {run.tasks[tid].title}" for i, tid in enumerate(tids)]
    if not width:
        cell = max([cell + 2] + [len(t) + 1 for t in titles])

    def row(cells: list[str]) -> str:
        return SEP.join(c.ljust(cell) for c in cells).rstrip()

    out = []
    if header:
        out += _wrap_block(header, width, "    ")
    out.append(row(titles))
    out.append("-+-".join("-" * cell for _ in tids))
    prev = None
    for step in run.trace:
        if prev is not None and prev != step.tid:
            out.append(row([""] * len(tids)))
        for line in _cell_lines(step, cell, sources):
            cells = [""] * len(tids)
            cells[col[step.tid]] = line
            out.append(row(cells))
        prev = step.tid
    return "\n".join(out)


def render_violation(violation, *, header: str = "", width: int = DEFAULT_WIDTH,
                     sources: dict | None = None) -> str:
    run = violation.run
    parts = [render_timeline(run, header=header, width=width, sources=sources), ""]
    parts += _wrap_block(f"BROKEN  {violation.invariant}: {violation.message}", width, " " * 8)
    for task in run.tasks:
        held = run.state.locks.held_by(task.id)
        if task.crashed:
            locks = ", ".join(f"{name} ({mode})" for name, mode in held) or "no locks"
            parts += _wrap_block(f"        {task.title} died holding {locks}", width, " " * 8)
    desc = run.scenario.describe(run)
    if desc:
        parts += _wrap_block("STATE   " + desc.replace("\n", "\n        "), width, " " * 8)
    if sources:
        used = list(dict.fromkeys(s.func for s in run.trace if s.func in sources))
        if used:
            parts += ["", "SOURCE"]
            for func in used:
                where, link = sources[func]
                parts += _wrap_block(f"  {where}  {link}", width, "    ")
    return "\n".join(parts)
