"""Campaigns: planning, de-duplicated saving, reports, exit codes, interruption."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import struct
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import attrs
import pytest
from schemas import validate

from mmfuzz.campaign import report
from mmfuzz.campaign.backend import SerialBackend
from mmfuzz.cli.campaign import duration
from mmfuzz.campaign.plan import plan
from mmfuzz.campaign.progress import Progress
from mmfuzz.campaign.runner import Campaign, Summary
from mmfuzz.campaign.shard import run_shard
from mmfuzz.scenarios.pagewalk import PagewalkScenario
from mmfuzz.cli import main
from mmfuzz.corpus.expect import Row
from mmfuzz.corpus.schema import Entry
from mmfuzz.corpus.store import scan
from mmfuzz.engine.versions import UnknownName

# a race found in a few hundred examples with one actor: cheap to find again and again
SKIP_SPECIAL = Row("pagewalk", "v7.0-rc2", (("walk_page_range", "rfc-skip-special"),), (), "racy")
FIXED = Row("pagewalk", "v7.0", (), (), "clean")


def test_plan_defaults_to_the_declared_verdicts():
    rows = plan(["pagewalk"])
    assert SKIP_SPECIAL in rows and FIXED in rows
    assert {r.expect for r in rows} == {"racy", "clean"}


def test_plan_for_named_kernels_keeps_declared_expectations():
    rows = plan(["pagewalk"], ["v7.0", "v6.12", "v2.6.20"])  # v2.6.20 cannot run it
    assert [(r.kernel, r.expect) for r in rows] == [("v7.0", "clean"), ("v6.12", "racy")]
    with pytest.raises(UnknownName):
        plan(["pagewalk"], ["v99"])
    with pytest.raises(UnknownName):
        plan(["no-such-scenario"])
    assert plan(["pagewalk"], ["v7.0-rc2"], {"walk_page_range": "rfc-skip-special"}) == [SKIP_SPECIAL]


@pytest.mark.parametrize("text,seconds", [("90", 90), ("90s", 90), ("2m", 120), ("1h30m", 5400)])
def test_durations(text, seconds):
    assert duration(text) == seconds


@pytest.mark.parametrize("text", ["", "2x", "m", "0s", "-5"])
def test_bad_durations(text):
    with pytest.raises(Exception, match="duration"):
        duration(text)


@pytest.fixture(scope="module")
def found():
    """Results of three shards as workers return them: the race twice, the fix once."""
    def spec(row, seed, examples):
        return {"key": Campaign.key(row), "scenario": row.scenario, "kernel": row.kernel,
                "overrides": dict(row.overrides), "options": dict(row.options), "seed": seed,
                "examples": examples, "profile": "nightly", "database": None}
    return [run_shard(spec(SKIP_SPECIAL, 1, 2000)), run_shard(spec(SKIP_SPECIAL, 2, 2000)),
            run_shard(spec(FIXED, 3, 3))]  # each example runs hundreds of schedules


def campaign(tmp_path, results):
    c = Campaign([SKIP_SPECIAL, FIXED], seconds=1, backend=SerialBackend(), corpus=tmp_path / "corpus",
                 progress=Progress(1, quiet=True))
    s = Summary(list(c.cells.values()), 1, corpus=str(tmp_path / "corpus"))
    for r in results:
        c.take(r, s)
    return s


def test_a_race_found_twice_is_one_entry(found, tmp_path):
    assert found[0]["entry"] and found[1]["entry"] and found[2]["entry"] is None
    s = campaign(tmp_path, found)
    entries = list(scan([tmp_path / "corpus"]))
    assert len(entries) == 1 and isinstance(entries[0][1], Entry)
    racy, clean = s.cells
    assert (racy.findings, s.new, s.duplicates) == (2, 1, 1)
    assert clean.examples == found[2]["examples"] > 0 and not clean.found and not s.unexpected
    s2 = campaign(tmp_path, found[:1])  # a later campaign knows it already
    assert (s2.findings, s2.new) == (1, 0)
    assert len(os.listdir(tmp_path / "corpus")) == 1


def test_reports(found, tmp_path):
    s = campaign(tmp_path, found)
    md, page, js, xml = report.write(s, tmp_path / "out")
    text = md.read_text()
    assert "| scenario | v7.0-rc2 +walk_page_range=rfc-skip-special | v7.0 |" in text
    assert "| pagewalk | race ✓ | clean ✓ |" in text
    assert "BROKEN  walk-completeness" in text, "the new race's timeline is in the report"
    data = json.loads(js.read_text())
    assert [c["verdict"] for c in data["cells"]] == ["race", "clean"]
    assert data["new_entries"] == [e.name for e in s.new_entries]
    suite = ET.parse(xml).getroot()
    assert suite.get("tests") == "2" and suite.get("failures") == "0"


def test_a_shard_error_is_reported_not_raised(tmp_path):
    c = Campaign([FIXED], seconds=1, backend=SerialBackend(), corpus=tmp_path, progress=Progress(1, quiet=True))
    spec = c.next_spec(1) | {"scenario": "no-such-scenario"}
    result = run_shard(spec)
    s = Summary(list(c.cells.values()), 1)
    c.take(result, s)
    assert s.errors == 1 and "unknown scenario" in s.cells[0].errors[0]
    assert "## Shard errors" in report.markdown(s)


def test_a_violation_on_a_clean_kernel_fails_the_campaign(tmp_path, monkeypatch, capsys):
    wrongly_clean = attrs.evolve(SKIP_SPECIAL, expect="clean")
    monkeypatch.setattr("mmfuzz.campaign.plan.plan", lambda *a: [wrongly_clean])
    argv = ["campaign", "--time", "2s", "--chunk", "400", "--quiet",
            "--corpus", str(tmp_path / "c"), "--out", str(tmp_path / "out")]
    assert main(argv) == 1
    assert "FAIL pagewalk" in capsys.readouterr().out
    suite = ET.parse(tmp_path / "out" / "junit.xml").getroot()
    assert suite.get("failures") == "1"


@pytest.mark.parametrize("argv,msg", [
    (["campaign", "--time", "soon"], "not a duration"),
    (["campaign", "--jobs", "0"], "--jobs"),
    (["campaign", "--kernels", "v99"], "unknown kernel"),
    (["campaign", "--scenarios", "nope"], "unknown scenario"),
    (["campaign", "--with", "walk_page_range=rfc-skip-special"], "--with needs --kernels"),
    (["campaign", "--kernels", "v7.0", "--with", "walk_page_range=nope"], "has no version"),
    (["campaign", "--scheduler", "tcp://127.0.0.1:1", "--time", "1s"], "cannot reach"),
])
def test_bad_input_is_one_line_and_exit_2(argv, msg, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert msg in err and err.count("\n") == 1


def test_sigterm_keeps_the_races_and_writes_the_report(tmp_path):
    corpus, out = tmp_path / "corpus", tmp_path / "out"
    proc = subprocess.Popen(
        [sys.executable, "-m", "mmfuzz", "campaign", "--time", "5m", "--scenarios", "pagewalk",
         "--kernels", "v7.0-rc2", "--with", "walk_page_range=rfc-skip-special", "--chunk", "1000",
         "--corpus", str(corpus), "--out", str(out)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        # a finished entry, not the temporary file save() writes it into
        while not (corpus.is_dir() and any(f.suffix == ".json" and not f.name.startswith(".tmp-")
                                           for f in corpus.iterdir())):
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "no race saved within 60 s"
            time.sleep(0.2)
        proc.send_signal(signal.SIGTERM)
        stdout, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130, stderr
    data = json.loads((out / "report.json").read_text())
    assert data["interrupted"] == "interrupted" and data["new"] >= 1
    assert all(isinstance(e, Entry) for _, e in scan([corpus]))
    assert {f"{n}.json" for n in data["new_entries"]} == set(os.listdir(corpus))
    assert (out / "report.md").exists() and (out / "junit.xml").exists()


def test_a_campaign_starts_with_every_schedule_of_the_small_populations(tmp_path):
    """Max's question breaks only with three CPUs at two preemptions: fuzzing meets it once in
    thousands of examples, the first (exhaustive) shards of its row find it every time."""
    maxq = Row("pagewalk", "v7.0-rc2", (("walk_page_range", "maxq-leaf-recheck"),), (), "racy")
    c = Campaign([maxq], seconds=1, backend=SerialBackend(), corpus=tmp_path / "corpus",
                 progress=Progress(1, quiet=True))
    s = Summary(list(c.cells.values()), 1, corpus=str(tmp_path / "corpus"))
    first = c.next_spec(60)
    assert first["mode"] == "explore" and first["population"]["vfio_zap"] == 1
    c.take(run_shard(first), s)
    assert s.findings == 1 and s.new == 1
    assert s.new_entries[0].invariant == "no-illegal-read"
    # one exhaustive shard per small population, then fuzzing
    n = len(PagewalkScenario.explore_with)
    later = [c.next_spec(60) for _ in range(n)]
    assert [spec.get("mode", "fuzz") for spec in later] == ["explore"] * (n - 1) + ["fuzz"]


def night(tmp_path, results, rows=(SKIP_SPECIAL, FIXED), date=None):
    """One campaign's shards taken and its report written over the previous night's."""
    c = Campaign(list(rows), seconds=1, backend=SerialBackend(), corpus=tmp_path / "corpus",
                 progress=Progress(1, quiet=True))
    s = Summary(list(c.cells.values()), 1, corpus=str(tmp_path / "corpus"))
    for r in results:
        c.take(r, s)
    if date is not None:
        s.started = date
    report.add_history(s, tmp_path / "out" / "report.json")
    report.write(s, tmp_path / "out")
    data = json.loads((tmp_path / "out" / "report.json").read_text())
    validate("campaign", data)
    return {(r["name"], r["status"]) for r in data["races"]}, data


def test_races_across_nights_new_still_present_fixed_regressed(found, tmp_path):
    race = found[0]["entry"]["name"]
    clean_shard = found[0] | {"entry": None, "examples": 100}  # the racy target ran and found nothing
    assert night(tmp_path, found[:1], date=86400)[0] == {(race, "new")}
    assert night(tmp_path, found[1:2], date=2 * 86400)[0] == {(race, "still present")}
    assert night(tmp_path, [clean_shard], date=3 * 86400)[0] == {(race, "fixed")}
    # a night that does not run its target leaves it as it was
    assert night(tmp_path, found[2:], rows=[FIXED], date=4 * 86400)[0] == {(race, "not checked")}
    statuses, data = night(tmp_path, found[:1], date=5 * 86400)
    assert statuses == {(race, "regressed")}
    r = data["races"][0]
    assert (r["first_seen"], r["last_seen"], r["nights_seen"]) == ("1970-01-02T00:00:00Z", "1970-01-06T00:00:00Z", 3)
    md = (tmp_path / "out" / "report.md").read_text()
    assert f"| {race} | pagewalk on v7.0-rc2 +walk_page_range=rfc-skip-special | regressed |" in md


def test_a_known_race_on_a_clean_kernel_fails_junit_with_its_timeline(found, tmp_path):
    wrongly_clean = attrs.evolve(SKIP_SPECIAL, expect="clean")
    night(tmp_path, found[:1], rows=[wrongly_clean])  # the first night saves it: known from now on
    _, data = night(tmp_path, found[1:2], rows=[wrongly_clean])
    assert data["new"] == 0 and data["cells"][0]["known"] == [found[1]["entry"]["name"]]
    failure = ET.parse(tmp_path / "out" / "junit.xml").getroot().find("testcase/failure")
    assert failure is not None and "declared clean" in failure.get("message")
    assert f"{found[1]['entry']['name']} (known)" in failure.text
    assert "BROKEN  walk-completeness" in failure.text and "CPU0 " in failure.text
    assert "replay: mmfuzz replay " in failure.text


def test_the_html_report_has_the_matrix_in_release_order_and_every_race(found, tmp_path):
    wrongly_clean = attrs.evolve(FIXED, kernel="v7.0-rc2", overrides=SKIP_SPECIAL.overrides, expect="clean")
    old = Row("pagewalk", "v6.12", (), (), "racy")
    shard = found[0] | {"key": Campaign.key(wrongly_clean)}
    night(tmp_path, [shard, found[2] | {"key": Campaign.key(old)}], rows=[FIXED, old, wrongly_clean])
    page = (tmp_path / "out" / "report.html").read_text()
    # kernels in release order, whatever order the targets came in
    heads = re.findall(r"<th>(v[^<]*)</th>", page.split('class="matrix"')[1].split("</tr>")[0])
    assert heads == ["v6.12", "v7.0-rc2 +walk_page_range=rfc-skip-special", "v7.0"]
    assert 'class="bad"' in page and "RACE, expected clean ✗" in page
    name = found[0]["entry"]["name"]
    assert f'<section class="race" id="{name}">' in page
    timeline = page.split(f'id="{name}"')[1]
    assert '<table class="timeline"><tr><th>CPU0 ' in timeline and "BROKEN  walk-completeness" in timeline
    assert page.count("<svg") == 2 and "http" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "")


def test_campaign_json_and_a_process_pool(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("MMFUZZ_RACES", "toy")  # the workers load the toy scenarios too
    argv = ["campaign", "--time", "2s", "--jobs", "2", "--chunk", "50", "--quiet", "--json",
            "--scenarios", "toy-lost-update", "--kernels", "v7.0", "v6.12", "--with", "toy_counter=atomic",
            "--corpus", str(tmp_path / "c"), "--out", str(tmp_path / "out")]
    assert main(argv) == 0
    data = json.loads(capsys.readouterr().out)
    validate("campaign", data)
    assert data == json.loads((tmp_path / "out" / "report.json").read_text())
    assert data["backend"] == "process pool, 2 workers" and data["errors"] == 0
    assert all(c["shards"] >= 1 and c["distinct_states"] > 0 for c in data["cells"])
    assert data["samples"] and data["samples"][-1]["examples"] == data["examples"]


def test_a_timeline_is_drawn_one_column_per_cpu():
    from mmfuzz.campaign.html import timeline_table

    entry = json.loads((Path(__file__).parent.parent / "corpus" / "pagewalk-47c07ab22ac74599.json").read_text())
    table = timeline_table(entry["timeline"])
    assert "<tr><th>CPU0 numa_maps reader</th><th>CPU1 VFIO DMA-map fault</th></tr>" in table
    rows = re.findall(r'<tr class="step">(.*?)</tr>', table, re.S)
    # one row per run of one CPU: reader, faulter, reader again
    assert [[bool(td) for td in re.findall(r"<td>(.*?)</td>", r, re.S)] for r in rows] == [
        [True, False], [False, True], [True, False]]
    assert rows[1].startswith("<td></td><td>vaddr_get_pfns: down_read(mmap_lock)")
    assert "<pre>BROKEN  no-illegal-read" in table


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(CHROMIUM is None, reason="no headless browser: Debian's chromium is not installed "
                                              "(apt-get install -y chromium; .ci/run installs it)")
def test_the_html_report_renders_every_race_in_headless_chromium(found, tmp_path):
    other = Row("pagewalk", "v7.0-rc2", (("walk_page_range", "maxq-leaf-recheck"),), (), "racy")
    # the three-CPU race of Max's question, as a shard would send it: a second race, three columns
    entry = json.loads((Path(__file__).parent.parent / "corpus" / "pagewalk-9e80739ca99977c9.json").read_text())
    maxq = found[2] | {"entry": entry}
    night(tmp_path, [found[0], maxq | {"key": Campaign.key(other)}, found[2]], rows=[SKIP_SPECIAL, FIXED, other])
    page = tmp_path / "out" / "report.html"
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             f"--user-data-dir={tmp_path / 'profile'}"]
    dom = subprocess.run([CHROMIUM, *flags, "--dump-dom", page.as_uri()], capture_output=True, text=True,
                         timeout=120).stdout
    names = [found[0]["entry"]["name"], maxq["entry"]["name"]]
    sections = re.findall(r'<section class="race" id="([^"]+)">(.*?)</section>', dom, re.S)
    assert [n for n, _ in sections] == names, dom[:2000]
    columns = [len(re.findall(r"<th>CPU\d", body)) for _, body in sections]
    assert columns == [1, 3]
    assert dom.count("<svg") == 2 and dom.count("<polyline") == 2
    shot = tmp_path / "page.png"
    subprocess.run([CHROMIUM, *flags, f"--screenshot={shot}", "--window-size=1200,2400", page.as_uri()],
                   capture_output=True, timeout=120)
    png = shot.read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and struct.unpack(">II", png[16:24]) == (1200, 2400)
    assert len(png) > 20_000, "an empty page"


def test_scheduler_without_the_dask_extra_is_one_line(tmp_path, monkeypatch, capsys):
    import socket

    monkeypatch.setitem(sys.modules, "distributed", None)  # as if not installed: import fails
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]
        assert main(["campaign", "--scheduler", f"tcp://127.0.0.1:{port}", "--time", "1s",
                     "--out", str(tmp_path / "out"), "--corpus", str(tmp_path / "c")]) == 2
    err = capsys.readouterr().err
    assert err == "mmfuzz: error: --scheduler needs Dask: pip install 'mmfuzz[dask]'\n"


def test_a_vacuous_clean_verdict_fails_the_campaign(tmp_path, monkeypatch):
    """One incrementer needs no lock: the clean verdict holds, and proves nothing."""
    import toy  # noqa: F401  (registers the toy scenarios)

    monkeypatch.setenv("MMFUZZ_RACES", "")  # the shards name `toy`: no later subprocess inherits it

    rows = [Row("toy-lost-update", "v6.12", (("toy_counter", "atomic"),), (), "clean"),
            Row("toy-lost-update", "v6.12", (("toy_counter", "locked"),), (), "clean",
                (("spin_lock(A) in increment", "no-lost-update"),))]
    c = Campaign(rows, seconds=1, backend=SerialBackend(), corpus=tmp_path / "corpus",
                 progress=Progress(1, quiet=True))
    s = Summary(list(c.cells.values()), 1, corpus=str(tmp_path / "corpus"))
    for _ in rows:
        spec = c.next_spec(60)
        assert spec["mode"] == "mutate"
        c.take(run_shard(spec), s)
    assert [cell.vacuous for cell in s.vacuous] == [
        "vacuous clean verdict: no protection mutant breaks it (it declares no rests_on)",
        "vacuous clean verdict: no protection mutant breaks it (not even its rests_on: spin_lock(A) in increment)"]
    assert all(report.verdict(cell) == "VACUOUS clean" for cell in s.cells)
    assert ET.fromstring(report.junit(s)).get("failures") == "2"
    assert c.next_spec(60).get("mode", "fuzz") == "fuzz"  # one mutate shard per row
