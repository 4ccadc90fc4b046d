"""Every corpus entry is a regression test (one test per entry and expected verdict).

- found: on the versions it was found on, the race must still break its invariant
  (a stale schedule fails: the code under the entry changed, re-record it).
- clean: on each of the scenario's `clean_on` rows it must not break anything.
- load: a file in corpus/ that is not a valid entry fails its own test, and only that.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from mmfuzz.corpus.expect import clean_rows_for, declared, entry_row
from mmfuzz.corpus.replay import CLEAN, VIOLATES, replay
from mmfuzz.corpus.schema import BadEntry
from mmfuzz.corpus.store import files, load, scan
from mmfuzz.engine.scenario import SCENARIOS
from mmfuzz.races import load as load_all

CORPUS = Path(__file__).resolve().parent.parent / "corpus"


def _cases():
    if not CORPUS.is_dir():
        return
    for path, _ in files([CORPUS]):
        try:
            entry = load(path)
        except BadEntry:
            yield pytest.param(path, None, id=f"{path.name}::load")
            continue
        yield pytest.param(path, None, id=f"{entry.name}::found[{entry_row(entry).label}]")
        try:
            rows = clean_rows_for(entry)
        except ValueError:  # the scenario or an option is gone: the found test says so
            rows = []
        for row in rows:
            yield pytest.param(path, row, id=f"{entry.name}::clean[{row.label}]")


@pytest.mark.parametrize("path,clean_row", list(_cases()))
def test_corpus_entry(path, clean_row):
    entry = load(path)  # a broken file fails here, with its name
    if clean_row is None:
        out = replay(entry)
        assert out.status == VIOLATES, (
            f"{path.name}: expected {entry.invariant} on {entry.kernel}, got {out.status}: "
            f"{out.message} {out.detail}")
        assert out.invariant == entry.invariant, f"{path.name}: broke {out.invariant}: {out.message}"
    else:
        out = replay(entry, clean_row.kernel, dict(clean_row.overrides))
        assert out.status == CLEAN, (
            f"{path.name} on {clean_row.label} (declared clean): {out.status} "
            f"{out.invariant or ''}: {out.message} ({out.detail})")


def _racy_rows():
    load_all()
    return [r for name in sorted(SCENARIOS) if not name.startswith("toy-")
            for r in declared(name) if r.expect == "racy"]


@pytest.mark.parametrize("row", _racy_rows(), ids=lambda r: f"{r.scenario}[{r.label}]")
def test_corpus_covers_racy_row(row):
    """The project keeps a shrunk race for every verdict it declares racy."""
    entries = [e for _, e in scan([CORPUS]) if not isinstance(e, BadEntry)] if CORPUS.is_dir() else []
    have = {entry_row(e) for e in entries}
    assert row in have, (f"no corpus entry for {row.scenario} on {row.label}: run "
                         f"`mmfuzz fuzz {row.scenario} --kernel {row.kernel} "
                         + "".join(f"--with {p}={v} " for p, v in row.overrides) + "--save`")
