"""Races across nights, as syzbot's dashboard keeps them.

Each campaign reads the previous night's report.json (in --out, or --history PATH) and
writes every race ever seen into its own report.json, with a status for tonight:

- ``new``: found tonight, never before;
- ``still present``: found tonight and when it was last checked;
- ``regressed``: found tonight after a night that checked it and did not find it;
- ``fixed``: not found tonight although its target ran (a fuzzing budget without a
  find, not a proof: the exhaustive shards make it one within their bound);
- ``not checked``: its target did not run tonight (another --scenarios/--kernels);
  it keeps what it was, for the next night to compare with.

A race is one corpus entry on one target (scenario, options, kernel, --with).
"""

from __future__ import annotations

import json
from pathlib import Path

from .labels import kernel_label, scenario_label

FOUND = ("new", "still present", "regressed")


def load_previous(path) -> tuple[list[dict], str]:
    """The races of a previous report.json: ([] , why) when there is none or it is unreadable."""
    p = Path(path)
    if not p.exists():
        return [], ""
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
        races = data.get("races", [])
        if not isinstance(races, list) or not all(isinstance(r, dict) and "name" in r for r in races):
            raise ValueError("no list of races")
        return races, ""
    except (OSError, ValueError, AttributeError) as e:
        return [], f"previous report {p} not used: {e}"


def _last_checked(race: dict) -> str | None:
    """Its status on the last night that checked it."""
    return race.get("last_status") if race.get("status") == "not checked" else race.get("status")


def update(previous: list[dict], summary, date: str) -> list[dict]:
    """Tonight's status of every race seen tonight or before."""
    def target(row) -> str:
        return f"{scenario_label(row)} on {kernel_label(row)}"

    ran = {target(c.row) for c in summary.cells if c.examples and not (c.errors and not c.found)}
    before = {(r["name"], r["target"]): r for r in previous}
    out: dict[tuple[str, str], dict] = {}
    for c in summary.cells:
        for name, entry in c.races.items():
            key = (name, target(c.row))
            old = before.get(key)
            if old is None:
                status, first, nights = "new", date, 1
            else:
                status = "regressed" if _last_checked(old) == "fixed" else "still present"
                first, nights = old.get("first_seen", date), int(old.get("nights_seen", 0)) + 1
            out[key] = {"name": name, "scenario": entry.scenario, "target": key[1],
                        "invariant": entry.invariant, "expect": c.row.expect or None, "status": status,
                        "first_seen": first, "last_seen": date, "nights_seen": nights}
    for key, old in before.items():
        if key in out:
            continue
        if key[1] in ran:
            out[key] = old | {"status": "fixed"}
        else:
            out[key] = old | {"status": "not checked", "last_status": _last_checked(old)}
    order = {"regressed": 0, "new": 1, "still present": 2, "fixed": 3, "not checked": 4}
    return sorted(out.values(), key=lambda r: (order.get(r["status"], 9), r["target"], r["name"]))
