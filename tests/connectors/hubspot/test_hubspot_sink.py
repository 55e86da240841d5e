"""The HubSpot Sink driven through hubspot-api-client against the HubSpot emulator."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from connectors.hubspot import CONNECTOR
from core.delivery.session import GuardedSession
from core.registry import load_provider_spec
from core.sdk import AuthError, Credentials, OutboundMessage, ProviderSpec, TransientError
from tests.emulators.hubspot import APP_ID, DEVELOPER_API_KEY, HubSpotEmulator, hubspot_emulator


@pytest.fixture
def emulator() -> Iterator[HubSpotEmulator]:
    with hubspot_emulator() as emu:
        yield emu


def _spec(emu: HubSpotEmulator, **settings: Any) -> ProviderSpec:
    base = load_provider_spec("hubspot")
    merged = {
        **base.settings,
        "event_template_id": "1001298",
        "result_url": "https://app.test/results/{job_id}",
        "skip_domains": ["ourco.io"],
        **settings,
    }
    return base.model_copy(update={"api_base_url": emu.base, "settings": merged})


def _session(emu: HubSpotEmulator) -> GuardedSession:
    return GuardedSession(
        Credentials(access_token=emu.mint(with_refresh=False)[0]), allow_private=True, timeout=5
    )


def _message(emails: list[str], deal: str | None = None, msg_id: str = "msg_1") -> OutboundMessage:
    crm: dict[str, Any] = {"emails": emails} | ({"deal_id": deal} if deal else {})
    data = {
        "job_id": "job-7",
        "modality": "audio",
        "trust_score": 63.456,
        "vad": {"valence": 0.61234, "arousal": 0.5, "dominance": 0.45},
        "emotions": {"joy": 0.7, "fear": 0.1},
        "credibility": [0.9, 0.2, 0.3, 0.8],
        "completed_at": "2026-11-24T10:00:00Z",
        "metadata": {"crm": crm},
    }
    return OutboundMessage(msg_id, "analysis.completed", datetime.now(UTC), "hubspot", {"data": data})


def test_sets_mapped_contact_and_deal_properties(emulator: HubSpotEmulator) -> None:
    ana = emulator.add("contacts", email="ana@acme.io")
    deal = emulator.add("deals", dealname="Acme renewal")
    CONNECTOR.deliver(_session(emulator), _spec(emulator), _message(["Ana@Acme.io"], deal=deal))
    props = emulator.objects["contacts"][ana]
    assert props["echodepth_trust_score"] == "63.5"
    assert props["echodepth_valence"] == "0.612"
    assert props["echodepth_dominant_emotion"] == "joy"
    assert props["echodepth_low_credibility_seconds"] == "2"
    assert props["echodepth_result_url"] == "https://app.test/results/job-7"
    assert emulator.objects["deals"][deal]["echodepth_trust_score"] == "63.5"


def test_one_timeline_event_per_analysis_even_when_redelivered(emulator: HubSpotEmulator) -> None:
    ana = emulator.add("contacts", email="ana@acme.io")
    session, spec = _session(emulator), _spec(emulator)
    for _ in range(3):
        CONNECTOR.deliver(session, spec, _message(["ana@acme.io"]))
    [event] = emulator.timeline.values()
    assert event["objectId"] == ana and event["eventTemplateId"] == "1001298"
    assert event["tokens"]["trust_score"] == "63.456"
    CONNECTOR.deliver(session, spec, _message(["ana@acme.io"], msg_id="msg_2"))
    assert len(emulator.timeline) == 2


def test_consumer_and_own_domains_are_not_matched(emulator: HubSpotEmulator) -> None:
    emulator.add("contacts", email="joe@gmail.com")
    emulator.add("contacts", email="me@ourco.io")
    receipt = CONNECTOR.deliver(
        _session(emulator), _spec(emulator), _message(["joe@gmail.com", "me@ourco.io"])
    )
    assert "0 of 0" in receipt.detail
    assert not any("search" in c for c in emulator.api_calls)
    assert emulator.timeline == {}


def test_overrides_replace_the_default_mapping(emulator: HubSpotEmulator) -> None:
    ana = emulator.add("contacts", email="ana@acme.io")
    override = {"contacts": {"echodepth_trust_score": {"from": "trust_score", "type": "number", "round": 0}}}
    CONNECTOR.deliver(_session(emulator), _spec(emulator, mapping=override), _message(["ana@acme.io"]))
    assert emulator.objects["contacts"][ana]["echodepth_trust_score"] == "63"
    assert emulator.objects["contacts"][ana]["echodepth_valence"] == "0.612"  # untouched keys keep defaults


def test_rate_limit_is_a_transient_error_with_the_window_as_retry_after(
    emulator: HubSpotEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("connectors.hubspot.batch.RATE_LIMIT_PATIENCE", 0.0)  # no waiting in place
    emulator.add("contacts", email="ana@acme.io")
    emulator.api_throttle_next = 1
    with pytest.raises(TransientError) as caught:
        CONNECTOR.deliver(_session(emulator), _spec(emulator), _message(["ana@acme.io"]))
    assert caught.value.status == 429 and caught.value.retry_after == 10


def test_an_expired_token_is_an_auth_error(emulator: HubSpotEmulator) -> None:
    emulator.add("contacts", email="ana@acme.io")
    session = _session(emulator)
    emulator.expire_access()
    with pytest.raises(AuthError):
        CONNECTOR.deliver(session, _spec(emulator), _message(["ana@acme.io"]))


def test_setup_creates_the_missing_properties_and_their_group(emulator: HubSpotEmulator) -> None:
    spec = _spec(emulator, event_template_id="")
    checked = CONNECTOR.setup(_session(emulator), spec, create=False)
    assert "contacts.echodepth_trust_score (number)" in checked["missing"]
    assert "echodepth_trust_score" not in emulator.properties["contacts"]
    report = CONNECTOR.setup(_session(emulator), spec)
    assert (
        "contacts.echodepth_trust_score" in report["created"]
        and "deals.echodepth_result_url" in report["created"]
    )
    assert emulator.groups["contacts"]["echodepth"]["label"] == "EchoDepth"
    emotion = emulator.properties["contacts"]["echodepth_dominant_emotion"]
    assert emotion["type"] == "enumeration" and emotion["fieldType"] == "select"
    assert {"label": "fear", "value": "fear", "hidden": False, "displayOrder": 7} in emotion["options"]
    assert "event-templates" in report["manual"][0]
    again = CONNECTOR.setup(_session(emulator), spec)
    assert again["created"] == [] and again["missing"] == []


def test_the_contacts_open_deals_are_found_through_associations(emulator: HubSpotEmulator) -> None:
    ana = emulator.add("contacts", email="ana@acme.io")
    open_deal = emulator.add("deals", dealname="Renewal", hs_is_closed="false")
    won = emulator.add("deals", dealname="Last year", hs_is_closed="true")
    emulator.associations |= {(ana, open_deal), (ana, won)}
    CONNECTOR.deliver(_session(emulator), _spec(emulator), _message(["ana@acme.io"]))
    assert emulator.objects["deals"][open_deal]["echodepth_trust_score"] == "63.5"
    assert "echodepth_trust_score" not in emulator.objects["deals"][won]


def test_unmatched_participants_get_no_contact_by_default(emulator: HubSpotEmulator) -> None:
    receipt = CONNECTOR.deliver(_session(emulator), _spec(emulator), _message(["dana.scully@initech.com"]))
    assert (
        receipt.detail
        == "0 of 1 participants matched; meeting-level figures: no speaker named with an e-mail"
        and emulator.objects["contacts"] == {}
    )


def test_create_unmatched_makes_one_contact_and_a_replay_makes_none(emulator: HubSpotEmulator) -> None:
    spec, session = _spec(emulator, create_unmatched=True), _session(emulator)
    emails = ["dana.scully@initech.com", "joe@gmail.com", "me@ourco.io"]
    for msg_id in ("msg_1", "msg_1", "msg_replayed"):
        receipt = CONNECTOR.deliver(session, spec, _message(emails, msg_id=msg_id))
        assert (
            receipt.detail
            == "1 of 1 participants matched; meeting-level figures: no speaker named with an e-mail"
        )
    [(contact_id, contact)] = emulator.objects["contacts"].items()
    assert contact["email"] == "dana.scully@initech.com"
    assert (contact["firstname"], contact["lastname"], contact["company"]) == ("Dana", "Scully", "Initech")
    assert contact["echodepth_trust_score"] == "63.5"
    assert emulator.api_calls.count("POST /crm/v3/objects/contacts/batch/create") == 1
    assert {e["objectId"] for e in emulator.timeline.values()} == {contact_id}


def test_a_contact_created_concurrently_is_found_after_the_conflict(emulator: HubSpotEmulator) -> None:
    emulator.after_next_search = {"contacts": {"email": "dana.scully@initech.com"}}
    spec = _spec(emulator, create_unmatched=True)
    receipt = CONNECTOR.deliver(_session(emulator), spec, _message(["dana.scully@initech.com"]))
    assert (
        receipt.detail
        == "1 of 1 participants matched; meeting-level figures: no speaker named with an e-mail"
    )
    [contact] = emulator.objects["contacts"].values()
    assert contact["echodepth_trust_score"] == "63.5"


def _app_session(emu: HubSpotEmulator, key: str = DEVELOPER_API_KEY) -> GuardedSession:
    """A session that also carries the app's id and developer API key, as core hands them to setup."""
    extra = {"app_id": str(APP_ID), "developer_api_key": key}
    creds = Credentials(access_token=emu.mint(with_refresh=False)[0], extra=extra)
    return GuardedSession(creds, allow_private=True, timeout=5)


def test_setup_creates_both_legacy_templates_once_with_the_developer_key(emulator: HubSpotEmulator) -> None:
    """An app that already has v3 timeline events: a contact and a deal template, each made once."""
    spec = _spec(emulator, event_template_id="", deal_event_template_id="")
    checked = CONNECTOR.setup(_app_session(emulator), spec, create=False)
    assert (
        f"timeline event template (deals) of app {APP_ID}" in checked["missing"] and emulator.templates == {}
    )
    report = CONNECTOR.setup(_app_session(emulator), spec)
    made = {t["objectType"]: i for i, t in emulator.templates.items()}
    assert set(made) == {"contacts", "deals"} and report["manual"] == []
    assert sorted(report["settings"]) == [
        f"deal_event_template_id={made['deals']}",
        f"event_template_id={made['contacts']}",
    ]
    types = {t["name"]: t["type"] for t in emulator.templates[made["contacts"]]["tokens"]}
    assert types["trust_score"] == "number" and types["link"] == "string"
    # the stored ids were lost (or setup runs for a second portal of the same app): the templates are reused
    again = CONNECTOR.setup(_app_session(emulator), spec)
    assert sorted(again["settings"]) == sorted(report["settings"]) and again["created"] == []
    assert len(emulator.templates) == 2
    stored = _spec(emulator, event_template_id=made["contacts"], deal_event_template_id=made["deals"])
    done = CONNECTOR.setup(_app_session(emulator), stored)
    assert "settings" not in done and f"timeline event template {made['deals']}" in done["present"]


def test_a_new_app_is_told_to_use_app_events(emulator: HubSpotEmulator) -> None:
    """HubSpot refuses the v3 template API to an app without v1/v3 timeline events: setup says what to do."""
    emulator.legacy_timeline_app = False
    report = CONNECTOR.setup(_app_session(emulator), _spec(emulator, event_template_id=""))
    [manual] = report["manual"]
    assert "app events" in manual and '"app_events"' in manual and "settings" not in report
    assert emulator.templates == {}


def test_setup_without_the_developer_key_prints_the_template_request(emulator: HubSpotEmulator) -> None:
    report = CONNECTOR.setup(_session(emulator), _spec(emulator, event_template_id=""))
    [manual] = report["manual"]
    assert "ECHODEPTH_HUBSPOT_DEVELOPER_API_KEY" in manual and "/event-templates" in manual
    assert "app events" in manual and '"objectType": "deals"' in manual
    assert '"type": "number"' in manual and emulator.templates == {} and "settings" not in report


def test_a_wrong_developer_key_is_reported_for_the_admin(emulator: HubSpotEmulator) -> None:
    report = CONNECTOR.setup(_app_session(emulator, key="wrong"), _spec(emulator, event_template_id=""))
    assert "ECHODEPTH_HUBSPOT_DEVELOPER_API_KEY" in report["manual"][0] and "settings" not in report
    assert emulator.templates == {} and emulator.state.refresh_calls == 0
