"""Stream tokens for browsers (which cannot set headers on a WebSocket): ``payload.signature``, an HMAC under
a key derived from the vault ring, bound to the tenant, valid ``stream_token_ttl_seconds``. The signature is
checked without any lookup; each token opens one stream: :class:`SpentTokens` records its id until it expires,
in Redis when the broker is Redis (every API process sees it), else in this process (embedded mode serves the
API from one process)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import threading
import time
from dataclasses import dataclass
from typing import Any

from core.settings import Settings
from core.vault import KeyRing

__all__ = ["TOKEN_PREFIX", "SpentTokens", "TokenClaims", "issue_token", "verify_token"]

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


@dataclass(frozen=True)
class TokenClaims:
    """What a valid token says: its tenant, its id (a random nonce) and its expiry (Unix seconds)."""

    tenant_id: str
    token_id: str
    expires: int


def verify_token(ring: KeyRing, token: str) -> TokenClaims | None:
    """The claims of a valid, unexpired token; None otherwise."""
    if not token.startswith(TOKEN_PREFIX):
        return None
    try:
        body_b64, sig_b64 = token[len(TOKEN_PREFIX) :].split(".", 1)
        body = _unb64(body_b64)
        tenant_id, kid, expires, nonce = json.loads(body)
        expected = hmac.new(_key(ring, kid), body, hashlib.sha256).digest()
        valid = hmac.compare_digest(expected, _unb64(sig_b64))
    except (ValueError, KeyError, TypeError):
        return None
    if not valid or int(expires) < time.time():
        return None
    return TokenClaims(str(tenant_id), str(nonce), int(expires))


class SpentTokens:
    """The ids of stream tokens already used, each kept until its token expires."""

    def __init__(self, settings: Settings) -> None:
        self.prefix = f"{settings.broker_namespace}:stream-token:"
        self._redis: Any = None
        url = settings.broker_url or ""
        if url.startswith(("redis://", "rediss://")):
            import redis

            self._redis = redis.Redis.from_url(url)
        self._local: dict[str, int] = {}
        self._lock = threading.Lock()

    def spend(self, claims: TokenClaims) -> bool:
        """True the first time a token is spent, False ever after (until it expires)."""
        ttl = max(1, claims.expires - int(time.time()) + 1)
        if self._redis is not None:
            return bool(self._redis.set(self.prefix + claims.token_id, b"1", nx=True, ex=ttl))
        now = time.time()
        with self._lock:
            if len(self._local) > 10_000:  # forget expired ids
                self._local = {k: v for k, v in self._local.items() if v >= now}
            if claims.token_id in self._local:
                return False
            self._local[claims.token_id] = claims.expires
            return True

    def close(self) -> None:
        """Close the Redis connection, if any."""
        if self._redis is not None:
            self._redis.close()
