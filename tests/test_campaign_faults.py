"""Campaigns under faults: a race is never lost (saved, or kept whole in the report), a
bad entry from a worker never writes outside the corpus, a dead backend or a wrong
address ends in a report or a one-line error within seconds, never a traceback or a hang."""

from __future__ import annotations

import json
import socket
import threading
import time

import pytest

import toy  # noqa: F401  (registers the toy scenarios)
from mmfuzz.campaign import backend as backends
from mmfuzz.campaign import report
from mmfuzz.campaign.backend import SerialBackend
from mmfuzz.campaign.progress import Progress
from mmfuzz.campaign.runner import Campaign, Summary
from mmfuzz.campaign.shard import run_shard
from mmfuzz.cli import main
from mmfuzz.corpus.expect import Row
from mmfuzz.corpus.store import path_for, scan

TOY = Row("toy-lost-update", "v6.12", (("toy_counter", "racy"),), (), "racy")
TOY_ARGS = ["--scenarios", "toy-lost-update", "--kernels", "v6.12", "--with", "toy_counter=racy"]


def _spec(seed=3):
    return {"key": Campaign.key(TOY), "scenario": TOY.scenario, "kernel": TOY.kernel,
            "overrides": dict(TOY.overrides), "options": {}, "seed": seed, "examples": 200,
            "profile": "ci", "database": None}


@pytest.fixture(scope="module")
def found():
    result = run_shard(_spec())
    assert result["entry"] and not result["error"]
    return result


def _campaign(corpus, rows=(TOY,)):
    c = Campaign(list(rows), seconds=1, backend=SerialBackend(), corpus=corpus, progress=Progress(1, quiet=True))
    return c, Summary(list(c.cells.values()), 1, corpus=str(corpus))


def test_an_entry_name_from_a_worker_cannot_leave_the_corpus(found, tmp_path):
    corpus = tmp_path / "corpus"
    evil = json.loads(json.dumps(found))
    evil["entry"]["name"] = "../ESCAPED"
    c, s = _campaign(corpus)
    c.take(evil, s)
    assert s.errors == 1 and "worker sent a bad entry" in s.cells[0].errors[0]
    assert not (tmp_path / "ESCAPED.json").exists() and not corpus.exists()


def test_a_corpus_write_error_keeps_the_race_in_the_report_and_goes_on(found, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    c, s = _campaign(blocker / "corpus")  # a full disk, or --corpus under a file
    c.take(found, s)
    c.take(json.loads(json.dumps(found)) | {"entry": None}, s)  # the next shard still counts
    assert s.cells[0].examples == 2 * found["examples"] and s.findings == 1 and s.new == 0
    assert len(s.unsaved) == 1 and "cannot write" in s.unsaved[0][1] and s.incomplete
    md, _html, js, _junit = report.write(s, tmp_path / "out")
    text = md.read_text()
    assert "## Races not saved" in text and "BROKEN  no-lost-update" in text
    data = json.loads(js.read_text())
    assert data["unsaved"][0]["entry"]["name"] == s.unsaved[0][0].name and not data["complete"]


def test_an_unreadable_file_with_the_races_name_is_kept(found, tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    c, s = _campaign(corpus)
    c.take(found, s)  # saved once
    entry = s.new_entries[0]
    path = path_for(corpus, entry)
    path.write_text('{"schema": "mmfuzz-corpus/2"}')  # a newer mmfuzz's file
    c2, s2 = _campaign(corpus)
    c2.take(found, s2)
    assert path.read_text() == '{"schema": "mmfuzz-corpus/2"}'
    assert "not replacing" in s2.unsaved[0][1]


class _LosesItsScheduler(SerialBackend):
    """The first shard comes back, then the cluster is gone (as a killed dask scheduler)."""

    waits = 0

    def wait(self, futures, timeout):
        _LosesItsScheduler.waits += 1
        if _LosesItsScheduler.waits > 1:
            raise OSError("Timed out trying to connect to tcp://10.0.0.1:8786")
        return list(futures)


def test_a_lost_scheduler_ends_in_a_report_and_exit_3(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(backends, "SerialBackend", _LosesItsScheduler)
    out, corpus = tmp_path / "out", tmp_path / "corpus"
    argv = ["campaign", "--time", "5m", "--quiet", "--chunk", "200", "--seed", "3", *TOY_ARGS,
            "--corpus", str(corpus), "--out", str(out)]
    assert main(argv) == 3
    stdout, stderr = capsys.readouterr()
    assert "Traceback" not in stderr and "the backend failed" in stdout
    data = json.loads((out / "report.json").read_text())
    assert "Timed out" in data["lost"] and data["examples"] > 0 and not data["complete"]
    assert data["new"] == len(list(scan([corpus]))) >= 1, "what came back was saved"


def test_an_unwritable_out_is_refused_before_the_campaign_starts(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("")
    start = time.monotonic()
    argv = ["campaign", "--time", "10m", *TOY_ARGS, "--corpus", str(tmp_path / "corpus"),
            "--out", str(blocker / "out")]
    assert main(argv) == 2
    assert time.monotonic() - start < 30, "found before the --time, not after it"
    err = capsys.readouterr().err
    assert "cannot write the report to" in err and err.count("\n") == 1


@pytest.fixture
def silent_port():
    """A TCP port that accepts and never speaks (not a Dask scheduler)."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(8)
    conns = []

    def accept():
        while True:
            try:
                conns.append(srv.accept()[0])
            except OSError:
                return
    threading.Thread(target=accept, daemon=True).start()
    yield srv.getsockname()[1]
    srv.close()
    for c in conns:
        c.close()


def test_a_port_that_is_not_a_dask_scheduler_fails_in_seconds(silent_port, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(backends, "HANDSHAKE_SECONDS", 1.0)
    monkeypatch.chdir(tmp_path)
    start = time.monotonic()
    assert main(["campaign", "--scheduler", f"tcp://127.0.0.1:{silent_port}", "--time", "1s", *TOY_ARGS]) == 2
    assert time.monotonic() - start < 30  # Client() alone waited forever
    err = capsys.readouterr().err
    assert "is not a Dask scheduler" in err and err.count("\n") == 1


def _ignores_sigint():
    import signal

    return signal.getsignal(signal.SIGINT) == signal.SIG_IGN


def test_local_workers_leave_ctrl_c_to_the_driver():
    """Ctrl-C reaches the whole process group: workers must not print a traceback each."""
    import signal

    b = backends.PoolBackend(2)
    try:
        assert [b.pool.submit(_ignores_sigint).result(timeout=60) for _ in range(2)] == [True, True]
    finally:
        b.close()
    assert signal.getsignal(signal.SIGINT) is not signal.SIG_IGN, "the driver's own Ctrl-C is kept"
