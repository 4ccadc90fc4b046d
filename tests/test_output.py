"""What a kernel developer pastes: widths, sources, replay strings, diff and bisect."""

from __future__ import annotations

import json

import pytest

from mmfuzz.cli import main

MAXQ_3CPU = ["explore", "pagewalk", "--kernel", "v7.0-rc2", "--with", "walk_page_range=maxq-leaf-recheck",
             "--actors", "numa_maps=1,vfio_fault=1,vfio_zap=1,pte_walker=0"]
V612 = ["explore", "pagewalk", "--kernel", "v6.12", "--actors", "numa_maps=1,vfio_fault=1,vfio_zap=0,pte_walker=0"]


def run(capsys, *argv):
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def replay_string(out: str) -> str:
    lines = [ln for ln in out.splitlines() if ln.startswith("replay: mmfuzz replay --schedule ")]
    assert len(lines) == 1, out
    return lines[0].rsplit(" ", 1)[1]


@pytest.mark.parametrize("argv", [V612, MAXQ_3CPU], ids=["2cpus", "3cpus"])
def test_the_race_fits_a_commit_message(capsys, argv):
    code, out, _ = run(capsys, *argv)
    assert code == 1 and "BROKEN  no-illegal-read" in out
    race = out[:out.index("\n\nreplay:")]
    assert max(map(len, race.splitlines())) <= 75
    code, wide, _ = run(capsys, *argv, "--width", "0")
    assert code == 1 and max(map(len, wide.splitlines())) > 75


def test_width_is_checked(capsys):
    code, _, err = run(capsys, *V612, "--width", "10")
    assert code == 2 and "--width takes 40 to 1000" in err


def test_source_names_each_function_and_links_the_release(capsys):
    code, out, _ = run(capsys, *V612, "--source")
    assert code == 1
    assert "[mm/pagewalk.c:walk_pud_range()]" in out
    assert "https://elixir.bootlin.com/linux/v6.12/source/mm/pagewalk.c" in out


def test_replay_string_reproduces_the_race_and_runs_on_the_fix(capsys):
    code, out, _ = run(capsys, *MAXQ_3CPU)
    assert code == 1
    code_str = replay_string(out)
    assert "with:walk_page_range=maxq-leaf-recheck" in code_str and " " not in code_str
    code, again, _ = run(capsys, "replay", "--schedule", code_str, "--json")
    verdict = json.loads(again)
    assert code == 1 and verdict["found"] and verdict["invariant"] == "no-illegal-read"
    # the v6.12 race's CPU order on the fixed walker breaks nothing
    code, out, _ = run(capsys, *V612)
    code, fixed, _ = run(capsys, "replay", "--schedule", replay_string(out), "--kernel", "v7.0")
    assert code == 0 and "breaks nothing" in fixed


@pytest.mark.parametrize("bad", ["garbage", "pagewalk@v6.12/actors=numa_maps", "pagewalk@v6.12/actors=nobody/run=0:1",
                                 "pagewalk@v6.12/actors=numa_maps/run=0:x", "nosuch@v6.12/actors=a/run=0:1"])
def test_a_bad_replay_string_is_refused(capsys, bad):
    code, out, err = run(capsys, "replay", "--schedule", bad)
    assert code == 2 and err.startswith("mmfuzz: error:") and len(err.strip().splitlines()) == 1 and not out


def test_diff_shows_each_kernels_verdict_and_the_paths_that_differ(capsys):
    code, out, _ = run(capsys, "diff", "pagewalk", "--kernels", "v6.12", "v7.0",
                       "--actors", "numa_maps=1,vfio_fault=1,vfio_zap=1,pte_walker=0")
    assert code == 1
    lines = {ln.split()[0]: ln for ln in out.splitlines() if ln.startswith("  v")}
    assert "racy   no-illegal-read" in lines["v6.12"] and "clean" in lines["v7.0"]
    assert "walk_page_range: v6.12 v6.12 | v7.0 " in out


def test_bisect_finds_the_fix_and_the_path_it_changed(capsys):
    code, out, _ = run(capsys, "bisect", "pagewalk", "--good", "v7.0", "--bad", "v6.12", "--json",
                       "--actors", "numa_maps=1,vfio_fault=1,vfio_zap=1,pte_walker=0")
    result = json.loads(out)
    assert code == 0 and result["kind"] == "fix" and result["first"] == "v7.0"
    assert result["previous"] == "v7.0-rc2" and "walk_page_range" in result["changed"]


def test_bisect_refuses_ends_with_the_wrong_verdicts(capsys):
    code, _, err = run(capsys, "bisect", "pagewalk", "--good", "v6.12", "--bad", "v7.0",
                       "--actors", "numa_maps=1,vfio_fault=1,vfio_zap=0,pte_walker=0")
    assert code == 2 and "v6.12 was given as good but is racy" in err
