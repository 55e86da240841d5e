"""Participants of a recorded Zoom meeting: every page of past participants lands in the job's metadata,
where CRM sinks read the e-mails they match."""

from __future__ import annotations

from pathlib import Path

import pytest

from connectors.zoom.client import meeting_path
from core.sdk.participants import participant_emails
from core.sources.service import PARTICIPANTS
from tests.connectors.zoom.conftest import ZoomHub
from tests.emulators.zoom import participant, signed


def _analysed(hub: ZoomHub, meeting: dict[str, object]) -> dict[str, object]:
    body = hub.zoom.recording_completed(meeting)
    assert hub.post_event(body, signed(body)).json() == {"status": "accepted"}
    [job] = hub.jobs()
    result = hub.backend.wait(job["job_id"], timeout=120)
    assert result["status"] == "completed", result
    return result


@pytest.mark.parametrize(
    ("uuid", "encoded"),
    [("4444AAAiAAAAAiAiAiiAii==", "4444AAAiAAAAAiAiAiiAii%3D%3D"), ("/ajXp112QmuoKj4854875==", "%252FajXp")],
)
def test_meeting_uuids_are_double_encoded_only_when_zoom_requires_it(uuid: str, encoded: str) -> None:
    assert meeting_path(uuid).startswith(encoded)
    assert meeting_path("abc//def") == "abc%252F%252Fdef"


def test_every_page_of_participants_is_stored_once_per_person(zoom_hub: ZoomHub, meeting_mp4: Path) -> None:
    zoom_hub.zoom.state.max_participant_page_size = 2
    joins = [
        participant("Hannah Host", "host@example.com", 42),
        participant("Ann Lee", "ann@acme-buyer.example", 5, "10:00", "10:05"),
        participant("Bo Chen", "BO@acme-buyer.example", 40),
        participant("Ann Lee", "ann@acme-buyer.example", 20, "10:20", "10:40"),
        participant("Cy Dial-in", "", 10),
    ]
    # starts with "/" and contains "//": Zoom finds it only when double-encoded
    meeting = zoom_hub.zoom.add_recording(meeting_mp4, uuid="/kL//q9Xw+T2aaQ==", participants=joins)
    result = _analysed(zoom_hub, meeting)
    people = result["metadata"]["participants"]  # type: ignore[index]
    assert zoom_hub.zoom.state.participant_calls == 3  # 5 joins, 2 per page: the cursor was followed
    assert all("%252F%252F" in p for p in zoom_hub.zoom.state.participant_paths)
    assert [p["name"] for p in people] == ["Hannah Host", "Ann Lee", "Bo Chen", "Cy Dial-in"]
    ann = people[1]
    assert ann["duration_seconds"] == 25 * 60  # the two joins merged
    assert (ann["join_time"], ann["leave_time"]) == ("2026-11-24T10:00:00Z", "2026-11-24T10:40:00Z")
    assert participant_emails(result) == [
        "host@example.com",
        "ann@acme-buyer.example",
        "bo@acme-buyer.example",
    ]


def test_a_meeting_zoom_has_no_participants_for_is_still_analysed(
    zoom_hub: ZoomHub, meeting_mp4: Path
) -> None:
    before = PARTICIPANTS.labels("zoom", "not_found")._value.get()
    meeting = zoom_hub.zoom.add_recording(meeting_mp4)
    del zoom_hub.zoom.state.participants[str(meeting["uuid"])]  # Zoom: 404 {"code": 3001}
    result = _analysed(zoom_hub, meeting)
    assert "participants" not in result["metadata"]  # type: ignore[operator]
    assert PARTICIPANTS.labels("zoom", "not_found")._value.get() == before + 1
