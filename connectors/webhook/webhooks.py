"""Standard Webhooks signatures: pure functions (https://www.standardwebhooks.com/)."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping, Sequence

__all__ = ["SECRET_PREFIX", "sign", "signature_header", "verify"]

SECRET_PREFIX = "whsec_"


def _key(secret: str) -> bytes:
    return base64.b64decode(secret.removeprefix(SECRET_PREFIX))


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """``v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">``."""
    signed = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def signature_header(secrets_: Sequence[str], msg_id: str, timestamp: int, body: bytes) -> str:
    """Space-separated signatures, one per secret (two while a rotated secret overlaps)."""
    return " ".join(sign(s, msg_id, timestamp, body) for s in secrets_)


def verify(headers: Mapping[str, str], body: bytes, secret: str) -> bool:
    """True when one of the ``webhook-signature`` entries matches (no timestamp window check)."""
    lower = {k.lower(): v for k, v in headers.items()}
    msg_id, ts = lower.get("webhook-id", ""), lower.get("webhook-timestamp", "")
    if not (msg_id and ts.isdigit()):
        return False
    expected = sign(secret, msg_id, int(ts), body)
    return any(hmac.compare_digest(expected, got) for got in lower.get("webhook-signature", "").split())
