"""The campaign's report, in three forms, written to --out DIR.

- report.md: for people: the verdict matrix (scenario x kernel) and every new race's
  timeline.
- report.json: for tools: every cell's counts and the new entries' names.
- junit.xml: for CI: one test case per cell; a finding where the scenario declares the
  kernel clean is a failure, and so is a clean verdict no protection mutant breaks
  (vacuous); a declared race not found within the budget is skipped.
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

from .progress import clock


def verdict(cell) -> str:
    if cell.found:
        return "RACE, expected clean" if cell.row.expect == "clean" else "race"
    if cell.vacuous:
        return "VACUOUS clean"
    if cell.errors:  # some shards did not finish: no clean verdict
        return "error" if not cell.examples else "incomplete"
    return "not found" if cell.row.expect == "racy" else "clean"


def mark(cell) -> str:
    v = verdict(cell)
    ok = {"racy": cell.found, "clean": not cell.found and not cell.vacuous}.get(cell.row.expect)
    sign = "" if ok is None else (" ✓" if ok else " ✗")
    return f"{v}{sign}"


def scenario_label(row) -> str:
    return row.scenario + "".join(f" --{k} {v}" for k, v in row.options)


def kernel_label(row) -> str:
    return row.kernel + "".join(f" +{p}={v}" for p, v in row.overrides)


def markdown(s) -> str:
    rows = list(dict.fromkeys(scenario_label(c.row) for c in s.cells))
    cols = list(dict.fromkeys(kernel_label(c.row) for c in s.cells))
    at = {(scenario_label(c.row), kernel_label(c.row)): c for c in s.cells}
    out = [f"# mmfuzz campaign: {clock(s.elapsed)} of {clock(s.budget)}"
           + (f" ({s.interrupted})" if s.interrupted else ""), "",
           f"{s.examples:,} examples, {s.steps:,} steps, {s.findings} findings: "
           f"{s.new} new races written to `{s.corpus}`, {s.duplicates} already known. "
           f"{s.errors} shard errors. Ran on {s.backend}; mmfuzz {__version__}.", "",
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
    out += ["", "## New races", ""]
    if not s.new_entries:
        out.append("None: every race found was already in the corpus.")
    for e in s.new_entries:
        out += [f"### {e.name}", "", f"`{e.scenario}` on {e.kernel}"
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
                   "known": c.known, "invariants": sorted(c.invariants), "errors": len(c.errors)}
                  for c in s.cells],
        "new_entries": [e.name for e in s.new_entries],
        # a race the corpus could not take travels in the report, whole
        "unsaved": [{"why": why, "entry": e.to_json()} for e, why in s.unsaved],
        "lost": s.lost, "complete": not s.incomplete,
    }


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
                "new: " + ", ".join(c.new) + "\nknown: " + ", ".join(c.known))
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


def write(summary, out) -> list[Path]:
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / "report.md", out / "report.json", out / "junit.xml"]
    _write(paths[0], markdown(summary))
    _write(paths[1], json.dumps(as_json(summary), indent=2) + "\n")
    _write(paths[2], '<?xml version="1.0" encoding="utf-8"?>\n' + junit(summary))
    return paths
