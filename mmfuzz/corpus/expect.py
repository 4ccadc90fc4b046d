"""The verdicts a scenario declares (racy_on, clean_on) as plain rows, and which of
them apply to a corpus entry: an entry must still violate where it was found and
must not on the clean rows with its options."""

from __future__ import annotations

import attrs

from mmfuzz.api import get_scenario


@attrs.frozen
class Row:
    scenario: str
    kernel: str
    overrides: tuple  # sorted (path, version) pairs: hashable
    options: tuple  # sorted (option, value) pairs, defaults filled in
    expect: str  # "racy" | "clean" | "" (no declared verdict)
    # a clean row's protections: sorted (mutant name, invariant its mutant breaks) pairs
    rests_on: tuple = attrs.field(default=(), eq=False)

    @property
    def label(self) -> str:
        extra = [f"{k}={v}" for k, v in self.options] + [f"{p}={v}" for p, v in self.overrides]
        return self.kernel + (f" [{', '.join(extra)}]" if extra else "")


def row(scenario: str, item: dict, expect: str) -> Row:
    scen = get_scenario(scenario, item.get("options"))
    return Row(scenario, item["kernel"], tuple(sorted((item.get("overrides") or {}).items())),
               tuple(sorted(scen.opts.items())), expect, tuple(sorted((item.get("rests_on") or {}).items())))


def declared(scenario: str) -> list[Row]:
    cls = type(get_scenario(scenario))
    return ([row(scenario, i, "racy") for i in cls.racy_on]
            + [row(scenario, i, "clean") for i in cls.clean_on])


def entry_row(entry) -> Row:
    return Row(entry.scenario, entry.kernel, tuple(sorted(entry.overrides.items())),
               tuple(sorted(entry.options.items())), "racy")


def clean_rows_for(entry) -> list[Row]:
    opts = tuple(sorted(entry.options.items()))
    return [r for r in declared(entry.scenario) if r.expect == "clean" and r.options == opts]
