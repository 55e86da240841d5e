"""Zoom webhook signatures, the URL validation answer and event parsing: pure functions.

Scheme: https://developers.zoom.us/docs/api/webhooks/#verify-webhook-events
``x-zm-signature == "v0=" + hex(HMAC_SHA256(secret_token, "v0:{x-zm-request-timestamp}:{raw body}"))``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Mapping

from pydantic import ValidationError

from connectors.zoom.models import Envelope, Recording, RecordingFile, UrlValidation

__all__ = ["WINDOW_SECONDS", "signature", "verify", "url_validation", "envelope", "choose_files"]

WINDOW_SECONDS = 300  # Zoom: reject requests whose timestamp is more than 5 minutes old
_MEDIA_PREFERENCE = ("MP4", "M4A")  # video first; audio-only when there is no MP4


def _hmac_hex(secret: str, message: bytes) -> str:
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """``v0=<hex HMAC-SHA256 of "v0:{timestamp}:{body}">``."""
    return "v0=" + _hmac_hex(secret, f"v0:{timestamp}:".encode() + body)


def verify(headers: Mapping[str, str], body: bytes, secret: str, now: float | None = None) -> bool:
    """True when ``x-zm-signature`` matches and ``x-zm-request-timestamp`` is within 5 minutes."""
    lower = {k.lower(): v for k, v in headers.items()}
    ts, given = lower.get("x-zm-request-timestamp", ""), lower.get("x-zm-signature", "")
    if not (secret and ts.isdigit() and given):
        return False
    if abs((time.time() if now is None else now) - int(ts)) > WINDOW_SECONDS:
        return False
    return hmac.compare_digest(signature(secret, ts, body), given)


def envelope(body: bytes) -> Envelope | None:
    """The parsed webhook body, or None when it is not a Zoom event."""
    try:
        return Envelope.model_validate(json.loads(body))
    except (ValueError, ValidationError):
        return None


def url_validation(body: bytes, secret: str) -> dict[str, str] | None:
    """``{"plainToken", "encryptedToken"}`` for an ``endpoint.url_validation`` body, else None."""
    found = envelope(body)
    if found is None or found.event != "endpoint.url_validation":
        return None
    try:
        plain = UrlValidation.model_validate(found.payload).plain_token
    except ValidationError:
        return None
    return {"plainToken": plain, "encryptedToken": _hmac_hex(secret, plain.encode())}


def choose_files(recording: Recording) -> tuple[RecordingFile | None, RecordingFile | None]:
    """The file to analyse (MP4, else M4A) and the meeting's WebVTT transcript, among completed files."""
    done = [
        f for f in recording.recording_files if (f.status or "completed") == "completed" and f.download_url
    ]
    by_type = {f.file_type.upper(): f for f in reversed(done)}  # the first of each type wins
    media = next((by_type[t] for t in _MEDIA_PREFERENCE if t in by_type), None)
    return media, by_type.get("TRANSCRIPT")
