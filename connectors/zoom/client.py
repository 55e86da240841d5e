"""Zoom's REST API over the hub's guarded session (Zoom has no official Python SDK): the one place where
Zoom's answers become our typed errors.

Errors: https://developers.zoom.us/docs/api/rest/error-definitions/ (401 ``{"code": 124}`` invalid token,
429 with ``Retry-After`` when a rate-limit category is spent, 404 ``{"code": 3301}`` no recording).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path
from urllib.parse import quote, urlencode

import httpx

from connectors.zoom.models import RecordingList
from core.sdk import AuthError, HttpSession, PermanentError, ProviderSpec, SkipItem, TransientError

__all__ = ["recording_pages", "download", "meeting_path"]

VENDOR = "zoom"


def meeting_path(uuid: str) -> str:
    """A meeting UUID for a URL path: double-encoded when it starts with ``/`` or contains ``//`` (Zoom)."""
    once = quote(uuid, safe="")
    return quote(once, safe="") if uuid.startswith("/") or "//" in uuid else once


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after", "").strip()
    return float(value) if value.isdigit() else None


def _raise_for(response: httpx.Response) -> None:
    status = response.status_code
    if 200 <= status < 300:
        return
    message = f"Zoom answered HTTP {status}: {response.text[:200]}"
    if status == 401:
        raise AuthError(VENDOR, "token_rejected", message, status)
    if status == 404:
        raise SkipItem(VENDOR, "not_found", message, status)
    if status == 429 or status >= 500:
        raise TransientError(
            VENDOR, "rate_limited" if status == 429 else "http_error", message, status, _retry_after(response)
        )
    raise PermanentError(VENDOR, "http_error", message, status)


def _get(session: HttpSession, spec: ProviderSpec, url: str) -> httpx.Response:
    headers = {"Authorization": f"Bearer {session.credentials.access_token}", "Accept": "application/json"}
    try:
        response = session.request("GET", url, headers=headers, timeout=spec.timeout_seconds)
    except httpx.TimeoutException as exc:
        raise TransientError(VENDOR, "timeout", f"no answer within {spec.timeout_seconds:g}s") from exc
    except httpx.HTTPError as exc:
        raise TransientError(VENDOR, "connection_failed", type(exc).__name__) from exc
    _raise_for(response)
    return response


def recording_pages(
    session: HttpSession, spec: ProviderSpec, since: date, until: date, page_size: int
) -> Iterator[RecordingList]:
    """Every page of the user's cloud recordings from ``since`` to ``until`` (``next_page_token`` cursor)."""
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


def download(session: HttpSession, url: str, dest: Path, download_token: str | None) -> None:
    """Stream a recording file: with the event's ``download_token`` when given, else the OAuth token."""
    if download_token:
        joiner = "&" if "?" in url else "?"
        session.download(f"{url}{joiner}{urlencode({'access_token': download_token})}", dest)
        return
    session.download(url, dest, headers={"Authorization": f"Bearer {session.credentials.access_token}"})
