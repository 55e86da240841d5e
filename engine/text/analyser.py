"""Text analyser: sentences → VAD, named emotions, lexical markers, per-sentence credibility, Trust composite.

Nothing here is a lie detector. ``credibility`` and ``trust`` summarise how consistent and how hedged the
language is and how much text there was to judge; they are not verdicts on honesty.
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from engine import __version__
from engine.fusion.trust import TRUST_TABLE, component, compose, credibility, quality, unscored, weighted
from engine.report import VAD, EngineInfo, Evidence, Quality, Report, Segment, Trust

from .emotions import EmotionMapper
from .encoder import MiniLMEncoder, renormalise_blocks
from .features import VadHead, surface_features, vader_features
from .markers import Marker, find_markers
from .segment import Span, split_sentences, word_count, words

MODEL_DIR = Path(__file__).resolve().parent / "models"
ONNX_FILE = "minilm-l6-v2-int8.onnx"
TOKENIZER_FILE = "tokenizer.json"
HEAD_NPZ = "vad_head.npz"
HEAD_JSON = "vad_head.json"

MAX_CHARS = 100_000  # longer inputs are cut (flag ``truncated``)
VADER_WHOLE_TEXT_MAX_CHARS = 2000  # longer texts: whole-text VADER = word-weighted mean of sentence scores
MIN_WORDS_FOR_TRUST = 5  # below this: trust_score None, flag ``too_short``

# The Trust weights, band and credibility are the composer's (engine/fusion/trust.py, row "text"); these
# are the text's own measures: hedges per 100 words that saturate hedging (a sentence, the whole text), and
# the words and sentences that make a full amount of text.
RULES = TRUST_TABLE["text"]
HEDGE_SAT_SENTENCE = 15.0
HEDGE_SAT_TEXT = 8.0
FULL_WORDS, FULL_SENTENCES = 50.0, 3.0
VALENCE_POLARITY_SPAN = 0.8  # model valence (1–5) → polarity: clip((v − 3) / 0.8, −1, 1)

_STOPWORDS = frozenset(
    [
        "the",
        "a",
        "an",
        "and",
        "or",
        "but",
        "to",
        "of",
        "in",
        "on",
        "at",
        "for",
        "with",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "am",
        "i",
        "you",
        "he",
        "she",
        "it",
        "we",
        "they",
        "this",
        "that",
        "these",
        "those",
        "not",
        "no",
        "have",
        "has",
        "had",
        "do",
        "does",
        "did",
        "will",
        "would",
        "can",
        "could",
        "my",
        "your",
        "our",
        "their",
        "his",
        "her",
        "its",
        "me",
        "him",
        "us",
        "them",
        "as",
        "by",
        "from",
        "so",
        "if",
        "what",
        "there",
        "all",
        "just",
        "about",
        "up",
        "out",
    ]
)
_LATIN = re.compile(r"[A-Za-z]")
_LETTER = re.compile(r"[^\W\d_]")


def _sha(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return "sha256:" + h.hexdigest()[:16]


@dataclass
class _Resources:
    encoder: MiniLMEncoder
    head: VadHead
    vader: Any
    emotions: EmotionMapper
    models: dict[str, str]


_LOCK = threading.Lock()
_RESOURCES: dict[Path, _Resources] = {}


def _load(model_dir: Path) -> _Resources:
    with _LOCK:
        res = _RESOURCES.get(model_dir)
        if res is not None:
            return res
        import vaderSentiment
        from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

        encoder = MiniLMEncoder(model_dir / ONNX_FILE, model_dir / TOKENIZER_FILE)
        head = VadHead.load(model_dir / HEAD_NPZ, model_dir / HEAD_JSON)
        models = {f: _sha(model_dir / f) for f in (ONNX_FILE, TOKENIZER_FILE, HEAD_NPZ, HEAD_JSON)}
        models["encoder"] = (
            "sentence-transformers/all-MiniLM-L6-v2 (int8 dynamic quantisation, ONNX opset 17)"
        )
        models["vaderSentiment"] = getattr(vaderSentiment, "__version__", "3.3.2")
        res = _Resources(
            encoder=encoder,
            head=head,
            vader=SentimentIntensityAnalyzer(),
            emotions=EmotionMapper(head.meta["pred_mean"], head.meta["pred_std"]),
            models=models,
        )
        _RESOURCES[model_dir] = res
        return res


@dataclass
class _Doc:
    text: str
    spans: list[Span]
    flags: list[str] = field(default_factory=list)
    rows: list[int] = field(default_factory=list)  # indices into the sentence arrays


def _r(x: float, nd: int = 4) -> float:
    return round(float(x), nd)


def _clip01(x: float) -> float:
    return float(min(1.0, max(0.0, x)))


def _non_english_suspected(text: str) -> bool:
    letters = _LETTER.findall(text)
    if len(letters) < 20:
        return False
    latin = len(_LATIN.findall(text)) / len(letters)
    if latin < 0.7:
        return True
    ws = [w.lower() for w in words(text)]
    if len(ws) < 8:
        return False
    return sum(w in _STOPWORDS for w in ws) / len(ws) < 0.1


def _marker_evidence(m: Marker) -> Evidence:
    if m.kind == "intensifier":
        detail = f"{'downtoner' if (m.value or 0) < 0 else 'intensifier'} '{m.term}' (VADER booster)"
    elif m.kind == "negation":
        detail = f"negation '{m.term}'"
    elif m.kind == "hedge":
        detail = f"hedge '{m.term}' weakens commitment"
    else:
        detail = f"certainty marker '{m.term}'"
    return Evidence(kind=m.kind, detail=detail, start=m.start, end=m.end, text=m.text, value=m.value)


class TextAnalyser:
    """Analyses English text. Models load lazily, once per process (shared by all instances, thread-safe)."""

    def __init__(self, model_dir: str | Path | None = None) -> None:
        self.model_dir = Path(model_dir).resolve() if model_dir else MODEL_DIR

    @property
    def resources(self) -> _Resources:
        res = _RESOURCES.get(self.model_dir)
        return res if res is not None else _load(self.model_dir)

    def load(self) -> TextAnalyser:
        """Load the models now (otherwise the first analysis does)."""
        _ = self.resources
        return self

    # -- core predictions ---------------------------------------------------------------------------
    def _raw_vad(
        self, emb: np.ndarray, texts: list[str], vader: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        res = self.resources
        vad = vader_features(res.vader, texts) if vader is None else vader
        raw = res.head.predict_raw(emb, vad, surface_features(texts), texts)
        return raw, vad

    def predict_vad(self, texts: list[str]) -> np.ndarray:
        """Whole-text VAD on 0–1 for each text, exactly as ``analyse_batch`` reports it in ``Report.vad``."""
        return np.array([[r.vad.valence, r.vad.arousal, r.vad.dominance] if r.vad else [np.nan] * 3
                         for r in self.analyse_batch(texts)])  # fmt: skip

    # -- public API ---------------------------------------------------------------------------------
    def analyse(self, text: str) -> Report:
        return self.analyse_batch([text])[0]

    def analyse_batch(self, texts: list[str]) -> list[Report]:
        """One report per text; all sentences of all texts share the encoder batches (faster than a loop)."""
        if isinstance(texts, str):
            raise TypeError("analyse_batch expects a list of texts; use analyse() for one text")
        res = self.resources
        docs: list[_Doc] = []
        sent_texts: list[str] = []
        for text in texts:
            if not isinstance(text, str):
                raise TypeError(f"text must be str, not {type(text).__name__}")
            flags: list[str] = []
            if len(text) > MAX_CHARS:
                text = text[:MAX_CHARS]
                flags.append("truncated")
            doc = _Doc(text=text, spans=split_sentences(text), flags=flags)
            for sp in doc.spans:
                doc.rows.append(len(sent_texts))
                sent_texts.append(sp.text)
            docs.append(doc)

        emb, tok_trunc = res.encoder.encode(sent_texts)
        raw_s, vader_s = (
            self._raw_vad(emb, sent_texts) if sent_texts else (np.zeros((0, 3)), np.zeros((0, 4)))
        )
        wc_s = np.array([max(1, word_count(t)) for t in sent_texts], dtype=np.float64)

        # whole-text rows: single-sentence texts reuse the sentence; otherwise the word-weighted mean of the
        # sentence embeddings (re-normalised) plus lexical features of the whole text
        multi = [i for i, d in enumerate(docs) if len(d.rows) > 1]
        raw_doc = np.zeros((len(docs), 3))
        vader_doc = np.zeros((len(docs), 4))
        for i, d in enumerate(docs):
            if len(d.rows) == 1:
                raw_doc[i] = raw_s[d.rows[0]]
                vader_doc[i] = vader_s[d.rows[0]]
        if multi:
            e = np.stack([(emb[docs[i].rows] * wc_s[docs[i].rows, None]).sum(0) for i in multi])
            e = renormalise_blocks(e)
            doc_texts = [docs[i].text.strip() for i in multi]
            # VADER's cost grows quadratically with length: on long texts use the word-weighted mean of the
            # sentence scores instead of scoring the whole text at once
            doc_vader = np.stack(
                [
                    vader_features(res.vader, [t])[0]
                    if len(t) <= VADER_WHOLE_TEXT_MAX_CHARS
                    else np.average(vader_s[docs[i].rows], axis=0, weights=wc_s[docs[i].rows])
                    for i, t in zip(multi, doc_texts, strict=True)
                ]
            )
            r, v = self._raw_vad(e.astype(np.float32), doc_texts, doc_vader)
            raw_doc[multi] = r
            vader_doc[multi] = v

        emo_s = res.emotions.scores(raw_s) if sent_texts else []
        emo_doc = res.emotions.scores(raw_doc)
        return [
            self._report(d, raw_s, vader_s, wc_s, emo_s, tok_trunc, raw_doc[i], vader_doc[i], emo_doc[i])
            for i, d in enumerate(docs)
        ]

    # -- report assembly ----------------------------------------------------------------------------
    def _report(
        self,
        d: _Doc,
        raw_s: np.ndarray,
        vader_s: np.ndarray,
        wc_s: np.ndarray,
        emo_s: list[dict[str, float]],
        tok_trunc: Sequence[bool],
        raw_doc: np.ndarray,
        vader_doc: np.ndarray,
        emo_doc: dict[str, float],
    ) -> Report:
        res = self.resources
        engine = EngineInfo(version=__version__, models=dict(res.models))
        if not d.rows:
            return _empty_report(d.flags, engine)
        n_words = sum(word_count(sp.text) for sp in d.spans)
        flags = _flags(d, tok_trunc, n_words)
        too_short = n_words < MIN_WORDS_FOR_TRUST
        rows = _SentenceRows(raw_s, vader_s, wc_s, emo_s)
        sentences = _sentences(d, rows, res.head, too_short)
        counts = {
            k: sum(m.kind == k for m in sentences.markers)
            for k in ("hedge", "certainty", "negation", "intensifier")
        }
        per100 = {k: _r(100.0 * v / max(1, n_words), 2) for k, v in counts.items()}
        trust = _trust(d, wc_s, sentences, per100, n_words, flags, scored=not too_short)
        unit = res.head.to_unit(raw_doc)
        return Report(
            modality="text",
            vad=VAD(valence=_r(unit[0]), arousal=_r(unit[1]), dominance=_r(unit[2])),
            trust_score=trust.score,
            trust=trust,
            segments=sentences.segments,
            credibility=[] if too_short else sentences.credibility,
            emotions=emo_doc,
            linguistic=_linguistic(d, sentences.markers, counts, per100, n_words, vader_doc),
            quality=Quality(flags=flags),
            engine=engine,
        )


@dataclass(frozen=True)
class _SentenceRows:
    """The batch's per-sentence arrays: raw model V/A/D (1–5), VADER scores, word counts, emotions."""

    raw: np.ndarray
    vader: np.ndarray
    words: np.ndarray
    emotions: list[dict[str, float]]


@dataclass
class _Sentences:
    """Per-sentence figures of one text, in order, and the evidence the Trust components list."""

    segments: list[Segment] = field(default_factory=list)
    markers: list[Marker] = field(default_factory=list)
    congruence: list[float] = field(default_factory=list)
    negative_arousal: list[float] = field(default_factory=list)
    credibility: list[float] = field(default_factory=list)
    incongruent: list[Evidence] = field(default_factory=list)
    aroused: list[Evidence] = field(default_factory=list)


def _empty_report(flags: list[str], engine: EngineInfo) -> Report:
    return Report(
        modality="text",
        trust=unscored(),
        quality=Quality(flags=[*flags, "empty", "too_short"]),
        linguistic={"word_count": 0, "sentence_count": 0},
        engine=engine,
    )


def _flags(d: _Doc, tok_trunc: Sequence[bool], n_words: int) -> list[str]:
    flags = list(d.flags)
    if any(tok_trunc[j] for j in d.rows) and "truncated" not in flags:
        flags.append("truncated")  # a sentence longer than 256 tokens was cut for the encoder
    if n_words < MIN_WORDS_FOR_TRUST:
        flags.append("too_short")
    if _non_english_suspected(d.text):
        flags.append("non_english_suspected")
    return flags


def _sentences(d: _Doc, rows: _SentenceRows, head: VadHead, too_short: bool) -> _Sentences:
    """Each sentence's V/A/D, markers, congruence, negative high arousal and credibility."""
    out = _Sentences()
    pm, ps = np.asarray(head.meta["pred_mean"]), np.asarray(head.meta["pred_std"])
    for sp, j in zip(d.spans, d.rows, strict=True):
        unit = head.to_unit(rows.raw[j])
        markers = find_markers(sp.text, offset=sp.start)
        compound = float(rows.vader[j, 3])
        polarity = float(np.clip((rows.raw[j, 0] - 3.0) / VALENCE_POLARITY_SPAN, -1, 1))
        cong = 1.0 - abs(compound - polarity) / 2.0
        z = (rows.raw[j] - pm) / ps
        nha = _clip01(-z[0] / 2.0) * _clip01((z[1] + 1.0) / 3.0)
        hedge_rate = 100.0 * sum(m.kind == "hedge" for m in markers) / rows.words[j]
        stress = weighted(
            RULES.moment_stress,
            {"hedging": min(1.0, hedge_rate / HEDGE_SAT_SENTENCE), "negative_arousal": nha},
        )
        cred = credibility(cong, stress)
        out.markers += markers
        out.congruence.append(cong)
        out.negative_arousal.append(nha)
        out.credibility.append(cred)
        if cong < 0.6:
            out.incongruent.append(Evidence(
                kind="incongruence",
                detail=f"lexical polarity (VADER compound {compound:+.2f}) disagrees with model valence "
                       f"{float(unit[0]):.2f}",
                start=sp.start, end=sp.end, text=sp.text, value=_r(cong),
            ))  # fmt: skip
        if nha > 0.3:
            out.aroused.append(Evidence(
                kind="negative_high_arousal",
                detail=f"negative, aroused wording (valence z {z[0]:+.2f}, arousal z {z[1]:+.2f})",
                start=sp.start, end=sp.end, text=sp.text, value=_r(nha),
            ))  # fmt: skip
        out.segments.append(
            Segment(
                start=sp.start,
                end=sp.end,
                text=sp.text,
                vad=VAD(valence=_r(unit[0]), arousal=_r(unit[1]), dominance=_r(unit[2])),
                credibility=None if too_short else cred,
                emotions=rows.emotions[j],
                evidence=[_marker_evidence(m) for m in markers],
            )
        )
    return out


def _trust(
    d: _Doc,
    wc_s: np.ndarray,
    s: _Sentences,
    per100: dict[str, float],
    n_words: int,
    flags: list[str],
    *,
    scored: bool,
) -> Trust:
    """The whole text's Trust: word-weighted sentence congruence, hedging and arousal, amount of text."""
    w = wc_s[d.rows] / wc_s[d.rows].sum()
    hedging = min(1.0, per100["hedge"] / HEDGE_SAT_TEXT)
    stress = weighted(
        RULES.stress, {"hedging": hedging, "negative_arousal": float(np.dot(w, s.negative_arousal))}
    )
    n_sent = len(d.spans)
    amount = weighted(
        RULES.amount,
        {"words": min(1.0, n_words / FULL_WORDS), "sentences": min(1.0, n_sent / FULL_SENTENCES)},
    )
    quality_value = quality("text", amount, flags)[0]
    density = Evidence(
        kind="hedge_density", detail=f"{per100['hedge']:.2f} hedges per 100 words", value=per100["hedge"]
    )
    hedges = [_marker_evidence(m) for m in s.markers if m.kind == "hedge"][:25]
    words = Evidence(kind="amount", detail=f"{n_words} words in {n_sent} sentences", value=float(n_words))
    components = [
        component(
            "text", "signal_congruence", _r(_clip01(float(np.dot(w, s.congruence)))), s.incongruent[:25]
        ),
        component("text", "stress_markers", _r(_clip01(1.0 - stress)), [density] + hedges + s.aroused[:25]),
        component(
            "text",
            "signal_quality",
            _r(_clip01(quality_value)),
            [words] + [Evidence(kind="quality_flag", detail=f) for f in flags],
        ),
    ]
    return compose("text", components, scored=scored)


def _linguistic(
    d: _Doc,
    markers: list[Marker],
    counts: dict[str, int],
    per100: dict[str, float],
    n_words: int,
    vader_doc: np.ndarray,
) -> dict[str, Any]:
    def terms(kind: str) -> list[str]:
        return [m.term for m in markers if m.kind == kind]

    return {
        "word_count": n_words,
        "sentence_count": len(d.spans),
        "counts": counts,
        "rates_per_100_words": per100,
        "hedges": terms("hedge"),
        "certainty_markers": terms("certainty"),
        "negations": terms("negation"),
        "intensifiers": [m.term for m in markers if m.kind == "intensifier" and (m.value or 0) > 0],
        "downtoners": [m.term for m in markers if m.kind == "intensifier" and (m.value or 0) < 0],
        "questions": d.text.count("?"),
        "exclamations": d.text.count("!"),
        "vader": {k: _r(v) for k, v in zip(("neg", "neu", "pos", "compound"), vader_doc, strict=True)},
    }


_DEFAULT: TextAnalyser | None = None


def get_analyser() -> TextAnalyser:
    """The process-wide analyser (models load on first use)."""
    global _DEFAULT
    if _DEFAULT is None:
        with _LOCK:
            if _DEFAULT is None:
                _DEFAULT = TextAnalyser()
    return _DEFAULT


def analyse_text(text: str) -> Report:
    return get_analyser().analyse(text)
