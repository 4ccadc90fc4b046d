"""Validate a command's --json output against its JSON Schema in docs/schemas/."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

SCHEMAS = Path(__file__).resolve().parent.parent / "docs" / "schemas"


def validate(name: str, data) -> None:
    """name: the schema file's stem (`result` for docs/schemas/result.schema.json)."""
    jsonschema = pytest.importorskip("jsonschema", reason="schema checks need jsonschema (pip install -e '.[test]')")
    schema = json.loads((SCHEMAS / f"{name}.schema.json").read_text())
    jsonschema.Draft202012Validator(schema).validate(data)
