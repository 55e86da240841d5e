"""Text rows of ``make eval``: EmoBank's official dev split (never fitted on, never used to choose), through
the shipped runtime (``TextAnalyser.analyse_batch``), beside baselines fitted in the same run on train.

EmoBank has no reader ids, so "held out" is the official dev split: the shipped model was fitted and its
settings chosen on train only (cross-validation inside train). Baselines, on the same dev texts:

- the issue's baseline: generic all-MiniLM-L6-v2 embeddings + VADER scores, a small MLP (256 units, L2 10,
  early stopping, standardised inputs and targets; the configuration fixed in ENGINE-NOTES, not tuned here);
- a ridge on the same features (penalty per target by leave-one-out cross-validation inside train).

The generic encoder is the int8 all-MiniLM-L6-v2 file the engine shipped before it was fine-tuned, read from
git history (``GENERIC_COMMIT``) into a cache directory; its embeddings are cached there too.
"""

from __future__ import annotations

import csv
import hashlib
import os
import subprocess
import time
from pathlib import Path

import numpy as np

from bench.eval import Row

__all__ = ["evaluate"]

ROOT = Path(__file__).resolve().parents[2]
CSV = Path("text") / "emobank_train_dev.csv"
GENERIC_COMMIT = "616c847"  # last commit whose engine/text/models held the generic (not fine-tuned) encoder
GENERIC_PATH = "engine/text/models/minilm-l6-v2-int8.onnx"
CACHE = Path(os.environ.get("ECHODEPTH_EVAL_CACHE", "/tmp/echodepth-eval"))
GOALS = {"valence": 0.70, "arousal": 0.50, "dominance": 0.40}
SPEED_GOAL = 300.0  # sentences/s through analyse_batch (earlier issue's target)
HELD_OUT = "EmoBank dev split, 1,000 texts (fit and choices on train only)"


def _load(data_dir: Path) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Texts, ratings [n, 3] on 1–5 and split labels."""
    with (data_dir / CSV).open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    y = np.array([[float(r["V"]), float(r["A"]), float(r["D"])] for r in rows])
    return [r["text"] for r in rows], y, np.array([r["split"] for r in rows])


def _pearson(p: np.ndarray, y: np.ndarray) -> list[float]:
    """Pearson r per column."""
    return [float(np.corrcoef(p[:, k], y[:, k])[0, 1]) for k in range(y.shape[1])]


def _engine(texts: list[str]) -> tuple[np.ndarray, float]:
    """Report.vad per text via analyse_batch, and sentences/s (best of two timed runs after a warm-up)."""
    from engine.text import get_analyser

    analyser = get_analyser().load()
    analyser.analyse_batch(texts[:64])
    best, reports = float("inf"), []
    for _ in range(2):
        t0 = time.perf_counter()
        reports = analyser.analyse_batch(texts)
        best = min(best, time.perf_counter() - t0)
    vad = np.array(
        [[r.vad.valence, r.vad.arousal, r.vad.dominance] if r.vad else [0.5] * 3 for r in reports]
    )
    return vad, sum(len(r.segments) for r in reports) / best


def _generic_onnx() -> Path | None:
    """The generic int8 encoder from git history, cached; None when the history is not there."""
    out = CACHE / f"generic-minilm-int8-{GENERIC_COMMIT}.onnx"
    if out.exists():
        return out
    run = subprocess.run(["git", "show", f"{GENERIC_COMMIT}:{GENERIC_PATH}"], cwd=ROOT, capture_output=True)
    if run.returncode != 0:
        return None
    CACHE.mkdir(parents=True, exist_ok=True)
    out.write_bytes(run.stdout)
    return out


def _generic_features(texts: list[str]) -> np.ndarray | None:
    """[generic MiniLM embedding (384) | VADER neg, neu, pos, compound (4)] per text, cached by content."""
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    from engine.text.encoder import MiniLMEncoder
    from engine.text.features import vader_features

    onnx = _generic_onnx()
    if onnx is None:
        return None
    key = hashlib.sha256("\x00".join(texts).encode()).hexdigest()[:12]
    cached = CACHE / f"generic-features-{GENERIC_COMMIT}-{key}.npy"
    if cached.exists():
        return np.asarray(np.load(cached))
    enc = MiniLMEncoder(onnx, ROOT / "engine" / "text" / "models" / "tokenizer.json")
    emb, _ = enc.encode(texts)
    x = np.hstack([emb.astype(np.float64), vader_features(SentimentIntensityAnalyzer(), texts)])
    np.save(cached, x)
    return x


def _mlp(x_tr: np.ndarray, y_tr: np.ndarray, x_dv: np.ndarray) -> np.ndarray:
    """The issue's baseline head: MLP(256), alpha 10, early stopping, standardised inputs and targets."""
    from sklearn.neural_network import MLPRegressor
    from sklearn.preprocessing import StandardScaler

    sx = StandardScaler().fit(x_tr)
    mu, sd = y_tr.mean(0), y_tr.std(0)
    mlp = MLPRegressor(
        hidden_layer_sizes=(256,), alpha=10.0, early_stopping=True, max_iter=500, random_state=0
    )
    mlp.fit(sx.transform(x_tr), (y_tr - mu) / sd)
    return np.asarray(mlp.predict(sx.transform(x_dv))) * sd + mu


def _ridge(x_tr: np.ndarray, y_tr: np.ndarray, x_dv: np.ndarray) -> np.ndarray:
    """Ridge with one penalty per target chosen by efficient leave-one-out CV inside train."""
    from sklearn.linear_model import RidgeCV

    ridge = RidgeCV(alphas=[0.1, 0.3, 1.0, 3.0, 10.0], alpha_per_target=True).fit(x_tr, y_tr)
    return np.asarray(ridge.predict(x_dv))


def evaluate(data_dir: Path) -> list[Row]:
    """Dev-split r per dimension beside both baselines, and throughput, as validation rows."""
    texts, y, split = _load(data_dir)
    tr, dv = split == "train", split == "dev"
    dev_texts = [t for t, d in zip(texts, dv, strict=True) if d]
    vad, speed = _engine(dev_texts)
    eng = _pearson(vad, y[dv])
    x = _generic_features(texts)
    mlp = _pearson(_mlp(x[tr], y[tr], x[dv]), y[dv]) if x is not None else [None] * 3
    ridge = _pearson(_ridge(x[tr], y[tr], x[dv]), y[dv]) if x is not None else [None] * 3
    rows = []
    for k, name in enumerate(GOALS):
        note = f"ridge on the same features: {ridge[k]:.3f}" if ridge[k] is not None else "no generic encoder"
        rows.append(Row("text", f"EmoBank {name} r", HELD_OUT, eng[k], mlp[k], "MiniLM + VADER, MLP",
                        GOALS[name], "r", note))  # fmt: skip
    for k, name in enumerate(GOALS):
        rows.append(Row("text", f"EmoBank {name} r (vs ridge)", HELD_OUT, eng[k], ridge[k],
                        "MiniLM + VADER, ridge", None, "r"))  # fmt: skip
    rows.append(_speed_row())
    rows.append(Row("text", "throughput on the dev texts, sentences/s", "same 1,000 texts", speed, None,
                    note="EmoBank sentences are longer than the bench's"))  # fmt: skip
    return rows


def _speed_row() -> Row:
    """The earlier issue's throughput check (bench/text_throughput.py: 4-sentence texts), with the load."""
    from bench.text_throughput import measure

    load = os.getloadavg()[0]
    res = measure(2000, 4, 3)
    note = f"bench/text_throughput.py, best of 3; 1-min load average {load:.1f} on 2 cores (shared machine)"
    return Row("text", "throughput, sentences/s (analyse_batch)", "synthetic 4-sentence texts",
               float(res["sentences_per_s"]), None, "", SPEED_GOAL, "", note)  # fmt: skip
