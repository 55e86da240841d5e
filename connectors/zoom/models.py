"""The Zoom webhook and API payloads we read (only the fields we read).

Shapes after https://developers.zoom.us/docs/api/rest/reference/zoom-api/events/#operation/recording.completed
and https://developers.zoom.us/docs/api/rest/reference/zoom-api/methods/#operation/recordingsList.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

__all__ = [
    "Envelope",
    "RecordingFile",
    "Recording",
    "RecordingList",
    "Deauthorization",
    "UrlValidation",
    "Participant",
    "ParticipantList",
    "ZoomUser",
    "ChatbotMessageSent",
    "Registrant",
    "RegistrantList",
    "MeetingDetails",
]


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class Envelope(_Model):
    """Every webhook body: ``{"event": ..., "event_ts": ..., "payload": {...}}``."""

    event: str
    event_ts: int = 0
    download_token: str | None = None
    payload: dict[str, Any] = Field(default_factory=dict)


class UrlValidation(_Model):
    """``endpoint.url_validation``'s payload."""

    plain_token: str = Field(alias="plainToken")


class RecordingFile(_Model):
    """One file of a cloud recording."""

    id: str = ""
    file_type: str = ""
    file_size: int | None = None
    download_url: str = ""
    status: str | None = None
    recording_type: str | None = None


class Recording(_Model):
    """A meeting's cloud recording (``payload.object`` of ``recording.completed``; an item of the list)."""

    uuid: str
    id: int | str = ""
    host_id: str = ""
    host_email: str | None = None
    topic: str = ""
    start_time: str | None = None
    duration: int = 0
    total_size: int | None = None
    recording_files: list[RecordingFile] = Field(default_factory=list)


class RecordingList(_Model):
    """``GET /users/me/recordings``: one page and the cursor of the next one ('' at the end)."""

    next_page_token: str = ""
    meetings: list[Recording] = Field(default_factory=list)


class Participant(_Model):
    """One join of a past meeting (a person who rejoined appears once per join).

    ``id`` is the Zoom user's id for a signed-in participant ('' for guests); ``user_id`` is valid for one
    join only; ``user_email`` is '' for guests unless Zoom's e-mail display rules apply
    (https://developers.zoom.us/changelog/platform/zoom-api-email-address-display-rules/);
    ``registrant_id`` is set when the meeting required registration."""

    id: str = ""
    name: str = ""
    user_id: str = ""
    registrant_id: str = ""
    user_email: str = ""
    join_time: str | None = None
    leave_time: str | None = None
    duration: int = 0  # seconds in the meeting during this join


class ParticipantList(_Model):
    """``GET /past_meetings/{meetingUUID}/participants``: one page and the next cursor ('' at the end).

    After https://developers.zoom.us/docs/api/meetings/#tag/meetings/GET/past_meetings/{meetingId}/participants
    """

    next_page_token: str = ""
    participants: list[Participant] = Field(default_factory=list)


class Registrant(_Model):
    """One approved registrant of a meeting (``GET /meetings/{meetingId}/registrants``)."""

    id: str = ""
    email: str = ""
    first_name: str = ""
    last_name: str = ""


class RegistrantList(_Model):
    """One page of a meeting's registrants and the next cursor ('' at the end).

    After https://developers.zoom.us/docs/api/meetings/#tag/meetings/GET/meetings/{meetingId}/registrants
    """

    next_page_token: str = ""
    registrants: list[Registrant] = Field(default_factory=list)


class Invitee(_Model):
    """A calendar invitee the host gave Zoom (``settings.meeting_invitees[]``)."""

    email: str = ""


class MeetingSettings(_Model):
    """The meeting settings we read."""

    meeting_invitees: list[Invitee] = Field(default_factory=list)


class MeetingDetails(_Model):
    """``GET /meetings/{meetingId}``: its invitees.

    After https://developers.zoom.us/docs/api/meetings/#tag/meetings/GET/meetings/{meetingId}"""

    id: int | str = ""
    settings: MeetingSettings = Field(default_factory=MeetingSettings)


class ZoomUser(_Model):
    """``GET /users/{userId}``: the fields the chatbot needs (``jid`` is the user's Team Chat address)."""

    id: str = ""
    email: str = ""
    jid: str = ""
    account_id: str = ""


class ChatbotMessageSent(_Model):
    """``POST /im/chat/messages``'s answer."""

    message_id: str = ""
    to_jid: str = ""


class Deauthorization(_Model):
    """``app_deauthorized``'s payload."""

    account_id: str
    user_id: str = ""
    client_id: str = ""
    deauthorization_time: str | None = None
    user_data_retention: bool = True

    @field_validator("user_data_retention", mode="before")
    @classmethod
    def _text_bool(cls, value: Any) -> Any:
        # Zoom sends the flag as the string "true"/"false"
        return value.strip().lower() != "false" if isinstance(value, str) else value
