"""What a campaign runs: targets, each a corpus `Row` with its expected verdict.

By default a scenario runs on the rows it declares (racy_on and clean_on); one that
declares none runs on every named kernel that has all its paths, with no verdict
expected. Naming kernels runs exactly those (every option combination), taking the
expected verdict from the declared row with the same overrides (--with) if there is one.
"""

from __future__ import annotations

import itertools

from mmfuzz.corpus.expect import Row, declared
from mmfuzz.engine.scenario import SCENARIOS, get_scenario
from mmfuzz.engine.versions import RELEASES, UnknownName, release_key, select
from mmfuzz import races


def scenario_names(names=None) -> list[str]:
    races.load()
    if not names:
        return sorted(n for n in SCENARIOS if not n.startswith("toy-"))
    for n in names:
        get_scenario(n)  # UnknownName for a typo
    return list(dict.fromkeys(names))


def _runs_on(scenario: str, kernel: str, overrides=()) -> bool:
    try:
        select(kernel, dict(overrides), needed=get_scenario(scenario).paths)
        return True
    except UnknownName:
        return False


def _option_sets(scenario: str) -> list[dict]:
    options = get_scenario(scenario).options
    keys = list(options)
    return [dict(zip(keys, values)) for values in itertools.product(*(options[k] for k in keys))]


def applicable(scenario: str, pinned: tuple) -> tuple:
    """The --with overrides for paths this scenario runs: only those change its code."""
    paths = get_scenario(scenario).paths
    return tuple((p, v) for p, v in pinned if p in paths)


def override_notes(scenarios, overrides) -> list[str]:
    """Where a --with is not applied, said once per path."""
    names = scenario_names(scenarios)
    notes = []
    for path in sorted(overrides or {}):
        runs = [n for n in names if path in get_scenario(n).paths]
        if len(runs) < len(names):
            notes.append(f"--with {path}={overrides[path]} applies only to {', '.join(runs)} "
                         f"(the others do not run {path})")
    return notes


def plan(scenarios=None, kernels=None, overrides=None) -> list[Row]:
    races.load()
    pinned = tuple(sorted((overrides or {}).items()))
    if pinned:
        if not kernels:
            raise UnknownName("--with needs --kernels: it changes the code of the kernels named")
        select(kernels[0], dict(pinned))  # UnknownName for a bad path or version
        names = scenario_names(scenarios)
        for path, _ in pinned:
            if not any(path in get_scenario(n).paths for n in names):
                raise UnknownName(f"--with {path}: no selected scenario runs {path} "
                                  f"({', '.join(names)})")
    for k in kernels or ():
        if k not in RELEASES:
            raise UnknownName(f"unknown kernel {k!r}; known: {', '.join(sorted(RELEASES, key=release_key))}")
    rows: list[Row] = []
    for name in scenario_names(scenarios):
        rows_declared = declared(name)
        if kernels:
            expect = {(r.kernel, r.options, r.overrides): r.expect for r in rows_declared}
            mine = applicable(name, pinned)
            for k in kernels:
                if not _runs_on(name, k, mine):
                    continue
                for opts in _option_sets(name):
                    opt_key = tuple(sorted(get_scenario(name, opts).opts.items()))
                    rows.append(Row(name, k, mine, opt_key, expect.get((k, opt_key, mine), "")))
        elif rows_declared:
            rows += rows_declared
        else:
            rows += [Row(name, k, (), tuple(sorted(o.items())), "")
                     for k in sorted(RELEASES, key=release_key) if _runs_on(name, k)
                     for o in _option_sets(name)]
    return list(dict.fromkeys(rows))
