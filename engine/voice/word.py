"""``Word``: one recognised word with its times and posterior, what every recogniser returns (``asr``
picks the recogniser; ``asr_whisper`` is one of them, so both import this and not each other)."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Word"]


@dataclass(frozen=True)
class Word:
    """A recognised word (or filler), its times in seconds and its posterior probability."""

    text: str
    start: float
    end: float
    confidence: float
