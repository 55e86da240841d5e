"""Lexical markers with character offsets: hedges, certainty markers, negations and intensifiers.

The lists are hand-written for EchoDepth (hedges / certainty) or taken from VADER's own negation and
booster lists (negation / intensifier, MIT licence), so the markers reported agree with what VADER scored.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from vaderSentiment.vaderSentiment import BOOSTER_DICT, NEGATE

# Hedges: expressions that weaken the speaker's commitment to what is said.
HEDGES: tuple[str, ...] = (
    "maybe", "perhaps", "possibly", "probably", "presumably", "supposedly", "apparently", "seemingly",
    "arguably", "conceivably", "might", "may", "could", "would guess", "i think", "i guess", "i suppose",
    "i believe", "i feel like", "i reckon", "i assume", "i imagine", "i'd say", "i would say",
    "sort of", "kind of", "sorta", "kinda", "somewhat", "more or less", "to some extent",
    "in a way", "roughly", "approximately", "likely", "unlikely", "not sure", "not certain",
    "i'm not sure", "i am not sure", "as far as i know", "if i remember correctly", "if i recall",
    "or something", "or so", "seems", "seem", "seemed", "appears", "appear", "appeared",
    "suggests", "i don't know", "i do not know", "who knows", "in my opinion", "tend to", "tends to",
    "allegedly", "basically", "generally", "usually", "a bit", "a little",
)  # fmt: skip

# Certainty / commitment markers (boosters of epistemic commitment).
CERTAINTY: tuple[str, ...] = (
    "definitely", "certainly", "absolutely", "clearly", "obviously", "undoubtedly", "undeniably",
    "surely", "for sure", "i'm sure", "i am sure", "i'm certain", "i am certain", "of course",
    "without a doubt", "no doubt", "beyond doubt", "honestly", "to be honest", "to be frank", "frankly",
    "truly", "truthfully", "in fact", "actually", "believe me", "trust me", "i swear", "i promise",
    "i know", "i guarantee", "guaranteed", "always", "never ever", "100%", "100 percent",
    "without question", "unquestionably", "indeed", "precisely", "exactly", "literally",
    "let me be clear", "the fact is", "i assure you",
)  # fmt: skip

_NEGATIONS: tuple[str, ...] = tuple(sorted({n.lower() for n in NEGATE} | {"no", "nobody", "n't"}))
_BOOSTERS: dict[str, float] = {k.lower(): float(v) for k, v in BOOSTER_DICT.items()}

# Words that are hedges only in some uses: "what kind of", "this sort of" are not hedges.
_NOT_HEDGE_BEFORE = re.compile(
    r"(?:^|\W)(?:what|which|this|that|these|those|the|a|any|some|every|one|same|other)\s+$"
)


@dataclass(frozen=True)
class Marker:
    kind: str  # hedge | certainty | negation | intensifier
    start: int
    end: int
    text: str
    term: str
    value: float | None = None  # for intensifiers: VADER's booster value (negative = downtoner)


def _phrase_regex(phrases: tuple[str, ...] | list[str]) -> re.Pattern[str]:
    alts = sorted({p.lower() for p in phrases}, key=len, reverse=True)
    body = "|".join(re.escape(p).replace(r"\ ", r"\s+") for p in alts)
    return re.compile(rf"(?<![\w'])(?:{body})(?![\w'])", re.IGNORECASE)


_HEDGE_RE = _phrase_regex(HEDGES)
_CERT_RE = _phrase_regex(CERTAINTY)
_NEG_RE = re.compile(
    r"(?<![\w'])(?:"
    + "|".join(re.escape(n) for n in sorted(_NEGATIONS, key=len, reverse=True) if n != "n't")
    + r")(?![\w'])|(?<=\w)n't(?![\w'])",
    re.IGNORECASE,
)
_BOOST_RE = _phrase_regex(sorted(_BOOSTERS))


def _norm(text: str) -> str:
    # same-length normalisation so offsets stay valid
    return text.replace("\u2019", "'").replace("\u2018", "'")


def find_markers(text: str, offset: int = 0) -> list[Marker]:
    """All markers in ``text``; offsets are relative to the original text plus ``offset``."""
    t = _norm(text)
    out: list[Marker] = []
    hedge_spans: list[tuple[int, int]] = []
    for m in _HEDGE_RE.finditer(t):
        term = re.sub(r"\s+", " ", m.group(0).lower())
        if term in ("kind of", "sort of") and _NOT_HEDGE_BEFORE.search(
            t[max(0, m.start() - 12) : m.start()].lower()
        ):
            continue
        if (
            term in ("may",)
            and m.group(0) == "May"
            and not re.match(r"\s+(?:i|we|you)\b", t[m.end() :], re.I)
        ):
            continue  # the month, most likely
        if term in ("could", "may") and re.match(r"\s+(?:i|we|you)\b", t[m.end() :], re.I):
            continue  # a request ("could you", "may I"), not a hedge
        hedge_spans.append((m.start(), m.end()))
        out.append(Marker("hedge", m.start() + offset, m.end() + offset, text[m.start() : m.end()], term))
    for m in _CERT_RE.finditer(t):
        if any(s < m.end() and m.start() < e for s, e in hedge_spans):
            continue  # "not sure" is a hedge, not certainty
        before = t[max(0, m.start() - 8) : m.start()].lower()
        term = re.sub(r"\s+", " ", m.group(0).lower())
        if term in ("i know",) and re.search(r"(?:don't|do not|didn't|not)\s*$", before):
            continue
        out.append(Marker("certainty", m.start() + offset, m.end() + offset, text[m.start() : m.end()], term))
    for m in _NEG_RE.finditer(t):
        term = m.group(0).lower()
        out.append(Marker("negation", m.start() + offset, m.end() + offset, text[m.start() : m.end()], term))
    for m in _BOOST_RE.finditer(t):
        term = re.sub(r"\s+", " ", m.group(0).lower())
        if any(s <= m.start() and m.end() <= e for s, e in hedge_spans):
            continue  # "kind of" already reported as a hedge
        if term in ("kind of", "sort of") and _NOT_HEDGE_BEFORE.search(
            t[max(0, m.start() - 12) : m.start()].lower()
        ):
            continue  # "what kind of car": not a downtoner
        val = _BOOSTERS.get(term, _BOOSTERS.get(term.replace(" ", "-"), 0.0))
        out.append(
            Marker("intensifier", m.start() + offset, m.end() + offset, text[m.start() : m.end()], term, val)
        )
    out.sort(key=lambda mk: (mk.start, mk.end))
    return out
