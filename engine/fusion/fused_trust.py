"""The fused report's Trust components: cross-modal congruence, stress markers across the modalities and
the parts' signal quality, each with its evidence; ``trust.compose`` weighs them (docs/trust-score.md).
"""

from __future__ import annotations

import math
from itertools import combinations

import numpy as np

from engine.report import Evidence, Report, Segment, Trust, TrustComponent

from .trust import TRUST_TABLE, agreement, component, compose, coverage, weighted
from .weights import kind_of, quality_factor

__all__ = ["trust_from", "second_stress", "PAIRS"]

RULES = TRUST_TABLE["fused"]
# Which dimension each pair is compared on: valence where both carry it, arousal where the voice is involved.
PAIRS = {("face", "text"): "valence", ("face", "voice"): "arousal", ("text", "voice"): "arousal"}
MISMATCH = 0.25  # |difference| on 0–1 above which a second is listed as evidence
PITCH_RISE_ST = 2.0  # a second's median F0 this many semitones above the clip median is a pitch rise
# Spontaneous blink rate ≈ 17/min at rest, ≈ 26/min in conversation (Bentivoglio et al. 1997); rates well
# above conversation count as a stress marker (a marker, not a diagnosis: rates rise with dry eyes, screens…).
BLINK_CONVERSATION_PER_MIN = 26.0
BLINK_HIGH_PER_MIN = 45.0
FULL_CROSS_CHECK = 2  # usable modalities that make a full cross-check


def _pair_values(s: Segment) -> dict[str, object]:
    return {"face": s.face_vad, "voice": s.voice_vad, "text": s.text_vad}


def second_stress(seg: Segment, f0_median: float | None) -> tuple[float, float, list[Evidence]]:
    """(congruence, stress, evidence) for one second from its modality V/A/D and markers."""
    vals = _pair_values(seg)
    diffs = [
        abs(getattr(vals[a], dim) - getattr(vals[b], dim))
        for (a, b), dim in PAIRS.items()
        if vals[a] is not None and vals[b] is not None
    ]
    congruence = agreement(diffs) if diffs else 0.5
    markers, evidence = _second_markers(seg, f0_median)
    return congruence, min(1.0, weighted(RULES.moment_stress, markers)), evidence


def _second_markers(seg: Segment, f0_median: float | None) -> tuple[dict[str, float], list[Evidence]]:
    """Each stress marker of one second (1 seen, 0 not) and the evidence of those seen."""
    markers = {"pitch_rise": 0.0, "blink_rate": 0.0, "hesitation": 0.0}
    evidence = []
    rise = 12 * math.log2(seg.f0_hz / f0_median) if f0_median and seg.f0_hz else 0.0
    if rise > PITCH_RISE_ST:
        markers["pitch_rise"] = 1.0
        evidence.append(_in_second(seg, "pitch_rise", "F0 above the clip median (semitones)", round(rise, 2)))
    if seg.blinks and seg.blinks >= 2:
        markers["blink_rate"] = 1.0
        evidence.append(_in_second(seg, "blink_burst", "two or more blinks in one second", float(seg.blinks)))
    if any(e.kind in ("pause", "filled_pause") for e in seg.evidence):
        markers["hesitation"] = 1.0
    return markers, evidence


def _in_second(seg: Segment, kind: str, detail: str, value: float) -> Evidence:
    return Evidence(kind=kind, detail=detail, start=seg.start, end=seg.end, value=value)


def _congruence(parts: dict[str, Report], seconds: list[Segment]) -> TrustComponent | None:
    diffs: dict[tuple[str, str], list[float]] = {}
    evidence: list[Evidence] = []
    for s in seconds:
        vals = _pair_values(s)
        for (a, b), dim in PAIRS.items():
            if vals[a] is None or vals[b] is None:
                continue
            d = abs(getattr(vals[a], dim) - getattr(vals[b], dim))
            diffs.setdefault((a, b), []).append(d)
            if d > MISMATCH and len(evidence) < 20:
                evidence.append(
                    Evidence(
                        kind=f"{a}_{b}_{dim}_mismatch",
                        detail=f"{a} vs {b} {dim}",
                        start=s.start,
                        end=s.end,
                        value=round(d, 3),
                    )
                )
    if not diffs:  # no shared timeline (e.g. images + text): compare the parts' overall V/A/D
        by_kind = {kind_of(r): r.vad for r in parts.values() if r.vad is not None and kind_of(r) != "fused"}
        for a, b in combinations(sorted(by_kind), 2):
            pair_dim = PAIRS.get((a, b))
            if pair_dim:
                diffs[(a, b)] = [abs(getattr(by_kind[a], pair_dim) - getattr(by_kind[b], pair_dim))]
    if not diffs:
        return None
    means = {k: float(np.mean(v)) for k, v in diffs.items()}
    summary = [
        Evidence(kind="pair_difference", detail=f"mean |{a} − {b}| {PAIRS[(a, b)]}", value=round(m, 3))
        for (a, b), m in means.items()
    ]
    value = agreement(list(means.values()))
    return component("fused", "signal_congruence", round(value, 3), summary + evidence)


def _stress(parts: dict[str, Report], seconds: list[Segment]) -> TrustComponent | None:
    markers: dict[str, float] = {}
    evidence: list[Evidence] = []
    voiced = [s for s in seconds if s.f0_hz]
    rises = [e for s in seconds for e in s.evidence if e.kind == "pitch_rise"]
    if len(voiced) >= 3:
        markers["pitch_rise"] = min(1.0, 3 * len(rises) / len(voiced))
        evidence.append(
            Evidence(
                kind="pitch_rise_share",
                detail=f"voiced seconds ≥ {PITCH_RISE_ST} st above median",
                value=round(len(rises) / len(voiced), 3),
            )
        )
        evidence += rises[:10]
    face = next(
        (r for r in parts.values() if kind_of(r) == "face" and r.face.get("blink_rate_per_min") is not None),
        None,
    )
    if face is not None:
        rate = float(face.face["blink_rate_per_min"])
        markers["blink_rate"] = float(
            np.clip(
                (rate - BLINK_CONVERSATION_PER_MIN) / (BLINK_HIGH_PER_MIN - BLINK_CONVERSATION_PER_MIN), 0, 1
            )
        )
        detail = "blinks per minute" + (
            " (undersampled below 10 fps)" if "blink_rate_undersampled" in face.quality.flags else ""
        )
        evidence.append(Evidence(kind="blink_rate", detail=detail, value=rate))
    voice = next((r for r in parts.values() if kind_of(r) == "voice" and "hesitation_score" in r.voice), None)
    if voice is not None and voice.voice.get("hesitation_score") is not None:
        markers["hesitation"] = float(voice.voice["hesitation_score"])
        evidence.append(
            Evidence(
                kind="hesitation_score",
                detail=str(voice.voice.get("hesitation_formula", "")),
                value=round(markers["hesitation"], 3),
            )
        )
    if not markers:
        return None
    return component("fused", "stress_markers", round(1 - weighted(RULES.stress, markers), 3), evidence)


def _quality(parts: dict[str, Report], weights: dict[str, dict[str, float]]) -> TrustComponent:
    evidence = []
    values = []
    for name, r in parts.items():
        q = quality_factor(r) if r.vad is not None else 0.0
        values.append(q)
        evidence.append(
            Evidence(
                kind="modality_quality",
                detail=f"{name} ({r.modality}); flags: " + (", ".join(r.quality.flags) or "none"),
                value=round(q, 3),
            )
        )
    usable = min(1.0, sum(v > 0 for v in values) / FULL_CROSS_CHECK)
    value = float(np.mean(values)) * coverage(RULES.cross_check_floor, usable) if values else 0.0
    return component("fused", "signal_quality", round(value, 3), evidence)


def trust_from(
    parts: dict[str, Report], seconds: list[Segment], weights: dict[str, dict[str, float]]
) -> Trust:
    """The Trust composite; score None when neither congruence nor stress markers can be measured."""
    quality = _quality(parts, weights)
    measured = [c for c in (_congruence(parts, seconds), _stress(parts, seconds)) if c is not None]
    return compose("fused", measured + [quality])
