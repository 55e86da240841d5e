"""The OAuth ``state``: signed (HMAC under a key derived from the vault ring), tenant-bound, 10 minutes,
single-use (the nonce is spent in the database). The PKCE verifier is derived from the nonce, so nothing
has to be stored before the callback."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass, field

from core.sdk.errors import InputError
from core.vault import KeyRing

__all__ = ["OAuthState", "issue_state", "read_state", "pkce_verifier", "pkce_challenge", "STATE_TTL_SECONDS"]

STATE_TTL_SECONDS = 600


@dataclass(frozen=True)
class OAuthState:
    """What a state token vouches for."""

    tenant_id: str
    provider: str
    nonce: str
    key_id: str
    expires: int
    params: dict[str, str] = field(default_factory=dict)  # resolved URL params (Salesforce host, MS tenant)
    flow: str = "code"  # ``code`` (authorization code) or ``admin_consent`` (organisation-wide, app-only)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _key(ring: KeyRing, kid: str) -> bytes:
    return hmac.new(ring.keys[kid], b"echodepth-oauth-state", hashlib.sha256).digest()


def issue_state(
    ring: KeyRing, tenant_id: str, provider: str, params: dict[str, str] | None = None, flow: str = "code"
) -> OAuthState:
    """A fresh state for one authorize redirect."""
    nonce = secrets.token_urlsafe(24)
    expires = int(time.time()) + STATE_TTL_SECONDS
    return OAuthState(tenant_id, provider, nonce, ring.current, expires, dict(params or {}), flow)


def encode_state(ring: KeyRing, state: OAuthState) -> str:
    """``payload.signature``, both base64url."""
    fields = [
        state.tenant_id,
        state.provider,
        state.nonce,
        state.key_id,
        state.expires,
        state.params,
        state.flow,
    ]
    body = json.dumps(fields).encode()
    return f"{_b64(body)}.{_b64(hmac.new(_key(ring, state.key_id), body, hashlib.sha256).digest())}"


def _invalid(detail: str) -> InputError:
    return InputError("invalid_state", detail, 400)


def read_state(ring: KeyRing, token: str, provider: str) -> OAuthState:
    """The state behind ``token``; ``invalid_state`` when forged, expired or for another provider."""
    try:
        body_b64, sig_b64 = token.split(".", 1)
        body = _unb64(body_b64)
        tenant_id, prov, nonce, kid, expires, params, flow = json.loads(body)
        expected = hmac.new(_key(ring, kid), body, hashlib.sha256).digest()
    except (ValueError, KeyError, TypeError) as exc:
        raise _invalid("the state parameter is malformed") from exc
    if not hmac.compare_digest(expected, _unb64(sig_b64)):
        raise _invalid("the state parameter is not ours")
    if prov != provider:
        raise _invalid("the state was issued for another provider")
    if int(expires) < time.time():
        raise _invalid("the authorization took longer than 10 minutes; start again")
    return OAuthState(tenant_id, prov, nonce, kid, int(expires), dict(params), str(flow))


def pkce_verifier(ring: KeyRing, state: OAuthState) -> str:
    """The RFC 7636 code verifier of this state (43 characters)."""
    return _b64(hmac.new(_key(ring, state.key_id), b"pkce:" + state.nonce.encode(), hashlib.sha256).digest())


def pkce_challenge(verifier: str) -> str:
    """S256 challenge of ``verifier``."""
    return _b64(hashlib.sha256(verifier.encode()).digest())
