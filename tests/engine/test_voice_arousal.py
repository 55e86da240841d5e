"""Vocal arousal: the generic weighting gives loudness's weight to its gain-free correlate, every cue moves
arousal in its documented direction, and per-second values follow the speaker's own reference."""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np
import pytest

from engine.voice import GENERIC_BASELINE, VoiceBaseline, analyse_audio
from engine.voice.affect import (
    AROUSAL_WEIGHTS,
    EFFORT_AROUSAL_WEIGHTS,
    arousal_logit,
    arousal_weights,
)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "audio"
SPEECH = FIXTURES / "speech_pauses_um.wav"
RATE = 16000
MODAL = {"f0_mean_st": 8.0, "f0_sd_st": 2.5, "intensity_db": 65.0, "alpha_db": -12.0, "rate": 4.5}


def _read(path: Path) -> np.ndarray:
    with wave.open(str(path)) as w:
        return np.frombuffer(w.readframes(w.getnframes()), "<i2").astype(np.float32) / 32768


def _write(path: Path, x: np.ndarray) -> Path:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes((np.clip(x, -1, 1) * 32767).astype("<i2").tobytes())
    return path


def test_without_level_the_alpha_ratio_carries_loudness_weight() -> None:
    z = GENERIC_BASELINE.z(MODAL)
    assert "intensity_db" not in z
    assert arousal_weights(z) is EFFORT_AROUSAL_WEIGHTS
    assert EFFORT_AROUSAL_WEIGHTS["alpha_db"] == pytest.approx(
        AROUSAL_WEIGHTS["alpha_db"] + AROUSAL_WEIGHTS["intensity_db"]
    )
    assert sum(EFFORT_AROUSAL_WEIGHTS.values()) == pytest.approx(sum(AROUSAL_WEIGHTS.values()))
    assert arousal_logit(z)[1] == pytest.approx(1.0)


def test_with_a_speaker_baseline_loudness_keeps_its_own_weight() -> None:
    baseline = VoiceBaseline.from_cues([MODAL, {**MODAL, "intensity_db": 70.0}])
    assert arousal_weights(baseline.z(MODAL)) is AROUSAL_WEIGHTS


@pytest.mark.parametrize("cue", sorted(EFFORT_AROUSAL_WEIGHTS))
@pytest.mark.parametrize("baseline_kind", ["generic", "speaker"])
def test_each_arousal_cue_never_lowers_arousal_as_it_rises(cue: str, baseline_kind: str) -> None:
    baseline = (
        GENERIC_BASELINE
        if baseline_kind == "generic"
        else VoiceBaseline.from_cues([MODAL, {k: v + 2.0 for k, v in MODAL.items()}])
    )
    steps = [arousal_logit(baseline.z({**MODAL, cue: MODAL[cue] + d}))[0] for d in np.linspace(-3, 3, 13)]
    assert all(b >= a for a, b in zip(steps, steps[1:], strict=False))
    assert steps[-1] > steps[0]


def test_a_raised_passage_scores_higher_per_second_than_the_same_speaker_calm(tmp_path: Path) -> None:
    x = _read(SPEECH)
    idx = np.arange(0, x.size - 1, 1.12)  # read 12 % faster: F0 and rate up, as in raised speech
    raised = 1.8 * np.interp(idx, np.arange(x.size), x)  # and ~5 dB louder
    both = np.concatenate([x, np.zeros(RATE, np.float32), x, np.zeros(RATE, np.float32), raised])
    report = analyse_audio(_write(tmp_path / "calm_then_raised.wav", both), asr=False)
    edge = 2 * (x.size / RATE + 1.0)

    def mean_arousal(a: float, b: float) -> float:
        vals = [s.vad.arousal for s in report.segments if s.vad and a <= s.start and s.end <= b]
        assert vals
        return float(np.mean(vals))

    assert mean_arousal(edge, report.segments[-1].end) > mean_arousal(0.0, edge - 1.0) + 0.05
