"""The owner summary's wording is core's: scores with their quality flags and the not-a-verdict sentence."""

from __future__ import annotations

from core.sources.summaries import summary_text


def test_summary_states_scores_and_quality_flags_and_never_a_verdict() -> None:
    result = {
        "trust_score": 63.4,
        "trust": {"band": "medium", "confidence": 0.71},
        "quality": {"flags": ["low_light", "short_audio"]},
        "vad": {"valence": 0.6, "arousal": 0.4, "dominance": 0.55},
    }
    score, quality, text = summary_text(result, "Quarterly review", "https://x.example/v1/result/j1")
    assert score == 63.4 and quality == "low_light, short_audio"
    assert "Quarterly review" in text and "Trust Score: 63/100 (band medium, confidence 0.71)" in text
    assert "Signal quality: low_light, short_audio." in text
    assert "not a lie detector" in text and text.rstrip().endswith("https://x.example/v1/result/j1")
    for verdict in ("lying", "liar", "deceptive", "dishonest", "truthful"):
        assert verdict not in text.lower()


def test_summary_without_a_score_says_so_instead_of_inventing_one() -> None:
    score, quality, text = summary_text({"quality": {"flags": []}}, "", "u")
    assert score is None and quality == "no quality flags"
    assert "Trust Score: n/a" in text and "your meeting" in text
