"""CSRF tokens for the consent form of ``/oauth/authorize``.

The page sets a random nonce in a ``SameSite=Strict`` cookie and puts ``kid.expires.signature`` in the form:
an HMAC (key derived from the vault key ring) over the nonce, the expiry and the authorization request's
``client_id`` and ``redirect_uri``. A POST must carry both, matching, unexpired; the route then spends the
nonce, so a token works once. Another site can neither read the cookie nor forge the signature.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time

from core.sdk.errors import InputError
from core.vault import KeyRing

__all__ = ["CSRF_COOKIE", "CsrfFailed", "issue_csrf", "check_csrf"]

CSRF_COOKIE = "echodepth_csrf"


class CsrfFailed(InputError):
    """403 ``csrf_failed``: the consent POST did not come from our own form."""

    def __init__(self, detail: str) -> None:
        super().__init__("csrf_failed", detail, 403)


def _key(ring: KeyRing, kid: str) -> bytes:
    return hmac.new(ring.keys[kid], b"echodepth-oauth-csrf", hashlib.sha256).digest()


def _signature(ring: KeyRing, kid: str, nonce: str, expires: int, binding: tuple[str, ...]) -> str:
    message = "\n".join((nonce, str(expires), *binding)).encode()
    return hmac.new(_key(ring, kid), message, hashlib.sha256).hexdigest()


def issue_csrf(ring: KeyRing, binding: tuple[str, ...], ttl_seconds: int) -> tuple[str, str]:
    """A fresh (cookie nonce, form token) pair bound to ``binding`` (client_id, redirect_uri)."""
    nonce = secrets.token_urlsafe(24)
    expires = int(time.time()) + ttl_seconds
    kid = ring.current
    return nonce, f"{kid}.{expires}.{_signature(ring, kid, nonce, expires, binding)}"


def check_csrf(ring: KeyRing, token: str | None, nonce: str | None, binding: tuple[str, ...]) -> None:
    """Refuse (``CsrfFailed``) unless ``token`` was issued with ``nonce`` for ``binding`` and is unexpired."""
    if not token or not nonce:
        raise CsrfFailed("the form's CSRF token or its cookie is missing; reload the sign-in page")
    kid, _, rest = token.partition(".")
    expires_text, _, signature = rest.partition(".")
    if kid not in ring.keys or not expires_text.isdigit():
        raise CsrfFailed("the CSRF token is malformed")
    expected = _signature(ring, kid, nonce, int(expires_text), binding)
    if not hmac.compare_digest(expected, signature):
        raise CsrfFailed("the CSRF token does not match this browser or this authorization request")
    if int(expires_text) < time.time():
        raise CsrfFailed("the sign-in page expired; reload it")
