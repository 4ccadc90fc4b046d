"""Protection mutants: a clean verdict must rest on something the model can break.

Each declared clean verdict names the protections it rests on (rests_on); here each
named mutant is explored and must break the named invariant, so no clean verdict is
vacuous. The mechanism itself is checked on the toy counter.
"""

import pytest

import toy  # noqa: F401  (registers the toy scenarios)
from mmfuzz.api import SCENARIOS, mutate
from mmfuzz.corpus.expect import declared
from mmfuzz.engine.locks import LockTable
from mmfuzz.races import load as load_all

INC2 = {"inc": (2, 2)}


def test_eliding_the_lock_of_the_locked_counter_breaks_it():
    m = mutate("toy-lost-update", "v6.12", overrides={"toy_counter": "locked"}, counts=INC2, max_preemptions=2)
    assert m.baseline.verdict == "clean"
    # the one lock site it reaches, then the declared mutant of the version it runs
    assert m.rests_on == ["spin_lock(A) in increment", "toy_counter=locked-unlocked"], m.results
    r = m.results[0]
    assert (r.mutant.kind, r.verdict, r.invariant, r.preemptions) == ("lock", "racy", "no-lost-update", 1)
    assert [s.label for s in r.violation.run.trace if "mutant: elided, the lock is not taken" in s.notes] == [
        "increment: spin_lock(A)"] * 2


def test_an_elided_trylock_succeeds_and_its_release_is_a_no_op():
    m = mutate("toy-lost-update", "v6.12", overrides={"toy_counter": "trylock"}, counts=INC2, max_preemptions=2)
    assert [(r.mutant.name, r.verdict, r.invariant) for r in m.results] == [
        ("spin_lock(A) in increment", "racy", "no-lost-update"),
        ("trylock(A) in increment", "racy", "no-lost-update")]


def test_a_lock_around_one_atomic_step_protects_nothing_the_verdict_is_vacuous():
    m = mutate("toy-lost-update", "v6.12", overrides={"toy_counter": "atomic"}, counts=INC2)
    assert m.baseline.verdict == "clean" and [r.mutant.name for r in m.results] == ["spin_lock(A) in increment"]
    assert not m.rests_on and m.vacuous
    m = mutate("toy-lost-update", "v6.12", overrides={"toy_counter": "locked"}, counts={"inc": (1, 1)})
    assert m.baseline.verdict == "clean" and len(m.results) == 2 and m.vacuous  # one CPU needs no lock


def test_a_racy_kernel_is_not_a_clean_verdict_to_mutate():
    m = mutate("toy-lost-update", "v6.12", overrides={"toy_counter": "racy"}, counts=INC2)
    assert m.baseline.verdict == "racy" and m.baseline.invariant == "no-lost-update" and not m.results


def test_releasing_an_elided_hold_leaves_the_real_holders_alone():
    locks = LockTable()
    locks.elide("A", 0)
    locks.acquire("A", "excl", 1)
    assert locks.release_elided("A", 0) and locks.holds("A", 1)
    assert not locks.release_elided("A", 1)
    locks.release("A", 1)
    assert not locks.is_locked("A") and not locks.elided


def test_sites_are_named_by_function_and_lock_kind_not_by_pfn():
    m = mutate("punch-vs-fault-around", "v5.9", options={"fs": "xfs"}, max_preemptions=1,
               only=["trylock_page(page) in filemap_map_pages"])
    names = [r.mutant.name for r in m.results]
    assert names == ["trylock_page(page) in filemap_map_pages"]
    # discovery saw the MMAPLOCK of ->map_pages apart from the fault's (a lock helper's caller)
    m = mutate("punch-vs-fault-around", "v5.9", options={"fs": "xfs"}, max_preemptions=0)
    names = {r.mutant.name for r in m.results}
    assert {"xfs_ilock: down_read(xfs_mmaplock) in xfs_filemap_map_pages",
            "xfs_ilock: down_read(xfs_mmaplock) in __xfs_filemap_fault",
            "truncate_inode_pages_range=no-reunmap"} <= names
    assert not any("0x" in n for n in names)


load_all()
CLEAN = [row for name in sorted(SCENARIOS) if not name.startswith("toy-")
         for row in declared(name) if row.expect == "clean"]


@pytest.mark.parametrize("row", CLEAN, ids=[f"{r.scenario}-{r.label}" for r in CLEAN])
def test_each_clean_verdict_rests_on_its_named_protections(row):
    """Every named protection's mutant breaks the named invariant within two
    preemptions of the scenario's small populations: the verdict is not vacuous."""
    assert row.rests_on, f"{row.scenario} {row.label} declares no rests_on: nothing shows it is not vacuous"
    m = mutate(row.scenario, row.kernel, overrides=dict(row.overrides), options=dict(row.options),
               max_preemptions=2, only=[name for name, _ in row.rests_on], baseline=False)
    got = {r.mutant.name: (r.verdict, r.invariant) for r in m.results}
    assert got == {name: ("racy", inv) for name, inv in row.rests_on}


@pytest.mark.parametrize("scenario,kernel,options,overrides", [
    ("toy-lost-update", "v6.12", {}, {"toy_counter": "trylock"}),
    ("punch-vs-fault-around", "v5.9", {"fs": "xfs"}, {}),
    ("fault-vs-truncate", "v2.6.20", {}, {}),
])
def test_reusing_the_unmutated_runs_changes_no_mutant_result(scenario, kernel, options, overrides):
    """A lock mutant skips the schedules its site made no difference to in the unmutated
    runs: it must find exactly what running every schedule finds."""
    kw = dict(options=options, overrides=overrides, max_preemptions=1)
    if scenario.startswith("toy"):
        kw.update(counts=INC2, max_preemptions=2)
    fast = mutate(scenario, kernel, **kw)
    names = [r.mutant.name for r in fast.results if r.mutant.kind == "lock"]
    assert names
    slow = mutate(scenario, kernel, only=names, baseline=False, **kw)
    assert [(r.mutant.name, r.verdict, r.invariant, r.preemptions, r.schedules) for r in slow.results] == \
        [(r.mutant.name, r.verdict, r.invariant, r.preemptions, r.schedules) for r in fast.results if r.mutant.kind == "lock"]


@pytest.mark.parametrize("scenario,kernel,options,overrides,counts", [
    ("toy-lost-update", "v6.12", {}, {"toy_counter": "trylock"}, INC2),
    ("toy-lost-update", "v6.12", {}, {"toy_counter": "atomic"}, INC2),
    ("punch-vs-fault-around", "v5.9", {"fs": "xfs"}, {}, {"punch": (1, 1), "fault": (1, 1)}),
])
def test_every_interleaving_finds_the_protections_the_bounded_search_finds(scenario, kernel, options,
                                                                            overrides, counts):
    """mutate --preemptions all: the stateful search over every interleaving, its sites
    from every state it expands, must find every mutant the bounded search does racy
    (these races need at most 2 preemptions) and no other."""
    kw = dict(options=options, overrides=overrides, counts=counts)
    bounded = mutate(scenario, kernel, max_preemptions=2, **kw)
    every = mutate(scenario, kernel, max_preemptions=None, **kw)
    assert every.bound is None and every.baseline.verdict == bounded.baseline.verdict == "clean"
    assert [r.mutant.name for r in every.results] == [r.mutant.name for r in bounded.results]
    assert [(r.verdict, r.invariant, r.preemptions) for r in every.results] == \
        [(r.verdict, r.invariant, r.preemptions) for r in bounded.results]
    assert every.vacuous == bounded.vacuous


def test_a_state_budget_leaves_the_unbounded_verdict_incomplete():
    m = mutate("punch-vs-fault-around", "v5.9", options={"fs": "xfs"}, counts={"punch": (1, 1), "fault": (1, 1)},
               max_preemptions=None, max_states=50)
    assert m.baseline.verdict == "incomplete" and not m.results


def cli(*args):
    import os
    import subprocess
    import sys
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    return subprocess.run([sys.executable, "-m", "mmfuzz", "mutate", *args], cwd=root,
                          capture_output=True, text=True, timeout=300)


XFS59 = ("punch-vs-fault-around", "--kernel", "v5.9", "--fs", "xfs", "--preemptions", "1")


def test_cli_json_lists_each_mutant_and_exits_0_when_the_verdict_rests_on_one():
    import json
    p = cli(*XFS59, "--mutant", "xfs_ilock: down_write(xfs_mmaplock) in xfs_file_fallocate",
            "--mutant", "truncate_inode_pages_range=no-reunmap", "--json")
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    assert [(o["mutant"], o["kind"], o["site"]["function"], o["verdict"], o["invariant"], o["preemptions"])
            for o in out] == [
        ("xfs_ilock: down_write(xfs_mmaplock) in xfs_file_fallocate", "lock", "xfs_file_fallocate", "racy",
         "no-stale-data", 1),
        ("truncate_inode_pages_range=no-reunmap", "declared", "truncate_cleanup_page", "clean", None, None)]
    assert all(o["schedules"] > 0 for o in out)


def test_cli_preemptions_all_says_every_interleaving_and_exits_3_on_a_budget():
    p = cli("punch-vs-fault-around", "--kernel", "v5.9", "--fs", "xfs", "--actors", "punch=1,fault=1",
            "--preemptions", "all", "--mutant", "truncate_inode_pages_range=no-reunmap")
    assert "every interleaving of punch=1,fault=1" in p.stdout, p.stdout + p.stderr
    p = cli("punch-vs-fault-around", "--kernel", "v5.9", "--fs", "xfs", "--actors", "punch=1,fault=1",
            "--preemptions", "all", "--max-states", "20")
    assert p.returncode == 3, p.stdout + p.stderr
    assert "no clean verdict to mutate, so no mutant ran" in p.stdout


def test_cli_text_exit_1_when_no_mutant_breaks_the_verdict():
    p = cli(*XFS59, "--mutant", "down_read(mmap_lock) in do_user_addr_fault")
    assert p.returncode == 1, p.stderr
    assert "clean      down_read(mmap_lock) in do_user_addr_fault" in p.stdout
    assert "this verdict rests on: none of these 1 mutant(s)" in p.stdout


def test_cli_a_racy_kernel_is_not_a_clean_verdict_to_mutate():
    p = cli("punch-vs-fault-around", "--kernel", "v5.8", "--with", "truncate_inode_pages_range=no-reunmap",
            "--preemptions", "1")
    assert p.returncode == 1
    assert "not a clean verdict to mutate" in p.stderr and "no-stale-pte" in p.stderr


@pytest.mark.parametrize("args, message", [
    (XFS59 + ("--mutant", "nonsense"), "not a mutant name"),
    (XFS59 + ("--mutant", "walk_page_range=two-loads"), "no declared mutant 'walk_page_range=two-loads'"),
    (("nosuch", "--kernel", "v5.9"), "unknown scenario"),
    (XFS59 + ("--preemptions", "x"), "not a whole number"),
])
def test_cli_bad_input_is_one_line_and_exit_2(args, message):
    p = cli(*args)
    assert p.returncode == 2 and message in p.stderr and len(p.stderr.strip().splitlines()) == 1, p.stderr
    assert not p.stdout


def test_a_mutant_is_flagged_by_its_docstring_and_mutates_the_version_it_subclasses():
    from mmfuzz.engine.versions import CodePath

    path = CodePath("p", file="p.c", doc="a path")

    @path.version("v1", since="v6.12", models="v1")
    class V1:
        """The real one."""

    @path.version("no-recheck", models="v1 without its re-check")
    class NoRecheck(V1):
        """Mutant: v1 without its re-check."""

    assert not path.versions["v1"].mutant
    assert path.versions["no-recheck"].mutant and path.versions["no-recheck"].mutates == ("v1",)
    with pytest.raises(ValueError, match="cannot be in a kernel"):
        path.version("bad", since="v7.0", mutant=True, models="m")(type("Bad", (V1,), {}))


def test_list_shows_mutants_apart_from_versions():
    import json
    import subprocess
    import sys
    p = subprocess.run([sys.executable, "-m", "mmfuzz", "list", "--json"], capture_output=True, text=True, timeout=120)
    walk = next(x for x in json.loads(p.stdout)["paths"] if x["name"] == "walk_page_range")
    assert "two-loads" not in [v["name"] for v in walk["versions"]]
    assert [(m["name"], m["mutates"]) for m in walk["mutants"]] == [("two-loads", ["3b89863c3fa4"])]
    text = subprocess.run([sys.executable, "-m", "mmfuzz", "list"], capture_output=True, text=True, timeout=120).stdout
    # versions are indented four spaces, a path's mutants six, under their own heading
    assert "protection mutants" in text and "\n      no-reunmap " in text and "\n    no-reunmap " not in text
