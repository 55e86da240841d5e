"""One stream's voice: 16 kHz mono PCM in any chunk size → whole seconds through the frame analyses (pitch,
intensity, VAD, spectrum), utterances cut at silences for the recogniser, and voice reports of a window or of
the whole stream (engine.voice's own report code)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from engine.media import SAMPLE_RATE
from engine.report import Report
from engine.transcripts import Cue
from engine.voice.analyse import report_from_track
from engine.voice.asr import UtteranceCutter, Word
from engine.voice.frames import FrameExtractor

__all__ = ["VoiceStream", "pcm_to_float", "MAX_GAP_S"]

MAX_GAP_S = 10.0  # a timestamp gap up to this long is filled with silence; longer jumps are ignored
GAP_TOLERANCE_S = 0.05


def pcm_to_float(pcm: bytes) -> np.ndarray:
    """Signed 16-bit little-endian samples → float32 in −1…1 (the byte count must be even)."""
    return np.frombuffer(pcm, dtype="<i2").astype(np.float32) / 32768.0


class VoiceStream:
    """Incremental voice analysis; ``seconds`` counts the seconds analysed so far (one block each)."""

    def __init__(self) -> None:
        self._frames = FrameExtractor()
        self._cutter = UtteranceCutter()
        self._pending = np.zeros(0, dtype=np.float32)
        self._received = 0  # samples placed on the stream timeline (including filled gaps)
        self.seconds = 0
        self.words: list[Word] = []

    @property
    def position(self) -> float:
        """Stream time (s) up to which audio has been received."""
        return self._received / SAMPLE_RATE

    def feed(self, samples: np.ndarray, t: float) -> list[tuple[float, np.ndarray]]:
        """Add samples starting at stream time ``t``; the utterances (start s, int16) that ended meanwhile."""
        gap = t - self.position
        if GAP_TOLERANCE_S < gap <= MAX_GAP_S:
            samples = np.concatenate([np.zeros(int(gap * SAMPLE_RATE), np.float32), samples])
        self._received += samples.size
        self._pending = np.concatenate([self._pending, samples])
        while self._pending.size >= SAMPLE_RATE:
            self._frames.push(self._pending[:SAMPLE_RATE])
            self._pending = self._pending[SAMPLE_RATE:]
            self.seconds += 1
        return self._cutter.push(samples)

    def add_words(self, words: list[Word]) -> None:
        """Recognised words of one utterance."""
        self.words.extend(words)
        self.words.sort(key=lambda w: w.start)

    def window_report(self, start: int, stop: int) -> Report:
        """Voice report of seconds ``start``…``stop - 1`` (times relative to ``start``; no lexical V/A/D)."""
        words = [
            Word(w.text, w.start - start, w.end - start, w.confidence)
            for w in self.words
            if start <= w.start < stop
        ]
        return report_from_track(self._frames.window(start, stop), words, asr=False, speakers=False)

    def finish(self) -> list[tuple[float, np.ndarray]]:
        """Analyse the last partial second; the utterance still open, if any."""
        if self._pending.size:
            self._frames.push(self._pending)
            self._pending = np.zeros(0, dtype=np.float32)
            self.seconds = math.ceil(self.position - 1e-9)
        last = self._cutter.flush()
        return [last] if last is not None else []

    def report(self, cues: Sequence[Cue] | None = None) -> Report:
        """The whole-stream voice report with the transcript and its lexical V/A/D (after ``finish``);
        ``cues`` name its voices (``engine.voice.analyse.report_from_track``)."""
        return report_from_track(self._frames.finish(), self.words, asr=True, cues=cues)
