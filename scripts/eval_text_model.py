#!/usr/bin/env python3
"""Dev-split Pearson r for valence / arousal / dominance with the SHIPPED runtime pipeline.

    .venv/bin/python scripts/eval_text_model.py [CSV]

CSV defaults to ../shared/data/text/emobank_train_dev.csv (relative to the repository root); only rows with
split == "dev" are scored. Each text goes through ``TextAnalyser.analyse_batch`` and ``Report.vad`` is
compared with the EmoBank ratings mapped to 0–1 by (x − 1) / 4 (Pearson r is unaffected by that mapping).
Exits 1 if any r is below its target (V ≥ 0.67, A ≥ 0.52, D ≥ 0.345).
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

# floors below which the build fails (the [11] goals .70/.50/.40 are reported by make eval)
TARGETS = {"valence": 0.67, "arousal": 0.52, "dominance": 0.345}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument(
        "csv", nargs="?", default=str(REPO.parent / "shared" / "data" / "text" / "emobank_train_dev.csv")
    )
    ap.add_argument("--split", default="dev")
    args = ap.parse_args()
    path = Path(args.csv)
    if not path.exists():
        print(f"no such file: {path}", file=sys.stderr)
        return 2
    with path.open(newline="", encoding="utf-8") as f:
        rows = [r for r in csv.DictReader(f) if r["split"] == args.split]
    if not rows:
        print(f"no rows with split == {args.split!r}", file=sys.stderr)
        return 2
    from engine.text import get_analyser

    analyser = get_analyser().load()
    texts = [r["text"] for r in rows]
    gold = (np.array([[float(r["V"]), float(r["A"]), float(r["D"])] for r in rows]) - 1.0) / 4.0
    t0 = time.perf_counter()
    reports = analyser.analyse_batch(texts)
    dt = time.perf_counter() - t0
    ok_rows = [i for i, r in enumerate(reports) if r.vad is not None]
    pred = np.array(
        [[reports[i].vad.valence, reports[i].vad.arousal, reports[i].vad.dominance] for i in ok_rows]
    )
    gold = gold[ok_rows]
    ok = True
    print(f"{len(rows)} {args.split} texts ({len(rows) - len(ok_rows)} without VAD) analysed in {dt:.1f}s")
    for k, (name, target) in enumerate(TARGETS.items()):
        r = float(np.corrcoef(pred[:, k], gold[:, k])[0, 1])
        status = "ok" if r >= target else "BELOW TARGET"
        ok &= r >= target
        print(f"{name:9s} r = {r:.4f}  (target >= {target:.2f})  {status}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
