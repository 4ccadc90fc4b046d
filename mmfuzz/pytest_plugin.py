"""pytest plugin: `pytest --mmfuzz-kernel v6.12` fuzzes every scenario against that kernel.

Without --mmfuzz-kernel it does nothing to the run: every option is namespaced
(`--mmfuzz-*`, so a kernel-CI conftest may have its own --kernel) and the Hypothesis
profiles it registers are `mmfuzz-ci` and `mmfuzz-nightly`, never Hypothesis's own.

With it, collection yields one item per scenario (x filesystem, for scenarios that take
one) instead of the project's tests, as `mmfuzz::pagewalk[v6.12]`. The items are made at
collection time, so -k, -m, --lf, --deselect, node ids and --collect-only select among
them as among tests. An item fails with the printed race when the fuzzer finds one;
the short summary shows its BROKEN line, the failure its seed and the command that
reproduces it. The budget comes from the profile (`--hypothesis-profile
mmfuzz-nightly`; default mmfuzz-ci). Seeds: --mmfuzz-seed, else under mmfuzz-ci one
derived from the node id (the same command gives the same verdict, as Hypothesis's own
`ci` profile derandomizes), else a fresh one per item, printed on failure.
"""

from __future__ import annotations

import os
import random
import shlex
import zlib

import pytest

from mmfuzz.engine import profiles

profiles.register()  # before Hypothesis's own plugin loads --hypothesis-profile

PREFIX = "mmfuzz"  # the collector every fuzz item hangs under: mmfuzz::NAME[KERNEL]


def pytest_addoption(parser):
    from mmfuzz.corpus.store import DEFAULT_CORPUS

    group = parser.getgroup("mmfuzz", "fuzz kernel MM code paths (mmfuzz)")
    group.addoption("--mmfuzz-kernel", dest="mmfuzz_kernel", metavar="KERNEL",
                    help="fuzz every scenario against this named kernel instead of running the tests")
    group.addoption("--mmfuzz-with", dest="mmfuzz_with", action="append", metavar="PATH=VERSION",
                    help="with --mmfuzz-kernel: run one code path in another version (repeatable)")
    group.addoption("--mmfuzz-fs", dest="mmfuzz_fs", metavar="FS",
                    help="with --mmfuzz-kernel: only this filesystem, for scenarios that take one")
    group.addoption("--mmfuzz-scenario", dest="mmfuzz_scenarios", action="append", metavar="NAME",
                    help="with --mmfuzz-kernel: only this scenario (repeatable; default: all)")
    group.addoption("--mmfuzz-seed", dest="mmfuzz_seed", type=int, default=None, metavar="N",
                    help="with --mmfuzz-kernel: the seed of every item (default: under mmfuzz-ci one "
                         "derived from the item's node id; otherwise random, printed on failure)")
    group.addoption("--mmfuzz-max-examples", dest="mmfuzz_max_examples", type=int, default=None, metavar="N",
                    help="with --mmfuzz-kernel: examples per item (default: the Hypothesis profile's)")
    group.addoption("--mmfuzz-save", dest="mmfuzz_save", action="store_true",
                    help="with --mmfuzz-kernel: write each race found to the corpus folder and print "
                         "its replay command")
    group.addoption("--mmfuzz-corpus", dest="mmfuzz_corpus", default=DEFAULT_CORPUS, metavar="DIR",
                    help=f"the corpus folder for --mmfuzz-save (default: {DEFAULT_CORPUS})")
    group.addoption("--mmfuzz-races", dest="mmfuzz_races", action="append", metavar="PKG.MOD",
                    help="load a race package that is not installed (repeatable; also $MMFUZZ_RACES)")


def fuzz_mode(config) -> bool:
    return bool(config.getoption("mmfuzz_kernel", default=None))


def profile_of(config) -> str:
    """The mmfuzz profile named by --hypothesis-profile, else mmfuzz-ci."""
    name = config.getoption("hypothesis_profile", default=None)
    return name if name in profiles.NAMES else profiles.CI


def seed_of(config, nodeid: str) -> int:
    fixed = config.getoption("mmfuzz_seed")
    if fixed is not None:
        return fixed
    if profile_of(config) == profiles.CI:
        return zlib.crc32(nodeid.encode())  # derandomized: the same item, the same seed
    return random.SystemRandom().randrange(2**32)


def pytest_report_header(config):
    if not fuzz_mode(config):
        return None
    fixed = config.getoption("mmfuzz_seed")
    seeds = (f"seed {fixed}" if fixed is not None else
             "seeds derived from node ids" if profile_of(config) == profiles.CI else
             "a random seed per item, printed on failure")
    return f"mmfuzz: kernel {config.getoption('mmfuzz_kernel')}, profile {profile_of(config)}, {seeds}"


class RaceFound(Exception):
    def __init__(self, text: str, broken: str):
        super().__init__(text)
        self.text, self.broken = text, broken


def broken_line(result) -> str:
    """The report's BROKEN line (what the short summary shows), joined to one line."""
    for line in result.report.splitlines():
        if line.startswith("BROKEN"):
            return " ".join(line.split())
    return f"BROKEN {result.invariant}: {result.message}"


class FuzzItem(pytest.Item):
    def __init__(self, *, scenario, kernel, overrides, options, skip=None, **kw):
        super().__init__(**kw)
        self.scenario, self.kernel = scenario, kernel
        self.overrides, self.options = overrides, options
        if skip:
            self.add_marker(pytest.mark.skip(reason=skip))

    def runtest(self):
        from mmfuzz.api import fuzz

        config = self.config
        seed = seed_of(config, self.nodeid)
        max_examples = config.getoption("mmfuzz_max_examples")
        profile = profile_of(config)
        stats = bool(config.getoption("hypothesis_show_statistics", default=False))
        with _statistics(self, stats):
            r = fuzz(self.scenario, self.kernel, overrides=self.overrides, options=self.options,
                     seed=seed, max_examples=max_examples, profile=profile, observe=stats)
        self.user_properties += [("examples", r.examples), ("seed", seed)]
        if not r.found:
            return
        lines = [r.report, "", f"found in {r.examples} examples, {r.seconds:.1f}s; shrunk to "
                 f"{r.steps} steps, {r.switches} switches; seed {seed}",
                 "reproduce: " + self.reproduce(seed), "      or: " + self.cli_command(seed, max_examples, profile)]
        if config.getoption("mmfuzz_save"):
            lines.append(self.save(r, seed, profile))
        raise RaceFound("\n".join(lines), broken_line(r))

    def reproduce(self, seed: int) -> str:
        """The pytest command that runs this item again with the same seed."""
        c = self.config
        argv = ["pytest", "--mmfuzz-kernel", self.kernel]
        argv += [f"--mmfuzz-with={p}={v}" for p, v in self.overrides.items()]
        argv += ["--mmfuzz-seed", str(seed)]
        argv += [f"--mmfuzz-races={m}" for m in c.getoption("mmfuzz_races") or ()]
        if c.getoption("mmfuzz_max_examples") is not None:
            argv += ["--mmfuzz-max-examples", str(c.getoption("mmfuzz_max_examples"))]
        if profile_of(c) != profiles.CI:
            argv += ["--hypothesis-profile", profile_of(c)]
        return shlex.join(argv + [self.nodeid])

    def cli_command(self, seed: int, max_examples, profile: str) -> str:
        argv = ["mmfuzz", "fuzz", self.scenario, "--kernel", self.kernel]
        argv += [f"--with={p}={v}" for p, v in self.overrides.items()]
        argv += [f"--option={k}={v}" for k, v in self.options.items()]
        argv += ["--seed", str(seed), "--profile", profile.removeprefix("mmfuzz-")]
        argv += [f"--races={m}" for m in self.config.getoption("mmfuzz_races") or ()]
        if max_examples is not None:
            argv += ["--max-examples", str(max_examples)]
        return shlex.join(argv)

    def save(self, result, seed: int, profile: str) -> str:
        from mmfuzz.corpus.record import NotReproducible, entry_from_result
        from mmfuzz.corpus.store import save

        folder = self.config.getoption("mmfuzz_corpus")
        try:
            entry = entry_from_result(result, self.overrides, seed=seed, profile=profile)
            path, new = save(entry, folder)
        except NotReproducible as e:
            return f"not saved: {e}"
        except OSError as e:
            return f"not saved: cannot write to {folder}: {e.strerror or e}"
        said = "saved" if new else "already in the corpus:"
        races = [f"--races={m}" for m in self.config.getoption("mmfuzz_races") or ()]
        return f"{said} {path}\nreplay: {shlex.join(['mmfuzz', 'replay', str(path), *races])}"

    def repr_failure(self, excinfo, style=None):
        if isinstance(excinfo.value, RaceFound):
            return _race_repr(self, excinfo.value)
        return super().repr_failure(excinfo, style)

    def reportinfo(self):
        return self.path, 0, f"mmfuzz {self.name}"  # a skip report needs a line number


def _race_repr(item, race: RaceFound):
    """The race as the failure's text; its BROKEN line as the crash message, which the short
    summary shows. Built from pytest's exception repr classes so that it survives
    pytest-xdist's report serialization (a custom repr would arrive as a plain string)."""
    from _pytest._code.code import ReprEntryNative, ReprExceptionInfo, ReprFileLocation, ReprTraceback

    text = race.text if race.text.endswith("\n") else race.text + "\n"
    entry = ReprEntryNative([text])
    return ReprExceptionInfo(reprtraceback=ReprTraceback([entry], None, "native"),
                             reprcrash=ReprFileLocation(str(item.path), 0, race.broken))


class _statistics:
    """Hypothesis's statistics for a fuzz item (--hypothesis-show-statistics): Hypothesis's
    plugin only collects them around test functions; its report hooks print what is
    left in item.hypothesis_statistics for any item."""

    def __init__(self, item, enabled: bool):
        self.item, self.enabled, self.ctx = item, enabled, None

    def __enter__(self):
        if self.enabled:
            from hypothesis.statistics import collector, describe_statistics

            def note(stats):
                stats["nodeid"] = self.item.nodeid
                self.item.hypothesis_statistics = describe_statistics(stats)

            self.ctx = collector.with_value(note)
            self.ctx.__enter__()
        return self

    def __exit__(self, *exc):
        if self.ctx is not None:
            self.ctx.__exit__(*exc)


class FuzzTargets(pytest.Collector):
    """The parent of the fuzz items: node ids are mmfuzz::SCENARIO[KERNEL,...]."""

    def collect(self):
        return self.session.config.stash[_ITEMS]


_ITEMS = pytest.StashKey[list]()


def _fuzz_items(session, config) -> list:
    from mmfuzz import races
    from mmfuzz.cli.args import UsageError, parse_overrides
    from mmfuzz.engine.scenario import SCENARIOS
    from mmfuzz.engine.versions import UnknownName, select

    try:
        races.add(config.getoption("mmfuzz_races") or ())
    except UnknownName as e:
        raise pytest.UsageError(f"mmfuzz: {e}") from None
    kernel = config.getoption("mmfuzz_kernel")
    try:
        overrides = parse_overrides(config.getoption("mmfuzz_with"))
        select(kernel, overrides)
    except (UsageError, UnknownName) as e:
        raise pytest.UsageError(f"mmfuzz: {e}") from None
    fs = config.getoption("mmfuzz_fs")
    wanted = config.getoption("mmfuzz_scenarios")
    for name in wanted or ():
        if name not in SCENARIOS:
            raise pytest.UsageError(f"mmfuzz: unknown scenario {name!r}; known: {', '.join(sorted(SCENARIOS))}")
    selected = [n for n in sorted(SCENARIOS)  # not the engine's own toy scenarios
                if not n.startswith("toy-") and (not wanted or n in wanted)]
    if fs:
        known = sorted({v for n in selected for v in SCENARIOS[n].options.get("fs", ())})
        if fs not in known:  # nothing would run: exit 5 looks like "no tests", not a typo
            raise pytest.UsageError(f"mmfuzz: no selected scenario takes --mmfuzz-fs {fs}; they take: "
                                    f"{', '.join(known) or 'no filesystem'}")
    for path in overrides:
        if not any(path in SCENARIOS[n].paths for n in selected):
            raise pytest.UsageError(f"mmfuzz: --mmfuzz-with {path}: no selected scenario runs {path}")
    parent = FuzzTargets.from_parent(session, name=PREFIX, nodeid=PREFIX, path=session.path)
    items = []
    for name in selected:
        cls = SCENARIOS[name]
        fs_values = cls.options.get("fs", (None,))
        if fs:
            fs_values = [v for v in fs_values if v == fs]
        # a --with applies where its path is run, as in a campaign
        mine = {p: v for p, v in overrides.items() if p in cls.paths}
        for value in fs_values:
            options = {"fs": value} if value else {}
            label = f"{name}[{kernel}" + (f",fs={value}" if value else "") + "]"
            try:
                select(kernel, mine, needed=cls.paths)
                skip = None
            except UnknownName as e:
                skip = str(e)
            items.append(FuzzItem.from_parent(parent, name=label, scenario=name, kernel=kernel,
                                              overrides=mine, options=options, skip=skip))
    return items


# options that only mean something in fuzz mode: without --mmfuzz-kernel they would be ignored
_FUZZ_ONLY = (("mmfuzz_with", "--mmfuzz-with"), ("mmfuzz_fs", "--mmfuzz-fs"),
              ("mmfuzz_scenarios", "--mmfuzz-scenario"), ("mmfuzz_seed", "--mmfuzz-seed"),
              ("mmfuzz_max_examples", "--mmfuzz-max-examples"))


def pytest_configure(config):
    if fuzz_mode(config):
        return
    given = [flag for dest, flag in _FUZZ_ONLY if config.getoption(dest, default=None) is not None]
    if given:
        raise pytest.UsageError(f"mmfuzz: {', '.join(given)} need(s) --mmfuzz-kernel: without it the "
                                f"project's tests run and {given[0]} would be ignored")


def _selected(items, args, rootpath) -> list:
    """Node-id arguments (`mmfuzz::pagewalk[v6.12]`, `pagewalk[v6.12]` or `pagewalk`) pick
    items; arguments that are paths (the test folders) select them all."""
    ids = [a for a in args if a.startswith(PREFIX + "::")
           or not os.path.exists(os.path.join(rootpath, a.split("::")[0]))]
    if not ids:
        return items
    keep = []
    for arg in ids:
        name = arg.removeprefix(PREFIX + "::")
        hit = [i for i in items if i.name == name or i.name.startswith(name + "[")]
        if not hit:
            raise pytest.UsageError(f"mmfuzz: no fuzz item matches {arg!r}; items: "
                                    + ", ".join(i.nodeid for i in items))
        keep += [i for i in hit if i not in keep]
    return keep


@pytest.hookimpl(tryfirst=True)
def pytest_collection(session):
    """In fuzz mode the fuzz items are the collection: made here, then deselected (-k, -m,
    --lf, --deselect) by the usual hooks, as tests are."""
    config = session.config
    if not fuzz_mode(config):
        return None
    from _pytest.reports import CollectReport

    hook = config.hook
    hook.pytest_collectstart(collector=session)
    items = _selected(_fuzz_items(session, config), config.args, str(config.rootpath))
    config.stash[_ITEMS] = items
    hook.pytest_collectreport(report=CollectReport(session.nodeid, "passed", None, items))
    for item in items:
        hook.pytest_itemcollected(item=item)
    try:
        hook.pytest_collection_modifyitems(session=session, config=config, items=items)
    finally:
        session.items = items
        hook.pytest_collection_finish(session=session)
    session.testscollected = len(items)
    return True
