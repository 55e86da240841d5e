"""Check the vocal arousal score on RAVDESS (dev subset in shared/data; CC BY-NC-SA, never committed).

Prints the AUC of arousal for high- (angry, fearful, happy, surprised) vs low-arousal (neutral, calm, sad)
clips and the share of (actor, emotion) pairs whose strong take scores above the normal one, with the
engine's arousal computed against each actor's own baseline (the mean and SD of their clips' cues), and,
for reference, against the generic baseline (no speaker information). Nothing is fitted here.

    .venv/bin/python scripts/calibrate_voice.py [DATA_DIR]
"""

from __future__ import annotations

import csv
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from engine.voice import analyse_audio  # noqa: E402
from engine.voice.affect import (  # noqa: E402
    AROUSAL_WEIGHTS,
    GENERIC_BASELINE,
    VoiceBaseline,
    arousal_logit,
)

DEFAULT_DIR = ROOT.parent / "shared" / "data" / "speech" / "ravdess_dev"
HIGH = {"angry", "fearful", "happy", "surprised"}
LOW = {"neutral", "calm", "sad"}


def auc(pos: list[float], neg: list[float]) -> float:
    """Mann–Whitney AUC: P(score of a positive > score of a negative), ties count half."""
    p, n = np.asarray(pos)[:, None], np.asarray(neg)[None, :]
    return float(((p > n).sum() + 0.5 * (p == n).sum()) / (p.size * n.size))


def main(data_dir: Path) -> None:
    rows = list(csv.DictReader((data_dir / "labels.csv").open()))
    cues: dict[str, dict] = {}
    for row in rows:
        report = analyse_audio(data_dir / row["file"], asr=False)
        cues[row["file"]] = report.voice["cues"]
    by_actor: dict[str, list[dict]] = defaultdict(list)
    for row in rows:
        by_actor[row["actor"]].append(cues[row["file"]])
    baselines = {a: VoiceBaseline.from_cues(c) for a, c in by_actor.items()}

    def score(row: dict, baseline: VoiceBaseline, only: str | None = None) -> float:
        z = baseline.z(cues[row["file"]])
        if only:
            z = {only: z.get(only, 0.0)}
        return arousal_logit(z)[0]

    print(f"{len(rows)} clips, {len(by_actor)} actors\n")
    print(f"{'score':34s} {'AUC high/low':>12s} {'strong>normal':>14s}")
    variants = [("engine arousal, speaker baseline", lambda r: score(r, baselines[r["actor"]]))]
    variants.append(("engine arousal, generic baseline", lambda r: score(r, GENERIC_BASELINE)))

    def plain(r: dict) -> float:  # the reference: mean within-speaker z of F0 mean, F0 SD, intensity
        z = baselines[r["actor"]].z(cues[r["file"]])
        return float(np.mean([z.get(c, 0.0) for c in ("f0_mean_st", "f0_sd_st", "intensity_db")]))

    variants.append(("reference: plain mean z (F0 m/sd, I)", plain))
    for cue in AROUSAL_WEIGHTS:
        variants.append((f"  cue {cue} (speaker z)", lambda r, c=cue: score(r, baselines[r["actor"]], c)))
    for name, fn in variants:
        s = {r["file"]: fn(r) for r in rows}
        a = auc(
            [s[r["file"]] for r in rows if r["emotion"] in HIGH],
            [s[r["file"]] for r in rows if r["emotion"] in LOW],
        )
        pairs = defaultdict(dict)
        for r in rows:
            pairs[(r["actor"], r["emotion"])][r["intensity"]] = s[r["file"]]
        full = [p for p in pairs.values() if "strong" in p and "normal" in p]
        share = 100.0 * sum(p["strong"] > p["normal"] for p in full) / len(full)
        print(f"{name:34s} {a:12.3f} {share:13.1f}%  ({len(full)} pairs)")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_DIR)
