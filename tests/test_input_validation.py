"""Input that would give a wrong verdict is refused (exit 2, one line): actor counts,
parameters and --with outside what the scenario declares; and one seed gives one
result whatever the entry point (Python API, command line, pytest, campaign shard)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest

import toy  # noqa: F401  (registers the toy scenarios)
from mmfuzz.api import Actor, exhaust, fuzz, scenario
from mmfuzz.campaign.plan import override_notes, plan
from mmfuzz.cli import main
from mmfuzz.engine.versions import UnknownName
from toy import ToyBase, _start

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@scenario
class ManyReaders(ToyBase):
    name = "toy-many-readers"
    doc = "1,600 CPUs each increment once, one after the other: a lot of steps, no livelock"
    actors = (Actor("inc", "incrementer", _start("increment"), min=1, max=1600),)


def test_many_short_tasks_are_not_a_livelock():
    """3000 steps was the whole run's budget: 1,600 CPUs of two steps each "livelocked"."""
    r = exhaust("toy-many-readers", "v6.12", overrides={"toy_counter": "racy"},
                counts={"inc": (1600, 1600)}, max_preemptions=0)
    assert not r.found, r.message
    assert r.executed_steps > 3000
    spin = fuzz("toy-spin", "v6.12", overrides={"toy_counter": "racy"}, seed=1, max_examples=5)
    assert spin.found and spin.invariant == "no-livelock", "one CPU spinning still is one"


@pytest.mark.parametrize("argv,message", [
    # no hole punch in a punch-vs-fill race: a "race" on a clean kernel (no-hang) before
    (["fuzz", "punch-vs-fill", "--kernel", "v5.15", "--actors", "punch=0"], "runs 1 punch actor(s), not 0"),
    (["explore", "punch-vs-fill", "--kernel", "v5.15", "--actors", "punch=0"], "runs 1 punch actor(s), not 0"),
    (["fuzz", "pagewalk", "--kernel", "v6.12", "--actors", "numa_maps=1600"], "runs 0-2 numa_maps actor(s)"),
    (["fuzz", "pagewalk", "--kernel", "v6.12", "--actors", "numa_maps=1-3"], "not 1-3"),
    # explore ran this as "pmd" and proved a configuration that does not exist
    (["explore", "pagewalk", "--kernel", "v7.0", "--param", "bar_align=pgd"], 'one of "pud", "pmd", not "pgd"'),
    (["fuzz", "pagewalk", "--kernel", "v7.0", "--param", "bar_align=pgd"], 'not "pgd"'),
    (["explore", "pagewalk", "--kernel", "v7.0", "--param", "nope=1"], "has no parameter 'nope'"),
    # a TypeError traceback before
    (["fuzz", "punch-vs-fill", "--kernel", "v5.15", "--param", "fault_index=abc"], 'one of 0, 1, not "abc"'),
    (["explore", "punch-vs-fill", "--kernel", "v5.15", "--param", "fault_index=abc"], 'not "abc"'),
    (["fuzz", "punch-vs-fill", "--kernel", "v5.15", "--param", "cached=1"], "one of false, true, not 1"),
    # recorded in entries before, changing nothing
    (["fuzz", "pagewalk", "--kernel", "v6.12", "--with", "truncate_inode_pages_range=no-reunmap"],
     "does not run truncate_inode_pages_range"),
    (["explore", "pagewalk", "--kernel", "v6.12", "--with", "truncate_inode_pages_range=no-reunmap"],
     "does not run truncate_inode_pages_range"),
    (["campaign", "--scenarios", "pagewalk", "--kernels", "v6.12", "--with",
      "truncate_inode_pages_range=no-reunmap"], "no selected scenario runs truncate_inode_pages_range"),
    (["fuzz", "pagewalk", "--kernel", "v6.12", "--max-examples", "0"], "must be at least 1"),
    (["explore", "pagewalk", "--kernel", "v6.12", "--max-runs", "0"], "must be at least 1"),
    (["campaign", "--chunk", "0"], "must be at least 1"),
    (["replay", "x" * 5000], "File name too long"),
    (["campaign", "--time", "1s", "--out", "x" * 5000], "File name too long"),
])
def test_refused_with_one_line(argv, message, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1 and err.startswith("mmfuzz: error:"), err
    assert message in err, err


def test_a_campaign_applies_with_only_where_the_path_runs():
    with_ = {"truncate_inode_pages_range": "no-reunmap"}
    rows = plan(["pagewalk", "punch-vs-fault-around"], ["v5.8", "v6.12"], with_)
    assert {r.overrides for r in rows if r.scenario == "pagewalk"} == {()}
    punch = [r for r in rows if r.scenario == "punch-vs-fault-around"]
    assert punch and all(r.overrides == tuple(with_.items()) for r in punch)
    assert any(r.expect == "racy" for r in punch), "the declared verdict of the row with --with"
    notes = override_notes(["pagewalk", "punch-vs-fault-around"], with_)
    assert notes == ["--with truncate_inode_pages_range=no-reunmap applies only to punch-vs-fault-around "
                     "(the others do not run truncate_inode_pages_range)"]
    with pytest.raises(UnknownName, match="does not run"):
        fuzz("pagewalk", "v6.12", overrides=with_, max_examples=1)


# -- one seed, one result ------------------------------------------------------------
SEED, BUDGET = 3, 1500  # before the fix: 2066 examples in-process, 572 on the command line


def _key(found, examples, steps):
    return {"found": found, "examples": examples, "steps": steps}


def test_one_seed_gives_one_result_on_every_entry_point(tmp_path):
    api = fuzz("pagewalk", "v6.12", seed=SEED, max_examples=BUDGET)
    assert api.found
    want = _key(api.found, api.examples, api.steps)
    # the default machine runs many schedules an example, and which ones depends on
    # every earlier example's (a population's schedules are run once each)
    assert api.runs > api.examples
    assert fuzz("pagewalk", "v6.12", seed=SEED, max_examples=BUDGET, schedule="bounded").executed_steps \
        == api.executed_steps

    cli = subprocess.run([sys.executable, "-m", "mmfuzz", "fuzz", "pagewalk", "--kernel", "v6.12",
                          "--seed", str(SEED), "--max-examples", str(BUDGET), "--json"],
                         cwd=ROOT, capture_output=True, text=True, timeout=300)
    data = json.loads(cli.stdout)
    assert _key(data["found"], data["examples"], data["steps"]) == want, "command line"
    assert data["schedule"] == api.schedule

    shard = subprocess.run([sys.executable, "-c", (
        "import json; from mmfuzz.campaign.shard import run_shard; print(json.dumps(run_shard("
        f"{{'key': 'k', 'scenario': 'pagewalk', 'kernel': 'v6.12', 'overrides': {{}}, 'options': {{}}, "
        f"'seed': {SEED}, 'examples': {BUDGET}, 'profile': 'ci'}})))")],
        cwd=tmp_path, capture_output=True, text=True, timeout=300)
    out = json.loads(shard.stdout)
    assert out["examples"] == api.examples and out["entry"]["schedule"] == api.schedule, "campaign shard"
    assert out["steps"] == api.executed_steps, "campaign shard: the same schedules run"

    plugin = subprocess.run([sys.executable, "-m", "pytest", "--mmfuzz-kernel", "v6.12", "--mmfuzz-scenario", "pagewalk",
                             "--mmfuzz-seed", str(SEED), "--mmfuzz-max-examples", str(BUDGET),
                             "-p", "no:cacheprovider", "-p", "no:xdist", "-q"],
                            cwd=ROOT, capture_output=True, text=True, timeout=300)
    m = re.search(r"found in (\d+) examples, [\d.]+s; shrunk to (\d+) steps", plugin.stdout)
    assert m, plugin.stdout[-2000:]
    assert _key(True, int(m[1]), int(m[2])) == want, "pytest"


@pytest.mark.parametrize("args,message", [
    # ran nothing (exit 5, "no tests ran") before: a typo looked like an empty selection
    (["--mmfuzz-kernel", "v6.12", "--mmfuzz-fs", "ntfs"], "no selected scenario takes --mmfuzz-fs ntfs"),
    (["--mmfuzz-kernel", "v6.12", "--mmfuzz-scenario", "pagewalk", "--mmfuzz-with",
      "truncate_inode_pages_range=no-reunmap"], "no selected scenario runs truncate_inode_pages_range"),
    # ignored before: the project's tests ran as if it had not been given
    (["--mmfuzz-with", "walk_page_range=v6.12"], "--mmfuzz-with need(s) --mmfuzz-kernel"),
])
def test_pytest_plugin_refuses_options_that_would_run_nothing(args, message, tmp_path):
    p = subprocess.run([sys.executable, "-m", "pytest", *args, "-p", "no:cacheprovider", "-p", "no:xdist",
                        "-q", str(tmp_path)], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert p.returncode == 4, p.stdout + p.stderr
    assert message in p.stdout + p.stderr and "Traceback" not in p.stdout + p.stderr
