"""``make chaos``: the chaos suite's long versions (tests/chaos with CHAOS_FULL=1), then its table.

Each scenario starts from one scaled deployment of its own making (own redis-server and PostgreSQL cluster on
spare ports, two workers, two APIs; tests/chaos/cluster.py), breaks something on purpose and counts what was
lost, duplicated or resent and how long recovery took. ``make test`` runs the short version of each.
The table is also written to ``var/chaos.md`` (``--report PATH`` to change it).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    """Run the scenarios; the exit status is pytest's."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--report", type=Path, default=ROOT / "var" / "chaos.md")
    parser.add_argument("--short", action="store_true", help="the short versions (as in make test)")
    parser.add_argument("pytest_args", nargs="*", help="more pytest arguments, e.g. -k redis")
    args = parser.parse_args()
    args.report.parent.mkdir(parents=True, exist_ok=True)
    args.report.unlink(missing_ok=True)
    env = {**os.environ, "CHAOS_REPORT": str(args.report), "PYTHONPATH": str(ROOT)}
    env["CHAOS_FULL"] = "0" if args.short else "1"
    argv = [sys.executable, "-m", "pytest", "tests/chaos", "-m", "chaos", "-p", "no:cacheprovider", "-q"]
    code = subprocess.call([*argv, *args.pytest_args], cwd=ROOT, env=env)
    if args.report.exists():
        print(f"\nchaos table ({args.report}):\n{args.report.read_text()}")
    return code


if __name__ == "__main__":
    sys.exit(main())
