"""The two source trees a bench run compares: this checkout, and a baseline commit exported beside it.

The baseline is ``git archive`` of the runtime code only (engine, core, connectors, config); the bench's own
code and the test helpers it uses (media factories, emulators) always come from this checkout, so both trees
are measured by the same harness. A probe runs as ``python -m bench.probes …`` with ``PYTHONPATH`` set to the
tree first, then this checkout, and ``BENCH_TREE_ROOT`` naming the tree (servers start there, so they read
that tree's ``config/``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["BASELINE_REF", "ROOT", "Tree", "baseline_tree", "commit_of", "run_probe", "this_tree"]

ROOT = Path(__file__).resolve().parent.parent
# main just before issue 20 ("serving performance"): what every engine and API figure is compared with
BASELINE_REF = "c8e44d1"
RUNTIME_PATHS = ("engine", "core", "connectors", "config")
PROBE_TIMEOUT_S = 3600.0


@dataclass(frozen=True)
class Tree:
    """A source tree to measure: its label, its root (with ``config/``) and its commit."""

    label: str
    root: Path
    commit: str

    def env(self) -> dict[str, str]:
        """This process's environment with the tree first on ``PYTHONPATH``."""
        paths = [str(self.root)] if self.root == ROOT else [str(self.root), str(ROOT)]
        return {**os.environ, "PYTHONPATH": os.pathsep.join(paths), "BENCH_TREE_ROOT": str(self.root)}


def commit_of(ref: str = "HEAD") -> str:
    """The short commit id of ``ref`` in this checkout (with ``+dirty`` when HEAD has local changes)."""
    out = subprocess.run(["git", "rev-parse", "--short", ref], cwd=ROOT, capture_output=True, text=True,
                         check=True).stdout.strip()
    if ref == "HEAD":
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT,
                               capture_output=True, text=True, check=True).stdout.strip()
        out += "+dirty" if dirty else ""
    return out


def this_tree() -> Tree:
    """This checkout."""
    return Tree("this commit", ROOT, commit_of())


@contextmanager
def baseline_tree(ref: str = BASELINE_REF) -> Iterator[Tree]:
    """``ref``'s runtime code exported to a temporary directory (removed when the block ends)."""
    with tempfile.TemporaryDirectory(prefix="echodepth-baseline-") as tmp:
        archive = Path(tmp) / "tree.tar"
        subprocess.run(["git", "archive", "-o", str(archive), ref, *RUNTIME_PATHS], cwd=ROOT, check=True)
        root = Path(tmp) / "tree"
        with tarfile.open(archive) as tar:
            tar.extractall(root, filter="data")
        archive.unlink()
        yield Tree(f"baseline {commit_of(ref)}", root, commit_of(ref))


def run_probe(tree: Tree, probe: str, *args: str) -> dict[str, Any]:
    """Run ``python -m bench.probes probe args…`` on ``tree``; its last stdout line, parsed as JSON."""
    cmd = [sys.executable, "-m", "bench.probes", probe, *args]
    # cwd is the tree: ``-m`` puts the working directory first on sys.path
    done = subprocess.run(cmd, cwd=tree.root, env=tree.env(), capture_output=True, text=True,
                          timeout=PROBE_TIMEOUT_S)
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        raise RuntimeError(f"{probe} on {tree.label} failed ({done.returncode}): {done.stderr[-1500:]}")
    result: dict[str, Any] = json.loads(lines[-1])
    return result
