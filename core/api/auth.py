"""Authentication and scopes: an API key or an OAuth 2.0 access token as ``Authorization: Bearer <…>``
(or an API key as ``X-API-Key``). Every authenticated route checks the scope ``core.api.scopes`` names for it
(403 ``insufficient_scope``) and charges the credential's rate tier (``core.api.ratelimit``). Routes ask for
the outcome through ``core.api.deps`` (``Principal``, ``TenantId``, ``TenantRuntime``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from fastapi import Request

from core.api.ratelimit import Allowance, charge
from core.api.scopes import ANY_SCOPE, required_scope
from core.oauth.store import OAuthStore
from core.runtime import Runtime
from core.sdk.errors import InputError
from core.storage.store import KEY_PREFIX, Credential

__all__ = ["Caller", "authorise", "authenticate", "presented_credential", "InsufficientScope"]


class InsufficientScope(InputError):
    """The credential is valid but lacks the scope this route needs."""

    def __init__(self, scope: str) -> None:
        super().__init__("insufficient_scope", f"this call needs the '{scope}' scope", 403)
        self.scope = scope


@dataclass(frozen=True)
class Caller:
    """An authenticated request: its credential, its tenant's region and what its tier still allows."""

    credential: Credential
    runtime: Runtime  # the runtime holding the tenant's data (core.regions)
    allowance: Allowance


def presented_credential(headers: Mapping[str, str]) -> str | None:
    """The bearer credential or ``X-API-Key`` of a request's or WebSocket's headers."""
    scheme, _, value = headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return headers.get("x-api-key") or None


def authenticate(home: Runtime, secret: str) -> Credential | None:
    """The credential an API key or OAuth access token stands for (the home directory), or None."""
    if secret.startswith(KEY_PREFIX):
        return home.store.authenticate_key(secret)
    return OAuthStore(home.db).authenticate_access_token(secret)


def authorise(request: Request, home: Runtime) -> Caller:
    """The caller after the scope check and rate charge; 401 ``unauthorized`` without a valid credential."""
    secret = presented_credential(request.headers)
    if secret is None:
        raise InputError(
            "unauthorized", "send an API key or access token as 'Authorization: Bearer <…>'", 401
        )
    credential = authenticate(home, secret)
    if credential is None:
        raise InputError("unauthorized", "the API key or access token is not valid", 401)
    request.state.tenant_id = credential.tenant_id  # for the audit log middleware (core.api.audit)
    request.state.actor = credential.actor  # the key's visible prefix or the token's client, never a secret
    runtime = home.for_tenant(credential.tenant_id)  # its region's stores
    template = str(getattr(request.scope.get("route"), "path", request.url.path))
    scope = required_scope(request.method, template)
    if scope != ANY_SCOPE and scope not in credential.scopes:
        raise InsufficientScope(scope)
    allowance = charge(request, credential, runtime, request.method, template)
    return Caller(credential, runtime, allowance)
