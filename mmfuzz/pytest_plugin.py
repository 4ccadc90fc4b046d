"""pytest plugin: `pytest -n auto --kernel v6.12` fuzzes every scenario against that kernel.

Without --kernel the project's own tests run as usual. With it, the collected tests
are replaced by one item per scenario (x filesystem, for scenarios that take one); an
item fails with the printed race when the fuzzer finds one. The budget comes from the
Hypothesis profile (`--hypothesis-profile ci|nightly`, default ci).
"""

from __future__ import annotations

import pytest

from mmfuzz.engine import profiles

profiles.register()  # before Hypothesis's own plugin loads --hypothesis-profile


def pytest_addoption(parser):
    group = parser.getgroup("mmfuzz", "fuzz kernel MM code paths")
    group.addoption("--kernel", help="fuzz every scenario against this named kernel instead of running tests")
    group.addoption("--with", dest="mmfuzz_with", action="append", metavar="PATH=VERSION",
                    help="with --kernel: run one code path in another version (repeatable)")
    group.addoption("--fs", dest="mmfuzz_fs", help="with --kernel: only this filesystem, for scenarios that take one")
    group.addoption("--scenario", dest="mmfuzz_scenarios", action="append", metavar="NAME",
                    help="with --kernel: only this scenario (repeatable; default: all)")
    group.addoption("--mmfuzz-seed", type=int, default=None, help="with --kernel: a fixed seed")
    group.addoption("--mmfuzz-max-examples", type=int, default=None,
                    help="with --kernel: examples per scenario (default: the Hypothesis profile's)")


class RaceFound(Exception):
    pass


class FuzzItem(pytest.Item):
    def __init__(self, *, scenario, kernel, overrides, options, seed, max_examples, profile, **kw):
        super().__init__(**kw)
        self.scenario, self.kernel = scenario, kernel
        self.overrides, self.options = overrides, options
        self.seed, self.max_examples, self.profile = seed, max_examples, profile

    def runtest(self):
        from mmfuzz.api import fuzz

        r = fuzz(self.scenario, self.kernel, overrides=self.overrides, options=self.options,
                 seed=self.seed, max_examples=self.max_examples, profile=self.profile)
        self.user_properties.append(("examples", r.examples))
        if r.found:
            raise RaceFound(f"{r.report}\n\nfound in {r.examples} examples, {r.seconds:.1f}s; "
                            f"shrunk to {r.steps} steps, {r.switches} switches")

    def repr_failure(self, excinfo, style=None):
        if isinstance(excinfo.value, RaceFound):
            return str(excinfo.value)
        return super().repr_failure(excinfo, style)

    def reportinfo(self):
        return self.path, 0, f"mmfuzz {self.name}"  # a skip report needs a line number


def _fuzz_items(session, config) -> list:
    from mmfuzz import races
    from mmfuzz.cli.args import UsageError, parse_overrides
    from mmfuzz.engine.scenario import SCENARIOS
    from mmfuzz.engine.versions import UnknownName, select

    try:
        races.load()
    except UnknownName as e:
        raise pytest.UsageError(f"mmfuzz: {e}") from None
    kernel = config.getoption("kernel")
    try:
        overrides = parse_overrides(config.getoption("mmfuzz_with"))
        select(kernel, overrides)
    except (UsageError, UnknownName) as e:
        raise pytest.UsageError(f"mmfuzz: {e}") from None
    fs = config.getoption("mmfuzz_fs")
    profile = config.getoption("hypothesis_profile", default=None) or "ci"
    wanted = config.getoption("mmfuzz_scenarios")
    for name in wanted or ():
        if name not in SCENARIOS:
            raise pytest.UsageError(f"mmfuzz: unknown scenario {name!r}; known: {', '.join(sorted(SCENARIOS))}")
    items = []
    for name in sorted(SCENARIOS):
        cls = SCENARIOS[name]
        if name.startswith("toy-") or (wanted and name not in wanted):
            continue  # the engine's own test scenarios, or not asked for
        fs_values = cls.options.get("fs", (None,))
        if fs:
            fs_values = [v for v in fs_values if v == fs]
        for value in fs_values:
            options = {"fs": value} if value else {}
            label = f"{name}[{kernel}" + (f",fs={value}" if value else "") + "]"
            item = FuzzItem.from_parent(session, name=label, scenario=name, kernel=kernel,
                                        overrides=overrides, options=options,
                                        seed=config.getoption("mmfuzz_seed"),
                                        max_examples=config.getoption("mmfuzz_max_examples"),
                                        profile=profile)
            try:
                select(kernel, overrides, needed=cls.paths)
            except UnknownName as e:
                item.add_marker(pytest.mark.skip(reason=str(e)))
            items.append(item)
    return items


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(session, config, items):
    if config.getoption("kernel"):
        items[:] = _fuzz_items(session, config)
