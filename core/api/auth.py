"""Authentication and scopes: an API key or an OAuth 2.0 access token as ``Authorization: Bearer <…>``
(or an API key as ``X-API-Key``). Every authenticated route checks the scope ``core.api.scopes`` names for it
(403 ``insufficient_scope``) and charges the credential's rate tier (``core.api.ratelimit``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from fastapi import Request

from core.api.ratelimit import charge
from core.api.scopes import ANY_SCOPE, required_scope
from core.connections.state import read_state
from core.oauth.store import OAuthStore
from core.sdk.errors import InputError
from core.storage.store import KEY_PREFIX, Credential

if TYPE_CHECKING:
    from core.runtime import Runtime

__all__ = [
    "require_tenant",
    "require_credential",
    "authenticate",
    "presented_credential",
    "InsufficientScope",
    "state_runtime",
]


class InsufficientScope(InputError):
    """The credential is valid but lacks the scope this route needs."""

    def __init__(self, scope: str) -> None:
        super().__init__("insufficient_scope", f"this call needs the '{scope}' scope", 403)
        self.scope = scope


def presented_credential(headers: Mapping[str, str]) -> str | None:
    """The bearer credential or ``X-API-Key`` of a request's or WebSocket's headers."""
    scheme, _, value = headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return headers.get("x-api-key") or None


def authenticate(runtime: Runtime, secret: str) -> Credential | None:
    """The credential an API key or OAuth access token stands for, or None."""
    if secret.startswith(KEY_PREFIX):
        return runtime.store.authenticate_key(secret)
    return OAuthStore(runtime.db).authenticate_access_token(secret)


def require_credential(request: Request) -> Credential:
    """The caller's credential after the scope check and rate charge; 401 ``unauthorized`` without one."""
    done: Credential | None = getattr(request.state, "credential", None)
    if done is not None:  # checked and charged once per request, however many dependencies ask
        return done
    secret = presented_credential(request.headers)
    if secret is None:
        raise InputError(
            "unauthorized", "send an API key or access token as 'Authorization: Bearer <…>'", 401
        )
    credential = authenticate(request.app.state.runtime, secret)
    if credential is None:
        raise InputError("unauthorized", "the API key or access token is not valid", 401)
    request.state.tenant_id = credential.tenant_id  # for the audit log (core.api.governance)
    request.state.actor = credential.actor  # the key's visible prefix or the token's client, never a secret
    request.state.runtime = request.app.state.runtime.for_tenant(credential.tenant_id)  # its region's stores
    template = str(getattr(request.scope.get("route"), "path", request.url.path))
    scope = required_scope(request.method, template)
    if scope != ANY_SCOPE and scope not in credential.scopes:
        raise InsufficientScope(scope)
    charge(request, credential, request.method, template)
    request.state.credential = credential
    return credential


def require_tenant(request: Request) -> str:
    """The calling tenant's id, once the credential is valid, has the route's scope and is within its tier."""
    return require_credential(request).tenant_id


def state_runtime(request: Request, state_token: str, provider: str) -> Runtime:
    """The runtime of the tenant that started a vendor connect flow (its signed OAuth state names it)."""
    home: Runtime = request.app.state.runtime
    try:
        tenant_id = read_state(home.vault.ring, state_token, provider).tenant_id
    except InputError:
        return home  # the connect flow then refuses the state with its usual invalid_state error
    return home.for_tenant(tenant_id)
