"""Speech recognition behind one interface: model choice, utterance windows, words with timings."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from bench.asr_wer import normalise, wer
from engine.errors import EngineError
from engine.media import SAMPLE_RATE, decode_audio
from engine.voice import asr, asr_whisper

LIBRIVOX = Path(__file__).parents[1] / "fixtures" / "audio" / "librivox"
REFS = dict(line.split("\t") for line in (LIBRIVOX / "transcripts.tsv").read_text().splitlines())
CLIPS = ["sense_and_sensibility_01_austen_64kb-0870", "sense_and_sensibility_01_austen_64kb-0920"]
needs_whisper = pytest.mark.skipif(not asr_whisper.installed(), reason="the 'asr' extra is not installed")


def _pcm(seconds: float, value: int = 1000) -> np.ndarray:
    return np.full(int(seconds * SAMPLE_RATE), value, dtype="<i2")


def _words(model: str, name: str) -> list[asr.Word]:
    return asr.transcribe(str(LIBRIVOX / f"{name}.flac"), max_seconds=60, model=model)


def test_pocketsphinx_is_the_default_when_nothing_is_chosen(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(asr.ASR_MODEL_ENV, raising=False)
    assert asr.current_model() == "pocketsphinx"
    assert "pocketsphinx" in asr.available_models()


def test_use_sets_the_model_for_this_process_and_the_workers_it_spawns(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(asr.ASR_MODEL_ENV, raising=False)
    asr.use("pocketsphinx")
    import os

    assert os.environ[asr.ASR_MODEL_ENV] == "pocketsphinx"
    assert asr.current_model() == "pocketsphinx"


def test_unknown_model_is_refused() -> None:
    with pytest.raises(EngineError) as err:
        asr.use("wav2letter")
    assert err.value.code == "asr_model_unknown"


def test_whisper_without_the_extra_is_refused_with_the_install_hint(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(asr_whisper, "installed", lambda: False)
    with pytest.raises(EngineError) as err:
        asr.recogniser("whisper-tiny.en")
    assert err.value.code == "asr_model_missing"
    assert "asr" in err.value.message
    assert asr.available_models() == ["pocketsphinx"]


def test_windows_keep_each_utterance_alone_for_a_per_utterance_recogniser() -> None:
    utts = [(0.5, _pcm(1.0)), (2.0, _pcm(0.5))]
    out = list(asr.windows(utts, 0.0))
    assert [t for t, _ in out] == [0.5, 2.0]
    assert [p.size for _, p in out] == [16000, 8000]


def test_windows_join_utterances_up_to_the_window_with_silence_between() -> None:
    utts = [(0.5, _pcm(1.0, 7)), (2.0, _pcm(0.5, 9)), (20.0, _pcm(10.0))]
    out = list(asr.windows(utts, 28.0))
    assert [t for t, _ in out] == [0.5, 20.0]
    first = out[0][1]
    assert first.size == int(2.0 * SAMPLE_RATE)  # 0.5 → 2.5 s
    assert (first[:16000] == 7).all() and (first[16000:24000] == 0).all() and (first[24000:] == 9).all()


def test_a_window_never_spans_more_than_its_length() -> None:
    utts = [(float(i * 5), _pcm(4.0)) for i in range(20)]
    for offset, pcm in asr.windows(utts, 28.0):
        assert pcm.size / SAMPLE_RATE <= 28.0
        assert offset in {float(i * 5) for i in range(20)}


def test_normalisation_compares_words_not_spelling() -> None:
    assert normalise("And Mr. John Dashwood, ill-disposed!") == [
        "and",
        "mister",
        "john",
        "dashwood",
        "ill",
        "disposed",
    ]
    assert wer([("a b c d", "a x c")]) == pytest.approx(0.5)


@pytest.mark.parametrize("model", ["pocketsphinx", pytest.param("whisper-tiny.en", marks=needs_whisper)])
def test_words_come_with_timings_inside_the_clip(model: str) -> None:
    name = CLIPS[0]
    duration = decode_audio(LIBRIVOX / f"{name}.flac").size / SAMPLE_RATE
    words = _words(model, name)
    assert len(words) >= 10
    assert all(0.0 <= w.start <= w.end <= duration + 0.05 for w in words)
    assert all(w.start >= v.start for v, w in zip(words, words[1:], strict=False))
    assert all(0.0 <= w.confidence <= 1.0 for w in words)
    assert all(w.text == w.text.lower() and w.text.strip(".,!?") == w.text for w in words)


def test_a_share_transcribes_only_the_utterances_that_start_in_it() -> None:
    path = str(LIBRIVOX / f"{CLIPS[0]}.flac")
    assert asr.transcribe(path, max_seconds=60, share=(30.0, 60.0), model="pocketsphinx") == []
    assert asr.transcribe(path, max_seconds=60, share=(0.0, 30.0), model="pocketsphinx")


@needs_whisper
def test_whisper_makes_fewer_word_errors_than_pocketsphinx_on_read_speech() -> None:
    pairs = {m: [(REFS[c], " ".join(w.text for w in _words(m, c))) for c in CLIPS] for m in asr.ASR_MODELS}
    assert wer(pairs["whisper-tiny.en"]) < wer(pairs["pocketsphinx"])
    assert wer(pairs["whisper-tiny.en"]) <= 0.10


@needs_whisper
def test_transcribe_pcm_uses_the_chosen_model(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(asr.ASR_MODEL_ENV, "whisper-tiny.en")
    pcm = (np.clip(decode_audio(LIBRIVOX / f"{CLIPS[1]}.flac"), -1, 1) * 32767).astype("<i2")
    words = asr.transcribe_pcm(10.0, pcm.tobytes())
    assert "amiable" in [w.text for w in words]
    assert all(w.start >= 10.0 for w in words)
