"""Who said what in HubSpot: a two-person meeting writes the prospect's own figures to the prospect's contact
and its timeline event, never the rep's, and the events name the prospect (hubspot-api-client against the
emulator)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from connectors.hubspot import CONNECTOR
from core.delivery.session import GuardedSession
from core.registry import load_provider_spec
from core.sdk import Credentials, DeliveryReceipt, OutboundMessage, ProviderSpec
from tests.core.two_speaker_result import PROSPECT, REP, speaker, two_speaker_result
from tests.emulators.hubspot import DEAL_TEMPLATE_ID, HubSpotEmulator, hubspot_emulator

JANE_LINE = "Jane Buyer: Trust Score 38, V/A/D 0.31/0.72/0.40, talk 42%"


@pytest.fixture
def emulator() -> Iterator[HubSpotEmulator]:
    with hubspot_emulator() as emu:
        yield emu


def _spec(emu: HubSpotEmulator, **settings: Any) -> ProviderSpec:
    base = load_provider_spec("hubspot")
    merged = {
        **base.settings,
        "event_template_id": "1001298",
        "deal_event_template_id": DEAL_TEMPLATE_ID,
        "result_url": "https://app.test/results/{job_id}",
        **settings,
    }
    return base.model_copy(update={"api_base_url": emu.base, "settings": merged})


def _session(emu: HubSpotEmulator) -> GuardedSession:
    token = emu.mint(with_refresh=False)[0]
    return GuardedSession(Credentials(access_token=token), allow_private=True, timeout=10)


def _message(data: dict[str, Any], msg_id: str = "msg_1") -> OutboundMessage:
    return OutboundMessage(msg_id, "analysis.completed", datetime.now(UTC), "hubspot", {"data": data})


def _echodepth(props: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in props.items() if k.startswith("echodepth_")}


def test_the_prospects_contact_and_event_get_the_prospects_own_score_and_the_reps_is_untouched(
    emulator: HubSpotEmulator,
) -> None:
    rep, jane = emulator.add("contacts", email=REP), emulator.add("contacts", email=PROSPECT)
    deal = emulator.add("deals", dealname="Buyer Corp", hs_is_closed="false")
    emulator.associations.add((jane, deal))
    receipt = CONNECTOR.deliver(_session(emulator), _spec(emulator), _message(two_speaker_result()))
    props = emulator.objects["contacts"][jane]
    assert props["echodepth_trust_score"] == "38.0" and props["echodepth_valence"] == "0.31"
    assert props["echodepth_talk_share"] == "0.42" and props["echodepth_figures"] == "speaker"
    assert _echodepth(emulator.objects["contacts"][rep]) == {}
    assert emulator.objects["deals"][deal]["echodepth_trust_score"] == "55.0"  # the call's
    [contact_event] = emulator.events_on("contacts")
    assert contact_event["objectId"] == jane and contact_event["tokens"]["trust_score"] == "38.0"
    assert contact_event["tokens"]["speakers"] == JANE_LINE
    [deal_event] = emulator.events_on("deals")
    assert deal_event["tokens"]["trust_score"] == "55.0" and deal_event["tokens"]["speakers"] == JANE_LINE
    assert receipt.detail.endswith("own figures for 1 prospect speaker(s), 1 internal speaker(s) not written")


def test_without_named_speakers_the_contact_gets_the_meeting_figures_and_the_receipt_says_so(
    emulator: HubSpotEmulator,
) -> None:
    data = two_speaker_result()
    data["speakers"] = [
        speaker("S1", None, None, None, 81.0, 0.58),
        speaker("S2", None, None, None, 38.0, 0.42),
    ]
    jane = emulator.add("contacts", email=PROSPECT)
    receipt = CONNECTOR.deliver(
        _session(emulator), _spec(emulator, skip_domains=["ourco.example"]), _message(data)
    )
    props = emulator.objects["contacts"][jane]
    assert props["echodepth_trust_score"] == "55.0" and props["echodepth_figures"] == "meeting"
    assert "echodepth_talk_share" not in props
    [event] = emulator.events_on("contacts")
    assert "speakers" not in event["tokens"]
    assert receipt.detail.endswith("; meeting-level figures: no speaker named with an e-mail")


def test_app_events_carry_each_contacts_own_figures(emulator: HubSpotEmulator) -> None:
    emulator.app_event_types["pe1_echodepth_call"] = "contacts"
    jane = emulator.add("contacts", email=PROSPECT)
    mapping = {"app_events": {"contacts": "pe1_echodepth_call", "deals": ""}}
    CONNECTOR.deliver(_session(emulator), _spec(emulator, mapping=mapping), _message(two_speaker_result()))
    [event] = emulator.events_on("contacts")
    assert event["objectId"] == jane and event["properties"]["trust_score"] == "38.0"
    assert event["properties"]["speakers"] == JANE_LINE


def test_a_batch_of_two_person_meetings_costs_the_same_calls_and_writes_each_prospect_once(
    emulator: HubSpotEmulator,
) -> None:
    rep = emulator.add("contacts", email=REP)
    prospects, messages = [], []
    for i in range(100):
        data = two_speaker_result(job_id=f"job-{i}", completed_at=f"2026-11-24T10:{i % 60:02d}:00Z")
        email = f"buyer{i}@customer{i}.example"
        data["speakers"][1]["email"] = email
        data["speakers"][1]["trust_score"] = float(i)
        prospects.append(emulator.add("contacts", email=email))
        messages.append(_message(data, f"msg_{i}"))
    outcomes = CONNECTOR.deliver_batch(_session(emulator), _spec(emulator), messages)
    assert all(isinstance(o, DeliveryReceipt) for o in outcomes)
    field_sync = [c for c in emulator.api_calls if "/timeline/" not in c]
    assert len(field_sync) / len(messages) <= 0.05
    assert [emulator.objects["contacts"][p]["echodepth_trust_score"] for p in prospects[:3]] == [
        "0.0",
        "1.0",
        "2.0",
    ]
    assert _echodepth(emulator.objects["contacts"][rep]) == {}
    events = emulator.events_on("contacts")
    assert len(events) == 100 and {e["objectId"] for e in events} == set(prospects)
    by_contact = {e["objectId"]: e["tokens"]["trust_score"] for e in events}
    assert by_contact[prospects[5]] == "5.0"  # each event its own prospect's score
