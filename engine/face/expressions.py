"""Named expressions and still-frame V/A/D from AU intensities.

Prototypes are the EMFACS combinations (Friesen & Ekman 1983, as tabulated for CK+ by Lucey et al. 2010,
Table 2): happiness 6+12; sadness 1+4+15; surprise 1+2+5+26; fear 1+2+4+5+7+20+26; anger 4+5+7+23;
disgust 9 or 10 with 15/17; contempt a unilateral 12+14 (here: left/right smile asymmetry with 14).
A prototype's score is the mean intensity of its parts, except happiness, scored as AU12 × (0.5 + 0.5 × AU06)
(EMFACS counts 12 alone or 6+12 as happiness, never 6 alone), contempt, scored as the unilateral part of the
smile × (0.5 + 0.5 × AU14) (a symmetric dimpled smile is not contempt). Movements that a smile itself
produces are *smile-gated*: in the negative prototypes they count × (1 − AU12)^p. A broad smile raises the
upper lip (AU10) and the nose wings (read as AU09), and the cheek push narrows the eyes (read by the model
as eyeSquint, AU07); with the smile they are part of it, without it they are disgust or anger cues. Which
of AU07/AU09/AU10 are gated, and p (1 or 2), are chosen by :mod:`engine.face.calibration` among those
a-priori candidates. "Neutral" is what the strongest prototype leaves.
The expression mix becomes V/A/D through each emotion's pleasure–arousal–dominance position from Russell &
Mehrabian (1977; values −1…1, mapped to 0–1 by 0.5 + x/2); contempt has no entry there and is placed by
analogy (unpleasant, mildly aroused, dominant). An expression is a facial configuration, not a read-out of a
felt emotion (Barrett et al. 2019); the labels say which prototype the face resembles.
Every AU has a small non-zero intensity on a resting face, so the mix of a resting face is not exactly
neutral; ``rest_vad`` (the median V/A/D of neutral calibration faces) is taken out, so that a resting face
reads 0.5 on each dimension: V/A/D = clip(0.5 + mix − rest, 0, 1).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from engine.report import VAD

__all__ = ["PROTOTYPES", "EMOTION_PAD", "expression_scores", "mixture_vad", "expression_vad"]

PROTOTYPES: dict[str, list[tuple[str, ...]]] = {
    "happiness": [("AU06",), ("AU12",)],
    "sadness": [("AU01",), ("AU04",), ("AU15",)],
    "surprise": [("AU01",), ("AU02",), ("AU05",), ("AU26",)],
    "fear": [("AU01",), ("AU02",), ("AU04",), ("AU05",), ("AU07",), ("AU20",), ("AU26",)],
    "anger": [("AU04",), ("AU05",), ("AU07",), ("AU23",)],
    "disgust": [("AU09", "AU10"), ("AU15", "AU17")],
    "contempt": [("AU12_asymmetry",), ("AU14",)],
}
EMOTION_PAD = {
    "happiness": (0.81, 0.51, 0.46),
    "surprise": (0.40, 0.67, -0.13),
    "fear": (-0.64, 0.60, -0.43),
    "anger": (-0.51, 0.59, 0.25),
    "disgust": (-0.60, 0.35, 0.11),
    "sadness": (-0.63, -0.27, -0.33),
    "contempt": (-0.40, 0.20, 0.40),  # by analogy; not in Russell & Mehrabian (1977)
    "neutral": (0.0, 0.0, 0.0),
}
NEUTRAL_GAIN = 1.5  # neutral = 1 − 1.5 × strongest prototype: a prototype at ≥ 0.67 leaves no neutral
ASYMMETRY_FULL = 0.5  # a 0.5 left/right mouthSmile difference counts as a full unilateral smile


def expression_scores(
    intensities: dict[str, float], smile_gated: Sequence[str] = ("AU10",), gate_power: float = 1.0
) -> dict[str, float]:
    """Share of each prototype and ``neutral`` (sums to 1); ``smile_gated`` AUs count × (1 − AU12)^p."""
    au = dict(intensities)
    au["AU12_asymmetry"] = min(1.0, au.get("AU12_asymmetry", 0.0) / ASYMMETRY_FULL)
    gate = (1.0 - au.get("AU12", 0.0)) ** gate_power
    for name in smile_gated:
        au[name] = au.get(name, 0.0) * gate
    raw = {
        name: sum(max(au.get(a, 0.0) for a in alts) for alts in parts) / len(parts)
        for name, parts in PROTOTYPES.items()
        if name not in ("happiness", "contempt")
    }
    raw["happiness"] = au.get("AU12", 0.0) * (0.5 + 0.5 * au.get("AU06", 0.0))
    raw["contempt"] = au["AU12_asymmetry"] * (0.5 + 0.5 * au.get("AU14", 0.0))
    raw["neutral"] = max(0.0, 1.0 - NEUTRAL_GAIN * max(raw.values()))
    total = sum(raw.values()) or 1.0
    return {k: round(v / total, 4) for k, v in raw.items()}


def mixture_vad(scores: dict[str, float]) -> tuple[float, float, float]:
    """The score-weighted mean of the emotions' PAD positions, mapped to 0–1 (0.5 + x/2), unclipped."""
    pad = [0.0, 0.0, 0.0]
    for name, share in scores.items():
        for i, x in enumerate(EMOTION_PAD[name]):
            pad[i] += share * x
    return (0.5 + pad[0] / 2, 0.5 + pad[1] / 2, 0.5 + pad[2] / 2)


def expression_vad(scores: dict[str, float], rest: dict[str, float] | None = None) -> VAD:
    """V/A/D (0–1): the mixture's PAD position, shifted so that ``rest`` (a resting face's mix) reads 0.5."""
    rest = rest or {"valence": 0.5, "arousal": 0.5, "dominance": 0.5}
    mix = dict(zip(("valence", "arousal", "dominance"), mixture_vad(scores), strict=True))
    out = {k: round(float(np.clip(0.5 + mix[k] - rest[k], 0.0, 1.0)), 4) for k in mix}
    return VAD(**out)
