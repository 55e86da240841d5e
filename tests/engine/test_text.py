"""Behaviour tests for the text engine (no access to ../shared needed)."""

from __future__ import annotations

import csv
import math
import re
import threading
from pathlib import Path

import numpy as np
import pytest

from engine import __version__
from engine.fusion.trust import BANDS, TRUST_TABLE
from engine.report import Report
from engine.text import TextAnalyser, analyse_text, get_analyser
from engine.text.markers import find_markers
from engine.text.segment import split_sentences

FIXTURE = Path(__file__).parent / "fixtures" / "text_vad_sentences.csv"
ENGINE_TEXT = Path(__file__).resolve().parents[2] / "engine" / "text"


@pytest.fixture(scope="session")
def analyser() -> TextAnalyser:
    return get_analyser().load()


def _v(analyser: TextAnalyser, text: str) -> float:
    r = analyser.analyse(text)
    assert r.vad is not None
    return r.vad.valence


def _numbers(obj):
    if isinstance(obj, dict):
        for v in obj.values():
            yield from _numbers(v)
    elif isinstance(obj, list):
        for v in obj:
            yield from _numbers(v)
    elif isinstance(obj, (int, float)) and not isinstance(obj, bool):
        yield obj


# -- valence behaviour --------------------------------------------------------------------------------
def test_positive_beats_negative(analyser):
    pos = _v(analyser, "I love this team, the launch was a wonderful success and everyone is delighted.")
    neg = _v(analyser, "This was a horrible failure, everyone is furious and the customers hate it.")
    assert pos > 0.55 > 0.45 > neg


def test_negation_flips(analyser):
    assert _v(analyser, "The service was not good.") < _v(analyser, "The service was good.")
    assert _v(analyser, "I don't like the new design.") < _v(analyser, "I like the new design.")


def test_intensifier_raises(analyser):
    assert _v(analyser, "The service was extremely good.") > _v(analyser, "The service was good.")
    assert _v(analyser, "I am very happy with it.") > _v(analyser, "I am happy with it.")
    # on the negative side the model's valence barely moves (a known limit, see docs/text-engine.md), but the
    # lexical polarity it is fed, and that signal_congruence compares against, does
    strong = analyser.analyse("The food was really terrible.")
    plain = analyser.analyse("The food was terrible.")
    assert strong.linguistic["vader"]["compound"] < plain.linguistic["vader"]["compound"]
    assert strong.linguistic["intensifiers"] == ["really"]


def test_arousal_higher_for_excited_text(analyser):
    calm = analyser.analyse("We sat quietly by the lake and read our books.").vad
    hot = analyser.analyse("Watch out!! The building is on fire, run now!").vad
    assert hot.arousal > calm.arousal


def test_fixture_valence_correlates(analyser):
    with FIXTURE.open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) >= 20
    reports = analyser.analyse_batch([r["text"] for r in rows])
    pred = np.array([r.vad.valence for r in reports])
    gold = np.array([(float(r["V"]) - 1) / 4 for r in rows])
    assert np.corrcoef(pred, gold)[0, 1] > 0.7
    arousal = np.array([r.vad.arousal for r in reports])
    gold_a = np.array([(float(r["A"]) - 1) / 4 for r in rows])
    assert np.corrcoef(arousal, gold_a)[0, 1] > 0.2


# -- markers -------------------------------------------------------------------------------------------
def test_hedge_offsets(analyser):
    text = "Well. I think we could maybe sign next week, sort of."
    r = analyser.analyse(text)
    hedges = [e for s in r.segments for e in s.evidence if e.kind == "hedge"]
    found = {(e.text.lower(), int(e.start), int(e.end)) for e in hedges}
    for term in ("I think", "could", "maybe", "sort of"):
        start = text.index(term)
        assert (term.lower(), start, start + len(term)) in found
    for e in hedges:
        assert text[int(e.start) : int(e.end)] == e.text
    assert r.linguistic["counts"]["hedge"] == 4
    assert r.linguistic["rates_per_100_words"]["hedge"] == pytest.approx(100 * 4 / 11, abs=0.01)
    assert r.linguistic["hedges"] == ["i think", "could", "maybe", "sort of"]


def test_certainty_negation_intensifier_markers():
    text = "Honestly, I am absolutely certain it was not very cheap. To be honest, what kind of deal is that?"
    kinds = {(m.kind, m.term) for m in find_markers(text)}
    assert ("certainty", "honestly") in kinds
    assert ("certainty", "to be honest") in kinds
    assert ("negation", "not") in kinds
    assert ("intensifier", "very") in kinds
    assert ("intensifier", "absolutely") in kinds
    # "what kind of deal" is not a hedge
    assert not any(m.term == "kind of" for m in find_markers(text))
    # "not sure" is a hedge, not a certainty marker
    ms = find_markers("I'm not sure about that.")
    assert any(m.kind == "hedge" for m in ms) and not any(m.kind == "certainty" for m in ms)
    for m in find_markers(text):
        assert text[m.start : m.end] == m.text


def test_contracted_negation_offsets():
    text = "We didn’t agree and they don't care."
    negs = [m for m in find_markers(text) if m.kind == "negation"]
    assert [m.text for m in negs] == ["didn’t", "don't"]


# -- segmentation ------------------------------------------------------------------------------------
def test_sentence_split_offsets(analyser):
    text = (
        '  Mr. Smith paid $3.50 for coffee. Was it worth it?! He said: "Absolutely."\n\n'
        "New paragraph without a full stop\nbut with a line break. The end…"
    )
    spans = split_sentences(text)
    assert [s.text for s in spans][:3] == ["Mr. Smith paid $3.50 for coffee.", "Was it worth it?!",
                                           'He said: "Absolutely."']  # fmt: skip
    for s in spans:
        assert text[s.start : s.end] == s.text
    r = analyser.analyse(text)
    assert len(r.segments) == len(spans)
    for seg in r.segments:
        assert text[int(seg.start) : int(seg.end)] == seg.text


# -- trust / quality -------------------------------------------------------------------------------------
def test_too_short_has_no_trust(analyser):
    r = analyser.analyse("Fine, thanks.")
    assert r.trust_score is None
    assert r.trust is not None and r.trust.score is None and r.trust.band is None
    assert "too_short" in r.quality.flags
    assert r.vad is not None  # VAD is still reported
    assert r.credibility == []


def test_empty_text(analyser):
    r = analyser.analyse("   ")
    assert r.vad is None and r.trust_score is None
    assert "empty" in r.quality.flags and "too_short" in r.quality.flags


def test_trust_composite(analyser):
    text = (
        "I think the delivery might arrive on Friday, but maybe not. I guess we could possibly wait. "
        "Honestly, I am not sure what happened to the order."
    )
    plain = (
        "The delivery arrives on Friday at noon. We will wait for it at the front desk. "
        "The order number is printed on the confirmation email."
    )
    r, p = analyser.analyse(text), analyser.analyse(plain)
    for rep in (r, p):
        assert rep.trust_score is not None and rep.trust_score == rep.trust.score
        score = rep.trust_score
        low, high = BANDS
        assert rep.trust.band == ("low" if score < low else "high" if score > high else "moderate")
        names = [c.name for c in rep.trust.components]
        assert names == ["signal_congruence", "stress_markers", "signal_quality"]
        assert math.isclose(sum(c.weight for c in rep.trust.components), 1.0)
        assert rep.trust_score == pytest.approx(
            100 * sum(c.value * c.weight for c in rep.trust.components), abs=0.06
        )
        assert len(rep.credibility) == len(rep.segments)
        assert "lie" in rep.trust.note.lower()
    stress_r = next(c for c in r.trust.components if c.name == "stress_markers")
    stress_p = next(c for c in p.trust.components if c.name == "stress_markers")
    assert stress_r.value < stress_p.value
    assert r.trust_score < p.trust_score
    assert any(e.kind == "hedge" for e in stress_r.evidence)
    assert sum(TRUST_TABLE["text"].weights.values()) == pytest.approx(1.0)


def test_non_english_flag(analyser):
    de = "Ich habe gestern mit dem Kunden gesprochen und er war mit der Lieferung sehr unzufrieden."
    assert "non_english_suspected" in analyser.analyse(de).quality.flags
    en = "I spoke with the customer yesterday and he was very unhappy with the delivery."
    assert "non_english_suspected" not in analyser.analyse(en).quality.flags


def test_long_text_truncated_flag(analyser):
    r = analyser.analyse("word " * 400 + ".")  # one 400-token sentence > 256 encoder tokens
    assert "truncated" in r.quality.flags


# -- report shape ---------------------------------------------------------------------------------------
def test_all_numbers_in_range(analyser):
    text = (
        "I'm absolutely furious!!! Nobody told me. Maybe it's fine though, I guess. Thanks for the flowers."
    )
    r = analyser.analyse(text)
    assert isinstance(r, Report) and r.modality == "text"
    Report.model_validate(r.model_dump())
    for vad in [r.vad] + [s.vad for s in r.segments]:
        for x in (vad.valence, vad.arousal, vad.dominance):
            assert 0.0 <= x <= 1.0
    for c in r.credibility:
        assert 0.0 <= c <= 100.0
    for emo in [r.emotions] + [s.emotions for s in r.segments]:
        assert emo and all(0.0 <= v <= 1.0 for v in emo.values())
        assert sum(emo.values()) == pytest.approx(1.0, abs=0.01)
    for c in r.trust.components:
        assert 0.0 <= c.value <= 1.0
    assert all(math.isfinite(x) for x in _numbers(r.model_dump()))


def test_engine_info(analyser):
    r = analyser.analyse("The weather is nice today and I feel good.")
    assert r.engine.version == __version__
    assert re.fullmatch(r"sha256:[0-9a-f]{16}", r.engine.models["minilm-l6-v2-int8.onnx"])
    assert "vad_head.npz" in r.engine.models


def test_batch_matches_single_and_threads(analyser):
    texts = ["I love it.", "This is bad. Really bad, I think.", "The cat sat on the mat quietly today."]
    batch = analyser.analyse_batch(texts)
    single = [analyse_text(t) for t in texts]
    # int8 dynamic quantisation scales activations per batch: companions in a batch may move a score a little
    for b, s in zip(batch, single, strict=True):
        assert b.vad.valence == pytest.approx(s.vad.valence, abs=0.02)
    out: list = [None] * 4

    def work(i: int) -> None:
        out[i] = get_analyser().analyse(texts[1])

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(o.vad.valence == pytest.approx(out[0].vad.valence, abs=1e-6) for o in out)
    assert get_analyser() is get_analyser()


def test_engine_text_imports_no_core_or_connectors():
    for py in ENGINE_TEXT.rglob("*.py"):
        src = py.read_text(encoding="utf-8")
        assert not re.search(r"^\s*(from|import)\s+(core|connectors)\b", src, re.M), py
        assert "import torch" not in src, py


def test_hedge_false_positives_avoided():
    def hedge_terms(text: str) -> list[str]:
        return [m.term for m in find_markers(text) if m.kind == "hedge"]

    assert hedge_terms("What kind of car is that? A kind of magic.") == []
    assert hedge_terms("The idea kind of works.") == ["kind of"]
    assert hedge_terms("Could you send it? It could fail.") == ["could"]
    assert hedge_terms("May I ask? In May we may go.") == ["may"]


# -- encoder blocks ------------------------------------------------------------------------------------
def test_encoder_rows_are_unit_norm_blocks_led_by_the_sentence_embedding(analyser):
    from engine.text.encoder import EMBEDDING_DIM

    enc = analyser.resources.encoder
    emb, truncated = enc.encode(["I love this!", "The meeting is at 3 pm on Tuesday.", ""])
    assert truncated == [False, False, False]
    assert emb.shape == (3, enc.dim) and enc.dim % EMBEDDING_DIM == 0 and enc.dim > EMBEDDING_DIM
    norms = np.linalg.norm(emb.reshape(3, -1, EMBEDDING_DIM), axis=2)
    assert np.allclose(norms, 1.0, atol=1e-3)
    # the head reads every block: its embedding weights match the encoder's row width
    assert analyser.resources.head.w_emb.shape == (enc.dim, 3)


def test_renormalise_blocks_normalises_each_block_alone():
    from engine.text.encoder import EMBEDDING_DIM, renormalise_blocks

    x = np.concatenate([np.full((2, EMBEDDING_DIM), 3.0), np.full((2, EMBEDDING_DIM), 0.01)], axis=1)
    out = renormalise_blocks(x.astype(np.float32))
    assert out.dtype == np.float32 and out.shape == x.shape
    assert np.allclose(np.linalg.norm(out.reshape(2, 2, EMBEDDING_DIM), axis=2), 1.0, atol=1e-5)
    assert np.allclose(out[:, :EMBEDDING_DIM], out[:, EMBEDDING_DIM:])  # direction kept, scale dropped


def test_multi_sentence_text_scores_between_its_sentences(analyser):
    pos = "The launch was a wonderful success and we are delighted."
    neg = "The outage was a horrible disaster."
    both = analyser.analyse(f"{pos} {neg}").vad
    lo, hi = sorted([_v(analyser, neg), _v(analyser, pos)])
    assert both is not None and lo - 0.05 < both.valence < hi + 0.05
