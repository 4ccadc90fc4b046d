"""One exit-code convention for every command: 0 checked and clean, 1 a race, 2 bad input,
3 the check could not be completed. Stated in --help, the README and the JUnit report."""

from __future__ import annotations

import json
import os
import xml.etree.ElementTree as ET

import pytest

import toy  # noqa: F401  (registers the toy scenarios)
from mmfuzz.cli import build_parser, main
from mmfuzz.corpus.record import entry_from_result
from mmfuzz.corpus.store import save
from mmfuzz.api import fuzz

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TOY = ["--kernel", "v6.12", "--with"]


@pytest.fixture(scope="module")
def toy_race():
    r = fuzz("toy-lost-update", "v6.12", overrides={"toy_counter": "racy"}, seed=3, max_examples=200)
    assert r.found
    return entry_from_result(r, {"toy_counter": "racy"}, seed=3)


@pytest.mark.parametrize("command", [None, "list", "fuzz", "explore", "replay", "campaign"])
def test_help_states_the_exit_codes(command, capsys):
    with pytest.raises(SystemExit) as done:
        build_parser().parse_args(([command] if command else []) + ["--help"])
    assert done.value.code == 0
    out = capsys.readouterr().out
    for line in ("0  checked and clean", "1  a race", "2  bad input", "3  the check could not be completed"):
        assert line in out, (command, out)


def test_the_readme_states_the_convention():
    text = open(os.path.join(ROOT, "README.md"), encoding="utf-8").read()
    for code in ("`0` checked and clean", "`1` a race", "`2` bad input", "`3` the check could not be completed"):
        assert code in text


def test_explore_exit_codes(capsys):
    racy, atomic = TOY + ["toy_counter=racy"], TOY + ["toy_counter=atomic"]
    assert main(["explore", "toy-lost-update", *racy, "--actors", "inc=2"]) == 1
    assert main(["explore", "toy-lost-update", *atomic, "--actors", "inc=2"]) == 0
    capsys.readouterr()
    # the bound was not searched to the end: not a clean verdict
    assert main(["explore", "toy-lost-update", *atomic, "--actors", "inc=3", "--max-runs", "2"]) == 3
    assert "INCOMPLETE" in capsys.readouterr().out


def test_replay_of_only_broken_or_stale_entries_is_exit_3(toy_race, tmp_path, capsys):
    (tmp_path / "broken.json").write_text("{")
    assert main(["replay", str(tmp_path)]) == 3, "a broken corpus must not 'confirm' a fix"
    stale = toy_race.to_json()
    stale["schedule"]["steps"][0][1] = "increment: a step that is gone"
    (tmp_path / "broken.json").unlink()
    (tmp_path / f"{toy_race.name}.json").write_text(json.dumps(stale))
    assert main(["replay", str(tmp_path)]) == 3
    assert "STALE" in capsys.readouterr().out


def test_replay_a_race_outranks_a_broken_entry(toy_race, tmp_path):
    save(toy_race, tmp_path)
    (tmp_path / "broken.json").write_text("{")
    assert main(["replay", str(tmp_path)]) == 1
    assert main(["replay", str(tmp_path / f"{toy_race.name}.json"), "--with", "toy_counter=atomic"]) == 0


def _failing_shard(spec):
    return {"key": spec["key"], "mode": spec.get("mode", "fuzz"), "seed": spec["seed"], "examples": 0,
            "steps": 0, "seconds": 0.01, "entry": None, "error": "RuntimeError: worker fell over"}


def test_campaign_shard_errors_are_exit_3_and_junit_errors(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr("mmfuzz.campaign.backend.run_shard", _failing_shard)
    out = tmp_path / "out"
    argv = ["campaign", "--time", "1s", "--quiet", "--scenarios", "pagewalk", "--kernels", "v7.0",
            "--corpus", str(tmp_path / "corpus"), "--out", str(out)]
    assert main(argv) == 3
    assert "shard errors" in capsys.readouterr().out
    suite = ET.parse(out / "junit.xml").getroot()
    assert int(suite.get("errors")) == int(suite.get("tests")) >= 1
    data = json.loads((out / "report.json").read_text())
    assert data["complete"] is False and {c["verdict"] for c in data["cells"]} == {"error"}


def test_campaign_with_an_unknown_profile_is_refused_before_it_runs(tmp_path, capsys):
    argv = ["campaign", "--time", "10m", "--profile", "nightlly", "--scenarios", "pagewalk",
            "--corpus", str(tmp_path / "corpus"), "--out", str(tmp_path / "out")]
    assert main(argv) == 2
    assert "unknown settings profile 'nightlly'" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
