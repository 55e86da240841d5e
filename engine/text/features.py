"""Head features and the linear VAD head, stored as plain arrays (npz + json, no pickle).

features = [MiniLM embedding (384) | VADER neg, neu, pos, compound (4) | surface cues (4) | TF-IDF (vocab)]
prediction (EmoBank 1–5 scale) = features · W + b, one ridge per target; mapped to 0–1 by (x − 1) / 4.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from pathlib import Path

import numpy as np

# sklearn's default TfidfVectorizer token pattern; kept identical so training and run time agree.
_TOKEN = re.compile(r"(?u)\b\w\w+\b")


def vader_features(analyzer, texts: list[str]) -> np.ndarray:
    out = np.zeros((len(texts), 4), dtype=np.float64)
    for i, t in enumerate(texts):
        s = analyzer.polarity_scores(t)
        out[i] = (s["neg"], s["neu"], s["pos"], s["compound"])
    return out


def surface_features(texts: list[str]) -> np.ndarray:
    """Exclamation present, question present, log word count / 4, share of upper-case characters."""
    out = np.zeros((len(texts), 4), dtype=np.float64)
    for i, t in enumerate(texts):
        n_words = len(t.split())
        out[i] = (
            1.0 if "!" in t else 0.0,
            1.0 if "?" in t else 0.0,
            math.log1p(n_words) / 4.0,
            sum(c.isupper() for c in t) / max(1, len(t)),
        )
    return out


def tfidf_analyse(text: str, ngram_range: tuple[int, int]) -> list[str]:
    toks = _TOKEN.findall(text.lower())
    lo, hi = ngram_range
    if lo == 1 and hi == 1:
        return toks
    grams: list[str] = []
    for n in range(lo, hi + 1):
        if n == 1:
            grams.extend(toks)
        else:
            grams.extend(" ".join(toks[i : i + n]) for i in range(len(toks) - n + 1))
    return grams


class VadHead:
    """Linear head over the four feature blocks; reproduces sklearn's TF-IDF (l2, smooth idf) exactly."""

    def __init__(self, arrays: dict[str, np.ndarray], meta: dict) -> None:
        self.w_emb = arrays["w_emb"]
        self.w_vader = arrays["w_vader"]
        self.w_surface = arrays["w_surface"]
        self.w_tfidf = arrays["w_tfidf"]
        self.idf = arrays["idf"]
        self.intercept = arrays["intercept"]
        self.meta = meta
        self.vocab = {term: i for i, term in enumerate(meta["vocabulary"])}
        self.ngram_range = tuple(meta["tfidf"]["ngram_range"])
        self.sublinear_tf = bool(meta["tfidf"]["sublinear_tf"])
        # idf-weighted TF-IDF coefficients: contribution of term j = tf_j * idf_j * w_j / ||x||
        self.targets = meta.get("targets", ["valence", "arousal", "dominance"])

    @classmethod
    def load(cls, npz_path: str | Path, json_path: str | Path) -> VadHead:
        with np.load(npz_path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
        meta = json.loads(Path(json_path).read_text(encoding="utf-8"))
        return cls(arrays, meta)

    def tfidf_project(self, texts: list[str]) -> np.ndarray:
        """TF-IDF (l2-normalised) of each text times ``w_tfidf``: shape [n, 3]."""
        out = np.zeros((len(texts), self.w_tfidf.shape[1]), dtype=np.float64)
        for i, t in enumerate(texts):
            counts = Counter(self.vocab[g] for g in tfidf_analyse(t, self.ngram_range) if g in self.vocab)
            if not counts:
                continue
            idx = np.fromiter(counts.keys(), dtype=np.int64, count=len(counts))
            tf = np.fromiter(counts.values(), dtype=np.float64, count=len(counts))
            if self.sublinear_tf:
                tf = 1.0 + np.log(tf)
            x = tf * self.idf[idx]
            x /= np.linalg.norm(x)
            out[i] = x @ self.w_tfidf[idx]
        return out

    def predict_raw(
        self, emb: np.ndarray, vader: np.ndarray, surface: np.ndarray, texts: list[str]
    ) -> np.ndarray:
        """Predictions on EmoBank's 1–5 scale, shape [n, 3] (V, A, D)."""
        y = (
            emb.astype(np.float64) @ self.w_emb
            + vader @ self.w_vader
            + surface @ self.w_surface
            + self.tfidf_project(texts)
            + self.intercept
        )
        return y

    @staticmethod
    def to_unit(raw: np.ndarray) -> np.ndarray:
        """EmoBank 1–5 → 0–1 by (x − 1) / 4, clipped."""
        return np.clip((raw - 1.0) / 4.0, 0.0, 1.0)
