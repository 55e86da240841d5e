"""Zoom's REST API over the hub's guarded session (Zoom has no official Python SDK): the one place where
Zoom's answers become our typed errors.

What Zoom's refusals mean is data (``errors`` in config/providers/zoom.yaml, with the pages that document
them); calls keep the account's ``rate_limit`` (``core.sdk.http.paced``).

The Team Chat chatbot (https://developers.zoom.us/docs/chat/send-edit-and-delete-messages/) does not use the
connection's token: it sends with an app token from the ``client_credentials`` grant (HTTP Basic client id and
secret on the OAuth token URL), so a 401 there is the app's configuration, never the connection's.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator, Mapping
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import httpx

from connectors.zoom.models import (
    ChatbotMessageSent,
    MeetingDetails,
    ParticipantList,
    RecordingList,
    RegistrantList,
    ZoomUser,
)
from core.sdk import HttpSession, PermanentError, ProviderSpec
from core.sdk.http import paced, raise_for, transport_errors

__all__ = [
    "recording_pages",
    "participant_pages",
    "registrant_pages",
    "meeting",
    "user",
    "chatbot_token",
    "send_chatbot_message",
    "download",
    "meeting_path",
]

VENDOR = "zoom"
MISSING_SCOPE = 4711  # Zoom: "Invalid access token, does not contain scopes:[...]"
MAX_RANGE_DAYS = 30  # List all recordings: ``from`` and ``to`` at most a month apart


def meeting_path(uuid: str) -> str:
    """A meeting UUID for a URL path: double-encoded when it starts with ``/`` or contains ``//`` (Zoom)."""
    once = quote(uuid, safe="")
    return quote(once, safe="") if uuid.startswith("/") or "//" in uuid else once


def _code(response: httpx.Response) -> int | None:
    try:
        body = response.json()
    except ValueError:
        return None
    code = body.get("code") if isinstance(body, dict) else None
    return code if isinstance(code, int) else None


def _send(
    session: HttpSession,
    spec: ProviderSpec,
    method: str,
    url: str,
    headers: Mapping[str, str],
    content: bytes | None = None,
) -> httpx.Response:
    with transport_errors(spec.key, spec.timeout_seconds):
        return paced(session, spec).request(
            method, url, headers=headers, content=content, timeout=spec.timeout_seconds
        )


def _get(session: HttpSession, spec: ProviderSpec, url: str) -> httpx.Response:
    headers = {"Authorization": f"Bearer {session.credentials.access_token}", "Accept": "application/json"}
    return raise_for(spec, _send(session, spec, "GET", url, headers))


def _app_refused(spec: ProviderSpec, response: httpx.Response) -> None:
    """Like ``raise_for``, but a 401/403 means the app (chatbot) credentials, not the connection."""
    if response.status_code in (401, 403) or _code(response) == MISSING_SCOPE:
        message = (
            f"Zoom refused the chatbot's app credentials: HTTP {response.status_code} {response.text[:200]}"
        )
        raise PermanentError(VENDOR, "chatbot_unauthorised", message, response.status_code)
    raise_for(spec, response)


def recording_pages(
    session: HttpSession, spec: ProviderSpec, since: date, until: date, page_size: int
) -> Iterator[RecordingList]:
    """Every page of the user's cloud recordings from ``since`` to ``until``, a month at a time."""
    start = since
    while start <= until:
        end = min(until, start + timedelta(days=MAX_RANGE_DAYS))
        yield from _recording_window(session, spec, start, end, page_size)
        start = end + timedelta(days=1)


def _recording_window(
    session: HttpSession, spec: ProviderSpec, since: date, until: date, page_size: int
) -> Iterator[RecordingList]:
    cursor = ""
    while True:
        query = {"from": since.isoformat(), "to": until.isoformat(), "page_size": str(page_size)}
        if cursor:
            query["next_page_token"] = cursor
        page = RecordingList.model_validate(
            _get(session, spec, f"{spec.api_base_url}/users/me/recordings?{urlencode(query)}").json()
        )
        yield page
        if not page.next_page_token:
            return
        cursor = page.next_page_token


def participant_pages(
    session: HttpSession, spec: ProviderSpec, meeting_uuid: str, page_size: int
) -> Iterator[ParticipantList]:
    """Every page of a past meeting's participants (``next_page_token`` cursor)."""
    cursor = ""
    base = f"{spec.api_base_url}/past_meetings/{meeting_path(meeting_uuid)}/participants"
    while True:
        query = {"page_size": str(page_size)}
        if cursor:
            query["next_page_token"] = cursor
        page = ParticipantList.model_validate(_get(session, spec, f"{base}?{urlencode(query)}").json())
        yield page
        if not page.next_page_token:
            return
        cursor = page.next_page_token


def registrant_pages(
    session: HttpSession, spec: ProviderSpec, meeting_id: str, page_size: int
) -> Iterator[RegistrantList]:
    """Every page of a meeting's approved registrants (``next_page_token`` cursor)."""
    cursor = ""
    base = f"{spec.api_base_url}/meetings/{quote(meeting_id, safe='')}/registrants"
    while True:
        query = {"status": "approved", "page_size": str(page_size)}
        if cursor:
            query["next_page_token"] = cursor
        page = RegistrantList.model_validate(_get(session, spec, f"{base}?{urlencode(query)}").json())
        yield page
        if not page.next_page_token:
            return
        cursor = page.next_page_token


def meeting(session: HttpSession, spec: ProviderSpec, meeting_id: str) -> MeetingDetails:
    """``GET /meetings/{meetingId}``: the meeting's settings, among them its calendar invitees."""
    url = f"{spec.api_base_url}/meetings/{quote(meeting_id, safe='')}"
    return MeetingDetails.model_validate(_get(session, spec, url).json())


def user(session: HttpSession, spec: ProviderSpec, user_id: str) -> ZoomUser:
    """``GET /users/{userId}`` (an id or an email) with the connection's token."""
    return ZoomUser.model_validate(
        _get(session, spec, f"{spec.api_base_url}/users/{quote(user_id, safe='')}").json()
    )


def chatbot_token(session: HttpSession, spec: ProviderSpec, client_id: str, client_secret: str) -> str:
    """An app token for the chatbot: ``client_credentials`` grant with HTTP Basic client authentication."""
    assert spec.oauth is not None
    basic = base64.b64encode(f"{client_id}:{client_secret}".encode()).decode()
    headers = {
        "Authorization": f"Basic {basic}",
        "Content-Type": "application/x-www-form-urlencoded",
        "Accept": "application/json",
    }
    joiner = "&" if "?" in spec.oauth.token_url else "?"
    url = f"{spec.oauth.token_url}{joiner}grant_type=client_credentials"  # Zoom: the grant in the query
    response = _send(session, spec, "POST", url, headers, b"")
    if response.status_code == 400:  # {"reason": ..., "error": "invalid_client" | "unsupported_grant_type"}
        raise PermanentError(VENDOR, "chatbot_unauthorised", response.text[:200], 400)
    _app_refused(spec, response)
    token = str(response.json().get("access_token") or "")
    if not token:
        raise PermanentError(VENDOR, "chatbot_unauthorised", "the token answer has no access_token")
    return token


def send_chatbot_message(
    session: HttpSession, spec: ProviderSpec, token: str, message: Mapping[str, Any]
) -> ChatbotMessageSent:
    """``POST /im/chat/messages`` with the chatbot's app token."""
    headers = {
        "Authorization": f"Bearer {token}",
        "Content-Type": "application/json",
        "Accept": "application/json",
    }
    url = f"{spec.api_base_url}/im/chat/messages"
    response = _send(session, spec, "POST", url, headers, json.dumps(message).encode())
    _app_refused(spec, response)
    return ChatbotMessageSent.model_validate(response.json() if response.content else {})


def download(session: HttpSession, url: str, dest: Path, download_token: str | None) -> None:
    """Stream a recording file: with the event's ``download_token`` when given, else the OAuth token."""
    if download_token:
        joiner = "&" if "?" in url else "?"
        session.download(f"{url}{joiner}{urlencode({'access_token': download_token})}", dest)
        return
    session.download(url, dest, headers={"Authorization": f"Bearer {session.credentials.access_token}"})
