"""How the Result page reads a result: the Trust Score's points and evidence links, one timeline point and
one heatmap column per second, one heatmap row per AU, valence colours, and why a score is missing."""

from __future__ import annotations

from typing import Any

from core.console import result_view as view


def _second(i: int, au: dict[str, float] | None = None) -> dict[str, Any]:
    return {
        "start": float(i),
        "end": float(i + 1),
        "vad": {"valence": 0.1 * i, "arousal": 0.5, "dominance": 0.5},
        "credibility": 60.0 + i,
        "au": au if au is not None else {"AU12": 0.1 * i, "AU01": 0.2},
    }


def _video(seconds: int = 5) -> dict[str, Any]:
    return {
        "job_id": "j1",
        "modality": "video",
        "segments": [_second(i) for i in range(seconds)],
        "trust": {
            "score": 64.8,
            "band": "moderate",
            "confidence": 1.0,
            "components": [
                {
                    "name": "signal_congruence",
                    "value": 0.674,
                    "weight": 0.4,
                    "evidence": [
                        {
                            "kind": "face_voice_arousal_mismatch",
                            "detail": "face vs voice arousal",
                            "start": 1.0,
                            "end": 2.0,
                            "value": 0.3,
                        },
                        {"kind": "pair_difference", "detail": "mean |face − text| valence", "value": 0.12},
                    ],
                },
                {"name": "stress_markers", "value": 0.368, "weight": 0.35, "evidence": []},
                {"name": "signal_quality", "value": 1.0, "weight": 0.25, "evidence": []},
            ],
        },
        "quality": {"flags": ["blink_rate_undersampled"]},
        "transcript": [
            {
                "start": 0.5,
                "end": 2.0,
                "text": "fine thanks",
                "speaker": "S1",
                "vad": {"valence": 0.83, "arousal": 0.5, "dominance": 0.5},
            }
        ],
        "speakers": [{"id": "S1", "name": "Ann", "talk_share": 0.5, "talk_time": 2.0, "turns": 1}],
    }


def test_the_components_add_up_to_the_score_and_evidence_links_to_its_seconds() -> None:
    trust = view.trust_view(_video())
    assert trust["total"] == 64.8
    first = trust["components"][0]
    assert first["label"] == "Signal congruence" and first["points"] == 27.0
    assert first["evidence"][0]["link"] == {"kind": "second", "start": 1.0, "label": "0:01–0:02"}
    assert first["evidence"][1]["link"] is None
    assert trust["flags"][0]["meaning"].startswith("Frames were sampled too sparsely")
    assert trust["null_reason"] is None


def test_text_evidence_links_to_the_sentence_holding_its_characters() -> None:
    result = {
        "modality": "text",
        "segments": [{"start": 0.0, "end": 43.0, "text": "a"}, {"start": 44.0, "end": 100.0, "text": "b"}],
        "trust": {
            "score": 71.0,
            "components": [
                {
                    "name": "stress_markers",
                    "value": 0.6,
                    "weight": 0.35,
                    "evidence": [{"kind": "hedge", "detail": "hedge", "start": 62.0, "end": 74.0}],
                }
            ],
        },
    }
    link = view.trust_view(result)["components"][0]["evidence"][0]["link"]
    assert link == {"kind": "sentence", "index": 1, "label": "sentence 2"}
    assert [s["index"] for s in view.sentences(result)] == [0, 1]


def test_a_missing_score_is_explained_by_its_flags() -> None:
    result = {
        "modality": "audio",
        "trust": {"score": None, "components": []},
        "quality": {"flags": ["no_speech"]},
    }
    assert view.trust_view(result)["null_reason"].startswith("No speech was found")
    assert view.trust_view({"modality": "audio"})["null_reason"]


def test_the_timeline_has_one_point_per_second_and_the_heatmap_one_row_per_au() -> None:
    result = _video(7)
    result["segments"][3]["au"] = {}  # no face that second
    tl = view.timeline(result)
    assert tl["t"] == [0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0]
    assert len(tl["valence"]) == len(tl["credibility"]) == 7
    hm = view.heatmap(result)
    assert hm["aus"] == ["AU01", "AU12"]  # FACS order
    assert hm["labels"] == ["AU01 inner brow raiser", "AU12 lip corner puller"]
    assert [len(row) for row in hm["z"]] == [7, 7] and hm["z"][0][3] is None


def test_text_and_images_have_no_timeline() -> None:
    assert view.media_kind({"modality": "text", "segments": [{"start": 0, "end": 4}]}) is None
    assert view.timeline({"modality": "image"})["t"] == []
    assert (
        view.media_kind({"modality": "multimodal", "segments": [_second(0)], "modalities": {"voice": {}}})
        == "audio"
    )


def test_transcript_and_speakers_carry_names_shares_and_valence_colours() -> None:
    result = _video()
    line = view.transcript(result)[0]
    assert (line["speaker_label"], line["valence_class"], line["clock"]) == ("Ann", "val-8", "0:00")
    assert view.speakers(result)[0]["share_pct"] == 50
    assert view.valence_class(None) == "val-none" and view.valence_class({"valence": 1.0}) == "val-9"
    assert view.clock(3725) == "1:02:05"
