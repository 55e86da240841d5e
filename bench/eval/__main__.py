"""``python -m bench.eval [--data DIR] [--only faces,voice,text] [--no-write]``: the validation table.

Prints every held-out figure beside its baseline and writes ``docs/validation.md`` (the table between its
markers, with the commit it was measured on). Exits 1 when a figure misses its goal.
"""

from __future__ import annotations

import argparse
import importlib
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from bench.eval import Row

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "validation.md"
START, END = "<!-- measured by make eval: start -->", "<!-- measured: end -->"
PARTS = ("faces", "voice", "text")


def _fmt(value: float | None, unit: str) -> str:
    if value is None:
        return "—"
    return f"{value:.1f} %" if unit == "%" else f"{value:.3f}"


def _commit() -> str:
    run = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    dirty = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    return (run.stdout.strip() or "unknown") + (" (with uncommitted changes)" if dirty else "")


def table(rows: Sequence[Row]) -> list[str]:
    """The Markdown table."""
    lines = [
        "| part | check (held-out people) | held out | engine | baseline (same people, run) | goal | met |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        base = f"{_fmt(r.baseline, r.unit)} ({r.baseline_name})" if r.baseline is not None else "—"
        goal = f"≥ {_fmt(r.goal, r.unit)}" if r.goal is not None else "—"
        met = {None: "", True: "yes", False: "**no**"}[r.met]
        lines.append(
            f"| {r.part} | {r.check} | {r.held_out} | {_fmt(r.engine, r.unit)} | {base} | {goal} | {met} |"
        )
    notes = [f"- {r.part}, {r.check}: {r.note}" for r in rows if r.note]
    return lines + ([""] + notes if notes else [])


def write(rows: Sequence[Row], seconds: float) -> None:
    """Put the table into docs/validation.md between its markers (the prose around it is kept)."""
    current = DOC.read_text() if DOC.exists() else f"# Validation\n\n{START}\n{END}\n"
    head, _, rest = current.partition(START)
    tail = rest.partition(END)[2]
    body = [
        START,
        "",
        f"Measured on commit `{_commit()}` by `make eval` in {seconds:.0f} s.",
        "",
        *table(rows),
        "",
        END,
    ]
    DOC.write_text(head + "\n".join(body) + tail)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the parts, print the table, write the doc; 1 when a goal is missed."""
    ap = argparse.ArgumentParser(prog="python -m bench.eval")
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    ap.add_argument("--only", default=",".join(PARTS))
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args(argv)
    if not args.data.is_dir():
        print(f"no calibration data at {args.data} (see ../shared/data/README.md)", file=sys.stderr)
        return 2
    started, rows = time.monotonic(), []
    for part in args.only.split(","):
        module = importlib.import_module(f"bench.eval.{part}")
        rows += module.evaluate(args.data)
    print("\n".join(table(rows)))
    if set(args.only.split(",")) != set(PARTS):
        print("(--only: docs/validation.md is written only by a run of every part)", file=sys.stderr)
    elif not args.no_write:
        write(rows, time.monotonic() - started)
    return 1 if any(r.met is False for r in rows) else 0


if __name__ == "__main__":
    raise SystemExit(main())
