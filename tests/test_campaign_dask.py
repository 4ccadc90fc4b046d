"""A campaign through a real Dask cluster: a scheduler and two workers, each its own
process on loopback, as on a farm of machines. Bounded in time; the processes are
stopped even when the test fails."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mmfuzz.corpus.schema import Entry
from mmfuzz.corpus.store import scan

DASK = shutil.which("dask") or str(Path(sys.executable).with_name("dask"))


def _start(args, log: Path):
    return subprocess.Popen([DASK, *args], stdout=log.open("w"), stderr=subprocess.STDOUT,
                            start_new_session=True)


@pytest.fixture
def cluster(tmp_path):
    """(scheduler address, worker count); all three processes stopped afterwards."""
    from distributed import Client

    sched_file = tmp_path / "scheduler.json"
    procs = [_start(["scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
                     "--scheduler-file", str(sched_file)], tmp_path / "scheduler.log")]
    try:
        deadline = time.monotonic() + 60
        while not sched_file.exists() or not sched_file.read_text().strip():
            assert procs[0].poll() is None, (tmp_path / "scheduler.log").read_text()
            assert time.monotonic() < deadline, "the scheduler did not start in 60 s"
            time.sleep(0.1)
        for i in range(2):
            procs.append(_start(["worker", "--scheduler-file", str(sched_file), "--nworkers", "1",
                                 "--nthreads", "1", "--no-dashboard", "--name", f"w{i}"],
                                tmp_path / f"worker{i}.log"))
        address = json.loads(sched_file.read_text())["address"]
        with Client(address, timeout=30) as client:
            client.wait_for_workers(2, timeout=60)
        yield address
    finally:
        try:  # the quick way: the scheduler tells its workers to close
            with Client(json.loads(sched_file.read_text())["address"], timeout=5) as client:
                client.shutdown()
        except Exception:  # noqa: BLE001  (not started, or already gone: terminate below)
            pass
        for p in reversed(procs):
            if p.poll() is None:
                p.terminate()
        for p in procs:
            try:
                p.wait(timeout=3)
            except subprocess.TimeoutExpired:  # a nanny waiting on its worker: kill the group
                os.killpg(p.pid, 9)
                p.wait()


def test_campaign_through_a_dask_scheduler(cluster, tmp_path):
    corpus, out = tmp_path / "corpus", tmp_path / "out"
    proc = subprocess.run(
        [sys.executable, "-m", "mmfuzz", "campaign", "--scheduler", cluster, "--time", "4s",
         "--scenarios", "pagewalk", "--kernels", "v7.0-rc2", "v7.0", "--with",
         "walk_page_range=rfc-skip-special", "--chunk", "1000", "--quiet",
         "--corpus", str(corpus), "--out", str(out)],
        capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stderr
    data = json.loads((out / "report.json").read_text())
    assert data["backend"] == f"Dask scheduler {cluster}, 2 workers"
    # the skip-special RFC is racy on both kernels: both came back and were written once each
    assert all(c["findings"] >= 1 for c in data["cells"]), data["cells"]
    assert data["new"] == len(data["new_entries"]) == len(os.listdir(corpus)) >= 1
    assert data["errors"] == 0
    assert all(isinstance(e, Entry) for _, e in scan([corpus]))
