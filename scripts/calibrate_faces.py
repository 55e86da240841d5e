"""Face calibration on the London set (DeBruine & Jones 2017, CC BY 4.0): AU12, AU06 and valence, neutral vs
smiling, per person. Exits 1 unless AU12 and valence rise for every person.

    python scripts/calibrate_faces.py [/work/shared/data/faces/london_dev]
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engine.face import analyse_images  # noqa: E402

DEFAULT_DIR = Path("/work/shared/data/faces/london_dev")


def main(folder: Path = DEFAULT_DIR) -> int:
    """Print the per-person table; return 0 if AU12 and valence rise for all."""
    rows = list(csv.DictReader((folder / "labels.csv").open()))
    people = sorted({r["face_id"] for r in rows})
    files = {(r["face_id"], r["expression"]): folder / r["file"] for r in rows}
    order = [(p, e) for p in people for e in ("neutral", "smiling")]
    report = analyse_images([files[k] for k in order], [files[k].name for k in order])
    by = {order[e["index"]]: e for e in report.images}
    print(f"{'person':>6} {'AU12 n→s':>13} {'AU06 n→s':>13} {'valence n→s':>15}  ok")
    ok_all = True
    for p in people:
        n, s = by[(p, "neutral")], by[(p, "smiling")]
        au12 = (n["au_map"]["AU12"]["intensity"], s["au_map"]["AU12"]["intensity"])
        au6 = (n["au_map"]["AU06"]["intensity"], s["au_map"]["AU06"]["intensity"])
        val = (n["vad"]["valence"], s["vad"]["valence"])
        ok = au12[1] > au12[0] and val[1] > val[0]
        ok_all &= ok
        print(
            f"{p:>6} {au12[0]:5.2f}→{au12[1]:5.2f} {au6[0]:5.2f}→{au6[1]:5.2f} {val[0]:6.3f}→{val[1]:6.3f}  "
            f"{'yes' if ok else 'NO'}"
        )
    print(f"AU12 and valence rise for {'all' if ok_all else 'NOT all'} {len(people)} people")
    return 0 if ok_all else 1


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_DIR))
