"""The corpus entry format, version 1, and its validation.

An entry is everything needed to re-execute one race without Hypothesis (scenario,
options, versions, schedule) plus what it looked like when found (invariant, message,
state, timeline), so a reviewer can read it and a later mmfuzz can tell when it changed.
Validation is strict and names the file: a broken or foreign file must be reported,
never half-loaded.
"""

from __future__ import annotations

import json
import re

import attrs

from mmfuzz.races import BUILTIN

SCHEMA = "mmfuzz-corpus/1"


class BadEntry(ValueError):
    """A file that is not a valid corpus entry (broken, truncated, foreign, newer schema)."""


@attrs.frozen
class Entry:
    name: str  # the file stem: <scenario>-<signature id>
    scenario: str
    options: dict  # every scenario option, defaults filled in
    kernel: str  # the named kernel it was found on
    overrides: dict  # the --with overrides it was found with
    versions: dict  # path -> version name, for every path the scenario runs
    schedule: dict  # {"population": [...], "params": {...}, "steps": [[tid, label], ...]}
    invariant: str
    message: str
    state: str  # the scenario's describe() line when the invariant broke
    signature: dict  # {"id": ..., and what it hashes: see signature.py}
    timeline: list  # the printed race, one string per line
    mmfuzz_version: str
    found: dict = attrs.Factory(dict)  # how it was found: seed, examples, seconds, date
    # the race module that registers the scenario (mmfuzz.races.package_of); optional in
    # the file: entries written before it existed are built-in ones
    race_package: str = BUILTIN

    @property
    def steps(self) -> list[tuple[int, str]]:
        return [(tid, label) for tid, label in self.schedule["steps"]]

    def to_json(self) -> dict:
        return {"schema": SCHEMA} | attrs.asdict(self)

    def dumps(self) -> str:
        return _pretty(self.to_json(), "") + "\n"


def _pretty(obj, pad: str) -> str:
    """Indented JSON with one schedule step or timeline line per line: entries are
    read and diffed by people, so a 15-step race must not take 60 lines."""
    inner = pad + "  "
    if isinstance(obj, dict) and obj:
        items = [f"{inner}{json.dumps(k)}: {_pretty(v, inner)}" for k, v in obj.items()]
        return "{\n" + ",\n".join(items) + f"\n{pad}}}"
    if isinstance(obj, list) and obj and not (len(json.dumps(obj)) < 60 and
                                              all(not isinstance(x, (list, dict)) for x in obj)):
        return "[\n" + ",\n".join(inner + json.dumps(x) for x in obj) + f"\n{pad}]"
    return json.dumps(obj)


# an entry's name is its file's stem: `<scenario>-<16 hex digits of the signature>`, so a
# name from a worker or a file can never be a path (no "/", no "..")
SCENARIO_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")
SIGNATURE_ID = re.compile(r"[0-9a-f]{16}")


def check_name(name, scenario, signature_id) -> None:
    """BadEntry unless `name` is `<scenario>-<signature id>`, both well formed."""
    _require(isinstance(scenario, str) and SCENARIO_NAME.fullmatch(scenario) is not None,
             f"scenario name {scenario!r} is not a name (lower-case letters, digits, - and _)")
    _require(isinstance(signature_id, str) and SIGNATURE_ID.fullmatch(signature_id) is not None,
             f"signature id {signature_id!r} is not 16 hex digits")
    _require(name == f"{scenario}-{signature_id}",
             f"entry name {name!r} must be {scenario}-{signature_id} (scenario and signature id)")


_FIELDS = {
    "name": str, "scenario": str, "options": dict, "kernel": str, "overrides": dict,
    "versions": dict, "schedule": dict, "invariant": str, "message": str, "state": str,
    "signature": dict, "timeline": list, "mmfuzz_version": str,
}


def _require(cond: bool, what: str) -> None:
    if not cond:
        raise BadEntry(what)


def from_json(data) -> Entry:
    """Validate a decoded JSON document; BadEntry says what is wrong with it."""
    _require(isinstance(data, dict), "not a JSON object")
    schema = data.get("schema")
    _require(isinstance(schema, str) and schema.startswith("mmfuzz-corpus/"),
             "not an mmfuzz corpus entry (no \"schema\": \"mmfuzz-corpus/N\")")
    _require(schema == SCHEMA, f"schema {schema!r} is not the {SCHEMA!r} this mmfuzz reads")
    for key, typ in _FIELDS.items():
        _require(key in data, f"missing field {key!r}")
        _require(isinstance(data[key], typ), f"field {key!r} must be a {typ.__name__}")
    for key in ("options", "overrides", "versions"):
        _require(all(isinstance(k, str) and isinstance(v, str) for k, v in data[key].items()),
                 f"field {key!r} must map strings to strings")
    sched = data["schedule"]
    _require(isinstance(sched.get("population"), list)
             and all(isinstance(k, str) for k in sched["population"]),
             "schedule.population must be a list of actor kinds")
    _require(isinstance(sched.get("params"), dict), "schedule.params must be an object")
    steps = sched.get("steps")
    _require(isinstance(steps, list) and steps, "schedule.steps must be a non-empty list")
    for i, step in enumerate(steps):
        _require(isinstance(step, list) and len(step) == 2 and type(step[0]) is int
                 and 0 <= step[0] < len(sched["population"]) and isinstance(step[1], str),
                 f"schedule.steps[{i}] must be [task id, \"function: step\"]")
    _require(isinstance(data["signature"].get("id"), str), "signature.id missing")
    check_name(data["name"], data["scenario"], data["signature"]["id"])
    _require(all(isinstance(line, str) for line in data["timeline"]), "timeline must be lines")
    found = data.get("found", {})
    _require(isinstance(found, dict), "field 'found' must be an object")
    package = data.get("race_package", BUILTIN)
    _require(isinstance(package, str) and package != "", "field 'race_package' must be a module name")
    return Entry(**{k: data[k] for k in _FIELDS}, found=found, race_package=package)


def loads(text: str) -> Entry:
    try:
        data = json.loads(text)
    except ValueError as e:  # JSONDecodeError and UnicodeDecodeError
        raise BadEntry(f"not valid JSON ({e})") from None
    except RecursionError:
        raise BadEntry("not a corpus entry: JSON nested too deeply") from None
    return from_json(data)
