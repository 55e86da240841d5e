"""Meeting transcripts in WebVTT with speaker names → timed cues (pure parsing, no I/O).

Two vendor conventions name the speaker of a cue:

- Zoom's cloud-recording audio transcript (the recording's ``TRANSCRIPT`` file): the cue text starts with
  ``Name: `` (https://support.zoom.com/hc/en/article?id=zm_kb&sysparm_article=KB0064927);
- Microsoft Teams' transcript (Graph ``GET …/transcripts/{id}/content``, ``text/vtt``): a WebVTT voice
  span ``<v Name>words</v>``, with timings such as ``0:0:0.0 --> 0:0:5.320``
  (https://learn.microsoft.com/en-us/graph/api/calltranscript-get, example 2).

A cue without either keeps ``speaker=None``. Times are seconds from the start of the recording.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

__all__ = ["Cue", "parse_vtt", "cue_text", "speaker_names"]

_TIMING = re.compile(r"^\s*(?P<a>[\d:.,]+)\s*-->\s*(?P<b>[\d:.,]+)")
_VOICE = re.compile(r"<v(?:\.[^\s>]*)?\s+(?P<name>[^>]+)>")
_TAG = re.compile(r"<[^>]+>")
# "Name: words"; a name is short (see _zoom_name) and holds no digits or sentence punctuation, so a
# clock time or a price ("at 10: we") is not mistaken for one.
_ZOOM = re.compile(r"^(?P<name>[^\W\d_][^:.!?\d\n]{0,79}?):\s+(?P<text>\S.*)$")
MAX_NAME_WORDS = 6


@dataclass(frozen=True)
class Cue:
    """One transcript cue: start and end (seconds), the speaker's name as the vendor wrote it, the words."""

    start: float
    end: float
    speaker: str | None
    text: str


def _seconds(stamp: str) -> float:
    """``hh:mm:ss.fff``, ``mm:ss.fff`` or Teams' unpadded ``h:m:s.f`` → seconds."""
    parts = stamp.replace(",", ".").split(":")
    value = 0.0
    for p in parts:
        value = value * 60 + float(p or 0)
    return value


def _zoom_name(line: str) -> tuple[str | None, str]:
    m = _ZOOM.match(line)
    if m is None or len(m["name"].split()) > MAX_NAME_WORDS:
        return None, line
    return m["name"].strip(), m["text"]


def _cue(lines: list[str]) -> Cue | None:
    at = next((i for i, line in enumerate(lines) if "-->" in line), None)
    if at is None or (m := _TIMING.match(lines[at])) is None:
        return None
    body = " ".join(line.strip() for line in lines[at + 1 :] if line.strip())
    voice = _VOICE.search(body)
    speaker: str | None = voice["name"].strip() if voice else None
    text = " ".join(_TAG.sub(" ", body).split())
    if speaker is None:
        speaker, text = _zoom_name(text)
    return Cue(round(_seconds(m["a"]), 3), round(_seconds(m["b"]), 3), speaker, text)


def parse_vtt(content: str) -> list[Cue]:
    """The cues of a WebVTT document in time order (header, NOTE/STYLE blocks and empty cues skipped)."""
    blocks = re.split(r"\n\s*\n", content.replace("\r\n", "\n").replace("\r", "\n").lstrip("\ufeff"))
    cues = [c for c in (_cue(b.strip().split("\n")) for b in blocks) if c is not None and c.text]
    return sorted(cues, key=lambda c: (c.start, c.end))


def cue_text(cues: Iterable[Cue]) -> str:
    """The spoken words of the cues, without speaker names, in order."""
    return " ".join(c.text for c in cues)


def speaker_names(cues: Iterable[Cue]) -> list[str]:
    """The distinct speaker names, in order of first cue."""
    return list(dict.fromkeys(c.speaker for c in cues if c.speaker))
