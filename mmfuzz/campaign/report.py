"""The campaign's report, in four forms, written to --out DIR.

- report.md: for people: the verdict matrix (scenario x kernel), the races across
  nights, every new race's timeline and that of every race on a kernel declared clean.
- report.html: the same as one offline page, timelines drawn per CPU, progress plotted
  (html.py).
- report.json: for tools (docs/schemas/campaign.schema.json; `campaign --json` prints
  it): every cell's counts, the new entries' names, every race across nights with its
  status (history.py: the next night reads it back), progress samples.
- junit.xml: for CI: one test case per cell; a finding where the scenario declares the
  kernel clean is a failure carrying each race's timeline, and so is a clean verdict no
  protection mutant breaks (vacuous); a declared race not found within the budget is skipped.
Each file is written to a temporary name and renamed: an interrupted write never
leaves half a report.
"""

from __future__ import annotations

import json
import os
import xml.etree.ElementTree as ET
from pathlib import Path

from mmfuzz import __version__
from mmfuzz.corpus.store import create_temporary

from . import history
from .html import page
from .labels import headline, kernel_label, mark, race_text, scenario_label, verdict
from .progress import clock


def markdown(s) -> str:
    rows = list(dict.fromkeys(scenario_label(c.row) for c in s.cells))
    cols = list(dict.fromkeys(kernel_label(c.row) for c in s.cells))
    at = {(scenario_label(c.row), kernel_label(c.row)): c for c in s.cells}
    out = [f"# mmfuzz campaign: {clock(s.elapsed)} of {clock(s.budget)}"
           + (f" ({s.interrupted})" if s.interrupted else ""), "",
           headline(s), "", *([f"Note: {s.note}", ""] if s.note else []),
           "## Verdicts", "",
           "✓ as declared by the scenario (racy_on / clean_on), ✗ not as declared, no mark: nothing declared.", "",
           "| scenario | " + " | ".join(cols) + " |", "|---" * (len(cols) + 1) + "|"]
    for r in rows:
        out.append(f"| {r} | " + " | ".join(mark(at[r, c]) if (r, c) in at else "" for c in cols) + " |")
    out += ["", "## Targets", "", "| scenario | kernel | expected | verdict | shards | examples | findings | new | known |",
            "|---|---|---|---|---|---|---|---|---|"]
    for c in s.cells:
        out.append(f"| {scenario_label(c.row)} | {kernel_label(c.row)} | {c.row.expect or '-'} | {mark(c)} | "
                   f"{c.shards} | {c.examples:,} | {c.findings} | {', '.join(c.new) or '-'} | "
                   f"{', '.join(c.known) or '-'} |")
    out += ["", "## Races across nights", ""]
    if s.races:
        out += ["| race | target | status | first seen | last seen | nights seen |", "|---|---|---|---|---|---|"]
        out += [f"| {r['name']} | {r['target']} | {r['status']} | {r['first_seen']} | {r['last_seen']} | "
                f"{r['nights_seen']} |" for r in s.races]
    else:
        out.append("No race seen yet.")
    out += ["", "## New races", ""]
    if not s.new_entries:
        out.append("None: every race found was already in the corpus.")
    known_on_clean = [e for c in s.unexpected for n, e in c.races.items() if n not in c.new]
    for e in s.new_entries + known_on_clean:
        out += [f"### {e.name}" + ("" if e in s.new_entries else " (known, on a kernel declared clean)"), "",
                f"`{e.scenario}` on {e.kernel}"
                + "".join(f" --with {p}={v}" for p, v in e.overrides.items())
                + f": {e.invariant}", "", "```", *e.timeline, "```", "",
                f"Replay: `mmfuzz replay {Path(s.corpus) / (e.name + '.json')}`", ""]
    if s.unsaved:
        out += ["## Races not saved", "",
                "Found, but the corpus could not take them: each is kept here in full.", ""]
        for e, why in s.unsaved:
            out += [f"### {e.name}", "", f"`{e.scenario}` on {e.kernel}"
                    + "".join(f" --with {p}={v}" for p, v in e.overrides.items())
                    + f": {e.invariant}. Not saved: {why}", "", "```", *e.timeline, "```", ""]
    if s.lost:
        out += ["## Stopped early", "", f"The backend failed: `{s.lost.splitlines()[0]}`. "
                "Shards that had come back are counted; the rest did not run.", ""]
    errors = [(c, err) for c in s.cells for err in c.errors]
    if errors:
        out += ["## Shard errors", ""]
        for c, err in errors[:20]:
            out += [f"- {scenario_label(c.row)} on {kernel_label(c.row)}:", "", "```", err.rstrip(), "```"]
    return "\n".join(out) + "\n"


def as_json(s) -> dict:
    return {
        "schema": "mmfuzz-campaign/1", "started": _date(s.started),
        "mmfuzz_version": __version__, "backend": s.backend, "corpus": s.corpus,
        "budget_seconds": s.budget, "elapsed_seconds": round(s.elapsed, 1), "interrupted": s.interrupted,
        "examples": s.examples, "steps": s.steps, "findings": s.findings, "new": s.new,
        "duplicates": s.duplicates, "errors": s.errors, "corpus_before": s.corpus_before,
        "unexpected": [kernel_label(c.row) for c in s.unexpected],
        "vacuous": [{"scenario": scenario_label(c.row), "kernel": kernel_label(c.row), "why": c.vacuous}
                    for c in s.vacuous],
        "cells": [{"scenario": c.row.scenario, "options": dict(c.row.options), "kernel": c.row.kernel,
                   "overrides": dict(c.row.overrides), "expect": c.row.expect, "verdict": verdict(c),
                   "shards": c.shards, "examples": c.examples, "steps": c.steps,
                   "seconds": round(c.seconds, 2), "findings": c.findings, "new": c.new,
                   "known": c.known, "invariants": sorted(c.invariants), "errors": len(c.errors),
                   "distinct_states": len(c.states)}
                  for c in s.cells],
        "new_entries": [e.name for e in s.new_entries],
        "distinct_states": s.states,
        "races": s.races,
        "samples": [{"seconds": t, "examples": n, "distinct_states": k} for t, n, k in s.samples],
        "note": s.note,
        # a race the corpus could not take travels in the report, whole
        "unsaved": [{"why": why, "entry": e.to_json()} for e, why in s.unsaved],
        "lost": s.lost, "complete": not s.incomplete,
    }


def _date(timestamp: float) -> str:
    import datetime

    return datetime.datetime.fromtimestamp(timestamp, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def junit(s) -> str:
    suite = ET.Element("testsuite", name="mmfuzz-campaign", tests=str(len(s.cells)),
                       failures=str(len(s.unexpected) + len([c for c in s.vacuous if not c.found])),
                       skipped=str(sum(1 for c in s.cells if c.row.expect == "racy" and not c.found)),
                       errors=str(sum(1 for c in s.cells if c.errors and not (c.row.expect == "clean" and c.found))),
                       time=f"{s.elapsed:.1f}")
    for c in s.cells:
        case = ET.SubElement(suite, "testcase", classname=f"mmfuzz.{scenario_label(c.row)}",
                             name=kernel_label(c.row), time=f"{c.seconds:.1f}")
        if c.row.expect == "clean" and c.found:
            ET.SubElement(case, "failure", message=f"declared clean, broke {', '.join(sorted(c.invariants))}").text = (
                "new: " + (", ".join(c.new) or "-") + "\nknown: " + (", ".join(c.known) or "-") + "\n\n"
                + "\n\n".join(race_text(s, c, e) for e in c.races.values()))
        elif c.vacuous:
            ET.SubElement(case, "failure", message=c.vacuous).text = c.vacuous
        elif c.errors:  # some of its shards did not run to the end: the cell is not checked
            ET.SubElement(case, "error", message=f"{len(c.errors)} shard error(s): {c.errors[0].splitlines()[0]}"
                          ).text = "\n\n".join(c.errors)
        elif c.row.expect == "racy" and not c.found:
            ET.SubElement(case, "skipped", message=f"declared race not found in {c.examples} examples")
        ET.SubElement(case, "system-out").text = f"{c.examples} examples, {c.findings} findings"
    return ET.tostring(suite, encoding="unicode") + "\n"


def _write(path: Path, text: str) -> None:
    fd, tmp = create_temporary(path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def add_history(summary, previous) -> None:
    """Tonight's status of every race, from the previous report.json at `previous`."""
    races, summary.note = history.load_previous(previous)
    summary.races = history.update(races, summary, _date(summary.started))


def write(summary, out) -> list[Path]:
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / "report.md", out / "report.html", out / "report.json", out / "junit.xml"]
    _write(paths[0], markdown(summary))
    _write(paths[1], page(summary))
    _write(paths[2], json.dumps(as_json(summary), indent=2) + "\n")
    _write(paths[3], '<?xml version="1.0" encoding="utf-8"?>\n' + junit(summary))
    return paths
