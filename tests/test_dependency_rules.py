"""ARCHITECTURE.md's dependency rules, checked on every import statement in the tree."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if "." in node.module:
                found.add(node.module)
            else:  # `from core import sdk` imports core.sdk
                found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def violations(root: Path) -> list[str]:
    """Every import that breaks a rule, as 'file: module'."""
    bad: list[str] = []
    for path in sorted((root / "engine").rglob("*.py")):
        bad += [f"{path}: {m}" for m in _imports(path) if m.split(".")[0] in ("core", "connectors")]
    for path in sorted((root / "connectors").rglob("*.py")):
        own = path.relative_to(root / "connectors").parts[0]
        for m in _imports(path):
            parts = m.split(".")
            if parts[0] == "core" and parts[:2] != ["core", "sdk"]:
                bad.append(f"{path}: {m}")
            if parts[0] == "connectors" and len(parts) > 1 and parts[1] != own:
                bad.append(f"{path}: {m}")
    for path in sorted((root / "core").rglob("*.py")):
        bad += [
            f"{path}: {m}"
            for m in _imports(path)
            if m.split(".")[:2][0] == "connectors" and len(m.split(".")) > 1
        ]
    return bad


def test_the_tree_keeps_the_dependency_rules() -> None:
    assert violations(ROOT) == []


@pytest.mark.parametrize(
    ("file", "source"),
    [
        ("engine/text/x.py", "from core.settings import Settings\n"),
        ("engine/x.py", "import connectors.zoom\n"),
        ("connectors/zoom/x.py", "from core.storage.store import Store\n"),
        ("connectors/zoom/x.py", "from connectors.slack import client\n"),
        ("core/x.py", "from connectors.hubspot.sink import HubSpotSink\n"),
    ],
)
def test_the_checker_catches_each_kind_of_violation(tmp_path: Path, file: str, source: str) -> None:
    for d in ("engine", "connectors", "core"):
        (tmp_path / d).mkdir()
    (tmp_path / file).parent.mkdir(parents=True, exist_ok=True)
    (tmp_path / file).write_text(source)
    (tmp_path / "connectors/zoom").mkdir(parents=True, exist_ok=True)
    (tmp_path / "connectors/zoom/ok.py").write_text("from core.sdk import errors\nimport connectors.zoom\n")
    assert len(violations(tmp_path)) == 1
