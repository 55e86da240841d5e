"""The Zoom Source: ``recording.completed`` → the file to analyse (MP4, else M4A) and its transcript; the
meeting's participants for CRM matching; the owner summary as a Team Chat chatbot message to the host."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal, TypeVar

from pydantic import ValidationError

from connectors.zoom import client, webhooks
from connectors.zoom.models import Deauthorization, Participant, Recording
from connectors.zoom.settings import ZoomSettings
from core.sdk import (
    ConnectorError,
    DeliveryReceipt,
    HookReply,
    HttpSession,
    MediaItem,
    OwnerSummary,
    PermanentError,
    ProviderSpec,
    SkipItem,
    SourceEvent,
)
from core.sdk.participants import Registrant, fill_emails

__all__ = ["ZoomSource", "recording_event", "chatbot_message"]

_KINDS = {"MP4": "video", "M4A": "audio", "TRANSCRIPT": "transcript"}
T = TypeVar("T")


def _meeting(recording: Recording, account_id: str) -> dict[str, Any]:
    return {
        "provider": "zoom",
        "account_id": account_id,
        "meeting_uuid": recording.uuid,
        "meeting_id": str(recording.id),
        "topic": recording.topic,
        "host_id": recording.host_id,
        "host_email": recording.host_email,
        "start_time": recording.start_time,
        "duration_minutes": recording.duration,
    }


def _person(p: Participant) -> dict[str, Any]:
    return {
        "name": p.name,
        "email": p.user_email.strip().lower() or None,
        "user_id": p.user_id or None,
        "registrant_id": p.registrant_id or None,
        "join_time": p.join_time,
        "leave_time": p.leave_time,
        "duration_seconds": p.duration,
    }


def _merge(people: dict[str, dict[str, Any]], p: Participant) -> None:
    """One entry per person: Zoom lists a participant once per join (``user_id`` is new for each join, so
    a person is their e-mail, else their Zoom user id, else their registrant id, else their name)."""
    key = p.user_email.strip().lower() or p.id or p.registrant_id or p.name.strip().lower()
    found = people.get(key)
    if found is None:
        people[key] = _person(p)
        return
    found["duration_seconds"] += p.duration
    found["join_time"] = min(filter(None, [found["join_time"], p.join_time]), default=None)
    found["leave_time"] = max(filter(None, [found["leave_time"], p.leave_time]), default=None)


def chatbot_message(robot_jid: str, to_jid: str, account_id: str, summary: OwnerSummary) -> dict[str, Any]:
    """The ``POST /im/chat/messages`` body: a message card with the summary and a link to the result.

    Fields after https://developers.zoom.us/docs/chat/send-edit-and-delete-messages/; ``user_jid`` (required
    for user-managed apps) is the host, who authorised the app whose recordings we read."""
    head = f"EchoDepth analysis: {summary.topic or 'your meeting'}"
    return {
        "robot_jid": robot_jid,
        "to_jid": to_jid,
        "user_jid": to_jid,
        "account_id": account_id,
        "content": {
            "head": {"text": head[:128]},
            "body": [
                {"type": "message", "text": summary.text},
                {"type": "message", "text": "Open the full analysis", "link": summary.result_url},
            ],
        },
    }


def recording_event(recording: Recording, account_id: str, event_type: str) -> SourceEvent | None:
    """The SourceEvent of one recording (None when it has no MP4 or M4A file yet)."""
    media, transcript = webhooks.choose_files(recording)
    if media is None:
        return None
    items = [
        MediaItem(
            external_id=f"{recording.uuid}:{f.id}",
            download_url=f.download_url,
            kind=_KINDS[f.file_type.upper()],
            size=f.file_size,
            metadata={"file_id": f.id, "file_type": f.file_type.upper()},
        )
        for f in (media, transcript)
        if f is not None
    ]
    # Zoom repeats the same meeting UUID and file id on every retry of a delivery: the job's identity
    return SourceEvent(
        id=f"{recording.uuid}:{media.id}",
        type=event_type,
        account_id=account_id,
        items=tuple(items),
        metadata=_meeting(recording, account_id),
    )


def _lookup(failed: list[str], what: str, fetch: Callable[[], list[T]]) -> list[T]:
    """``fetch()``, or [] with ``what: <code>`` noted in ``failed`` when Zoom refuses it."""
    try:
        return fetch()
    except ConnectorError as exc:
        failed.append(f"{what}: {exc.code}")
        return []


class ZoomSource:
    """Zoom cloud recordings (Marketplace OAuth app, webhook ``recording.completed``)."""

    key = "zoom"
    kind: Literal["source"] = "source"
    display_name = "Zoom"
    settings_model = ZoomSettings

    def verify(self, headers: Mapping[str, str], body: bytes, secret: str) -> bool:
        """Zoom's ``x-zm-signature`` over the raw body, timestamp within 5 minutes."""
        return webhooks.verify(headers, body, secret)

    def handshake(
        self, query: Mapping[str, str], headers: Mapping[str, str], body: bytes, secret: str
    ) -> HookReply | None:
        """The signed ``endpoint.url_validation``'s answer (Zoom re-validates every 72 h).

        Only for a signed request: the answer is an HMAC under the same secret as event signatures, so
        answering any caller would let them sign ``"v0:{ts}:{body}"`` of their choosing."""
        if not webhooks.verify(headers, body, secret):
            return None
        answer = webhooks.url_validation(body, secret)
        return None if answer is None else HookReply(200, json.dumps(answer).encode())

    def event(self, headers: Mapping[str, str], body: bytes) -> SourceEvent | None:
        """``recording.completed`` and ``app_deauthorized``; None for any other event."""
        found = webhooks.envelope(body)
        if found is None:
            return None
        try:
            if found.event == "recording.completed":
                return self._recording(found.payload, found.download_token)
            if found.event == "app_deauthorized":
                gone = Deauthorization.model_validate(found.payload)
                return SourceEvent(
                    id=f"deauthorized:{gone.account_id}:{gone.user_id}:{found.event_ts}",
                    type=found.event,
                    account_id=gone.account_id,
                    deauthorized=True,
                    keep_data=gone.user_data_retention,
                    metadata={"user_id": gone.user_id},
                )
        except ValidationError:
            return None
        return None

    def _recording(self, payload: Mapping[str, Any], download_token: str | None) -> SourceEvent | None:
        recording = Recording.model_validate(payload.get("object") or {})
        found = recording_event(recording, str(payload.get("account_id", "")), "recording.completed")
        if found is None or not download_token:
            return found
        return replace(found, secrets={"download_token": download_token})

    def parse(self, headers: Mapping[str, str], body: bytes) -> list[MediaItem]:
        """The media a ``recording.completed`` event announces."""
        found = self.event(headers, body)
        return list(found.items) if found is not None else []

    def download(self, session: HttpSession, spec: ProviderSpec, item: MediaItem, dest: Path) -> Path:
        """Stream the file to ``dest`` with the event's download token, else the connection's token."""
        if not item.download_url:
            raise SkipItem(self.key, "no_download_url", "the recording file has no download URL")
        client.download(session, item.download_url, dest, session.credentials.extra.get("download_token"))
        return dest

    def recordings(
        self, session: HttpSession, spec: ProviderSpec, account_id: str, since: datetime
    ) -> list[SourceEvent]:
        """Every cloud recording since ``since`` (all pages), for catch-up."""
        until = datetime.now(UTC) + timedelta(days=1)  # ``to`` is a date in the account's zone
        size = int(spec.settings.get("page_size", 30))
        found: list[SourceEvent] = []
        for page in client.recording_pages(session, spec, since.date(), until.date(), size):
            for recording in page.meetings:
                event = recording_event(recording, account_id, "catch_up")
                if event is not None:
                    found.append(event)
        return found

    def participants(
        self, session: HttpSession, spec: ProviderSpec, meeting: Mapping[str, Any]
    ) -> list[dict[str, Any]]:
        """Who attended the meeting (every page of its past participants), one entry per person."""
        uuid = str(meeting.get("meeting_uuid") or "")
        if not uuid:
            return []
        size = int(spec.settings.get("participants_page_size", 300))
        people: dict[str, dict[str, Any]] = {}
        for page in client.participant_pages(session, spec, uuid, size):
            for person in page.participants:
                _merge(people, person)
        found, meeting_id = list(people.values()), str(meeting.get("meeting_id") or "")
        if all(p["email"] for p in found) or not meeting_id:
            return fill_emails(found, (), ())
        return self._recovered(session, spec, meeting_id, found)

    def _recovered(
        self, session: HttpSession, spec: ProviderSpec, meeting_id: str, people: list[dict[str, Any]]
    ) -> list[dict[str, Any]]:
        """Zoom hid some guests' e-mails: recover them from the meeting's registrants and calendar invitees;
        a lookup that fails (registration off, meeting gone, scope not granted) is named on those left."""
        failed: list[str] = []
        registrants = _lookup(failed, "registrants", lambda: self._registrants(session, spec, meeting_id))
        invitees = _lookup(failed, "invitees", lambda: self._invitees(session, spec, meeting_id))
        filled = fill_emails(people, registrants, invitees)
        return [p if p["email"] or not failed else {**p, "lookups_failed": failed} for p in filled]

    def _registrants(self, session: HttpSession, spec: ProviderSpec, meeting_id: str) -> list[Registrant]:
        size = int(spec.settings.get("registrants_page_size", 300))
        return [
            Registrant(r.id, r.email.strip().lower(), f"{r.first_name} {r.last_name}".strip())
            for page in client.registrant_pages(session, spec, meeting_id, size)
            for r in page.registrants
        ]

    def _invitees(self, session: HttpSession, spec: ProviderSpec, meeting_id: str) -> list[str]:
        details = client.meeting(session, spec, meeting_id)
        return [i.email for i in details.settings.meeting_invitees if i.email]

    def wants_summary(self, settings: Mapping[str, Any]) -> bool:
        """Opt-in ("Posted to Zoom"): only when the tenant's Zoom settings say ``post_summary: true``;
        otherwise results reach only the tenant's sinks."""
        return settings.get("post_summary") is True

    def send_summary(
        self, session: HttpSession, spec: ProviderSpec, summary: OwnerSummary
    ) -> DeliveryReceipt:
        """A Team Chat chatbot message to the meeting's host (needs the app's chatbot settings)."""
        extra = session.credentials.extra
        robot, client_id, secret = (
            extra.get("chatbot_jid"),
            extra.get("client_id"),
            extra.get("client_secret"),
        )
        if not (robot and client_id and secret):
            raise PermanentError(
                self.key, "chatbot_not_configured", "ECHODEPTH_ZOOM_CHATBOT_JID or the app's client is unset"
            )
        host = client.user(session, spec, summary.owner)  # the connection's token: a 401 is refreshed by core
        if not host.jid:
            raise PermanentError(
                self.key, "no_chat_address", f"Zoom user {summary.owner!r} has no Team Chat JID"
            )
        token = client.chatbot_token(session, spec, client_id, secret)
        body = chatbot_message(robot, host.jid, summary.account_id or host.account_id, summary)
        sent = client.send_chatbot_message(session, spec, token, body)
        return DeliveryReceipt(201, f"chatbot message {sent.message_id} to {host.jid}")
