"""A race package from outside the tree (tests/racepkg/outside_race), driven through
every command and the pytest plugin: found by its `mmfuzz.races` entry point (a
dist-info folder on the path, as `pip install` leaves it) and by MMFUZZ_RACES/--races.

Everything runs in subprocesses: loading the package registers its paths and kernels
for good, and this process's other tests must keep seeing only the built-in races.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "tests" / "racepkg"
SCENARIO = "example-lost-update"


@pytest.fixture(scope="session")
def site(tmp_path_factory) -> Path:
    """outside_race "installed": its code and a dist-info with the entry point."""
    site = tmp_path_factory.mktemp("site")
    shutil.copytree(SOURCE / "outside_race", site / "outside_race",
                    ignore=shutil.ignore_patterns("__pycache__"))
    info = site / "outside_race-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: outside-race\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[mmfuzz.races]\noutside-race = outside_race\n")
    return site


def env(*, installed: Path | None = None, via_env: bool = False, importable: bool = False) -> dict:
    e = dict(os.environ)
    e.pop("MMFUZZ_RACES", None)
    paths = [p for p in e.get("PYTHONPATH", "").split(os.pathsep) if p]
    if installed:
        paths.append(str(installed))
    if via_env or importable:
        paths.append(str(SOURCE))  # importable, but nothing names it
    if via_env:
        e["MMFUZZ_RACES"] = "outside_race"
    e["PYTHONPATH"] = os.pathsep.join(paths)
    return e


def run(args, e, cwd=ROOT):
    return subprocess.run([sys.executable, *args], cwd=cwd, env=e, capture_output=True, text=True,
                          timeout=300)


def mmfuzz(*args, e):
    return run(["-m", "mmfuzz", *args], e)


def test_list_finds_the_package_by_its_entry_point_only_when_installed(site):
    p = mmfuzz("list", "--json", e=env(installed=site))
    assert p.returncode == 0, p.stderr
    data = json.loads(p.stdout)
    scen = next(s for s in data["scenarios"] if s["name"] == SCENARIO)
    assert scen["package"] == "outside_race"
    assert {"module": "outside_race", "found": "entry point outside-race of outside-race"} in data["race_packages"]
    kernels = {k["name"]: k["versions"] for k in data["kernels"]}
    assert kernels["v4.9"]["example_stat_counter"] == "v4.9"
    assert kernels["v5.8"]["handle_mm_fault"] == "example-v4.8"  # its version of a built-in path
    p = mmfuzz("list", "--json", e=env(importable=True))
    assert SCENARIO not in p.stdout and "example-v4.8" not in p.stdout


def test_fuzz_saves_the_race_with_its_package_and_replay_names_a_missing_package(site, tmp_path):
    corpus = tmp_path / "corpus"
    p = mmfuzz("fuzz", SCENARIO, "--kernel", "v4.8", "--seed", "1", "--max-examples", "500",
               "--save", str(corpus), "--json", e=env(installed=site))
    assert p.returncode == 1, p.stdout + p.stderr
    out = json.loads(p.stdout)
    assert out["invariant"] == "no-lost-update" and out["corpus"]["new"]
    saved = json.loads(Path(out["corpus"]["path"]).read_text())
    assert saved["race_package"] == "outside_race"
    # the package names mm->mmap_lock as v4.x kernels do
    assert [0, "mm_stat_inc: down_read(mmap_sem)"] in saved["schedule"]["steps"]
    # installed: the race replays; named by --races: too
    for e, extra in ((env(installed=site), ()), (env(importable=True), ("--races", "outside_race"))):
        p = mmfuzz("replay", str(corpus), *extra, e=e)
        assert p.returncode == 1 and p.stdout.startswith("VIOLATES"), p.stdout + p.stderr
    # on the fixed kernel of the package, in task order: clean
    p = mmfuzz("replay", str(corpus), "--kernel", "v4.9", e=env(via_env=True))
    assert p.returncode == 0 and p.stdout.startswith("CLEAN"), p.stdout + p.stderr
    # not loaded: could not be checked (3), saying what to load; never "stale", never 0
    p = mmfuzz("replay", str(corpus), "--json", e=env(importable=True))
    assert p.returncode == 3, p.stdout + p.stderr
    [o] = json.loads(p.stdout)["outcomes"]
    assert o["status"] == "missing"
    assert o["message"] == (f"scenario {SCENARIO} comes from race package outside_race, which is not "
                            "loaded: install it or pass --races outside_race")


def test_explore_with_races_flag_and_env(site):
    p = mmfuzz("explore", SCENARIO, "--kernel", "v4.8", "--actors", "inc=2", "--races", "outside_race",
               e=env(importable=True))
    assert p.returncode == 1 and "BROKEN  no-lost-update" in p.stdout, p.stdout + p.stderr
    p = mmfuzz("explore", SCENARIO, "--kernel", "v4.9", "--actors", "inc=2", "--json", e=env(via_env=True))
    assert p.returncode == 0, p.stdout + p.stderr
    out = json.loads(p.stdout)
    assert not out["found"] and out["complete"] and out["examples"] > 1


def test_diff_and_bisect_across_the_packages_kernels(site):
    p = mmfuzz("diff", SCENARIO, "--kernels", "v4.8", "v4.9", e=env(installed=site))
    assert p.returncode == 1, p.stdout + p.stderr
    assert "example_stat_counter: v4.8 v4.8 | v4.9 v4.9" in p.stdout
    p = mmfuzz("bisect", SCENARIO, "--good", "v4.9", "--bad", "v4.8", "--json", "--races", "outside_race",
               e=env(importable=True))
    assert p.returncode == 0, p.stdout + p.stderr
    assert json.loads(p.stdout)["first"] == "v4.9"


def test_every_command_takes_races():
    from mmfuzz.cli import COMMANDS, build_parser

    sub = next(a for a in build_parser()._actions if a.dest == "command")
    assert len(sub.choices) == len(COMMANDS)
    lacking = [name for name, p in sub.choices.items()
               if "--races" not in {o for a in p._actions for o in a.option_strings}]
    assert lacking == []


def test_new_mm_names_the_mmap_lock_of_its_era():
    from mmfuzz.api import State, new_mm

    assert new_mm(State().mem).mmap_lock == "mmap_lock"  # v5.8 on
    assert new_mm(State().mem, "mm1.", mmap_lock="mmap_sem").mmap_lock == "mm1.mmap_sem"


def test_an_unloadable_race_package_is_bad_input():
    p = mmfuzz("list", "--races", "no_such_races_pkg", e=env())
    assert p.returncode == 2 and p.stdout == ""
    assert p.stderr.strip().splitlines() == [
        "mmfuzz: error: cannot load race package 'no_such_races_pkg' (named by --races or $MMFUZZ_RACES): "
        "No module named 'no_such_races_pkg'"]


def test_campaign_runs_the_package_and_its_shards_carry_it(site, tmp_path):
    out, corpus = tmp_path / "report", tmp_path / "corpus"
    p = mmfuzz("campaign", "--time", "2s", "--scenarios", SCENARIO, "--out", str(out), "--corpus", str(corpus),
               "--quiet", "--races", "outside_race", e=env(importable=True))
    assert p.returncode == 0, p.stdout + p.stderr
    cells = {c["kernel"]: c for c in json.loads((out / "report.json").read_text())["cells"]}
    assert cells["v4.8"]["verdict"] == "race" and cells["v4.9"]["verdict"] == "clean"
    assert cells["v4.9"]["examples"] > 0 and not cells["v4.9"]["errors"]
    [entry] = corpus.iterdir()
    assert json.loads(entry.read_text())["race_package"] == "outside_race"


def test_a_shard_on_a_worker_without_the_races_env_loads_them_from_its_spec(site):
    # the driver (with --races) hands out a spec; a worker elsewhere has no $MMFUZZ_RACES
    driver = textwrap.dedent(f"""
        import json
        from mmfuzz import races
        from mmfuzz.campaign.plan import plan
        from mmfuzz.campaign.runner import Campaign
        races.add(["outside_race"])
        c = Campaign(plan([{SCENARIO!r}], ["v4.8"]), seconds=1, backend=None, corpus="c", progress=None)
        print(json.dumps(c.next_spec(10)))
    """)
    p = run(["-c", driver], env(importable=True))
    assert p.returncode == 0, p.stderr
    spec = json.loads(p.stdout)
    assert spec["races"] == ["outside_race"] and spec["mode"] == "explore"
    worker = "import json, sys; from mmfuzz.campaign.shard import run_shard; print(json.dumps(run_shard(json.loads(sys.argv[1]))))"
    p = run(["-c", worker, json.dumps(spec)], env(importable=True))
    result = json.loads(p.stdout)
    assert result["error"] is None and result["entry"]["invariant"] == "no-lost-update", result["error"]
    p = run(["-c", worker, json.dumps(spec | {"races": []})], env(importable=True))
    assert "unknown scenario 'example-lost-update'" in json.loads(p.stdout)["error"]


@pytest.mark.parametrize("how, kernel, examples, outcome", [
    ("--mmfuzz-races", "v4.8", 500, "1 failed"), ("entry point", "v4.9", 30, "1 passed")])
def test_pytest_plugin_fuzzes_the_package(site, tmp_path, how, kernel, examples, outcome):
    e = env(installed=site) if how == "entry point" else env(importable=True)
    extra = ["--mmfuzz-races", "outside_race"] if how == "--mmfuzz-races" else []
    p = run(["-m", "pytest", "-p", "no:cacheprovider", "-p", "no:xdist", "-v", "--mmfuzz-kernel", kernel,
             "--mmfuzz-scenario", SCENARIO, "--mmfuzz-seed", "1", "--mmfuzz-max-examples", str(examples),
             *extra], e, cwd=tmp_path)
    assert outcome in p.stdout and p.returncode == (1 if "failed" in outcome else 0), p.stdout[-3000:] + p.stderr
    assert f"{SCENARIO}[{kernel}]" in p.stdout
    if "failed" in outcome:
        assert "BROKEN  no-lost-update" in p.stdout
        # the commands it prints to reproduce the race load the package too
        assert "--mmfuzz-races=outside_race" in p.stdout and "--races=outside_race" in p.stdout


def test_the_packages_version_of_a_built_in_path_breaks_no_built_in_scenario(site):
    # composing every path v5.8 selects clashes (the package's handle_mm_fault and the
    # built-in do_read_fault both define alloc_set_pte): each scenario composes only its
    # own paths, so every built-in verdict row still sets up and runs
    script = textwrap.dedent("""
        from mmfuzz import races
        from mmfuzz.api import Run, SCENARIOS, prepare
        from mmfuzz.engine.target import param_combinations
        from mmfuzz.engine.versions import compose, select
        from mmfuzz.engine.violations import Violation
        races.load()
        try:
            compose(select("v5.8"))
            print("no clash")
        except TypeError as e:
            print(e)
        rows = 0
        for name, cls in sorted(SCENARIOS.items()):
            if races.package_of(cls) != races.BUILTIN:
                continue
            for row in cls.racy_on + cls.clean_on:
                scen, versions, kernel_cls = prepare(name, row["kernel"], row.get("overrides"), row.get("options"))
                population = [a.kind for a in scen.actors for _ in range(max(a.min, 1))]
                run = Run(scen, kernel_cls, population, param_combinations(scen, None)[0], versions)
                try:
                    run.finish()
                except Violation:
                    pass
                rows += 1
        print(rows, "rows")
    """)
    p = run(["-c", script], env(installed=site))
    assert p.returncode == 0, p.stderr
    clash, rows = p.stdout.splitlines()
    assert clash == "alloc_set_pte is defined by both do_read_fault and handle_mm_fault"
    assert int(rows.split()[0]) >= 10
