"""Project-wide pytest set-up: the engine's toy scenarios live in tests/."""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "tests"))

import pytest


@pytest.fixture(autouse=True)
def _races_env_stays_in_its_test(monkeypatch):
    """Commands run in-process export $MMFUZZ_RACES for their subprocesses (--races, a
    campaign of the toy scenarios): undo it after each test, or every later subprocess in
    that worker would try to load a package it cannot import."""
    monkeypatch.setenv("MMFUZZ_RACES", os.environ.get("MMFUZZ_RACES", ""))
