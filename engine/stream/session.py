"""``StreamAnalysis``: one live stream from first frame to summary.

``frame`` runs on the stream's face thread; ``audio``, ``add_words``, ``ready_seconds`` and ``summary`` on
its timeline thread. A lock guards what both touch (the face timeline and the recent frames).

Per second of stream time the face, voice and transcript of the last ``WINDOW_S`` seconds are fused with
engine.fusion's ``fuse`` (the same code as for files): the second's fused V/A/D and credibility come from the
window's last segment, and ``trust_score`` is the window's Trust Score. The summary fuses the whole stream.
"""

from __future__ import annotations

import math
import threading
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import numpy as np

from engine import __version__
from engine.face.analyse import FaceFrame
from engine.face.aus import AuTable, load_table
from engine.fusion.fuse import fuse
from engine.report import VAD, EngineInfo, Report, Segment, TranscriptSegment
from engine.report import Word as WordModel
from engine.transcripts import Cue
from engine.video.timeline import FaceTimeline
from engine.voice.asr import FILLER_WORDS, Word

from .face import FaceStream, face_dict
from .voice import VoiceStream, pcm_to_float

__all__ = ["StreamAnalysis", "WINDOW_S", "LAG_S"]

WINDOW_S = 15  # seconds fused for each per-second message (enough for speaker-relative voice cues)
LAG_S = 3  # a modality this far behind the other no longer holds the per-second messages back


@dataclass(frozen=True)
class _Seen:
    t: float
    ids: list[str]
    faces: list[FaceFrame]


def _lexical_vad(text: str) -> VAD | None:
    try:
        from engine.text import get_analyser

        return get_analyser().analyse(text).vad
    except (ImportError, OSError, RuntimeError, ValueError):  # the voice report flags it at the end
        return None


def _vad(v: VAD | None) -> dict[str, float] | None:
    return v.model_dump() if v is not None else None


class StreamAnalysis:
    """Per-frame results, per-second fused messages and the summary report of one stream."""

    def __init__(self, fps: float, audio: bool, table: AuTable | None = None) -> None:
        self.fps = fps
        self.table = table or load_table()
        self.faces = FaceStream(self.table)
        self.voice = VoiceStream() if audio else None
        self.timeline = FaceTimeline(fps=fps)
        self._recent: deque[_Seen] = deque()
        self._face_t = -1.0
        self._lock = threading.Lock()
        self._next_second = 0
        self._new_words: list[Word] = []
        self._utterances: list[TranscriptSegment] = []

    def __enter__(self) -> StreamAnalysis:
        self.faces.__enter__()
        return self

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.faces.__exit__(et, ev, tb)

    # face thread ------------------------------------------------------------------------------

    def frame(self, image: bytes, t: float) -> dict[str, Any]:
        """``faces`` and the primary (largest) face's ``vad`` for one frame; MediaError for bad bytes."""
        ids, faces = self.faces.analyse(image, t)
        with self._lock:
            self.timeline.add(t, ids, faces)
            self._recent.append(_Seen(t, ids, faces))
            while self._recent and self._recent[0].t < t - WINDOW_S - 1:
                self._recent.popleft()
            self._face_t = max(self._face_t, t)
        return {
            "faces": [face_dict(i, f, self.table) for i, f in zip(ids, faces, strict=True)],
            "vad": faces[0].vad.model_dump() if faces else None,
        }

    # timeline thread --------------------------------------------------------------------------

    def audio(self, pcm: bytes, t: float) -> list[tuple[float, bytes]]:
        """Add a PCM chunk starting at stream time ``t``; utterances (start s, int16 bytes) to transcribe."""
        if self.voice is None:
            return []
        return [(start, p.tobytes()) for start, p in self.voice.feed(pcm_to_float(pcm), t)]

    def finish_audio(self) -> list[tuple[float, bytes]]:
        """End the audio: analyse its last partial second; the utterance still open, to transcribe."""
        if self.voice is None:
            return []
        return [(start, p.tobytes()) for start, p in self.voice.finish()]

    def add_words(self, words: list[Word]) -> None:
        """An utterance's recognised words; its lexical V/A/D (text engine) feeds the next seconds."""
        if self.voice is None or not words:
            return
        self.voice.add_words(words)
        self._new_words.extend(words)
        text = " ".join(w.text for w in words if w.text not in FILLER_WORDS)
        if text:
            lexical = _lexical_vad(text)
            models = [WordModel(text=w.text, start=w.start, end=w.end) for w in words]
            self._utterances.append(
                TranscriptSegment(
                    start=words[0].start, end=words[-1].end, text=text, words=models, vad=lexical
                )
            )

    def has_ready_seconds(self) -> bool:
        """Whether ``ready_seconds()`` has a message now: a cheap check, from any thread, so that a frame or
        an audio chunk that completes no second costs no trip to the timeline thread."""
        return self._next_second < self._done(final=False)

    def ready_seconds(self, final: bool = False) -> list[dict[str, Any]]:
        """``second`` messages for every second now complete in all modalities (all of them when final)."""
        done = self._done(final)
        out = []
        while self._next_second < done:
            out.append(self._second(self._next_second))
            self._next_second += 1
        return out

    def _done(self, final: bool) -> int:
        """The seconds before this one are complete (all modalities, or the laggard is LAG_S behind)."""
        with self._lock:
            face_t = self._face_t
        marks = [math.floor(face_t)] if face_t >= 0 else []
        if self.voice is not None and self.voice.seconds:
            marks.append(self.voice.seconds)
        if not marks:
            return 0
        if final:
            end = face_t + 1 / self.fps if face_t >= 0 else 0.0
            return math.ceil(max(end, self.voice.position if self.voice else 0.0) - 1e-9)
        return max(min(marks), max(marks) - LAG_S)

    def _second(self, k: int) -> dict[str, Any]:
        start = max(0, k + 1 - WINDOW_S)
        parts = self._parts(start, k + 1)
        msg: dict[str, Any] = {
            "type": "second",
            "t": k,
            "vad": None,
            "credibility": None,
            "trust_score": None,
        }
        seg: Segment | None = None
        if parts:
            fused = fuse(parts, modality="stream")
            seg = fused.segments[k - start] if len(fused.segments) > k - start else None
            msg["trust_score"] = fused.trust_score
        if seg is not None:
            msg.update(vad=_vad(seg.vad), credibility=seg.credibility)
            msg["face"] = {"present": bool(seg.face_present), "vad": _vad(seg.face_vad)}
        if self.voice is not None:
            msg["voice"] = self._voice_fields(seg)
            msg["words"] = [
                {
                    "text": w.text,
                    "start": round(w.start, 3),
                    "end": round(w.end, 3),
                    "confidence": round(w.confidence, 3),
                }
                for w in self._new_words
            ]
            self._new_words = []
        return msg

    @staticmethod
    def _voice_fields(seg: Segment | None) -> dict[str, Any]:
        if seg is None:
            return {"vad": None, "speech": False}
        keys = ("f0_hz", "intensity_db", "speech", "pause", "speech_rate")
        return {"vad": _vad(seg.voice_vad), **{k: getattr(seg, k) for k in keys}}

    def _parts(self, start: int, stop: int) -> dict[str, Report]:
        parts: dict[str, Report] = {}
        speech: list[bool] | None = None
        if self.voice is not None and self.voice.seconds > start:
            voice = self.voice.window_report(start, min(stop, self.voice.seconds))
            parts["voice"] = voice
            speech = [bool(s.speech) for s in voice.segments]
            text = self._text_part(start, stop)
            if text is not None:
                parts["text"] = text
        with self._lock:
            recent = [e for e in self._recent if start <= e.t < stop]
        if recent:
            window = FaceTimeline(fps=self.fps)
            for e in recent:
                window.add(e.t - start, e.ids, e.faces)
            primary, rule = window.primary(speech)
            parts["face"] = window.report(float(stop - start), primary, rule, self.table)
        return parts

    def _text_part(self, start: int, stop: int) -> Report | None:
        segs = [
            s.model_copy(update={"start": s.start - start, "end": s.end - start})
            for s in self._utterances
            if s.vad is not None and s.start < stop and start < s.end
        ]
        if not segs:
            return None
        vads = [s.vad for s in segs if s.vad is not None]
        mean = {
            d: round(float(np.mean([getattr(v, d) for v in vads])), 4)
            for d in ("valence", "arousal", "dominance")
        }
        return Report(
            modality="text",
            engine=EngineInfo(version=__version__),
            vad=VAD(**mean),
            transcript=segs,
            linguistic={"word_count": sum(len(s.words) for s in segs)},
        )

    def summary(self, stats: dict[str, Any], cues: Sequence[Cue] | None = None) -> Report:
        """The whole stream fused (modality "stream"), with the session's counters under ``modalities``.

        ``cues``: named spans of speech (the client's speaker messages) that name the voices."""
        parts: dict[str, Report] = {}
        speech = None
        if self.voice is not None and self.voice.seconds:
            parts["voice"] = self.voice.report(cues)
            speech = [bool(s.speech) for s in parts["voice"].segments]
        with self._lock:
            face_t = self._face_t
            if self.timeline.frames_analysed:
                duration = max(face_t + 1 / self.fps, self.voice.position if self.voice else 0.0)
                primary, rule = self.timeline.primary(speech)
                parts["face"] = self.timeline.report(duration, primary, rule, self.table)
        if not parts:
            report = Report(modality="stream", engine=EngineInfo(version=__version__))
            report.quality.flags.append("no_media")
        else:
            report = fuse(parts, modality="stream")
        report.modalities["stream"] = stats
        return report
