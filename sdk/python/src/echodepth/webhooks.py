"""Verify EchoDepth webhooks (Standard Webhooks signatures), without any other library.

    payload = echodepth.webhooks.verify(request_body, request_headers, secret)

``secret`` is the endpoint's ``whsec_…`` secret. Deduplicate on the ``webhook-id`` header: it stays the same
across retries and replays.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Mapping
from typing import Any

from echodepth.errors import WebhookVerificationError

__all__ = ["verify", "sign", "DEFAULT_TOLERANCE"]

DEFAULT_TOLERANCE = 300
"""Seconds a ``webhook-timestamp`` may differ from now (replay protection)."""


def _key(secret: str) -> bytes:
    raw = secret[len("whsec_") :] if secret.startswith("whsec_") else secret
    try:
        return base64.b64decode(raw, validate=True)
    except ValueError as exc:
        raise WebhookVerificationError("the secret is not a whsec_ base64 secret") from exc


def sign(msg_id: str, timestamp: int, payload: bytes | str, secret: str) -> str:
    """The ``v1,<base64>`` signature of a message (what the server puts in ``webhook-signature``)."""
    body = payload.decode() if isinstance(payload, bytes) else payload
    mac = hmac.new(_key(secret), f"{msg_id}.{timestamp}.{body}".encode(), hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode()


def verify(
    payload: bytes | str,
    headers: Mapping[str, str],
    secret: str,
    *,
    tolerance: float = DEFAULT_TOLERANCE,
    now: float | None = None,
) -> Any:
    """Check a delivery's signature and timestamp and return the parsed JSON payload.

    Args:
        payload: the raw request body, exactly as received (do not re-serialise parsed JSON).
        headers: the request headers (any case); needs ``webhook-id``, ``webhook-timestamp`` and
            ``webhook-signature`` (one or more space-separated ``v1,<base64>`` entries: while a rotated secret
            overlaps, either secret verifies).
        secret: the endpoint's signing secret (``whsec_…``).
        tolerance: how far (seconds) the timestamp may be from now.

    Raises:
        WebhookVerificationError: a header is missing, the timestamp is too old or new, or no signature
            matches.
    """
    lower = {k.lower(): v for k, v in headers.items()}
    msg_id = lower.get("webhook-id")
    stamp = lower.get("webhook-timestamp")
    signatures = lower.get("webhook-signature")
    if not (msg_id and stamp and signatures):
        raise WebhookVerificationError("missing webhook-id, webhook-timestamp or webhook-signature header")
    try:
        ts = int(stamp)
    except ValueError as exc:
        raise WebhookVerificationError("webhook-timestamp is not an integer") from exc
    current = time.time() if now is None else now
    if abs(current - ts) > tolerance:
        raise WebhookVerificationError(
            "webhook-timestamp is outside the tolerance (a replay or a wrong clock)"
        )
    body = payload if isinstance(payload, bytes) else payload.encode()
    expected = sign(msg_id, ts, body, secret).split(",", 1)[1]
    for entry in signatures.split():
        version, _, value = entry.partition(",")
        if version == "v1" and hmac.compare_digest(value, expected):
            try:
                return json.loads(body)
            except ValueError as exc:
                raise WebhookVerificationError("the payload is not JSON") from exc
    raise WebhookVerificationError("no matching signature")
