"""Rule-based sentence splitting that keeps character offsets into the original text."""

from __future__ import annotations

import re
from dataclasses import dataclass

# Abbreviations after which a full stop does not end a sentence (lower-case, without the dot).
_ABBREVIATIONS = frozenset(
    [
        "mr",
        "mrs",
        "ms",
        "dr",
        "prof",
        "sr",
        "jr",
        "st",
        "vs",
        "etc",
        "e.g",
        "i.e",
        "cf",
        "al",
        "fig",
        "no",
        "nos",
        "vol",
        "approx",
        "dept",
        "est",
        "inc",
        "ltd",
        "co",
        "corp",
        "jan",
        "feb",
        "mar",
        "apr",
        "jun",
        "jul",
        "aug",
        "sep",
        "sept",
        "oct",
        "nov",
        "dec",
        "mon",
        "tue",
        "wed",
        "thu",
        "fri",
        "sat",
        "sun",
        "u.s",
        "u.k",
        "a.m",
        "p.m",
        "ph.d",
    ]
)

# A sentence ends at . ! ? … (possibly repeated), plus closing quotes/brackets, followed by whitespace.
_END = re.compile(r"""[.!?…]+["'”’)\]]*(?=\s)|[。！？]+[」』”’）]*""")
_LINEBREAK = re.compile(r"\n\s*\n|\r\n\s*\r\n|\n(?=\s*[-*•]\s)")
_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
# a word: a run of letters/digits (apostrophe contractions kept together); each CJK character counts as one
_WORD = re.compile(rf"[{_CJK}]|[^\W_{_CJK}]+(?:['’][^\W_{_CJK}]+)*")


@dataclass(frozen=True)
class Span:
    start: int
    end: int
    text: str


def _strip_span(text: str, start: int, end: int) -> Span | None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    if start >= end:
        return None
    return Span(start, end, text[start:end])


def _is_abbreviation(text: str, dot_pos: int) -> bool:
    """True if the '.' at ``dot_pos`` closes an abbreviation, an initial or a number."""
    j = dot_pos
    while j > 0 and not text[j - 1].isspace():
        j -= 1
    token = text[j:dot_pos].lower().lstrip("(\"'“‘")
    if not token:
        return False
    if token in _ABBREVIATIONS:
        return True
    # single initials ("J. Smith") and dotted acronyms ("U.S.")
    return bool(re.fullmatch(r"[a-z]|([a-z]\.)+[a-z]", token))


def split_sentences(text: str) -> list[Span]:
    """Split ``text`` into sentences; every span satisfies ``text[span.start:span.end] == span.text``."""
    spans: list[Span] = []
    if not text or not text.strip():
        return spans
    # First cut on paragraph breaks / bullet lines, then on sentence-final punctuation.
    blocks: list[tuple[int, int]] = []
    pos = 0
    for m in _LINEBREAK.finditer(text):
        blocks.append((pos, m.start()))
        pos = m.end()
    blocks.append((pos, len(text)))
    for b_start, b_end in blocks:
        seg_start = b_start
        block = text[b_start:b_end]
        for m in _END.finditer(block):
            end = b_start + m.end()
            punct = m.group(0)
            if (
                punct.startswith(".")
                and len(punct.rstrip("\"'”’)]")) == 1
                and _is_abbreviation(text, b_start + m.start())
            ):
                continue
            # do not split if the next non-space character is lower-case (e.g. "... and then")
            k = end
            while k < b_end and text[k].isspace():
                k += 1
            if k < b_end and text[k].islower():
                continue
            span = _strip_span(text, seg_start, end)
            if span is not None:
                spans.append(span)
            seg_start = end
        span = _strip_span(text, seg_start, b_end)
        if span is not None:
            spans.append(span)
    return spans


def words(text: str) -> list[str]:
    return _WORD.findall(text)


def word_count(text: str) -> int:
    return len(_WORD.findall(text))
