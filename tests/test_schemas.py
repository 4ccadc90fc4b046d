"""Every --json output and every corpus entry matches its JSON Schema in docs/schemas/;
the schemas themselves are valid, and reject what they must."""

from __future__ import annotations

import json

import pytest
import toy  # noqa: F401  (registers the toy scenarios)
from schemas import SCHEMAS, validate

from mmfuzz.cli import main
from mmfuzz.corpus.store import files

RACY_TOY = ["toy-lost-update", "--kernel", "v6.12", "--with", "toy_counter=racy"]


def run_json(capsys, *argv):
    code = main(list(argv))
    return code, json.loads(capsys.readouterr().out)


def test_the_schemas_are_schemas():
    jsonschema = pytest.importorskip("jsonschema")
    names = sorted(p.name for p in SCHEMAS.glob("*.schema.json"))
    assert names == ["bisect.schema.json", "campaign.schema.json", "corpus-entry.schema.json",
                     "diff.schema.json", "list.schema.json", "replay.schema.json", "result.schema.json"]
    for name in names:
        jsonschema.Draft202012Validator.check_schema(json.loads((SCHEMAS / name).read_text()))


def test_every_corpus_entry_matches_and_a_broken_one_does_not():
    jsonschema = pytest.importorskip("jsonschema")
    paths = [path for path, _ in files(["corpus"])]
    assert paths
    for path in paths:
        validate("corpus-entry", json.loads(path.read_text()))
    entry = json.loads(paths[0].read_text())
    for broken in ({k: v for k, v in entry.items() if k != "schedule"}, entry | {"schema": "mmfuzz-corpus/2"},
                   entry | {"schedule": entry["schedule"] | {"steps": [[0]]}}):
        with pytest.raises(jsonschema.ValidationError):
            validate("corpus-entry", broken)


def test_list_fuzz_explore_and_replay_json(capsys, tmp_path):
    code, listing = run_json(capsys, "list", "--json")
    assert code == 0
    validate("list", listing)
    code, found = run_json(capsys, "fuzz", *RACY_TOY, "--seed", "3", "--max-examples", "200", "--json",
                           "--save", str(tmp_path))
    assert code == 1 and found["found"] and found["corpus"]["new"]
    validate("result", found)
    code, clean = run_json(capsys, "explore", "toy-lost-update", "--kernel", "v6.12", "--with", "toy_counter=atomic",
                           "--actors", "inc=2", "--json")
    assert code == 0 and not clean["found"] and clean["complete"]
    validate("result", clean)
    jsonschema = pytest.importorskip("jsonschema")
    with pytest.raises(jsonschema.ValidationError):  # a found race must carry its schedule
        validate("result", found | {"schedule": None})
    code, replayed = run_json(capsys, "replay", found["corpus"]["path"], "--json")
    assert code == 1 and replayed["counts"] == {"violates": 1}
    validate("replay", replayed)
    code, string = run_json(capsys, "replay", "--schedule", found["replay_string"], "--json")
    assert code == 1 and string["found"]
    validate("replay", string)


def test_diff_json(capsys):
    code, data = run_json(capsys, "diff", "pagewalk", "--kernels", "v6.12", "v7.0", "--json",
                          "--actors", "numa_maps=1,vfio_fault=1,vfio_zap=0,pte_walker=0")
    assert code == 1 and [v["status"] for v in data["verdicts"]] == ["racy", "clean"]
    validate("diff", data)
