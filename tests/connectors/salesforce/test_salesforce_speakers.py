"""Who said what in Salesforce: a two-person meeting writes the prospect's own figures to the prospect's
record, never the rep's, and the call's Task names the prospect (simple-salesforce against the emulator)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from connectors.salesforce import CONNECTOR
from core.delivery.session import GuardedSession
from core.registry import load_provider_spec
from core.sdk import ConfigError, Credentials, DeliveryReceipt, OutboundMessage, ProviderSpec
from tests.core.two_speaker_result import PROSPECT, REP, speaker, two_speaker_result
from tests.emulators.salesforce import SalesforceEmulator, salesforce_emulator

ECHODEPTH_PREFIX = "EchoDepth_"


@pytest.fixture
def emulator() -> Iterator[SalesforceEmulator]:
    with salesforce_emulator() as emu:
        yield emu


def _spec(**settings: Any) -> ProviderSpec:
    base = load_provider_spec("salesforce")
    merged = {**base.settings, "result_url": "https://app.test/results/{job_id}", **settings}
    return base.model_copy(update={"settings": merged})


def _session(emu: SalesforceEmulator) -> GuardedSession:
    token = emu.mint(with_refresh=False)[0]
    creds = Credentials(access_token=token, extra={"instance_url": f"{emu.base}/instance"})
    return GuardedSession(creds, allow_private=True, timeout=10)


def _message(data: dict[str, Any], msg_id: str = "msg_1") -> OutboundMessage:
    return OutboundMessage(msg_id, "analysis.completed", datetime.now(UTC), "salesforce", {"data": data})


def _echodepth(fields: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in fields.items() if k.startswith(ECHODEPTH_PREFIX)}


def test_the_prospects_contact_gets_the_prospects_own_score_and_the_reps_is_untouched(
    emulator: SalesforceEmulator,
) -> None:
    rep = emulator.add("Contact", Email=REP, LastName="Rep")
    jane = emulator.add("Contact", Email=PROSPECT, LastName="Buyer")
    opp = emulator.add("Opportunity", Name="Buyer Corp", IsClosed=False)
    emulator.add("OpportunityContactRole", ContactId=jane, OpportunityId=opp, CreatedDate="2026-01-01")
    receipt = CONNECTOR.deliver(_session(emulator), _spec(), _message(two_speaker_result()))
    fields = emulator.records["Contact"][jane]
    assert fields["EchoDepth_Trust_Score__c"] == 38.0  # hers, not the meeting's 55 or the rep's 81
    assert (fields["EchoDepth_Valence__c"], fields["EchoDepth_Arousal__c"]) == (0.31, 0.72)
    assert fields["EchoDepth_Talk_Share__c"] == 0.42 and fields["EchoDepth_Figures__c"] == "speaker"
    assert fields["EchoDepth_Dominant_Emotion__c"] == "neutral"  # not per speaker: the meeting's
    assert _echodepth(emulator.records["Contact"][rep]) == {}
    opportunity = emulator.records["Opportunity"][opp]
    assert opportunity["EchoDepth_Trust_Score__c"] == 55.0  # the call's figures on the deal
    [task] = emulator.records["Task"].values()
    assert task["WhoId"] == jane and task["WhatId"] == opp
    assert task["Subject"] == "EchoDepth call analysis: Jane Buyer Trust Score 38"
    assert (
        "Prospect speakers: Jane Buyer: Trust Score 38, V/A/D 0.31/0.72/0.40, talk 42%"
        in (task["Description"])
    )
    assert "Alex Rep" not in task["Description"]
    assert receipt.detail == (
        "1 of 1 participants matched; "
        "own figures for 1 prospect speaker(s), 1 internal speaker(s) not written"
    )


def test_without_named_speakers_every_participant_gets_the_meeting_figures(
    emulator: SalesforceEmulator,
) -> None:
    data = two_speaker_result()
    data["speakers"] = [
        speaker("S1", None, None, None, 81.0, 0.58),
        speaker("S2", None, None, None, 38.0, 0.42),
    ]
    jane = emulator.add("Contact", Email=PROSPECT)
    receipt = CONNECTOR.deliver(_session(emulator), _spec(skip_domains=["ourco.example"]), _message(data))
    fields = emulator.records["Contact"][jane]
    assert fields["EchoDepth_Trust_Score__c"] == 55.0 and fields["EchoDepth_Figures__c"] == "meeting"
    assert "EchoDepth_Talk_Share__c" not in fields  # no person's talk share to write
    [task] = emulator.records["Task"].values()
    assert task["Subject"] == "EchoDepth call analysis: Trust Score 55"
    assert "meeting-level figures: no speaker named with an e-mail" in task["Description"]
    assert receipt.detail.endswith("; meeting-level figures: no speaker named with an e-mail")


def test_a_silent_participant_is_left_out_unless_the_connection_asks_for_meeting_figures(
    emulator: SalesforceEmulator,
) -> None:
    data = two_speaker_result()
    data["metadata"]["participants"].append({"name": "Sam Silent", "email": "sam@buyer.example"})
    jane, sam = emulator.add("Contact", Email=PROSPECT), emulator.add("Contact", Email="sam@buyer.example")
    receipt = CONNECTOR.deliver(_session(emulator), _spec(), _message(data))
    assert _echodepth(emulator.records["Contact"][sam]) == {}
    assert "1 participant(s) without a voice of their own left out" in receipt.detail
    CONNECTOR.deliver(_session(emulator), _spec(unattributed="meeting"), _message(data, "msg_2"))
    assert emulator.records["Contact"][sam]["EchoDepth_Trust_Score__c"] == 55.0
    assert emulator.records["Contact"][sam]["EchoDepth_Figures__c"] == "meeting"
    assert emulator.records["Contact"][jane]["EchoDepth_Trust_Score__c"] == 38.0


def test_the_jobs_own_domains_keep_a_rep_off_crm_records_even_with_no_internal_flag(
    emulator: SalesforceEmulator,
) -> None:
    data = two_speaker_result()
    data["speakers"][0]["internal"] = None  # e.g. a result stored before own domains were configured
    data["metadata"]["own_domains"] = ["ourco.example"]
    rep = emulator.add("Contact", Email=REP)
    CONNECTOR.deliver(_session(emulator), _spec(), _message(data))
    assert _echodepth(emulator.records["Contact"][rep]) == {}


def test_one_person_split_over_two_voices_gets_one_talk_weighted_figure(emulator: SalesforceEmulator) -> None:
    data = two_speaker_result()
    data["speakers"].append(speaker("S3", "Jane Buyer", PROSPECT, False, 58.0, 0.2))
    jane = emulator.add("Contact", Email=PROSPECT)
    CONNECTOR.deliver(_session(emulator), _spec(), _message(data))
    fields = emulator.records["Contact"][jane]
    assert fields["EchoDepth_Talk_Share__c"] == 0.62
    assert fields["EchoDepth_Trust_Score__c"] == pytest.approx((38 * 0.42 + 58 * 0.2) / 0.62, abs=0.1)


def test_speaker_fields_of_the_mapping_decide_what_a_speaker_replaces(emulator: SalesforceEmulator) -> None:
    jane = emulator.add("Contact", Email=PROSPECT)
    only_trust = {"speaker_fields": {"valence": {"from": "trust_score"}}}  # a key-by-key override
    with pytest.raises(ConfigError):
        CONNECTOR.deliver(
            _session(emulator),
            _spec(mapping={"speaker_fields": {"nope": {"from": "x"}}}),
            _message(two_speaker_result()),
        )
    CONNECTOR.deliver(_session(emulator), _spec(mapping=only_trust), _message(two_speaker_result()))
    assert emulator.records["Contact"][jane]["EchoDepth_Valence__c"] == 38.0


def test_a_batch_of_two_person_meetings_costs_the_same_calls_and_writes_each_prospect_once(
    emulator: SalesforceEmulator,
) -> None:
    reps, prospects, messages = [], [], []
    for i in range(100):
        data = two_speaker_result(job_id=f"job-{i}")
        prospect = f"buyer{i}@customer{i}.example"
        data["speakers"][1]["email"] = prospect
        data["speakers"][1]["trust_score"] = float(i)
        data["metadata"]["participants"][1]["email"] = prospect
        prospects.append(emulator.add("Contact", Email=prospect))
        messages.append(_message(data, f"msg_{i}"))
    reps.append(emulator.add("Contact", Email=REP))
    outcomes = CONNECTOR.deliver_batch(_session(emulator), _spec(), messages)
    assert all(isinstance(o, DeliveryReceipt) for o in outcomes)
    assert dict(emulator.kinds) == {
        "query Contact": 1,
        "query OpportunityContactRole": 1,
        "PATCH composite/sobjects": 1,
        "query Task": 1,
        "PATCH composite/sobjects/Task/EchoDepth_Key__c": 1,
    }
    assert sum(emulator.kinds.values()) / len(messages) <= 0.05
    assert [emulator.records["Contact"][p]["EchoDepth_Trust_Score__c"] for p in prospects[:3]] == [
        0.0,
        1.0,
        2.0,
    ]
    assert _echodepth(emulator.records["Contact"][reps[0]]) == {}
    tasks = emulator.records["Task"].values()
    assert {t["WhoId"] for t in tasks} == set(prospects)
    assert all(t["Subject"].startswith("EchoDepth call analysis: Jane Buyer Trust Score") for t in tasks)
