"""core.sdk.participants: who a CRM or Slack sink writes about when a result names its speakers."""

from __future__ import annotations

import pytest

from core.sdk.participants import (
    DEFAULT_SPEAKER_FIELDS,
    attribute,
    named_speakers,
    person_view,
    prospect_speakers,
    speaker_fields,
    speaker_for,
    speakers_line,
)
from core.sdk.results import ResultView
from tests.core.two_speaker_result import PROSPECT, REP, speaker, two_speaker_result


def test_prospects_are_the_named_speakers_of_another_domain() -> None:
    data = two_speaker_result()
    [jane] = prospect_speakers(data)
    assert (jane.name, jane.email, jane.trust_score) == ("Jane Buyer", PROSPECT, 38.0)
    assert [s.email for s in named_speakers(data)] == [REP, PROSPECT]  # most talk first


def test_speaker_for_finds_a_person_case_insensitively_and_none_for_a_stranger() -> None:
    data = two_speaker_result()
    found = speaker_for(data, "JANE@buyer.example")
    assert found is not None and found.talk_share == 0.42
    assert speaker_for(data, "nobody@buyer.example") is None


def test_voices_of_one_person_merge_with_talk_weighted_scores() -> None:
    data = two_speaker_result()
    data["speakers"].append(speaker("S3", "Jane Buyer", PROSPECT, False, 58.0, 0.42))
    merged = speaker_for(data, PROSPECT)
    assert merged is not None and merged.voices == ("S2", "S3")
    assert merged.talk_share == 0.84 and merged.trust_score == pytest.approx(48.0)


def test_internal_speakers_are_never_attributed_as_prospects_even_listed_in_crm_emails() -> None:
    data = two_speaker_result()
    data["metadata"]["crm"] = {"emails": [REP]}
    who = attribute(data, [], 200)
    assert who.by_speaker and who.emails == [PROSPECT] and who.internal == [REP]


def test_the_jobs_own_domains_exclude_a_speaker_without_an_internal_flag() -> None:
    data = two_speaker_result()
    data["speakers"][0]["internal"] = None
    data["metadata"]["own_domains"] = ["OurCo.example"]
    assert attribute(data, [], 200).emails == [PROSPECT]


def test_no_named_speaker_means_meeting_figures_for_every_participant() -> None:
    data = two_speaker_result()
    data["speakers"] = []
    who = attribute(data, ["ourco.example"], 200)
    assert not who.by_speaker and who.emails == [PROSPECT]
    assert who.note() == "meeting-level figures: no speaker named with an e-mail"


def test_silent_participants_are_left_out_or_given_the_meeting_figures() -> None:
    data = two_speaker_result()
    data["metadata"]["participants"].append({"name": "Sam", "email": "sam@buyer.example"})
    assert attribute(data, [], 200).left_out == ["sam@buyer.example"]
    assert attribute(data, [], 200, "meeting").emails == [PROSPECT, "sam@buyer.example"]


def test_a_person_view_takes_the_speakers_own_figures_and_keeps_the_meetings_others() -> None:
    data = two_speaker_result()
    view = ResultView.of(data, "")
    jane = speaker_for(data, PROSPECT)
    own = person_view(view, jane, DEFAULT_SPEAKER_FIELDS, [jane] if jane else [])
    assert (own.trust_score, own.valence, own.talk_share, own.figures) == (38.0, 0.31, 0.42, "speaker")
    assert own.dominant_emotion == view.dominant_emotion and own.speaker == "Jane Buyer"
    meeting = person_view(view, None)
    assert (meeting.trust_score, meeting.talk_share, meeting.figures) == (55.0, None, "meeting")


def test_the_activity_line_names_each_prospect_with_their_scores() -> None:
    line = speakers_line(prospect_speakers(two_speaker_result()))
    assert line == "Jane Buyer: Trust Score 38, V/A/D 0.31/0.72/0.40, talk 42%"


def test_speaker_fields_refuse_unknown_names_and_paths() -> None:
    assert speaker_fields(None) == DEFAULT_SPEAKER_FIELDS
    assert speaker_fields({"valence": {"from": "vad.valence"}}) == {"valence": "vad.valence"}
    with pytest.raises(ValueError):
        speaker_fields({"nope": {"from": "trust_score"}})
    with pytest.raises(ValueError):
        speaker_fields({"valence": {"from": "email"}})
