"""The pytest plugin as a user meets it, each run a separate pytest process in a scratch
folder: it leaves other test suites alone (options, Hypothesis profiles), its fuzz items
select like tests (-k, node ids, --lf, --collect-only), and a failure says how to get it
back (the seed, the command) and can be saved to the corpus."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import zlib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# a race the fuzzer finds in a few dozen examples: the engine's lost-update toy under a
# name that is not toy-* (the plugin leaves those out), loaded as a race package
QUICK = '''
import toy
from mmfuzz.api import scenario


@scenario
class Quick(toy.LostUpdate):
    name = "quick-lost-update"
'''
QUICK_ARGS = ["--mmfuzz-kernel", "v6.12", "--mmfuzz-with=toy_counter=racy",
              "--mmfuzz-scenario", "quick-lost-update", "--mmfuzz-max-examples", "300"]


def pytest_in(folder: Path, *args, env=None, quick=False):
    environ = dict(os.environ, **(env or {}))
    environ["PYTHONPATH"] = os.pathsep.join([str(ROOT), str(ROOT / "tests"), str(folder),
                                             environ.get("PYTHONPATH", "")])
    if quick:
        (folder / "quick.py").write_text(QUICK)
        environ["MMFUZZ_RACES"] = "quick"
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:xdist", "-o", "cache_dir=.cache", *args],
                          cwd=folder, env=environ, capture_output=True, text=True, timeout=300)


def test_other_suites_keep_their_kernel_option_and_hypothesis_profiles(tmp_path):
    """A kernel-CI conftest with its own --kernel/--with, and a Hypothesis test under CI=true:
    the plugin is installed in the venv, so it is loaded, and must change neither."""
    (tmp_path / "conftest.py").write_text(
        "def pytest_addoption(parser):\n"
        "    parser.addoption('--kernel')\n"
        "    parser.addoption('--with', dest='with_')\n")
    (tmp_path / "test_theirs.py").write_text(
        "from hypothesis import HealthCheck, given, settings, strategies as st\n\n"
        "def test_their_kernel(request):\n"
        "    assert request.config.getoption('kernel') == 'linux-next'\n\n"
        "@given(st.integers())\n"
        "def test_their_profile(n):\n"
        "    s = settings()\n"
        "    assert s.max_examples == 100 and s.derandomize  # Hypothesis's own ci profile\n"
        "    assert HealthCheck.filter_too_much not in s.suppress_health_check\n")
    p = pytest_in(tmp_path, "--kernel", "linux-next", "--with", "x", "-q", env={"CI": "true"})
    assert p.returncode == 0, p.stdout + p.stderr
    assert "2 passed" in p.stdout


def test_selection_works_on_fuzz_items(tmp_path):
    args = ["--mmfuzz-kernel", "v6.12", "--collect-only", "-q"]
    p = pytest_in(tmp_path, *args, "-k", "punch and xfs")
    assert p.returncode == 0, p.stdout + p.stderr
    assert re.findall(r"^mmfuzz::\S+", p.stdout, re.M) == [
        "mmfuzz::punch-vs-fault-around[v6.12,fs=xfs]", "mmfuzz::punch-vs-fill[v6.12,fs=xfs]"]
    p = pytest_in(tmp_path, *args, "mmfuzz::pagewalk[v6.12]", "punch-vs-fill")
    assert re.findall(r"^mmfuzz::\S+", p.stdout, re.M) == [
        "mmfuzz::pagewalk[v6.12]", "mmfuzz::punch-vs-fill[v6.12,fs=xfs]", "mmfuzz::punch-vs-fill[v6.12,fs=generic]",
            "mmfuzz::punch-vs-fill[v6.12,fs=ext4]"]
    p = pytest_in(tmp_path, *args, "pagwalk")
    assert p.returncode == 4 and "no fuzz item matches 'pagwalk'" in p.stderr


def test_a_failure_names_its_seed_and_reproduces_and_last_failed_reruns_it(tmp_path):
    args = [*QUICK_ARGS, "--mmfuzz-scenario", "fault-vs-truncate", "-rfs"]  # v6.12 lacks fault-vs-truncate's paths: skipped
    first = pytest_in(tmp_path, *args, quick=True)
    assert first.returncode == 1, first.stdout + first.stderr
    # the short summary gives the BROKEN line, not the header
    assert re.search(r"^FAILED mmfuzz::quick-lost-update\[v6.12\] - BROKEN no-lost-update: counter 1",
                     first.stdout, re.M), first.stdout
    # derandomized by default: the seed is the node id's, the same on every run
    seed = zlib.crc32(b"mmfuzz::quick-lost-update[v6.12]")
    assert f"seed {seed}" in first.stdout and "1 failed, 1 skipped" in first.stdout
    again = pytest_in(tmp_path, *args, quick=True)
    broken = [line for line in first.stdout.splitlines() if line.startswith("BROKEN")]
    assert broken and broken == [line for line in again.stdout.splitlines() if line.startswith("BROKEN")]
    # the printed command reproduces it
    command = re.search(r"^reproduce: pytest (.*)$", first.stdout, re.M).group(1)
    assert f"--mmfuzz-seed {seed}" in command
    rerun = pytest_in(tmp_path, *re.findall(r"'[^']*'|\S+", command.replace("'", "")), quick=True)
    assert rerun.returncode == 1 and broken[0] in rerun.stdout and "1 failed in" in rerun.stdout
    # --lf: only the failed item is selected
    lf = pytest_in(tmp_path, *args, "--lf", "--collect-only", "-q", quick=True)
    assert re.findall(r"^mmfuzz::\S+", lf.stdout, re.M) == ["mmfuzz::quick-lost-update[v6.12]"], lf.stdout


def test_a_race_found_under_pytest_is_saved_with_its_replay_command(tmp_path):
    corpus = tmp_path / "found"
    p = pytest_in(tmp_path, *QUICK_ARGS, "--mmfuzz-save", f"--mmfuzz-corpus={corpus}",
                  "--hypothesis-show-statistics", quick=True)
    assert p.returncode == 1, p.stdout + p.stderr
    saved = list(corpus.glob("quick-lost-update-*.json"))
    assert len(saved) == 1 and f"saved {saved[0]}" in p.stdout
    assert f"replay: mmfuzz replay {saved[0]}" in p.stdout
    # the statistics say what the examples saw
    stats = p.stdout.split("Hypothesis Statistics")[1]
    assert "path reached: increment" in stats and "preemptions: 0" in stats
    assert "label='invariant checks (steps run)'" in stats
    replay = subprocess.run([sys.executable, "-m", "mmfuzz", "replay", str(saved[0])], cwd=tmp_path,
                            env=dict(os.environ, MMFUZZ_RACES="quick",
                                     PYTHONPATH=os.pathsep.join([str(ROOT), str(ROOT / "tests"), str(tmp_path)])),
                            capture_output=True, text=True, timeout=120)
    assert replay.returncode == 1 and replay.stdout.startswith("VIOLATES  quick-lost-update-"), replay.stdout
