"""The chaos table: one row per scenario (scenario, jobs, lost, duplicated, resent, recovery time).

``lost``: jobs that never completed, or whose event never reached the receiver (or the vendor).
``duplicated``: a second result, a second accepted webhook (another ``webhook-id``) or a second vendor write.
``resent``: the same message sent again under the same ``webhook-id`` (allowed by the contract; counted).
``recovery``: seconds from the fault's end (a worker killed, a store back) until everything had finished.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Row", "ROWS", "record", "table", "FULL", "size"]

FULL = os.environ.get("CHAOS_FULL") == "1"  # `make chaos`: the long versions; `make test`: the short ones


def size(short: int, full: int) -> int | float:
    """A scenario's count (jobs, seconds) in this run."""
    return full if FULL else short


@dataclass
class Row:
    """One scenario's outcome."""

    scenario: str
    jobs: int
    lost: int
    duplicated: int
    resent: int
    recovery_s: float | None
    note: str = ""


ROWS: list[Row] = []


def record(row: Row) -> Row:
    """Keep the row for the table (written before the scenario's assertions, so a failure has its row)."""
    ROWS.append(row)
    out = os.environ.get("CHAOS_REPORT")
    if out:
        Path(out).write_text(table(ROWS) + "\n")
    return row


def table(rows: list[Row]) -> str:
    """The rows as a Markdown table."""
    lines = [
        "| scenario | jobs | lost | duplicated | resent (same webhook-id) | recovery s | note |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    for r in rows:
        rec = "-" if r.recovery_s is None else f"{r.recovery_s:.1f}"
        lines.append(
            f"| {r.scenario} | {r.jobs} | {r.lost} | {r.duplicated} | {r.resent} | {rec} | {r.note} |"
        )
    return "\n".join(lines)
