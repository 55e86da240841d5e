"""What the scripts that generate part of a doc share: write the doc, or with ``--check`` say whether it is
current (exit 1 when stale)."""

from __future__ import annotations

import sys
from pathlib import Path


def write_or_check(doc: Path, text: str, script: str, root: Path) -> int:
    """Write ``text`` to ``doc``; with ``--check`` on the command line only compare (0 current, 1 stale)."""
    name = doc.relative_to(root)
    if "--check" in sys.argv[1:]:
        current = doc.read_text() == text
        print(f"{name} is " + ("current" if current else f"stale: run {script}"))
        return 0 if current else 1
    doc.write_text(text)
    print(f"wrote {name}")
    return 0
