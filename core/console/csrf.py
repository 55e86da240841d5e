"""CSRF tokens of the console, bound to the browser's session (or, before sign-in, to a nonce cookie).

A token is ``kid.hmac``: an HMAC (key derived from the vault key ring) over what it is bound to, the hash
of the session secret or the sign-in nonce. The page carries it in a ``<meta>`` tag and in every form; htmx
and the upload script send it as the ``X-CSRF-Token`` header, plain forms as the ``csrf_token`` field.
Another site can make the browser send the cookie, but cannot read the page, so it cannot know the token.
"""

from __future__ import annotations

import hashlib
import hmac

from core.oauth.csrf import CsrfFailed
from core.vault import KeyRing

__all__ = ["HEADER", "FIELD", "csrf_token", "check_csrf_token"]

HEADER = "x-csrf-token"
FIELD = "csrf_token"


def _signature(ring: KeyRing, kid: str, binding: str) -> str:
    key = hmac.new(ring.keys[kid], b"echodepth-console-csrf", hashlib.sha256).digest()
    return hmac.new(key, binding.encode(), hashlib.sha256).hexdigest()


def csrf_token(ring: KeyRing, binding: str) -> str:
    """The token of a session (``session:<hash>``) or a sign-in form (``sign-in:<nonce>``)."""
    return f"{ring.current}.{_signature(ring, ring.current, binding)}"


def check_csrf_token(ring: KeyRing, token: str | None, binding: str | None) -> None:
    """Refuse (``CsrfFailed``, 403 ``csrf_failed``) unless ``token`` was made for ``binding``."""
    if not token or not binding:
        raise CsrfFailed("the request carries no CSRF token (or no session); reload the page")
    kid, _, signature = token.partition(".")
    if kid not in ring.keys or not hmac.compare_digest(_signature(ring, kid, binding), signature):
        raise CsrfFailed("the CSRF token does not belong to this session; reload the page")
