"""How much each modality's V/A/D counts: a per-dimension reliability times the part's own confidence and
a quality factor from its flags.

Reliability priors: faces and words carry valence best, the voice carries arousal best and valence poorly
(Juslin & Laukka 2003; Scherer 2003); dominance is weakly carried by all. The voice report's valence is the
transcript's lexical valence, so it is kept low here to avoid counting the words twice.
"""

from __future__ import annotations

from engine.report import Report

__all__ = ["KIND", "RELIABILITY", "FLAG_FACTORS", "kind_of", "quality_factor", "dimension_weights"]

KIND = {
    "image": "face",
    "face": "face",
    "audio": "voice",
    "voice": "voice",
    "text": "text",
    "video": "fused",
    "multimodal": "fused",
}
RELIABILITY = {
    "face": {"valence": 0.8, "arousal": 0.5, "dominance": 0.35},
    "voice": {"valence": 0.15, "arousal": 0.8, "dominance": 0.5},
    "text": {"valence": 0.8, "arousal": 0.5, "dominance": 0.35},
    "fused": {"valence": 0.9, "arousal": 0.9, "dominance": 0.6},
}
FLAG_FACTORS = {
    "no_face": 0.0,
    "no_speech": 0.0,
    "too_short": 0.5,
    "low_snr": 0.6,
    "music_or_noise": 0.4,
    "clipping": 0.7,
    "language_unsupported": 0.7,
    "small_face": 0.6,
    "non_frontal": 0.6,
    "low_signal": 0.5,
    "text_engine_unavailable": 0.8,
}


def kind_of(report: Report) -> str:
    """``face``, ``voice``, ``text`` or ``fused`` for a part's modality."""
    return KIND.get(report.modality, "fused")


def quality_factor(report: Report) -> float:
    """Product of the flag factors (1.0 for a clean part)."""
    q = 1.0
    for flag in report.quality.flags:
        q *= FLAG_FACTORS.get(flag, 1.0)
    return q


def _own_confidence(report: Report, dim: str) -> float:
    kind = kind_of(report)
    if kind == "face":
        return float((report.face.get("vad_confidence") or {}).get(dim, 0.5)) / max(1e-6, _face_base(dim))
    if kind == "voice":
        conf = report.voice.get("vad_confidence") or {}
        return float(conf.get(dim, 0.3)) if isinstance(conf.get(dim, 0.3), int | float) else 0.3
    if kind == "text":
        words = float(report.linguistic.get("word_count", 10) or 0)
        return min(1.0, words / 30.0)
    return float((report.modalities.get("vad_confidence") or {}).get(dim, 0.5))


def _face_base(dim: str) -> float:
    from engine.face.analyse import BASE_CONFIDENCE

    return BASE_CONFIDENCE[dim]


def dimension_weights(report: Report) -> dict[str, float]:
    """Weight of the part's V/A/D per dimension: reliability × own confidence × quality factor."""
    kind, q = kind_of(report), quality_factor(report)
    return {
        d: round(RELIABILITY[kind][d] * min(1.0, _own_confidence(report, d)) * q, 4)
        for d in ("valence", "arousal", "dominance")
    }
