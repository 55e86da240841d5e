"""The Trust Score, its band, confidence and components, and the per-second credibility, pinned on fixed
inputs to the values the engine gave before the three Trust computations became one composer
(engine/fusion/trust.py): text-only, voice-only (whole clip and per speaker) and multimodal."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.fusion import fuse
from engine.report import VAD, EngineInfo, Quality, Report, Segment, Trust
from engine.text import get_analyser
from engine.transcripts import parse_vtt
from engine.voice import analyse_audio

AUDIO = Path(__file__).resolve().parents[1] / "fixtures" / "audio"
SPEECH = AUDIO / "speech_pauses_um.wav"
TWO = AUDIO / "two_speakers.flac"
HEDGY = (
    "I think maybe we could perhaps sort of try it. I guess it might work, possibly. "
    "Honestly I am not sure at all!"
)
ANGRY = (
    "This is terrible. I hate how the meeting went and I am furious about the delays. Nobody listened to me."
)

Pinned = tuple[float | None, str | None, float, list[tuple[str, float, float]]]


def _pin(trust: Trust | None) -> Pinned:
    assert trust is not None
    return trust.score, trust.band, trust.confidence, [(c.name, c.value, c.weight) for c in trust.components]


def _part(modality: str, v: float, a: float, seconds: int = 0, **extra: object) -> Report:
    vad = VAD(valence=v, arousal=a, dominance=0.5)
    segs = [Segment(start=i, end=i + 1, vad=vad, face_present=True) for i in range(seconds)]
    return Report(
        modality=modality, engine=EngineInfo(version="t"), vad=vad, segments=segs, quality=Quality(), **extra
    )


@pytest.mark.parametrize(
    ("text", "pinned", "credibility"),
    [
        (
            HEDGY,
            (61.8, "moderate", 0.622, [
                ("signal_congruence", 0.8608, 0.4), ("stress_markers", 0.339, 0.35),
                ("signal_quality", 0.622, 0.25),
            ]),
            [71.2, 67.1, 47.8],
        ),
        (
            ANGRY,
            (77.2, "high", 0.58, [
                ("signal_congruence", 0.9414, 0.4), ("stress_markers", 0.715, 0.35),
                ("signal_quality", 0.58, 0.25),
            ]),
            None,
        ),
        (
            "Fine, thanks.",
            (None, None, 0.0, [
                ("signal_congruence", 0.9864, 0.4), ("stress_markers", 1.0, 0.35),
                ("signal_quality", 0.128, 0.25),
            ]),
            [],
        ),
        ("", (None, None, 0.0, []), []),
    ],
)  # fmt: skip
def test_text_only_trust_is_unchanged(text: str, pinned: Pinned, credibility: list[float] | None) -> None:
    report = get_analyser().analyse(text)
    assert _pin(report.trust) == pinned
    assert report.trust_score == pinned[0]
    if credibility is not None:
        assert report.credibility == credibility


def test_voice_only_trust_is_unchanged() -> None:
    report = analyse_audio(SPEECH, asr=False)
    pinned = (75.3, "high", 0.463, [("stress_markers", 0.638, 0.35), ("signal_quality", 0.887, 0.3)])
    assert _pin(report.trust) == pinned
    assert _pin(report.speakers[0].trust) == pinned
    assert report.credibility == [72.5, 61.3, 50.0, 50.0, 50.0, 50.0, 61.3, 61.3, 72.5, 72.5, 72.5]


def test_voice_only_trust_with_a_transcript_and_per_speaker_is_unchanged() -> None:
    cues = parse_vtt((AUDIO / "two_speakers.zoom.vtt").read_text())
    report = analyse_audio(TWO, asr=False, cues=cues)
    assert _pin(report.trust) == (78.9, "high", 0.701, [
        ("signal_congruence", 0.706, 0.35), ("stress_markers", 0.715, 0.35), ("signal_quality", 0.973, 0.3),
    ])  # fmt: skip
    assert [_pin(s.trust) for s in report.speakers] == [
        (84.7, "high", 0.495, [
            ("signal_congruence", 0.831, 0.35), ("stress_markers", 1.0, 0.35), ("signal_quality", 0.688, 0.3),
        ]),
        (71.7, "high", 0.495, [
            ("signal_congruence", 0.581, 0.35), ("stress_markers", 0.879, 0.35),
            ("signal_quality", 0.687, 0.3),
        ]),
    ]  # fmt: skip
    assert report.credibility == [83.8, 72.6, 72.6, 58.9, 68.2, 58.0, 71.2, 72.6, 72.6, 68.6, 74.1, 70.9]


def test_multimodal_trust_of_voice_and_text_is_unchanged() -> None:
    fused = fuse({"audio": analyse_audio(SPEECH, asr=False), "text": get_analyser().analyse(HEDGY)})
    assert _pin(fused.trust) == (58.2, "moderate", 1.0, [
        ("signal_congruence", 0.515, 0.4), ("stress_markers", 0.359, 0.35), ("signal_quality", 1.0, 0.25),
    ])  # fmt: skip
    assert fused.credibility == [56.8, 72.5, 54.5, 54.5, 54.5, 72.5, 54.5, 72.5, 56.8, 72.5, 72.5]


def test_multimodal_trust_of_face_voice_and_blinks_is_unchanged() -> None:
    face = _part("face", 0.7, 0.4, seconds=6, face={"blink_rate_per_min": 38.0})
    voice = _part(
        "audio", 0.5, 0.6, seconds=6,
        voice={"hesitation_score": 0.3, "vad_confidence": {"arousal": 0.6, "dominance": 0.3, "valence": 0.1}},
    )  # fmt: skip
    for i, s in enumerate(voice.segments):
        s.f0_hz = 230.0 if i in (2, 4) else 120.0
    face.segments[3].blinks = 2
    fused = fuse({"face": face, "voice": voice}, modality="video")
    assert _pin(fused.trust) == (62.0, "moderate", 1.0, [
        ("signal_congruence", 0.6, 0.4), ("stress_markers", 0.372, 0.35), ("signal_quality", 1.0, 0.25),
    ])  # fmt: skip
    assert fused.credibility == [78.0, 78.0, 62.3, 66.8, 62.3, 78.0]


def test_multimodal_trust_without_a_shared_timeline_is_unchanged() -> None:
    fused = fuse({"image": _part("image", 0.9, 0.5), "text": get_analyser().analyse(ANGRY)})
    assert _pin(fused.trust) == (
        38.5,
        "low",
        0.65,
        [("signal_congruence", 0.0, 0.4), ("signal_quality", 1.0, 0.25)],
    )
    only_quality = fuse({"image": _part("image", 0.9, 0.5)})
    assert _pin(only_quality.trust) == (None, None, 0.0, [("signal_quality", 0.75, 0.25)])
