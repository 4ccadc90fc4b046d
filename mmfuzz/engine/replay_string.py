"""A race as one short string, for mails and test code (like shuttle's replay strings).

    pagewalk@v6.12/actors=numa_maps,vfio_fault/param:bar_align=pud/run=0:5,1:5,0:3

Fields, separated by "/": SCENARIO@KERNEL first; then `opt:NAME=VALUE` (scenario
options), `with:PATH=VERSION` (code paths that differ from the named kernel's),
`param:NAME=VALUE` (JSON for anything but a bare word), `actors=KIND,...` (the
population, in task-id order), and last `run=TID:STEPS,...`, the schedule as runs of
one task. Replaying runs each run (a step whose task is blocked or done is skipped),
then every task to its end, as a fuzzed example does. Only shell-safe characters
are used, so the string needs no quoting.
"""

from __future__ import annotations

import json
import re

from .versions import UnknownName, select

_NAME = re.compile(r"^[A-Za-z0-9_.+-]+$")


class BadReplayString(UnknownName):
    """The string is not a replay string (bad input: exit 2)."""


def _runs(steps) -> list[tuple[int, int]]:
    out: list[list[int]] = []
    for tid, *_ in steps:
        if out and out[-1][0] == tid:
            out[-1][1] += 1
        else:
            out.append([tid, 1])
    return [(t, n) for t, n in out]


def _value(v) -> str:
    return v if isinstance(v, str) and _NAME.match(v) and v not in ("true", "false", "null") \
        and not re.match(r"^-?\d", v) else json.dumps(v, separators=(",", ":"))


def encode(scenario: str, kernel: str, options: dict, versions: dict, population: list,
           params: dict, steps) -> str:
    """`versions`: {path: version name} the race ran; only those that differ from the
    named kernel's choice are written."""
    default = {p: v.name for p, v in select(kernel).items()}
    fields = [f"{scenario}@{kernel}"]
    fields += [f"opt:{k}={v}" for k, v in sorted(options.items())]
    fields += [f"with:{p}={v}" for p, v in sorted(versions.items()) if default.get(p) != v]
    fields += [f"param:{k}={_value(v)}" for k, v in sorted(params.items())]
    fields.append("actors=" + ",".join(population))
    fields.append("run=" + ",".join(f"{t}:{n}" for t, n in _runs(steps)))
    return "/".join(fields)


def encode_result(result) -> str | None:
    if not result.found or not result.schedule:
        return None
    s = result.schedule
    return encode(result.scenario, result.kernel, result.options, result.versions,
                  s["population"], s["params"], s["steps"])


def decode(text: str) -> dict:
    """{scenario, kernel, options, overrides, population, params, runs}; BadReplayString."""
    def bad(why: str) -> BadReplayString:
        return BadReplayString(f"not a replay string ({why}): {text[:80]!r}")

    fields = text.strip().split("/")
    head = fields[0]
    scenario, at, kernel = head.partition("@")
    if not at or not scenario or not kernel:
        raise bad("it starts SCENARIO@KERNEL")
    out = {"scenario": scenario, "kernel": kernel, "options": {}, "overrides": {}, "params": {},
           "population": None, "runs": None}
    for field in fields[1:]:
        key, eq, value = field.partition("=")
        if not eq:
            raise bad(f"field {field!r} has no '='")
        kind, colon, name = key.partition(":")
        if colon and kind in ("opt", "with", "param") and name:
            if kind == "param":
                try:
                    out["params"][name] = json.loads(value)
                except ValueError:
                    out["params"][name] = value
            else:
                out["options" if kind == "opt" else "overrides"][name] = value
        elif key == "actors":
            out["population"] = [a for a in value.split(",") if a]
        elif key == "run":
            try:
                out["runs"] = [(int(t), int(n)) for t, n in
                               (part.split(":") for part in value.split(",") if part)]
            except ValueError:
                raise bad(f"run= takes TID:STEPS,..., not {value!r}") from None
            if any(t < 0 or n < 1 for t, n in out["runs"]):
                raise bad("task ids and step counts must be positive")
        else:
            raise bad(f"unknown field {key!r}")
    if out["population"] is None or out["runs"] is None:
        raise bad("it needs actors= and run=")
    return out
