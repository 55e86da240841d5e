"""The one Trust composer: the table of every Trust weight, the band, the quality and confidence rules.

Text (``engine.text``), voice (``engine.voice``) and fused reports (``fused_trust``) each measure their own
component values and evidence; the weights those values are combined with, the band edges, the flag
penalties and the confidence rule are here and nowhere else. What the score measures, and what it cannot,
is in docs/trust-score.md: it is never a verdict on honesty.

``trust_score`` = 100 × Σ weight × value / Σ weight over the components measured;
``confidence`` = min(1, clip(quality × (floor + (1 − floor) × Σ weight measured), 0, 1) × support).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from engine.report import Evidence, Trust, TrustComponent

__all__ = [
    "TrustRules",
    "TRUST_TABLE",
    "BANDS",
    "CREDIBILITY_WEIGHTS",
    "agreement",
    "band",
    "component",
    "compose",
    "coverage",
    "credibility",
    "quality",
    "unscored",
    "voice_support",
    "weighted",
]

Band = Literal["low", "moderate", "high"]
BANDS = (40.0, 70.0)  # score < 40 → low; 40–70 → moderate; > 70 → high
# Per second (text: per sentence): 100 × (0.55 × congruence + 0.45 × (1 − stress)).
CREDIBILITY_WEIGHTS = {"congruence": 0.55, "calm": 0.45}


@dataclass(frozen=True)
class TrustRules:
    """One modality's row of the table (every weight table sums to 1)."""

    weights: dict[str, float]  # component → weight in the Trust Score
    stress: dict[str, float]  # marker → weight in the whole report's stress (stress_markers = 1 − stress)
    moment_stress: dict[str, float]  # marker → weight in one second's (text: one sentence's) stress
    amount: dict[str, float] = field(default_factory=dict)  # measure of how much signal → weight in quality
    penalties: dict[str, float] = field(default_factory=dict)  # quality flag → share of signal_quality lost
    confidence_floor: float = 0.0  # confidence kept (× quality) when no weight beyond quality is measured
    confidence_digits: int = 3  # text keeps the 4 places its reports have always had
    cross_check_floor: float = 0.0  # fused: signal_quality kept with one usable modality of the two needed


TRUST_TABLE: dict[str, TrustRules] = {
    "text": TrustRules(
        weights={"signal_congruence": 0.40, "stress_markers": 0.35, "signal_quality": 0.25},
        stress={"hedging": 0.6, "negative_arousal": 0.4},
        moment_stress={"hedging": 0.6, "negative_arousal": 0.4},
        amount={"words": 0.7, "sentences": 0.3},
        penalties={"non_english_suspected": 0.5, "truncated": 0.1},
        confidence_digits=4,
    ),
    "voice": TrustRules(
        weights={"signal_congruence": 0.35, "stress_markers": 0.35, "signal_quality": 0.30},
        stress={"hesitation": 0.5, "arousal": 0.3, "jitter": 0.2},
        moment_stress={"hesitation": 0.5, "arousal": 0.5},
        penalties={
            "clipping": 0.3,
            "low_snr": 0.3,
            "too_short": 0.4,
            "music_or_noise": 0.4,
            "language_unsupported": 0.1,
        },
        confidence_floor=0.5,
    ),
    "fused": TrustRules(
        weights={"signal_congruence": 0.40, "stress_markers": 0.35, "signal_quality": 0.25},
        stress={"pitch_rise": 0.35, "blink_rate": 0.25, "hesitation": 0.40},
        moment_stress={"pitch_rise": 0.35, "blink_rate": 0.25, "hesitation": 0.40},
        cross_check_floor=0.5,
    ),
}
# The voice's own reading: its Trust confidence is scaled by its arousal confidence + 0.2, at least 0.3.
VOICE_SUPPORT_OFFSET, VOICE_SUPPORT_FLOOR = 0.2, 0.3


def band(score: float) -> Band:
    """``low`` below 40, ``high`` above 70, else ``moderate``."""
    low, high = BANDS
    return "low" if score < low else "high" if score > high else "moderate"


def weighted(weights: Mapping[str, float], values: Mapping[str, float]) -> float:
    """Weighted mean of the ``values`` given (a marker not measured is left out, the rest renormalised)."""
    total = sum(weights[k] for k in values)
    return sum(weights[k] * v for k, v in values.items()) / total


def agreement(differences: Sequence[float]) -> float:
    """Congruence of two signals from their |differences| on 0–1: 1 − 2 × mean, clipped to 0–1."""
    return float(np.clip(1 - 2 * np.mean(differences), 0, 1))


def coverage(floor: float, share: float) -> float:
    """``floor`` + (1 − ``floor``) × ``share``: what is kept of a figure when only ``share`` is there."""
    return floor + (1 - floor) * share


def credibility(congruence: float, stress: float) -> float:
    """One second's (text: sentence's) credibility on 0–100, from its congruence and stress (0–1)."""
    w = CREDIBILITY_WEIGHTS
    return round(100 * (w["congruence"] * congruence + w["calm"] * (1 - stress)), 1)


def quality(modality: str, amount: float, flags: Sequence[str]) -> tuple[float, list[str]]:
    """signal_quality before rounding: ``amount`` (0–1) less each penalised flag's share; and those flags."""
    value, hit = amount, []
    for flag, penalty in TRUST_TABLE[modality].penalties.items():
        if flag in flags:
            value *= 1 - penalty
            hit.append(flag)
    return value, hit


def voice_support(arousal_confidence: float) -> float:
    """How far the voice's own reading carries its Trust confidence."""
    return max(VOICE_SUPPORT_FLOOR, arousal_confidence + VOICE_SUPPORT_OFFSET)


def component(modality: str, name: str, value: float, evidence: list[Evidence]) -> TrustComponent:
    """A named component with the modality's weight for it."""
    weight = TRUST_TABLE[modality].weights[name]
    return TrustComponent(name=name, value=value, weight=weight, evidence=evidence)


def unscored(components: Sequence[TrustComponent] = ()) -> Trust:
    """A Trust with no score (too little to judge), its components still listed."""
    return Trust(score=None, band=None, confidence=0.0, components=list(components))


def compose(
    modality: str, components: Sequence[TrustComponent], *, support: float = 1.0, scored: bool = True
) -> Trust:
    """The Trust Score, band and confidence of ``components`` (one of them ``signal_quality``).

    Unscored when ``scored`` is false (the modality has too little to judge) or nothing beyond quality is
    measured."""
    if not scored or all(c.name == "signal_quality" for c in components):
        return unscored(components)
    rules = TRUST_TABLE[modality]
    total = sum(c.weight for c in components)
    score = round(100 * sum(c.weight * c.value for c in components) / total, 1)
    q = next(c.value for c in components if c.name == "signal_quality")
    confidence = min(1.0, float(np.clip(q * coverage(rules.confidence_floor, total), 0, 1)) * support)
    return Trust(
        score=score,
        band=band(score),
        confidence=round(confidence, rules.confidence_digits),
        components=list(components),
    )
