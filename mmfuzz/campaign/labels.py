"""How a campaign names its targets and verdicts, for every report (md, html, json, xml)."""

from __future__ import annotations

from pathlib import Path

from mmfuzz import __version__

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


def headline(s) -> str:
    return (f"{s.examples:,} examples, {s.steps:,} steps, {s.states:,} distinct end states, "
            f"{s.findings} findings: {s.new} new races written to {s.corpus}, {s.duplicates} already "
            f"known. {s.errors} shard errors. {clock(s.elapsed)} of {clock(s.budget)}"
            + (f" ({s.interrupted})" if s.interrupted else "")
            + f" on {s.backend}; mmfuzz {__version__}.")


def race_text(s, c, entry) -> str:
    """A race's timeline and replay command, for a JUnit failure."""
    return "\n".join([f"{entry.name} ({'new' if entry.name in c.new else 'known'}): {entry.invariant}",
                      *entry.timeline, "", f"replay: mmfuzz replay {Path(s.corpus) / (entry.name + '.json')}"])
