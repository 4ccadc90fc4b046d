"""report.html: the campaign for a person, one self-contained page (no script, no
network: inline CSS and SVG, so it opens from a CI artifact or a mail attachment).

- the verdict matrix, kernels in release order, rows with a verdict not as declared
  (a regression) first;
- the races across nights (history.py): new, still present, regressed, fixed;
- each race found, its timeline drawn as a table of one column per CPU;
- examples (fuzz examples and exhaustive schedules) and distinct end states over time.
"""

from __future__ import annotations

import html
import re

from mmfuzz.engine.versions import RELEASES, release_key

from .labels import headline, kernel_label, mark, scenario_label, verdict

CSS = """
body{font-family:system-ui,sans-serif;margin:1.5em;color:#222;max-width:1400px}
table{border-collapse:collapse;margin:.5em 0}
th,td{border:1px solid #bbb;padding:.25em .5em;text-align:left;vertical-align:top}
th{background:#eee}
.ok{background:#dff0d8}.racy{background:#fcf8e3}.bad{background:#f2dede;font-weight:bold}.none{color:#888}
table.timeline td{font-family:ui-monospace,monospace;font-size:12px;white-space:pre;border:none;
  border-right:1px solid #888;padding:.1em .6em}
table.timeline tr.step td{border-top:1px dashed #ccc}
table.timeline th{font-family:ui-monospace,monospace;font-size:12px}
pre{background:#f7f7f7;padding:.5em;overflow-x:auto}
.status-new,.status-regressed{color:#a94442;font-weight:bold}.status-fixed{color:#3c763d}
svg{background:#fff;border:1px solid #ddd;margin-right:1em}
"""


def _e(text) -> str:
    return html.escape(str(text), quote=True)


def _kernel_order(label: str):
    kernel = label.split(" ", 1)[0]
    return (release_key(kernel) if kernel in RELEASES else (), label)


def matrix(s) -> str:
    cols = sorted(dict.fromkeys(kernel_label(c.row) for c in s.cells), key=_kernel_order)
    at = {(scenario_label(c.row), kernel_label(c.row)): c for c in s.cells}
    unexpected = {scenario_label(c.row) for c in s.unexpected}
    rows = sorted(dict.fromkeys(scenario_label(c.row) for c in s.cells), key=lambda r: r not in unexpected)
    out = ['<table class="matrix"><tr><th>scenario</th>' + "".join(f"<th>{_e(c)}</th>" for c in cols) + "</tr>"]
    for r in rows:
        cells = []
        for col in cols:
            c = at.get((r, col))
            if c is None:
                cells.append('<td class="none"></td>')
                continue
            v = verdict(c)
            cls = "bad" if c in s.unexpected else "racy" if c.found else "ok" if v == "clean" else "none"
            cells.append(f'<td class="{cls}" title="{_e(c.examples)} examples">{_e(mark(c))}</td>')
        out.append(f"<tr><th>{_e(r)}</th>{''.join(cells)}</tr>")
    out.append("</table>")
    return "\n".join(out)


def timeline_table(lines: list[str]) -> str:
    """The printed timeline as a table: the header row, then one row per run of steps of
    one CPU (a printed blank row is a switch), then the BROKEN/STATE lines below it."""
    sep = next((i for i, line in enumerate(lines) if line and set(line) <= {"-", "+"}), None)
    if sep is None or sep == 0:
        return f"<pre>{_e(chr(10).join(lines))}</pre>"
    bars = [m.start() for m in re.finditer(r"\+", lines[sep])]
    bounds = list(zip([0] + [b + 2 for b in bars], bars + [None]))

    def cells(line: str) -> list[str]:
        return [line[a:b].rstrip() if b is not None else line[a:].rstrip() for a, b in bounds]

    head = lines[:sep - 1]
    titles = cells(lines[sep - 1])
    groups: list[list[list[str]]] = []  # one per step run: its lines, split into cells
    end = sep + 1
    for end in range(sep + 1, len(lines) + 1):
        if end == len(lines):
            break
        line = lines[end]
        if bars and not all(len(line) > b and line[b] == "|" for b in bars):
            break
        if not bars and not line.strip():
            break
        row = cells(line)
        if not any(x.strip() for x in row):
            groups.append([])
        else:
            if not groups:
                groups.append([])
            groups[-1].append(row)
    out = []
    if head:
        out.append(f"<pre>{_e(chr(10).join(head))}</pre>")
    out.append('<table class="timeline"><tr>' + "".join(f"<th>{_e(t)}</th>" for t in titles) + "</tr>")
    for g in (g for g in groups if g):
        cols = ["\n".join(r[i] for r in g).strip("\n") for i in range(len(titles))]
        out.append('<tr class="step">' + "".join(f"<td>{_e(c)}</td>" for c in cols) + "</tr>")
    out.append("</table>")
    rest = [line for line in lines[end:] if line.strip()]
    if rest:
        out.append(f"<pre>{_e(chr(10).join(rest))}</pre>")
    return "\n".join(out)


def svg_plot(points: list[tuple[float, float]], title: str, width: int = 420, height: int = 220) -> str:
    """A line over time, drawn by hand: no plotting library, nothing to fetch."""
    left, bottom, top, right = 60, 30, 25, 15
    xs = [p[0] for p in points] or [0.0]
    ys = [p[1] for p in points] or [0.0]
    xmax, ymax = max(max(xs), 1e-9), max(max(ys), 1)
    w, h = width - left - right, height - top - bottom

    def x(v):
        return left + w * v / xmax

    def y(v):
        return top + h - h * v / ymax

    line = " ".join(f"{x(a):.1f},{y(b):.1f}" for a, b in [(0.0, 0.0)] + list(points))
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" '
            f'aria-label="{_e(title)}"><title>{_e(title)}</title>'
            f'<text x="{left}" y="16" font-size="13">{_e(title)}</text>'
            f'<line x1="{left}" y1="{top + h}" x2="{left + w}" y2="{top + h}" stroke="#444"/>'
            f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + h}" stroke="#444"/>'
            f'<text x="{left - 5}" y="{top + 4}" font-size="11" text-anchor="end">{ymax:,.0f}</text>'
            f'<text x="{left - 5}" y="{top + h}" font-size="11" text-anchor="end">0</text>'
            f'<text x="{left + w}" y="{height - 8}" font-size="11" text-anchor="end">{xmax:.3g} s</text>'
            f'<text x="{left}" y="{height - 8}" font-size="11">0 s</text>'
            f'<polyline fill="none" stroke="#31708f" stroke-width="2" points="{line}"/></svg>')


def history_table(races: list[dict]) -> str:
    if not races:
        return "<p>No race seen yet.</p>"
    out = ["<table><tr><th>race</th><th>target</th><th>status</th><th>first seen</th><th>last seen</th>"
           "<th>nights seen</th></tr>"]
    for r in races:
        out.append(f'<tr><td><a href="#{_e(r["name"])}">{_e(r["name"])}</a></td><td>{_e(r["target"])}</td>'
                   f'<td class="status-{_e(r["status"].replace(" ", "-"))}">{_e(r["status"])}</td>'
                   f'<td>{_e(r["first_seen"])}</td><td>{_e(r["last_seen"])}</td><td>{r["nights_seen"]}</td></tr>')
    out.append("</table>")
    return "\n".join(out)


def page(s) -> str:
    found = [(c, e) for c in s.cells for e in c.races.values()]
    parts = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
             f"<title>mmfuzz campaign</title><style>{CSS}</style></head><body>",
             "<h1>mmfuzz campaign</h1>", f"<p>{_e(headline(s))}</p>",
             "<h2>Verdicts</h2>",
             "<p>✓ as declared by the scenario (racy_on / clean_on), ✗ not as declared; "
             "kernels in release order, verdicts not as declared first.</p>", matrix(s),
             "<h2>Races across nights</h2>", history_table(s.races),
             "<h2>Progress</h2>", "<div>",
             svg_plot([(t, n) for t, n, _ in s.samples], "examples and schedules run"),
             svg_plot([(t, k) for t, _, k in s.samples], "distinct end states reached"), "</div>",
             f"<h2>Races found ({len(found)})</h2>"]
    if not found:
        parts.append("<p>None.</p>")
    for c, e in found:
        status = "new" if e.name in c.new else "known"
        parts += [f'<section class="race" id="{_e(e.name)}">',
                  f"<h3>{_e(e.name)} <small>({status})</small></h3>",
                  f"<p><code>{_e(e.scenario)}</code> on {_e(kernel_label(c.row))}: {_e(e.invariant)}"
                  + (" — <strong>declared clean</strong>" if c.row.expect == "clean" else "") + "</p>",
                  timeline_table(list(e.timeline)), "</section>"]
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"
