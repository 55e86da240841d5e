"""The engine's shape: no import cycle between its packages or its files (deferred imports counted), no
function over 60 lines, no read of the config package, and every Trust weight table summing to 1."""

from __future__ import annotations

import ast
import math
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

import pytest

from engine.fusion.trust import TRUST_TABLE

ROOT = Path(__file__).resolve().parents[2]
ENGINE = ROOT / "engine"
MAX_FUNCTION_LINES = 60


def _module(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module(p): p for p in sorted(ENGINE.rglob("*.py"))}


def _package(module: str) -> str:
    return module if MODULES[module].name == "__init__.py" else module.rsplit(".", 1)[0]


def _known(name: str) -> str | None:
    """The engine module ``name`` is, or is inside (``engine.voice.asr.Word`` → ``engine.voice.asr``)."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def _imported(module: str, node: ast.Import | ast.ImportFrom) -> list[str]:
    if isinstance(node, ast.Import):
        return [a.name for a in node.names]
    base = node.module or ""
    if node.level:
        anchor = _package(module).split(".")[: len(_package(module).split(".")) - node.level + 1]
        base = ".".join(anchor + ([node.module] if node.module else []))
    subs = [f"{base}.{a.name}" for a in node.names if f"{base}.{a.name}" in MODULES]
    return subs if len(subs) == len(node.names) else [*subs, base]


def _edges(module: str) -> set[str]:
    """Engine modules that ``module`` imports anywhere in its body (in functions too)."""
    tree = ast.parse(MODULES[module].read_text())
    found = {
        _known(name)
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom)
        for name in _imported(module, node)
    }
    return {m for m in found if m is not None and m != module}


def _cycle(graph: dict[str, set[str]]) -> list[str]:
    try:
        tuple(TopologicalSorter(graph).static_order())
    except CycleError as err:
        return list(err.args[1])
    return []


def test_no_import_cycle_between_engine_files() -> None:
    assert _cycle({m: _edges(m) for m in MODULES}) == []


def test_no_import_cycle_between_engine_packages() -> None:
    graph: dict[str, set[str]] = {}
    for m in MODULES:
        graph.setdefault(_package(m), set()).update(
            _package(e) for e in _edges(m) if _package(e) != _package(m)
        )
    assert _cycle(graph) == []


def test_the_cycle_check_finds_a_deferred_import_cycle() -> None:
    assert _cycle({"a": {"b"}, "b": {"a"}}) in (["a", "b", "a"], ["b", "a", "b"])


def test_no_engine_function_is_over_60_lines() -> None:
    long = [
        f"{path.relative_to(ROOT)}:{node.lineno} {node.name} ({node.end_lineno - node.lineno + 1} lines)"
        for path in MODULES.values()
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and node.end_lineno is not None
        and node.end_lineno - node.lineno + 1 > MAX_FUNCTION_LINES
    ]
    assert long == []


def test_the_engine_reads_nothing_of_the_config_package() -> None:
    readers = [m for m in MODULES if any(e == "config" or e.startswith("config.") for e in _raw_imports(m))]
    assert readers == []
    assert not [p for p in MODULES.values() if '"config"' in p.read_text()]


def _raw_imports(module: str) -> set[str]:
    tree = ast.parse(MODULES[module].read_text())
    return {
        n
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom)
        for n in _imported(module, node)
    }


@pytest.mark.parametrize("modality", sorted(TRUST_TABLE))
def test_each_trust_weight_table_sums_to_one(modality: str) -> None:
    rules = TRUST_TABLE[modality]
    for table in (rules.weights, rules.stress, rules.moment_stress, rules.amount or {"all": 1.0}):
        assert math.fsum(table.values()) == 1.0
