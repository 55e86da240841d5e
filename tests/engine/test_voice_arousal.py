"""Vocal arousal: the generic weighting gives loudness's weight to its gain-free correlate, every cue moves
arousal in its documented direction, the formant spacing measures the vocal tract and can set the F0
reference, and per-second values follow the speaker's own reference."""

from __future__ import annotations

import wave
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from engine.voice import GENERIC_BASELINE, VoiceBaseline, analyse_audio
from engine.voice.affect import (
    AROUSAL_WEIGHTS,
    EFFORT_AROUSAL_WEIGHTS,
    F0_NORM_ST,
    F0_SD_GIVEN_SPACING_ST,
    SPACING_NORM_ST,
    arousal_logit,
    arousal_weights,
    f0_reference,
)
from engine.voice.measures import formant_spacing

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


def _vowel(formants: tuple[float, ...], f0: float = 120.0, seconds: float = 1.0) -> np.ndarray:
    """A glottal pulse train through one two-pole resonator per formant (bandwidth 80 Hz)."""
    n = int(seconds * RATE)
    x = np.zeros(n)
    x[:: int(RATE / f0)] = 1.0
    for f in formants:
        r = np.exp(-np.pi * 80.0 / RATE)
        a1, a2 = 2 * r * np.cos(2 * np.pi * f / RATE), -r * r
        y = np.zeros(n)
        for i in range(n):
            y[i] = x[i] + a1 * (y[i - 1] if i else 0.0) + a2 * (y[i - 2] if i > 1 else 0.0)
        x = y
    return (0.5 * x / np.abs(x).max()).astype(np.float32)


def test_formant_spacing_reads_the_vocal_tract_scale_of_a_synthetic_vowel() -> None:
    long_tract = (500.0, 1500.0, 2500.0, 3500.0, 4500.0)  # a uniform 17.5 cm tube: (2n − 1) × 500 Hz
    # 8 % shorter: its fifth resonance stays under the 5 kHz ceiling (above it Burg may split a formant)
    short_tract = tuple(1.08 * f for f in long_tract)
    measured = []
    for formants in (long_tract, short_tract):
        audio = _vowel(formants)
        f0 = np.full(audio.size // 160, 120.0)
        measured.append(float(np.median(formant_spacing([audio], f0).st)))
    assert measured[0] == pytest.approx(12 * np.log2(500 / 100), abs=0.5)
    assert measured[1] - measured[0] == pytest.approx(12 * np.log2(1.08), abs=0.4)


def test_formant_spacing_skips_unvoiced_frames() -> None:
    audio = _vowel((500.0, 1500.0, 2500.0, 3500.0, 4500.0))
    assert formant_spacing([audio], np.full(audio.size // 160, np.nan)).frames.size == 0


def test_the_f0_reference_follows_the_vocal_tract_and_stops_at_the_norms() -> None:
    lo, hi = SPACING_NORM_ST
    steps = [f0_reference(s) for s in np.linspace(lo - 2, hi + 2, 25)]
    assert all(b >= a for a, b in zip(steps, steps[1:], strict=False))
    assert steps[0] == pytest.approx(F0_NORM_ST[0]) and steps[-1] == pytest.approx(F0_NORM_ST[1])


def test_with_the_vocal_tract_reference_the_same_pitch_reads_lower_from_a_shorter_tract() -> None:
    lo, hi = SPACING_NORM_ST
    reference = replace(GENERIC_BASELINE, vocal_tract_f0_sd=F0_SD_GIVEN_SPACING_ST)
    long_tract = reference.z({**MODAL, "formant_spacing_st": lo})
    short_tract = reference.z({**MODAL, "formant_spacing_st": hi})
    assert short_tract["f0_mean_st"] < long_tract["f0_mean_st"]
    assert arousal_logit(short_tract)[0] < arousal_logit(long_tract)[0]
    assert "formant_spacing_st" not in short_tract  # a reference, not an arousal cue


@pytest.mark.parametrize("spacing", [None, SPACING_NORM_ST[1]])
def test_the_shipped_generic_reference_compares_f0_with_the_midpoint_of_the_sexes(
    spacing: float | None,
) -> None:
    z = GENERIC_BASELINE.z({**MODAL, "formant_spacing_st": spacing})
    assert z["f0_mean_st"] == pytest.approx((MODAL["f0_mean_st"] - 8.0) / 4.5)


def test_a_file_report_carries_the_formant_spacing_cue() -> None:
    cues = analyse_audio(SPEECH, asr=False).voice["cues"]
    assert cues["formant_spacing_st"] is not None
    assert SPACING_NORM_ST[0] - 3 < cues["formant_spacing_st"] < SPACING_NORM_ST[1] + 3
