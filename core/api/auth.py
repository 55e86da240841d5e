"""API-key authentication: ``Authorization: Bearer <key>`` or ``X-API-Key: <key>``."""

from __future__ import annotations

from fastapi import Request

from core.sdk.errors import InputError

__all__ = ["require_tenant"]


def _presented_key(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return request.headers.get("x-api-key") or None


def require_tenant(request: Request) -> str:
    """The calling tenant's id; 401 ``unauthorized`` without a valid key."""
    key = _presented_key(request)
    if key is None:
        raise InputError("unauthorized", "send an API key as 'Authorization: Bearer <key>'", 401)
    tenant_id = request.app.state.runtime.store.authenticate(key)
    if tenant_id is None:
        raise InputError("unauthorized", "the API key is not valid", 401)
    request.state.tenant_id = str(tenant_id)  # for the audit log (core.api.governance)
    request.state.actor = f"key:{key[:12]}"  # the key's visible prefix, never the key
    return str(tenant_id)
