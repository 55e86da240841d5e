"""Text analyser: sentences → VAD, named emotions, lexical markers, per-sentence credibility, Trust composite.

Nothing here is a lie detector. ``credibility`` and ``trust`` summarise how consistent and how hedged the
language is and how much text there was to judge; they are not verdicts on honesty.
"""

from __future__ import annotations

import hashlib
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from engine import __version__
from engine.report import VAD, EngineInfo, Evidence, Quality, Report, Segment, Trust, TrustComponent

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

# Trust composite weights (sum to 1) and band edges.
TRUST_WEIGHTS = {"signal_congruence": 0.40, "stress_markers": 0.35, "signal_quality": 0.25}
BAND_LOW = 40.0  # score < 40 → low; 40–70 → moderate; > 70 → high
BAND_HIGH = 70.0
# Per-sentence credibility = 100 × (0.55 × congruence + 0.45 × (1 − stress)).
CRED_WEIGHTS = (0.55, 0.45)
# stress = 0.6 × min(1, hedges per 100 words / HEDGE_SAT) + 0.4 × negative-high-arousal
HEDGE_SAT_SENTENCE = 15.0
HEDGE_SAT_TEXT = 8.0
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


def _band(score: float) -> Literal["low", "moderate", "high"]:
    if score < BAND_LOW:
        return "low"
    return "high" if score > BAND_HIGH else "moderate"


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
    def _report(self, d, raw_s, vader_s, wc_s, emo_s, tok_trunc, raw_doc, vader_doc, emo_doc) -> Report:
        res = self.resources
        head = res.head
        pm = np.asarray(head.meta["pred_mean"])
        ps = np.asarray(head.meta["pred_std"])
        flags = list(d.flags)
        engine = EngineInfo(version=__version__, models=dict(res.models))
        if not d.rows:
            flags += ["empty", "too_short"]
            return Report(
                modality="text",
                trust=Trust(score=None, band=None, confidence=0.0),
                quality=Quality(flags=flags),
                linguistic={"word_count": 0, "sentence_count": 0},
                engine=engine,
            )
        if any(tok_trunc[j] for j in d.rows) and "truncated" not in flags:
            flags.append("truncated")  # a sentence longer than 256 tokens was cut for the encoder
        n_words = sum(word_count(sp.text) for sp in d.spans)
        too_short = n_words < MIN_WORDS_FOR_TRUST
        if too_short:
            flags.append("too_short")
        if _non_english_suspected(d.text):
            flags.append("non_english_suspected")

        segments: list[Segment] = []
        all_markers: list[Marker] = []
        cong_s, nha_s, stress_s, cred_s = [], [], [], []
        incongruent: list[Evidence] = []
        nha_ev: list[Evidence] = []
        for sp, j in zip(d.spans, d.rows, strict=True):
            unit = head.to_unit(raw_s[j])
            markers = find_markers(sp.text, offset=sp.start)
            all_markers += markers
            compound = float(vader_s[j, 3])
            polarity = float(np.clip((raw_s[j, 0] - 3.0) / VALENCE_POLARITY_SPAN, -1, 1))
            cong = 1.0 - abs(compound - polarity) / 2.0
            z = (raw_s[j] - pm) / ps
            nha = _clip01(-z[0] / 2.0) * _clip01((z[1] + 1.0) / 3.0)
            n_hedge = sum(m.kind == "hedge" for m in markers)
            hedge_rate = 100.0 * n_hedge / wc_s[j]
            stress = 0.6 * min(1.0, hedge_rate / HEDGE_SAT_SENTENCE) + 0.4 * nha
            cred = 100.0 * (CRED_WEIGHTS[0] * cong + CRED_WEIGHTS[1] * (1.0 - stress))
            cong_s.append(cong)
            nha_s.append(nha)
            stress_s.append(stress)
            cred_s.append(round(cred, 1))
            if cong < 0.6:
                incongruent.append(Evidence(
                    kind="incongruence",
                    detail=f"lexical polarity (VADER compound {compound:+.2f}) disagrees with model valence "
                           f"{float(unit[0]):.2f}",
                    start=sp.start, end=sp.end, text=sp.text, value=_r(cong),
                ))  # fmt: skip
            if nha > 0.3:
                nha_ev.append(Evidence(
                    kind="negative_high_arousal",
                    detail=f"negative, aroused wording (valence z {z[0]:+.2f}, arousal z {z[1]:+.2f})",
                    start=sp.start, end=sp.end, text=sp.text, value=_r(nha),
                ))  # fmt: skip
            segments.append(
                Segment(
                    start=sp.start,
                    end=sp.end,
                    text=sp.text,
                    vad=VAD(valence=_r(unit[0]), arousal=_r(unit[1]), dominance=_r(unit[2])),
                    credibility=None if too_short else round(cred, 1),
                    emotions=emo_s[j],
                    evidence=[_marker_evidence(m) for m in markers],
                )
            )

        w = wc_s[d.rows] / wc_s[d.rows].sum()
        counts = {
            k: sum(m.kind == k for m in all_markers)
            for k in ("hedge", "certainty", "negation", "intensifier")
        }
        per100 = {k: _r(100.0 * v / max(1, n_words), 2) for k, v in counts.items()}
        congruence = float(np.dot(w, cong_s))
        nha_doc = float(np.dot(w, nha_s))
        hedge_part = min(1.0, per100["hedge"] / HEDGE_SAT_TEXT)
        stress_doc = 0.6 * hedge_part + 0.4 * nha_doc
        n_sent = len(d.spans)
        quality = 0.7 * min(1.0, n_words / 50.0) + 0.3 * min(1.0, n_sent / 3.0)
        if "non_english_suspected" in flags:
            quality *= 0.5
        if "truncated" in flags:
            quality *= 0.9
        hedge_ev = [_marker_evidence(m) for m in all_markers if m.kind == "hedge"][:25]
        w_c, w_s, w_q = (TRUST_WEIGHTS[k] for k in ("signal_congruence", "stress_markers", "signal_quality"))
        density = Evidence(
            kind="hedge_density", detail=f"{per100['hedge']:.2f} hedges per 100 words", value=per100["hedge"]
        )
        amount = Evidence(
            kind="amount", detail=f"{n_words} words in {n_sent} sentences", value=float(n_words)
        )
        components = [
            TrustComponent(
                name="signal_congruence", value=_r(_clip01(congruence)), weight=w_c, evidence=incongruent[:25]
            ),
            TrustComponent(
                name="stress_markers",
                value=_r(_clip01(1.0 - stress_doc)),
                weight=w_s,
                evidence=[density] + hedge_ev + nha_ev[:25],
            ),
            TrustComponent(
                name="signal_quality",
                value=_r(_clip01(quality)),
                weight=w_q,
                evidence=[amount] + [Evidence(kind="quality_flag", detail=f) for f in flags],
            ),
        ]
        if too_short:
            score = None
            trust = Trust(score=None, band=None, confidence=0.0, components=components)
        else:
            score = round(100.0 * sum(c.value * c.weight for c in components), 1)
            trust = Trust(
                score=score, band=_band(score), confidence=_r(_clip01(quality)), components=components
            )

        def terms(kind: str) -> list[str]:
            return [m.term for m in all_markers if m.kind == kind]

        linguistic = {
            "word_count": n_words,
            "sentence_count": n_sent,
            "counts": counts,
            "rates_per_100_words": per100,
            "hedges": terms("hedge"),
            "certainty_markers": terms("certainty"),
            "negations": terms("negation"),
            "intensifiers": [m.term for m in all_markers if m.kind == "intensifier" and (m.value or 0) > 0],
            "downtoners": [m.term for m in all_markers if m.kind == "intensifier" and (m.value or 0) < 0],
            "questions": d.text.count("?"),
            "exclamations": d.text.count("!"),
            "vader": {k: _r(v) for k, v in zip(("neg", "neu", "pos", "compound"), vader_doc, strict=True)},
        }
        unit = head.to_unit(raw_doc)
        return Report(
            modality="text",
            vad=VAD(valence=_r(unit[0]), arousal=_r(unit[1]), dominance=_r(unit[2])),
            trust_score=score,
            trust=trust,
            segments=segments,
            credibility=[] if too_short else cred_s,
            emotions=emo_doc,
            linguistic=linguistic,
            quality=Quality(flags=flags),
            engine=engine,
        )


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
