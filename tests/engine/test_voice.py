"""Voice analysis on committed espeak-ng fixtures (tests/fixtures/audio, recipe in generate.sh) and
signals made here: pauses and filled pauses where they are, silence, noise, tones, clipping, speakers,
arousal direction, and the report's shape."""

from __future__ import annotations

import json
import wave
from pathlib import Path

import numpy as np
import pytest

from engine.report import Report
from engine.voice import VoiceBaseline, analyse_audio

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "audio"
SPEECH = FIXTURES / "speech_pauses_um.wav"
TWO = FIXTURES / "two_speakers.flac"
TOLERANCE_S = 0.15
RATE = 16000


def _labels(stem: str, kind: str) -> list[dict]:
    meta = json.loads((FIXTURES / f"{stem}.json").read_text())
    return [s for s in meta["segments"] if s["kind"] == kind]


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


@pytest.fixture(scope="module")
def speech_report() -> Report:
    return analyse_audio(SPEECH)  # with ASR: the one slow call of this module


def test_finds_each_silent_pause_within_150_ms(speech_report: Report) -> None:
    found = speech_report.voice["pauses"]["items"]
    expected = _labels("speech_pauses_um", "pause")
    assert len(found) == len(expected)
    for want, got in zip(expected, found, strict=True):
        assert abs(got["start"] - want["start"]) <= TOLERANCE_S
        assert abs(got["end"] - want["end"]) <= TOLERANCE_S
    total = sum(p["end"] - p["start"] for p in expected)
    assert speech_report.voice["pauses"]["total_s"] == pytest.approx(total, abs=3 * TOLERANCE_S)


def test_finds_the_um_within_150_ms_and_nothing_else(speech_report: Report) -> None:
    (um,) = _labels("speech_pauses_um", "filled_pause")
    items = speech_report.voice["filled_pauses"]["items"]
    assert len(items) == 1
    assert abs(items[0]["start"] - um["start"]) <= TOLERANCE_S
    assert abs(items[0]["end"] - um["end"]) <= TOLERANCE_S


def test_hesitation_index_follows_its_formula(speech_report: Report) -> None:
    v = speech_report.voice
    expected = 100 * (v["pauses"]["count"] + v["filled_pauses"]["count"]) / v["syllables"]
    assert v["hesitation_index"] == pytest.approx(expected, abs=0.01)
    assert 0 < v["hesitation_score"] < 1


def test_whole_clip_measures_are_plausible(speech_report: Report) -> None:
    v = speech_report.voice
    speech_s = sum(s["end"] - s["start"] for s in _labels("speech_pauses_um", "speech"))
    assert 70 < v["f0_mean_hz"] < 160  # espeak-ng en-us is a low male voice
    assert v["f0_range_st"] > 1 and v["f0_sd_hz"] > 0
    assert 0 < v["jitter_local"] < 0.05 and 0 < v["shimmer_local"] < 0.3 and v["hnr_db"] > 3
    assert 2.5 < v["articulation_rate"] < 7 and v["speech_rate"] < v["articulation_rate"]
    assert v["talk_ratio"] == pytest.approx((speech_s + 0.7) / v["duration_s"], abs=0.1)  # + the "um"


def test_per_second_segments_carry_the_measures(speech_report: Report) -> None:
    segs = speech_report.segments
    assert len(segs) == int(np.ceil(speech_report.voice["duration_s"]))
    assert segs[0].start == 0 and segs[1].start == 1
    assert segs[-1].end == pytest.approx(speech_report.voice["duration_s"], abs=1e-3)
    assert segs[1].speech and segs[1].f0_hz and segs[1].vad is not None and segs[1].credibility is not None
    # pauses at 2.67–3.27, 3.99–4.39 and 6.89–7.69 s
    assert [i for i, s in enumerate(segs) if s.pause] == [2, 3, 4, 6, 7]
    assert all(s.intensity_db is not None for s in segs)


def test_transcript_has_timed_words_and_lexical_vad(speech_report: Report) -> None:
    words = [w for s in speech_report.transcript for w in s.words]
    assert len(words) >= 5
    assert all(0 <= w.start < w.end <= speech_report.voice["duration_s"] for w in words)
    assert any(s.vad is not None for s in speech_report.transcript) or (
        "text_engine_unavailable" in speech_report.quality.flags
    )


def test_trust_is_a_composite_not_a_verdict(speech_report: Report) -> None:
    trust = speech_report.trust
    assert trust is not None and trust.score is not None and 0 <= trust.score <= 100
    assert {c.name for c in trust.components} >= {"stress_markers", "signal_quality"}
    assert "not a lie detector" in trust.note
    assert speech_report.quality.flags == []


def test_report_round_trips_through_the_schema(speech_report: Report) -> None:
    again = Report.model_validate_json(speech_report.model_dump_json())
    assert again.modality == "audio" and again.voice["pauses"] == speech_report.voice["pauses"]


def test_silence_gives_no_speech_not_an_error(tmp_path: Path) -> None:
    report = analyse_audio(_write(tmp_path / "silence.wav", np.zeros(RATE * 3)))
    assert "no_speech" in report.quality.flags
    assert report.trust_score is None and report.vad is None and report.transcript == []
    assert len(report.segments) == 3


def test_white_noise_is_not_taken_for_speech(tmp_path: Path) -> None:
    noise = np.random.default_rng(0).normal(0, 0.1, RATE * 4)
    flags = analyse_audio(_write(tmp_path / "noise.wav", noise), asr=False).quality.flags
    assert "music_or_noise" in flags or "no_speech" in flags


def test_a_held_tone_is_flagged_music_or_noise(tmp_path: Path) -> None:
    t = np.arange(RATE * 4) / RATE
    tone = 0.3 * np.sin(2 * np.pi * 220 * t) + 0.1 * np.sin(2 * np.pi * 440 * t)
    assert "music_or_noise" in analyse_audio(_write(tmp_path / "tone.wav", tone), asr=False).quality.flags


def test_clipped_speech_is_flagged(tmp_path: Path) -> None:
    loud = _read(SPEECH) * 20
    assert "clipping" in analyse_audio(_write(tmp_path / "loud.wav", loud), asr=False).quality.flags


def test_noisy_speech_is_flagged_low_snr(tmp_path: Path) -> None:
    x = _read(SPEECH)
    noisy = x + np.random.default_rng(1).normal(0, 0.5 * x.std(), x.size)
    assert "low_snr" in analyse_audio(_write(tmp_path / "noisy.wav", noisy), asr=False).quality.flags


def test_short_speech_is_flagged_too_short(tmp_path: Path) -> None:
    x = _read(SPEECH)[: int(2.8 * RATE)]
    assert "too_short" in analyse_audio(_write(tmp_path / "short.wav", x), asr=False).quality.flags


def test_unsupported_language_skips_the_transcript(tmp_path: Path) -> None:
    report = analyse_audio(SPEECH, language="fr")
    assert "language_unsupported" in report.quality.flags and report.transcript == []
    assert report.voice["pauses"]["count"] == 3


def test_two_voices_are_separated_into_alternating_turns() -> None:
    report = analyse_audio(TWO, asr=False)
    assert [s.id for s in report.speakers] == ["S1", "S2"]
    a = sum(s["end"] - s["start"] for s in _labels("two_speakers", "speaker_a"))
    b = sum(s["end"] - s["start"] for s in _labels("two_speakers", "speaker_b"))
    talk = {s.id: s.talk_time for s in report.speakers}
    assert talk["S1"] == pytest.approx(a, abs=0.5) and talk["S2"] == pytest.approx(b, abs=0.5)
    assert [s.turns for s in report.speakers] == [2, 2]
    assert report.speakers[0].f0_mean_hz < report.speakers[1].f0_mean_hz  # male voice first
    labelled = [s.speaker for s in report.segments if s.speaker]
    assert labelled[0] == "S1" and "S2" in labelled


def test_one_voice_stays_one_speaker(speech_report: Report) -> None:
    assert [s.id for s in speech_report.speakers] == ["S1"]
    assert speech_report.speakers[0].talk_share == 1.0


def test_raised_pitch_and_level_score_higher_arousal_against_the_speaker_baseline(tmp_path: Path) -> None:
    x = _read(SPEECH)
    # Read the clip 15 % faster: F0 and rate rise together, as in aroused speech; and 6 dB louder.
    idx = np.arange(0, x.size - 1, 1.15)
    raised = 2.0 * np.interp(idx, np.arange(x.size), x)
    calm = analyse_audio(SPEECH, asr=False)
    aroused = analyse_audio(_write(tmp_path / "raised.wav", raised), asr=False)
    baseline = VoiceBaseline.from_cues([calm.voice["cues"], aroused.voice["cues"]])
    a_calm = analyse_audio(SPEECH, asr=False, baseline=baseline).vad
    a_aroused = analyse_audio(tmp_path / "raised.wav", asr=False, baseline=baseline).vad
    assert a_calm is not None and a_aroused is not None
    assert a_aroused.arousal > a_calm.arousal + 0.2
    assert aroused.vad is not None and calm.vad is not None and aroused.vad.arousal > calm.vad.arousal


def test_gain_alone_does_not_move_arousal_without_a_speaker_baseline(tmp_path: Path) -> None:
    x = _read(SPEECH)
    quiet = analyse_audio(_write(tmp_path / "quiet.wav", 0.25 * x), asr=False).vad
    normal = analyse_audio(SPEECH, asr=False).vad
    assert quiet is not None and normal is not None
    assert quiet.arousal == pytest.approx(normal.arousal, abs=0.05)


@pytest.mark.parametrize("seconds", [0.05, 30.04, 30.09])
def test_a_very_short_final_block_is_analysed_not_refused(tmp_path: Path, seconds: float) -> None:
    """Decoding yields 30 s blocks; a last block of a few ms must not trip Praat's window-length check."""
    n = int(seconds * 16000)
    t = np.arange(n) / 16000
    pcm = (0.3 * np.sin(2 * np.pi * 150 * t) * 32767).astype("<i2")
    path = tmp_path / "tone.wav"
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes(pcm.tobytes())
    report = analyse_audio(path, asr=False)
    assert report.modality == "audio"


def _whole_flux(cep: np.ndarray) -> np.ndarray:
    d = np.zeros(cep.shape[0], dtype=np.float32)
    d[1:] = np.sqrt(((cep[1:] - cep[:-1]) ** 2).sum(1))
    return d


def test_block_cepstra_and_running_flux_equal_a_whole_track_computation() -> None:
    """The cepstrum stays in its blocks; its flux is computed across block edges as blocks arrive."""
    from engine.media import decode_audio
    from engine.voice.frames import FrameExtractor, extract_frames

    audio = decode_audio(TWO)
    blocks = extract_frames([audio[i : i + 16_037] for i in range(0, audio.size, 16_037)])
    cep = blocks.cep.rows(0, blocks.n)
    assert cep.shape == (blocks.n, 12) and blocks.cep.n == blocks.n == -(-audio.size // 160)
    np.testing.assert_array_equal(blocks.flux, _whole_flux(cep))
    np.testing.assert_array_equal(blocks.cep.window(100, 250).rows(10, 20), cep[110:120])
    voiced = np.isfinite(blocks.f0)
    np.testing.assert_array_equal(blocks.strength.masked(voiced), blocks.strength.rows(0, blocks.n)[voiced])
    assert np.isfinite(blocks.strength.masked(voiced)).all()
    assert blocks.alpha.masked(~voiced).size == (~voiced).sum()

    live = FrameExtractor()
    for i in range(0, 5 * RATE, RATE):
        live.push(audio[i : i + RATE])
    window = live.window(2, 4)
    assert window.n == 200 and window.flux[0] == 0.0
    np.testing.assert_array_equal(window.flux, _whole_flux(window.cep.rows(0, 200)))
    blocks.cep.close()
    assert blocks.cep.rows(0, 10).shape == (0, 12)


def test_second_pass_chunk_cepstra_equal_those_of_a_kept_cepstrum() -> None:
    """A file's analysis keeps no per-frame cepstrum: speaker chunks get their means from a second pass over
    the same blocks, equal to the values a kept cepstrum gives, so the speaker turns are the same."""
    from engine.media import decode_audio
    from engine.voice.frames import chunk_cepstra, extract_frames
    from engine.voice.prosody import speech_map
    from engine.voice.speakers import _chunks, speaker_turns, track_cepstra

    audio = decode_audio(TWO)
    blocks = [audio[i : i + 16_037] for i in range(0, audio.size, 16_037)]
    kept = extract_frames(blocks)
    lean = extract_frames(blocks, keep_cepstrum=False)
    assert lean.cep.n == 0 and kept.cep.n == lean.n
    np.testing.assert_array_equal(lean.flux, kept.flux)
    np.testing.assert_array_equal(lean.f0, kept.f0)
    smap = speech_map(kept)
    chunks = _chunks(smap)
    voiced = np.isfinite(kept.f0)
    assert len(chunks) >= 8
    second = chunk_cepstra(blocks, chunks, voiced)
    np.testing.assert_array_equal(second, track_cepstra(kept)(chunks, voiced))
    assert np.isfinite(second).all()

    def from_file(c: list[tuple[int, int]], v: np.ndarray) -> np.ndarray:
        return chunk_cepstra(blocks, c, v)

    turns = speaker_turns(lean, speech_map(lean), from_file)
    assert turns == speaker_turns(kept, smap) and {t.speaker for t in turns} == {"S1", "S2"}
