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


# No import cycles: between the packages of core and engine (core.jobs, core.delivery, engine.fusion, …;
# a top-level module such as core/runtime.py counts as its own package) and between files. Every import
# counts, wherever it is written: inside a function, under TYPE_CHECKING, relative or absolute.


def _module_of(root: Path, path: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _targets(node: ast.Import | ast.ImportFrom, package: str, modules: dict[str, Path]) -> set[str]:
    """The tree's modules an import statement loads (``from a import b``: module ``a.b`` if there is one,
    else module ``a``); relative imports resolved against ``package``, the importing file's package."""
    if isinstance(node, ast.Import):
        return {_owner(alias.name, modules) for alias in node.names}
    base = node.module or ""
    if node.level:
        anchor = package.split(".")
        base = ".".join([*anchor[: len(anchor) - node.level + 1], *([node.module] if node.module else [])])
    subs = [f"{base}.{alias.name}" for alias in node.names]
    return {sub if sub in modules else _owner(base, modules) for sub in subs}


def module_graph(root: Path, top: str) -> dict[str, set[str]]:
    """Each module of the package ``top`` → the modules of ``top`` it imports."""
    paths = {_module_of(root, p): p for p in sorted((root / top).rglob("*.py"))}
    graph: dict[str, set[str]] = {}
    for module, path in paths.items():
        package = module if path.name == "__init__.py" else module.rpartition(".")[0]
        found: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Import | ast.ImportFrom):
                found |= _targets(node, package, paths)
        graph[module] = {m for m in found if m and m != module}
    return graph


def _owner(name: str, modules: dict[str, Path]) -> str:
    """The longest module path that ``name`` starts with ('' when it is outside the tree)."""
    while name and name not in modules:
        name = name.rpartition(".")[0]
    return name


def package_graph(root: Path, top: str) -> dict[str, set[str]]:
    """``top.<x>`` → the other ``top.<y>`` its modules import."""
    graph: dict[str, set[str]] = {}
    for module, targets in module_graph(root, top).items():
        mine = ".".join(module.split(".")[:2])
        graph.setdefault(mine, set()).update(
            ".".join(t.split(".")[:2]) for t in targets if ".".join(t.split(".")[:2]) != mine
        )
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one node (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = [stack.pop()]
            while component[-1] != node:
                component.append(stack.pop())
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


@pytest.mark.parametrize("top", ["core", "engine"])
def test_no_package_imports_another_that_imports_it_back(top: str) -> None:
    assert cycles(package_graph(ROOT, top)) == []


@pytest.mark.parametrize("top", ["core", "engine"])
def test_no_file_imports_another_that_imports_it_back(top: str) -> None:
    assert cycles(module_graph(ROOT, top)) == []


def test_the_cycle_checker_counts_deferred_relative_and_type_checking_imports(tmp_path: Path) -> None:
    files = {
        "core/__init__.py": "",
        "core/a/__init__.py": "",
        "core/a/one.py": "def later() -> None:\n    from core.b.two import X\n",
        "core/b/__init__.py": "from .two import X\n",
        "core/b/two.py": "import typing\nif typing.TYPE_CHECKING:\n    from core.a import one\nX = 1\n",
        "core/c.py": "from core import a\n",
    }
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    assert cycles(package_graph(tmp_path, "core")) == [["core.a", "core.b"]]
    assert cycles(module_graph(tmp_path, "core")) == [["core.a.one", "core.b.two"]]
    (tmp_path / "core/b/two.py").write_text("X = 1\n")
    assert cycles(package_graph(tmp_path, "core")) == []
