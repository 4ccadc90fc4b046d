"""The corpus under faults: nothing it cannot read is replaced or counted as an entry,
nothing hangs or raises, no write leaves a stray or private file, no name escapes."""

from __future__ import annotations

import json
import os
import stat
import time

import attrs
import pytest

import toy  # noqa: F401  (registers the toy scenarios)
from mmfuzz.api import fuzz
from mmfuzz.cli import main
from mmfuzz.corpus import store
from mmfuzz.corpus.record import entry_from_result
from mmfuzz.corpus.replay import STALE, replay
from mmfuzz.corpus.schema import BadEntry, loads
from mmfuzz.corpus.store import CorpusError, Skipped, load, save, scan

RACY = {"toy_counter": "racy"}
FUZZ = ["fuzz", "toy-lost-update", "--kernel", "v6.12", "--with", "toy_counter=racy", "--seed", "3",
        "--max-examples", "200"]


@pytest.fixture(scope="module")
def race():
    r = fuzz("toy-lost-update", "v6.12", overrides=RACY, seed=3, max_examples=200)
    assert r.found
    return entry_from_result(r, RACY, seed=3)


@pytest.mark.parametrize("damage", [
    lambda text: text.replace("mmfuzz-corpus/1", "mmfuzz-corpus/2"),  # a newer mmfuzz wrote it
    lambda text: text.replace('"invariant":', '"invariant"', 1),  # a hand edit with one typo
])
def test_save_never_replaces_a_file_it_cannot_parse(race, tmp_path, damage, capsys):
    path = store.path_for(tmp_path, race)
    text = damage(race.dumps())
    path.write_text(text)
    with pytest.raises(CorpusError, match=f"not replacing {path}"):
        save(race, tmp_path)
    assert path.read_text() == text
    # on the command line: the race is printed, then the error naming the file, exit 2
    assert main(FUZZ + ["--save", str(tmp_path)]) == 2
    out, err = capsys.readouterr()
    assert "BROKEN  no-lost-update" in out and f"not replacing {path}" in err and err.count("\n") == 1
    assert path.read_text() == text


def test_fuzz_save_that_fails_still_prints_the_race(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("")
    assert main(FUZZ + ["--save", str(blocker / "corpus")]) == 2
    out, err = capsys.readouterr()
    assert "BROKEN  no-lost-update" in out and "found in" in out, "the race is not lost"
    assert "cannot write" in err and err.count("\n") == 1


def test_stray_temporary_files_are_removed_and_live_ones_kept(race, tmp_path):
    old, fresh = tmp_path / ".tmp-123-dead.json", tmp_path / ".tmp-456-live.json"
    old.write_text("half an ent")
    fresh.write_text("being writt")
    an_hour_ago = time.time() - 3600
    os.utime(old, (an_hour_ago, an_hour_ago))
    save(race, tmp_path)
    assert not old.exists() and fresh.exists()


@pytest.mark.parametrize("umask,mode", [(0o022, 0o644), (0o002, 0o664), (0o077, 0o600)])
def test_entries_are_created_with_the_umask(race, tmp_path, umask, mode):
    old = os.umask(umask)
    try:
        path, _ = save(race, tmp_path)
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == mode


def test_deeply_nested_json_is_a_broken_entry(tmp_path, capsys):
    (tmp_path / "deep.json").write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(BadEntry, match="nested too deeply"):
        loads((tmp_path / "deep.json").read_text())
    assert main(["replay", str(tmp_path)]) == 3
    assert "BROKEN    " in capsys.readouterr().out


def test_a_wrongly_typed_param_is_stale_and_the_others_still_replay(race, tmp_path, capsys):
    data = race.to_json()
    data["schedule"]["params"] = {"nope": "x"}
    bad = attrs.evolve(race, schedule=data["schedule"])
    assert replay(bad).status == STALE
    # a declared parameter with a value of the wrong type: refused, not a traceback
    from mmfuzz.engine.target import check_params

    class Fake:
        name, params = "fake", {"fault_index": [0, 1]}
    with pytest.raises(ValueError, match='not "abc"'):
        check_params(Fake, {"fault_index": "abc"})


def test_a_wrongly_typed_param_in_a_real_scenario_entry(tmp_path, capsys):
    r = fuzz("punch-vs-fill", "v5.9", options={"fs": "generic"}, seed=1, max_examples=300)
    if not r.found:
        pytest.skip("no race to edit within the budget")
    entry = entry_from_result(r, {}, seed=1)
    data = entry.to_json()
    data["schedule"]["params"]["fault_index"] = "abc"
    path = store.path_for(tmp_path, entry)
    path.write_text(json.dumps(data))
    assert main(["replay", str(path)]) == 3
    out = capsys.readouterr().out
    assert "STALE" in out and 'not "abc"' in out


def test_non_regular_files_and_odd_names(race, tmp_path, capsys):
    save(race, tmp_path)
    os.mkfifo(tmp_path / "fifo.json")  # would block a plain open() forever
    (tmp_path / "folder.json").mkdir()
    os.symlink(tmp_path / "nowhere.json", tmp_path / "dangling.json")
    os.symlink(tmp_path / "loop.json", tmp_path / "loop.json")
    (tmp_path / "README").write_text("# the project's races\n")
    (tmp_path / "notes.md").write_text("not an entry\n")
    results = dict(scan([tmp_path]))
    skipped = {p.name: str(e) for p, e in results.items() if isinstance(e, Skipped)}
    assert skipped.keys() == {"fifo.json", "folder.json", "dangling.json", "loop.json"}
    assert "not a regular file" in skipped["fifo.json"] and "a directory" in skipped["folder.json"]
    assert "dangling" in skipped["dangling.json"] and "loop" in skipped["loop.json"]
    assert main(["replay", str(tmp_path)]) == 1  # the race; the rest are named, not broken
    out = capsys.readouterr().out
    assert out.count("SKIPPED   ") == 4 and "BROKEN" not in out and "README" not in out


def test_a_device_or_fifo_named_as_an_entry_is_broken_not_a_hang(tmp_path, capsys):
    os.mkfifo(tmp_path / "fifo")
    for path in ("/dev/zero", str(tmp_path / "fifo")):
        with pytest.raises(BadEntry, match="not a regular file"):
            load(path)
        assert main(["replay", path]) == 3
        assert "BROKEN" in capsys.readouterr().out


def test_a_file_larger_than_an_entry_can_be(tmp_path, monkeypatch):
    monkeypatch.setattr(store, "MAX_ENTRY_BYTES", 1000)
    (tmp_path / "big.json").write_text(" " * 2000 + "{}")
    with pytest.raises(BadEntry, match="larger than an entry can be"):
        load(tmp_path / "big.json")


@pytest.mark.parametrize("name", ["../ESCAPED", "toy-lost-update-../../x", "/etc/passwd"])
def test_entry_names_are_checked_on_load_and_on_save(race, tmp_path, name):
    evil = attrs.evolve(race, name=name)
    with pytest.raises(BadEntry, match="must be"):
        loads(evil.dumps())
    with pytest.raises(BadEntry):
        save(evil, tmp_path / "corpus")
    assert not (tmp_path / "ESCAPED.json").exists() and not (tmp_path / "corpus").exists()
    sig = race.signature | {"id": "../ESCAPED"}
    with pytest.raises(BadEntry, match="16 hex digits"):
        save(attrs.evolve(race, signature=sig), tmp_path / "corpus")
