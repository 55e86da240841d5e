"""Face calibration on the London set (DeBruine & Jones 2017, CC BY 4.0): fits the AU table's rest points,
landmark references, smile gating and resting V/A/D (engine.face.calibration) on every person and writes
them into the ``fitted`` block of engine/face/au_map.yaml; prints AU12, AU06 and valence per person.

The per-person figures printed here are on the people the table was fitted on (in-sample). Held-out
figures (refitted without each person) come from ``make eval`` (bench/eval/faces.py).

    python scripts/calibrate_faces.py [--check] [/work/shared/data/faces/london_dev]
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engine.face import Landmarker, load_table  # noqa: E402
from engine.face.analyse import describe_face  # noqa: E402
from engine.face.aus import TABLE_PATH, AuTable  # noqa: E402
from engine.face.calibration import Calibration, Pair, calibrate, fitted_block  # noqa: E402
from engine.face.images import load_rgb  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
TABLE = TABLE_PATH
MARKER = "# --- fitted by scripts/calibrate_faces.py"
DEFAULT_DIR = ROOT.parent / "shared" / "data" / "faces" / "london_dev"


def load_pairs(folder: Path) -> dict[str, Pair]:
    """Each person's (neutral, smiling) landmarker observations."""
    rows = list(csv.DictReader((folder / "labels.csv").open()))
    found = {}
    with Landmarker() as lm:
        for r in rows:
            faces = lm.detect(load_rgb(folder / r["file"]).rgb)
            found[(r["face_id"], r["expression"])] = faces[0]
    people = sorted({p for p, _ in found})
    return {p: (found[(p, "neutral")], found[(p, "smiling")]) for p in people}


def write_table(table: AuTable, n_people: int) -> None:
    """Replace the ``fitted`` block of engine/face/au_map.yaml (the a-priori part above it is kept)."""
    head = TABLE.read_text(encoding="utf-8").split(MARKER)[0]
    block = yaml.safe_dump({"fitted": fitted_block(table)}, sort_keys=False, allow_unicode=True, width=110)
    TABLE.write_text(
        f"{head}{MARKER} on the London set (DeBruine & Jones 2017, CC BY 4.0), "
        f"{n_people} people; do not edit\n{block}",
        encoding="utf-8",
    )


def print_people(pairs: dict[str, Pair], cal: Calibration) -> int:
    """The per-person table (in-sample); the number of people whose AU12 and valence rise."""
    for gated, power, rises, median in cal.candidates:
        gate = "+".join(gated)
        print(f"gating {gate:<14} p={power:g}: valence rises for {rises}/{len(pairs)}, median {median:+.3f}")
    print(f"{'person':>6} {'AU12 n→s':>13} {'AU06 n→s':>13} {'valence n→s':>15}  ok")
    ok_all = 0
    for p, (n, s) in pairs.items():
        fn, fs = describe_face(n, cal.table), describe_face(s, cal.table)
        ok = fs.au["AU12"] > fn.au["AU12"] and fs.vad.valence > fn.vad.valence
        ok_all += ok
        print(
            f"{p:>6} {fn.au['AU12']:5.2f}→{fs.au['AU12']:5.2f} {fn.au['AU06']:5.2f}→{fs.au['AU06']:5.2f} "
            f"{fn.vad.valence:6.3f}→{fs.vad.valence:6.3f}  {'yes' if ok else 'NO'}"
        )
    print(f"AU12 and valence rise for {ok_all}/{len(pairs)} people (in-sample)")
    return ok_all


def main(argv: list[str] | None = None) -> int:
    """Fit on every person, write the table (unless --check), print the per-person table."""
    ap = argparse.ArgumentParser(prog="calibrate_faces.py")
    ap.add_argument("folder", nargs="?", type=Path, default=DEFAULT_DIR)
    ap.add_argument("--check", action="store_true", help="fit and print, do not write the table")
    args = ap.parse_args(argv)
    pairs = load_pairs(args.folder)
    cal = calibrate(load_table(), list(pairs.values()))
    if not args.check:
        write_table(cal.table, len(pairs))
    print_people(pairs, cal)
    return 0


if __name__ == "__main__":
    sys.exit(main())
