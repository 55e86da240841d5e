"""Fusion: confidence weighting, congruence and the Trust Score's components, on hand-made reports."""

from __future__ import annotations

from engine.fusion import fuse
from engine.report import VAD, EngineInfo, Quality, Report, Segment


def _report(
    modality: str, v: float, a: float, *, flags: list[str] | None = None, seconds: int = 0, **extra: object
) -> Report:
    vad = VAD(valence=v, arousal=a, dominance=0.5)
    segs = [Segment(start=i, end=i + 1, vad=vad, face_present=True) for i in range(seconds)]
    return Report(
        modality=modality,
        engine=EngineInfo(version="t"),
        vad=vad,
        segments=segs,
        quality=Quality(flags=flags or []),
        **extra,
    )


def test_fused_vad_lies_between_parts_and_leans_on_the_surer_one() -> None:
    face = _report(
        "image", 0.9, 0.5, face={"vad_confidence": {"valence": 0.7, "arousal": 0.45, "dominance": 0.3}}
    )
    text = _report("text", 0.3, 0.5, linguistic={"word_count": 3})
    fused = fuse({"image": face, "text": text})
    assert 0.3 < fused.vad.valence < 0.9
    assert fused.vad.valence > 0.6  # three words weigh less than a clear frontal face


def test_a_part_flagged_unusable_carries_no_weight() -> None:
    face = _report("image", 0.9, 0.5, flags=["no_face"])
    text = _report("text", 0.3, 0.5, linguistic={"word_count": 40})
    assert fuse({"image": face, "text": text}).vad.valence == 0.3


def test_incongruent_face_and_words_lower_the_trust_score() -> None:
    words = _report("text", 0.85, 0.5, linguistic={"word_count": 40})
    agree = fuse({"image": _report("image", 0.85, 0.5), "text": words})
    clash = fuse({"image": _report("image", 0.1, 0.5), "text": words})
    assert agree.trust_score is not None and clash.trust_score is not None
    assert clash.trust_score < agree.trust_score - 20
    comp = {c.name: c for c in clash.trust.components}
    assert comp["signal_congruence"].value < 0.2 and comp["signal_congruence"].evidence


def test_trust_note_never_claims_lie_detection() -> None:
    fused = fuse({"image": _report("image", 0.6, 0.5), "text": _report("text", 0.6, 0.5)})
    assert "not a lie detector" in fused.trust.note


def test_per_second_fusion_and_stress_evidence_from_pitch_rise() -> None:
    face = _report("face", 0.7, 0.5, seconds=6)
    voice = _report(
        "audio",
        0.5,
        0.5,
        seconds=6,
        voice={"hesitation_score": 0.1, "vad_confidence": {"arousal": 0.6, "dominance": 0.3, "valence": 0.1}},
    )
    for i, s in enumerate(voice.segments):
        s.f0_hz = 220.0 if i == 3 else 120.0
    fused = fuse({"face": face, "voice": voice}, modality="video")
    assert len(fused.segments) == 6 and all(s.credibility is not None for s in fused.segments)
    assert any(e.kind == "pitch_rise" for e in fused.segments[3].evidence)
    assert fused.segments[3].credibility < fused.segments[2].credibility
    assert {"face", "voice"} <= set(fused.modalities)
