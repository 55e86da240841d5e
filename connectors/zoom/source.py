"""The Zoom Source: ``recording.completed`` → the file to analyse (MP4, else M4A) and its transcript."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

from pydantic import ValidationError

from connectors.zoom import client, webhooks
from connectors.zoom.models import Deauthorization, Recording
from core.sdk import HookReply, HttpSession, MediaItem, ProviderSpec, SkipItem, SourceEvent

__all__ = ["ZoomSource", "recording_event"]

_KINDS = {"MP4": "video", "M4A": "audio", "TRANSCRIPT": "transcript"}


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
        "participants": recording.participants,
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


class ZoomSource:
    """Zoom cloud recordings (Marketplace OAuth app, webhook ``recording.completed``)."""

    key = "zoom"
    kind: Literal["source"] = "source"
    display_name = "Zoom"

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
