"""Stream tokens for browsers (which cannot set headers on a WebSocket): ``payload.signature``, an HMAC under
a key derived from the vault ring, bound to the tenant, valid ``stream_token_ttl_seconds``. Stateless, so any
API process accepts them; reusable until they expire (keep the lifetime short)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time

from core.vault import KeyRing

__all__ = ["TOKEN_PREFIX", "issue_token", "read_token"]

TOKEN_PREFIX = "est_"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _key(ring: KeyRing, kid: str) -> bytes:
    return hmac.new(ring.keys[kid], b"echodepth-stream-token", hashlib.sha256).digest()


def issue_token(ring: KeyRing, tenant_id: str, ttl_seconds: float) -> tuple[str, int]:
    """A new token for ``tenant_id`` and its expiry (Unix seconds)."""
    expires = int(time.time() + ttl_seconds)
    body = json.dumps([tenant_id, ring.current, expires, secrets.token_urlsafe(8)]).encode()
    sig = hmac.new(_key(ring, ring.current), body, hashlib.sha256).digest()
    return f"{TOKEN_PREFIX}{_b64(body)}.{_b64(sig)}", expires


def read_token(ring: KeyRing, token: str) -> str | None:
    """The tenant id a valid, unexpired token was issued to; None otherwise."""
    if not token.startswith(TOKEN_PREFIX):
        return None
    try:
        body_b64, sig_b64 = token[len(TOKEN_PREFIX) :].split(".", 1)
        body = _unb64(body_b64)
        tenant_id, kid, expires, _nonce = json.loads(body)
        expected = hmac.new(_key(ring, kid), body, hashlib.sha256).digest()
        valid = hmac.compare_digest(expected, _unb64(sig_b64))
    except (ValueError, KeyError, TypeError):
        return None
    if not valid or int(expires) < time.time():
        return None
    return str(tenant_id)
