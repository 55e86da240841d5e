"""Named emotions from predicted VAD: proximity to emotion terms placed in pleasure–arousal–dominance space.

This is NOT a trained emotion classifier. Each label is an emotion term with pleasure/arousal/dominance
coordinates (scale −1..+1) from Russell & Mehrabian (1977), "Evidence for a three-factor theory of emotions",
J. Research in Personality 11, 273–294, as reproduced in secondary sources (not re-checked against the
original table). ``neutral`` is the origin. A text's predicted VAD is standardised against the head's own
prediction distribution on EmoBank train (z-scores), scaled into the −1..+1 space (z × 0.35, clipped) and the
label scores are a softmax over negative squared distances (temperature 0.15), with the dominance axis
weighted 0.5 because dominance is the least reliable prediction (dev r ≈ 0.35). Scores sum to 1.
"""

from __future__ import annotations

import numpy as np

# label: (pleasure, arousal, dominance) on −1..+1; in brackets the Russell & Mehrabian term used
EMOTION_TERMS: dict[str, tuple[float, float, float]] = {
    "neutral": (0.0, 0.0, 0.0),  # origin, not an R&M term
    "happy": (0.81, 0.51, 0.46),  # "happy"
    "interested": (0.64, 0.51, 0.17),  # "interested"
    "hopeful": (0.51, 0.23, 0.14),  # "hopeful"
    "calm": (0.79, -0.01, 0.33),  # "untroubled"
    "surprised": (0.40, 0.67, -0.13),  # "surprised"
    "angry": (-0.51, 0.59, 0.25),  # "angry"
    "disgusted": (-0.60, 0.35, 0.11),  # "disgust"
    "fearful": (-0.64, 0.60, -0.43),  # "fearful"
    "sad": (-0.63, -0.27, -0.33),  # "sad"
    "discouraged": (-0.61, -0.15, -0.29),  # "discouraged"
}
LABELS = list(EMOTION_TERMS)
_CENTRES = np.array([EMOTION_TERMS[k] for k in LABELS])
Z_SCALE = 0.35
TEMPERATURE = 0.15
AXIS_WEIGHTS = np.array([1.0, 1.0, 0.5])


class EmotionMapper:
    def __init__(self, pred_mean: list[float], pred_std: list[float]) -> None:
        self.mean = np.asarray(pred_mean, dtype=np.float64)
        self.std = np.maximum(np.asarray(pred_std, dtype=np.float64), 1e-6)

    def position(self, raw_vad: np.ndarray) -> np.ndarray:
        """Raw head output (EmoBank 1–5) → point in the −1..+1 PAD space, shape [n, 3]."""
        z = (np.atleast_2d(raw_vad) - self.mean) / self.std
        return np.clip(z * Z_SCALE, -1.0, 1.0)

    def scores(self, raw_vad: np.ndarray) -> list[dict[str, float]]:
        p = self.position(raw_vad)
        d2 = (((p[:, None, :] - _CENTRES[None, :, :]) ** 2) * AXIS_WEIGHTS).sum(-1)
        logits = -d2 / TEMPERATURE
        logits -= logits.max(1, keepdims=True)
        w = np.exp(logits)
        w /= w.sum(1, keepdims=True)
        return [{k: round(float(v), 4) for k, v in zip(LABELS, row, strict=True)} for row in w]
