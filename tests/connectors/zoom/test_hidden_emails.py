"""Zoom withholds guests' e-mails (https://developers.zoom.us/changelog/platform/zoom-api-email-address-display-rules/):
the Zoom Source recovers them from the meeting's registrants and calendar invitees, and the job's metadata
says how each person was matched and why the others were not."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from connectors.zoom import client
from core.sdk import AuthError
from core.sdk.participants import participant_emails, unmatched_participants
from tests.connectors.zoom.conftest import ZoomHub
from tests.emulators.zoom import participant, registrant, signed

HOST = participant("Hannah Host", "host@example.com", 42, internal=True)


def _people(hub: ZoomHub, meeting: dict[str, object]) -> list[dict[str, Any]]:
    """What the worker stores as ``metadata.participants`` (the Source's lookup through core's token)."""
    rt = hub.runtime
    source: Any = rt.sources.source("zoom")
    spec = rt.connections.catalog.spec("zoom")
    info = {"meeting_uuid": meeting["uuid"], "meeting_id": str(meeting["id"])}
    found: list[dict[str, Any]] = rt.sources.with_token(
        hub.connection_id, lambda token, _: source.participants(rt.sources.session(token), spec, info)
    )
    return found


def _by_name(people: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {p["name"]: p for p in people}


def test_registrants_give_hidden_guests_their_email(zoom_hub: ZoomHub, meeting_mp4: Path) -> None:
    jane = registrant("Jane", "Buyer", "jane.buyer@buyer-corp.example")
    bob = registrant("Bob", "Stone", "bob@stone-ltd.example")
    joins = [
        HOST,
        participant(
            "Jane Buyer",
            "jane.buyer@buyer-corp.example",
            30,
            email_shown=False,
            registrant_id=str(jane["id"]),
        ),
        participant("bob stone", "bob@stone-ltd.example", 30, email_shown=False),  # no registrant id: by name
        participant("Mystery Guest", "who@else.example", 30, email_shown=False),
    ]
    meeting = zoom_hub.zoom.add_recording(meeting_mp4, participants=joins, registrants=[jane, bob])
    body = zoom_hub.zoom.recording_completed(meeting)
    assert zoom_hub.post_event(body, signed(body)).json() == {"status": "accepted"}
    [job] = zoom_hub.jobs()
    result = zoom_hub.backend.wait(job["job_id"], timeout=120)
    people = _by_name(result["metadata"]["participants"])
    assert people["Hannah Host"]["matched_by"] == "vendor"
    assert (people["Jane Buyer"]["email"], people["Jane Buyer"]["matched_by"]) == (
        "jane.buyer@buyer-corp.example",
        "registrant_id",
    )
    assert (people["bob stone"]["email"], people["bob stone"]["matched_by"]) == (
        "bob@stone-ltd.example",
        "registrant_name",
    )
    assert participant_emails(result) == [
        "host@example.com",
        "jane.buyer@buyer-corp.example",
        "bob@stone-ltd.example",
    ]  # what the CRM sinks match
    assert unmatched_participants(result) == [
        {"name": "Mystery Guest", "reason": "email_hidden", "domain_hints": []}
    ]
    assert zoom_hub.zoom.state.registrant_calls == 1


def test_calendar_invitees_match_guests_by_name(zoom_hub: ZoomHub, meeting_mp4: Path) -> None:
    joins = [
        HOST,
        participant("Carol King", "carol.king@client.example", 20, email_shown=False),
        participant("Frank Li (acme.example)", "frank@acme.example", 20, email_shown=False),
        participant("Sam Lee", "", 20, email_shown=False),
        participant("+1 415 555 0100", "", 20),
    ]
    invitees = ["carol.king@client.example", "slee@one.example", "sam.lee@two.example"]
    meeting = zoom_hub.zoom.add_recording(meeting_mp4, participants=joins, invitees=invitees)
    people = _by_name(_people(zoom_hub, meeting))
    assert (people["Carol King"]["email"], people["Carol King"]["matched_by"]) == (
        "carol.king@client.example",
        "invitee_name",
    )
    assert people["Sam Lee"]["unmatched_reason"] == "ambiguous_name"  # slee@ and sam.lee@ both fit
    assert people["Frank Li (acme.example)"]["domain_hints"] == ["acme.example"]
    assert people["Frank Li (acme.example)"]["unmatched_reason"] == "email_hidden"
    assert people["+1 415 555 0100"]["unmatched_reason"] == "dial_in"
    assert "lookups_failed" not in people["Carol King"]  # only those left unmatched carry it
    assert people["Sam Lee"]["lookups_failed"] == ["registrants: http_error"]  # registration is off
    assert zoom_hub.zoom.state.meeting_calls == 1


def test_nothing_more_is_asked_when_zoom_shows_every_email(zoom_hub: ZoomHub, meeting_mp4: Path) -> None:
    joins = [HOST, participant("Ann Lee", "ann@acme-buyer.example", 10)]
    meeting = zoom_hub.zoom.add_recording(meeting_mp4, participants=joins)
    people = _people(zoom_hub, meeting)
    assert [p["matched_by"] for p in people] == ["vendor", "vendor"]
    assert zoom_hub.zoom.state.registrant_calls == zoom_hub.zoom.state.meeting_calls == 0


def _without(hub: ZoomHub, scope: str) -> None:
    """The user authorised the app before ``scope`` was added to it: their tokens lack it."""
    for token in list(hub.zoom.state.scopes):
        hub.zoom.state.scopes[token] = hub.zoom.state.scopes[token] - {scope}


def test_a_registrants_scope_not_granted_is_named_and_the_invitees_still_count(
    zoom_hub: ZoomHub, meeting_mp4: Path
) -> None:
    jane = registrant("Jane", "Buyer", "jane.buyer@buyer-corp.example")
    joins = [
        HOST,
        participant(
            "Jane Buyer",
            "jane.buyer@buyer-corp.example",
            30,
            email_shown=False,
            registrant_id=str(jane["id"]),
        ),
        participant("Carol King", "carol.king@client.example", 20, email_shown=False),
    ]
    meeting = zoom_hub.zoom.add_recording(
        meeting_mp4, participants=joins, registrants=[jane], invitees=["carol.king@client.example"]
    )
    _without(zoom_hub, "meeting:read:list_registrants")
    people = _by_name(_people(zoom_hub, meeting))
    assert people["Jane Buyer"]["email"] is None
    assert people["Jane Buyer"]["lookups_failed"] == ["registrants: missing_scope"]
    assert people["Carol King"]["matched_by"] == "invitee_name"


def test_the_registrants_call_without_its_scope_is_an_auth_error(
    zoom_hub: ZoomHub, meeting_mp4: Path
) -> None:
    meeting = zoom_hub.zoom.add_recording(meeting_mp4, registrants=[])
    _without(zoom_hub, "meeting:read:list_registrants")
    rt = zoom_hub.runtime
    spec = rt.connections.catalog.spec("zoom")
    with pytest.raises(AuthError) as caught:
        rt.sources.with_token(
            zoom_hub.connection_id,
            lambda token, _: list(
                client.registrant_pages(rt.sources.session(token), spec, str(meeting["id"]), 300)
            ),
        )
    assert (caught.value.code, caught.value.status) == ("missing_scope", 400)
    assert "meeting:read:list_registrants" in str(caught.value)
