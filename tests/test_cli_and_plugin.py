"""The front door: `mmfuzz list/fuzz` and `pytest --mmfuzz-kernel`, including bad input."""

import json
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def mmfuzz(*args):
    return subprocess.run([sys.executable, "-m", "mmfuzz", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)


def test_list_json_names_scenarios_paths_versions_and_kernels():
    p = mmfuzz("list", "--json")
    assert p.returncode == 0, p.stderr
    data = json.loads(p.stdout)
    assert "pagewalk" in [s["name"] for s in data["scenarios"]]
    walk = next(x for x in data["paths"] if x["name"] == "walk_page_range")
    assert {v["name"] for v in walk["versions"]} >= {"v6.12", "3b89863c3fa4", "9b25a6e3d243",
                                                     "rfc-skip-special", "maxq-leaf-recheck"}
    kernels = {k["name"]: k for k in data["kernels"]}
    assert kernels["v6.12"]["versions"]["walk_page_range"] == "v6.12"
    assert kernels["v7.0"]["versions"]["walk_page_range"] == "3b89863c3fa4"
    assert "first release with the pagewalk fix" in kernels["v7.0"]["note"]


@pytest.mark.parametrize("args, message", [
    (["fuzz", "nosuch", "--kernel", "v6.12"], "unknown scenario 'nosuch'"),
    (["fuzz", "pagewalk", "--kernel", "v6.13"], "unknown kernel 'v6.13'"),
    (["fuzz", "pagewalk", "--kernel", "v6.12", "--with", "walk_page_range=v9"], "has no version 'v9'"),
    (["fuzz", "pagewalk", "--kernel", "v6.12", "--with", "nopath=v1"], "unknown code path 'nopath'"),
    (["fuzz", "pagewalk", "--kernel", "v6.12", "--with", "walk_page_range"], "takes KEY=VALUE"),
    (["fuzz", "pagewalk", "--kernel", "v6.12", "--seed", "x"], "not a whole number"),
    (["fuzz", "pagewalk", "--kernel", "v6.12", "--max-examples", "-3"], "must not be negative"),
    (["fuzz", "pagewalk", "--kernel", "v6.12", "--actors", "ghost=1"], "no actor 'ghost'"),
    (["fuzz", "pagewalk", "--kernel", "v6.12", "--param", "nope=1"], "no parameter 'nope'"),
    (["fuzz", "pagewalk", "--kernel", "v6.12", "--profile", "weekly"], "unknown settings profile"),
    (["fuzz", "pagewalk"], "--kernel"),
    (["frobnicate"], "invalid choice"),
])
def test_bad_input_is_one_line_and_exit_2(args, message):
    p = mmfuzz(*args)
    assert p.returncode == 2
    assert p.stdout == ""
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("mmfuzz: error:") and message in lines[0], p.stderr


def test_fuzz_exit_codes_and_json():
    p = mmfuzz("fuzz", "pagewalk", "--kernel", "v6.12", "--seed", "2", "--max-examples", "1500", "--json")
    assert p.returncode == 1, p.stderr
    out = json.loads(p.stdout)
    for key in ("scenario", "kernel", "versions", "found", "invariant", "steps", "switches",
                "actors", "examples", "seconds"):
        assert key in out
    assert out["found"] and out["invariant"] == "no-illegal-read"
    assert out["versions"]["walk_page_range"] == "v6.12"
    p = mmfuzz("fuzz", "pagewalk", "--kernel", "v7.0", "--seed", "1", "--max-examples", "10")
    assert p.returncode == 0, p.stdout + p.stderr
    assert "no violation in" in p.stdout


def test_pytest_kernel_mode_fails_with_the_printed_race():
    p = subprocess.run([sys.executable, "-m", "pytest", "--mmfuzz-kernel", "v6.12", "--mmfuzz-seed", "4",
                        "--mmfuzz-max-examples", "1500", "--mmfuzz-scenario", "pagewalk",
                        "--mmfuzz-scenario", "fault-vs-invalidate",
                        "-p", "no:cacheprovider", "-p", "no:xdist", "-rfs", "-q"],
                       cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert p.returncode == 1, p.stdout[-3000:]
    assert "mmfuzz::pagewalk[v6.12] - BROKEN no-illegal-read" in p.stdout
    # v6.12 has no do_no_page: that scenario is skipped, saying why
    assert "1 failed, 1 skipped" in p.stdout and "has no do_no_page" in p.stdout
    assert "BROKEN  no-illegal-read" in p.stdout and "CPU1 VFIO DMA-map fault" in p.stdout


def test_pytest_kernel_mode_rejects_an_unknown_kernel():
    p = subprocess.run([sys.executable, "-m", "pytest", "--mmfuzz-kernel", "v9.9", "-p", "no:cacheprovider",
                        "-p", "no:xdist", "-q"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert p.returncode == 4
    assert "unknown kernel 'v9.9'" in p.stdout + p.stderr


def test_version_exit_codes_in_help_and_completion(capsys):
    from mmfuzz import __version__
    from mmfuzz.cli import main

    with pytest.raises(SystemExit) as e:
        main(["--version"])
    assert e.value.code == 0 and capsys.readouterr().out == f"mmfuzz {__version__}\n"
    for command in ([], ["fuzz"], ["campaign"], ["replay"]):
        with pytest.raises(SystemExit) as e:
            main([*command, "--help"])
        out = capsys.readouterr().out
        assert e.value.code == 0 and "exit status:" in out and "2  bad input" in out and "3  the check" in out
    with pytest.raises(SystemExit):
        main(["fuzz", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert "find the same race" in out and "docs/schemas/result.schema.json" in out
    assert main(["completion", "bash"]) == 0
    script = capsys.readouterr().out
    assert "--max-examples" in script and "campaign" in script
    assert subprocess.run(["bash", "-n"], input=script, text=True).returncode == 0
