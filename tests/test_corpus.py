"""The corpus package: format, minimizing, atomic de-duplicating store, replay, CLI."""

from __future__ import annotations

import json
import multiprocessing
import os

import attrs
import pytest

from mmfuzz.cli import main
from mmfuzz.corpus.execute import execute, segments
from mmfuzz.corpus.record import entry_from_result
from mmfuzz.corpus.replay import CLEAN, STALE, VIOLATES, replay
from mmfuzz.corpus.schema import BadEntry, Entry, loads
from mmfuzz.corpus.store import CorpusError, load, save, scan
from mmfuzz.api import FuzzResult, fuzz, prepare
from mmfuzz.engine.result import fill_from_violation


@pytest.fixture(scope="module")
def race() -> Entry:
    """A two-CPU race: the 2026 PUD split vs refault on v6.12."""
    two_cpus = {"numa_maps": (1, 1), "vfio_fault": (1, 1), "vfio_zap": (0, 0), "pte_walker": (0, 0),
                "bar_pte_walker": (0, 0)}
    for seed in (3, 4, 2, 5, 1):
        r = fuzz("pagewalk", "v6.12", seed=seed, max_examples=2000, counts=two_cpus)
        if r.found:
            return entry_from_result(r, {}, seed=seed)
    pytest.fail("the v6.12 pagewalk race was not found")


def test_entry_round_trips_and_names_its_race(race):
    assert loads(race.dumps()) == race
    assert race.name == f"pagewalk-{race.signature['id']}"
    assert race.invariant == "no-illegal-read"
    assert race.signature["switches"], "a two-CPU race has switch points"
    assert any("BROKEN" in line for line in race.timeline)
    assert len({tid for tid, _ in race.steps}) == 2


@pytest.mark.parametrize("text,why", [
    ("", "not valid JSON"),
    ("[1, 2]", "not a JSON object"),
    ('{"tool": "other"}', "not an mmfuzz corpus entry"),
    ('{"schema": "mmfuzz-corpus/99"}', "is not the"),
])
def test_foreign_files_are_rejected(text, why):
    with pytest.raises(BadEntry, match=why):
        loads(text)


def test_bad_steps_are_rejected(race):
    data = race.to_json()
    data["schedule"]["steps"][0] = [7, "x: y"]  # no task 7
    with pytest.raises(BadEntry, match=r"steps\[0\]"):
        loads(json.dumps(data))


def test_an_entry_is_the_canonical_race(race):
    """A race found with an extra idle actor is saved as the same race (one signature)."""
    scen, versions, kernel_cls = prepare("pagewalk", "v6.12")
    population = race.schedule["population"] + ["numa_maps"]
    segs = [(len(population) - 1, 1)] + segments(race.steps)
    run, v = execute(scen, kernel_cls, versions, population, race.schedule["params"], segs)
    assert v is not None and v.invariant == race.invariant and len(run.population) == 3
    bigger = FuzzResult("pagewalk", "v6.12", {}, race.versions, False, 0, 0.0)
    fill_from_violation(bigger, v, "")
    again = entry_from_result(bigger, {})
    assert again.name == race.name and again.schedule == race.schedule


def test_save_is_idempotent_and_keeps_what_it_cannot_read(race, tmp_path):
    path, new = save(race, tmp_path)
    assert new and load(path) == race
    assert save(race, tmp_path) == (path, False)
    damaged = race.dumps()[:200]
    path.write_text(damaged)  # damaged outside mmfuzz (or a newer schema): not ours to replace
    with pytest.raises(CorpusError, match="not replacing"):
        save(race, tmp_path)
    assert path.read_text() == damaged
    assert sorted(os.listdir(tmp_path)) == [path.name], "no temporary file is left behind"


def _writer(args):
    text, folder, copies = args
    entry = loads(text)
    created = []
    for i in range(copies):
        if i % 2 == 0:
            e = entry
        else:
            sig = entry.signature | {"id": f"{entry.signature['id'][:-4]}{i:04d}"}
            e = attrs.evolve(entry, name=f"{entry.scenario}-{sig['id']}", signature=sig)
        created.append(save(e, folder)[1])
    return created


def test_concurrent_writers_never_tear_or_lose_an_entry(race, tmp_path):
    """Eight processes write the same race and their own ones at once."""
    ctx = multiprocessing.get_context("fork")
    with ctx.Pool(8) as pool:
        results = pool.map(_writer, [(race.dumps(), str(tmp_path), 9)] * 8)
    names = sorted(os.listdir(tmp_path))
    # the shared race once, plus the four odd-numbered variants (also shared by all writers)
    assert len(names) == 5, names
    assert sum(r[0] for r in results) == 1, "exactly one writer created the shared entry"
    for _, entry in scan([tmp_path]):
        assert isinstance(entry, Entry), entry


def test_replay_strict_on_recorded_versions(race):
    out = replay(race)
    assert (out.status, out.mode, out.invariant) == (VIOLATES, "strict", race.invariant)


def test_replay_on_the_fix_follows_task_order_and_is_clean(race):
    out = replay(race, "v7.0")
    assert (out.status, out.mode) == (CLEAN, "order")
    assert "diverge" in out.detail


def test_replay_on_other_versions_with_the_same_code_is_strict(race):
    out = replay(race, "v6.12")
    assert (out.status, out.mode) == (VIOLATES, "strict")


def test_a_label_that_is_gone_is_stale_not_a_crash(race):
    steps = [list(s) for s in race.steps]
    steps[1][1] = "walk_pud_range: a step that was removed"
    stale = attrs.evolve(race, schedule=race.schedule | {"steps": steps})
    out = replay(stale)
    assert out.status == STALE and "a step that was removed" in out.message


def test_a_version_that_is_gone_is_stale(race):
    gone = attrs.evolve(race, versions=race.versions | {"walk_page_range": "v0-deleted"})
    assert replay(gone).status == STALE


# -- the command line ------------------------------------------------------------------
def test_cli_replay_reports_each_entry_and_skips_broken_files(race, tmp_path, capsys):
    save(race, tmp_path)
    (tmp_path / "truncated.json").write_text(race.dumps()[:300])
    (tmp_path / "binary.json").write_bytes(b"\xff\xfe binary")
    (tmp_path / "notes.txt").write_text("not an entry, not a broken one either")
    assert main(["replay", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert f"VIOLATES  {race.name}" in out
    assert "BROKEN    " in out and "truncated.json" in out and "binary.json" in out
    assert "notes.txt" not in out
    assert main(["replay", str(tmp_path), "--kernel", "v7.0", "--json"]) == 3  # broken entries
    data = json.loads(capsys.readouterr().out)
    assert data["counts"] == {"broken": 2, "clean": 1}


@pytest.mark.parametrize("argv,msg", [
    (["replay", "/nonexistent/corpus"], "no such file"),
    (["replay", ".", "--kernel", "v99"], "unknown kernel"),
    (["replay", ".", "--with", "walk_page_range"], "KEY=VALUE"),
    (["replay", ".", "--with", "walk_page_range=nope"], "has no version"),
])
def test_cli_bad_input_is_one_line_and_exit_2(argv, msg, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert msg in err and err.count("\n") == 1


def test_cli_fuzz_save_writes_once(tmp_path, capsys):
    argv = ["fuzz", "pagewalk", "--kernel", "v7.0-rc2", "--with", "walk_page_range=rfc-skip-special",
            "--seed", "1", "--max-examples", "1000", "--save", str(tmp_path)]
    assert main(argv) == 1
    assert "saved " in capsys.readouterr().out
    assert main(argv + ["--json"]) == 1
    data = json.loads(capsys.readouterr().out)
    assert data["corpus"]["new"] is False
    entry = load(data["corpus"]["path"])
    assert entry.overrides == {"walk_page_range": "rfc-skip-special"}
    assert len(os.listdir(tmp_path)) == 1


def test_cli_fuzz_save_to_an_unwritable_place_is_exit_2(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("")
    argv = ["fuzz", "pagewalk", "--kernel", "v7.0-rc2", "--with", "walk_page_range=rfc-skip-special",
            "--seed", "1", "--max-examples", "1000", "--save", str(blocker / "corpus")]
    assert main(argv) == 2
    assert "cannot write" in capsys.readouterr().err
