"""Who said what: meeting transcripts' speaker names placed on the diarized voices."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.transcripts import Cue, cue_text, parse_vtt, speaker_names
from engine.voice.speakers import Turn, name_voices

AUDIO = Path(__file__).resolve().parents[1] / "fixtures" / "audio"
TWO = AUDIO / "two_speakers.flac"


@pytest.mark.parametrize("vendor", ["zoom", "teams"])
def test_vendor_transcripts_parse_to_named_timed_cues(vendor: str) -> None:
    cues = parse_vtt((AUDIO / f"two_speakers.{vendor}.vtt").read_text())
    assert [c.speaker for c in cues] == ["Alex Rep", "Jane Buyer", "Alex Rep", "Jane Buyer"]
    assert cues[1].start == pytest.approx(3.2) and cues[1].end == pytest.approx(5.542)
    assert cues[0].text == "Thanks for joining the call today"
    assert speaker_names(cues) == ["Alex Rep", "Jane Buyer"]
    assert "Alex Rep" not in cue_text(cues)


def test_cue_text_without_a_name_keeps_its_words_and_no_speaker() -> None:
    vtt = "WEBVTT\n\nNOTE a comment\n\n00:01.000 --> 00:02.500\nThe price is 10: not 12.\n\n"
    vtt += "2\n00:00:03.000 --> 00:00:04.000\n<v.loud Sam Lee>Yes.</v>\n"
    cues = parse_vtt(vtt)
    assert cues == [Cue(1.0, 2.5, None, "The price is 10: not 12."), Cue(3.0, 4.0, "Sam Lee", "Yes.")]


def test_each_name_goes_to_the_voice_it_overlaps_most() -> None:
    turns = [Turn("S1", 0, 3), Turn("S2", 3.2, 6), Turn("S1", 6.2, 9)]
    naming = name_voices(turns, [(0, 3.1, "Ann"), (3.1, 6.1, "Bob"), (6.1, 9, "Ann")])
    assert {s: v.name for s, v in naming.voices.items()} == {"S1": "Ann", "S2": "Bob"}
    assert naming.voices["S1"].overlap_s == pytest.approx(5.8)
    assert naming.unplaced == {} and all(not v.flags for v in naming.voices.values())


def test_two_names_on_one_voice_are_reported_not_hidden() -> None:
    naming = name_voices([Turn("S1", 0, 10)], [(0, 6, "Ann"), (6, 10, "Bob")])
    assert naming.voices["S1"].name == "Ann"
    assert "several_names_on_voice" in naming.voices["S1"].flags
    assert naming.voices["S1"].overlaps == {"Ann": 6.0, "Bob": 4.0}
    assert naming.unplaced == {"Bob": "merged_into:S1"}


def test_one_name_on_two_voices_names_both_and_flags_them() -> None:
    naming = name_voices([Turn("S1", 0, 4), Turn("S2", 4, 8)], [(0, 8, "Ann"), (9, 10, "Bob")])
    assert naming.voices["S1"].name == naming.voices["S2"].name == "Ann"
    assert all("name_on_several_voices" in v.flags for v in naming.voices.values())
    assert naming.unplaced == {"Bob": "no_overlap"}


def test_a_brief_overlap_names_nobody() -> None:
    naming = name_voices([Turn("S1", 0, 4)], [(3.8, 6, "Ann")])
    assert naming.voices["S1"].name is None and naming.unplaced == {"Ann": "no_overlap"}


@pytest.fixture(scope="module")
def named_report():  # type: ignore[no-untyped-def]
    from engine.voice import analyse_audio

    cues = parse_vtt((AUDIO / "two_speakers.zoom.vtt").read_text())
    return analyse_audio(TWO, asr=False, cues=cues)


def test_two_voices_are_named_with_their_overlap_and_own_figures(named_report) -> None:  # type: ignore[no-untyped-def]
    by_name = {s.name: s for s in named_report.speakers}
    assert set(by_name) == {"Alex Rep", "Jane Buyer"}
    alex, jane = by_name["Alex Rep"], by_name["Jane Buyer"]
    assert alex.f0_mean_hz < jane.f0_mean_hz  # the low voice is the one the transcript calls Alex
    for s in (alex, jane):
        assert s.named_by == "transcript"
        assert s.naming[0].kind == "name_overlap" and s.naming[0].value > 4.0
        assert s.text_vad is not None and s.vad is not None
        assert s.trust is not None and s.trust_score == s.trust.score
        assert {c.name for c in s.trust.components} >= {"stress_markers", "signal_quality"}
    assert named_report.voice["speaker_naming"]["unplaced"] == {}


def test_transcript_words_stand_in_for_speech_recognition(named_report) -> None:  # type: ignore[no-untyped-def]
    segs = named_report.transcript
    assert [s.text for s in segs][0] == "Thanks for joining the call today"
    assert [s.speaker for s in segs] == ["S1", "S2", "S1", "S2"]
    assert all(s.vad is not None for s in segs)


def test_one_voice_is_split_by_the_transcripts_names() -> None:
    from engine.voice import analyse_audio

    one = [Cue(0.0, 6.0, "Ann", "hello there"), Cue(6.0, 12.4, "Bob", "good morning")]
    report = analyse_audio(AUDIO / "speech_pauses_um.wav", asr=False, cues=one)
    names = {s.id: s.name for s in report.speakers}
    assert sorted(names.values()) == ["Ann", "Bob"]
    assert report.voice["speaker_naming"]["split_by"] == "transcript"
    assert all("split_by_transcript" in s.quality.flags for s in report.speakers)


def test_a_speaker_with_little_speech_is_flagged_too_short() -> None:
    from engine.voice import analyse_audio

    cues = [Cue(0.0, 1.5, "Ann", "I think"), Cue(1.5, 12.4, "Bob", "the project is going well")]
    report = analyse_audio(AUDIO / "speech_pauses_um.wav", asr=False, cues=cues)
    short = next(s for s in report.speakers if s.talk_time < 3.0)
    assert "too_short" in short.quality.flags
    longer = next(s for s in report.speakers if s is not short)
    assert "too_short" not in longer.quality.flags
    assert short.trust is not None and longer.trust is not None
    quality = {
        s.id: next(c.value for c in s.trust.components if c.name == "signal_quality") for s in report.speakers
    }
    assert quality[short.id] < quality[longer.id]


def test_without_names_voices_stay_s1_s2() -> None:
    from engine.voice import analyse_audio

    report = analyse_audio(TWO, asr=False)
    assert [s.id for s in report.speakers] == ["S1", "S2"]
    assert all(s.name is None and s.named_by is None for s in report.speakers)
    assert "speaker_naming" not in report.voice
