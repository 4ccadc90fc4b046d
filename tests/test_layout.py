"""The package's layout: no import cycles, and the engine imports nothing above it."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parent.parent / "mmfuzz"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PKG.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph() -> dict[str, set[str]]:
    """module -> the mmfuzz modules it imports, at any depth (lazy imports count)."""
    files = {_module_name(p): p for p in PKG.rglob("*.py")}

    def resolve(name: str) -> str | None:
        while name and name not in files:
            name = name.rpartition(".")[0]
        return name or None

    graph: dict[str, set[str]] = {m: set() for m in files}
    for mod, path in files.items():
        is_pkg = path.name == "__init__.py"
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parent = mod.split(".") if is_pkg else mod.split(".")[:-1]
                    parent = parent[:len(parent) - node.level + 1]
                    base = ".".join(parent + ([node.module] if node.module else []))
                targets = [base] + [f"{base}.{a.name}" for a in node.names]
            else:
                continue
            for t in targets:
                r = resolve(t) if t.startswith("mmfuzz") else None
                # a module importing its own package's __init__ is not an edge
                if r and r != mod and not mod.startswith(r + "."):
                    graph[mod].add(r)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in graph:
        if v not in index:
            visit(v)
    return out


def test_cycle_finder_finds_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_import_cycles():
    assert cycles(import_graph()) == []


def test_engine_imports_nothing_above_it():
    upward = {(m, t) for m, ts in import_graph().items() if m.startswith("mmfuzz.engine")
              for t in ts if not t.startswith("mmfuzz.engine")}
    assert upward == set()


def test_kernel_and_model_do_not_import_commands_or_races():
    above = ("mmfuzz.cli", "mmfuzz.corpus", "mmfuzz.campaign", "mmfuzz.scenarios", "mmfuzz.api",
             "mmfuzz.races", "mmfuzz.pytest_plugin")
    bad = {(m, t) for m, ts in import_graph().items() if m.startswith(("mmfuzz.kernel", "mmfuzz.model"))
           for t in ts if t.startswith(above)}
    assert bad == set()


@pytest.mark.parametrize("name", ["Scenario", "Actor", "scenario", "code_path", "release", "KernelCode",
                                  "spin_lock", "down_read", "lock_page", "InvariantBroken", "fuzz",
                                  "exhaust", "explore"])
def test_documented_names_are_public(name):
    import mmfuzz.api

    assert name in mmfuzz.api.__all__ and hasattr(mmfuzz.api, name)
