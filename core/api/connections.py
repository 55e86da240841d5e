"""/v1/connections and the OAuth callback: connect a vendor account, list and revoke connections."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from core.api.deps import StateRuntime, TenantId, TenantRuntime
from core.connections import Connection, Connections
from core.connections.service import Revocation
from core.connections.state import STATE_TTL_SECONDS
from core.delivery.sinks import SinkSettingsIn
from core.sdk.errors import ConnectorError

__all__ = ["router"]

router = APIRouter(prefix="/v1", tags=["connections"])
_PROBLEM: dict[str, Any] = {"content": {"application/problem+json": {}}}
_COOKIE = "echodepth_oauth"


class ConnectionOut(BaseModel):
    """A connected vendor account (never its tokens)."""

    id: str
    provider: str
    external_account_id: str
    grant_type: str
    account: dict[str, Any]
    scopes: list[str]
    status: str
    expires_at: datetime | None
    refresh_failures: int
    last_used_at: datetime | None
    created_at: datetime


class ConnectionList(BaseModel):
    """The tenant's connections."""

    data: list[ConnectionOut]


class OAuthResult(BaseModel):
    """Where the browser lands after the vendor's consent page."""

    status: str
    provider: str
    connection_id: str | None = None
    code: str | None = None


def _out(c: Connection) -> ConnectionOut:
    return ConnectionOut(
        id=c.id,
        provider=c.provider,
        external_account_id=c.external_account_id,
        grant_type=c.grant_type,
        account=c.account or {},
        scopes=list(c.scopes or []),
        status=c.status,
        expires_at=c.expires_at,
        refresh_failures=c.refresh_failures,
        last_used_at=c.last_used_at,
        created_at=c.created_at,
    )


@router.get(
    "/connections/{provider}/authorize",
    status_code=302,
    responses={401: _PROBLEM, 404: _PROBLEM, 409: _PROBLEM, 422: _PROBLEM},
)
def authorize(
    provider: str, request: Request, tenant_id: TenantId, rt: TenantRuntime, flow: str = "code"
) -> Response:
    """Redirect to the vendor's consent page (state signed, single-use, 10 minutes; PKCE where supported).

    ``flow=admin_consent`` asks an organisation's admin to consent for app-only access (Microsoft); the
    provider's URL params are chosen by query: ``host=login|test|<My Domain>`` (Salesforce),
    ``tenant=<tenant id or domain>`` (Microsoft)."""
    given = {k: v for k, v in request.query_params.items() if k != "flow"}
    start = rt.connections.authorize(tenant_id, provider, given, flow)
    response = RedirectResponse(start.url, status_code=302)
    response.set_cookie(
        _COOKIE,
        start.nonce,
        max_age=STATE_TTL_SECONDS,
        httponly=True,
        samesite="lax",
        path="/v1/oauth",
        secure=request.url.scheme == "https",  # HTTPS directly or via a trusted proxy (core.api.https)
    )
    return response


def _result(provider: str, **query: str) -> RedirectResponse:
    response = RedirectResponse(
        f"/v1/oauth/result?{urlencode({'provider': provider, **query})}", status_code=302
    )
    response.delete_cookie(_COOKIE, path="/v1/oauth")
    return response


def _organisation(conns: Connections, provider: str, request: Request) -> str:
    """The organisation an admin consented for, from the query parameter the provider spec names."""
    found = conns.catalog.oauth(provider).client_credentials
    return request.query_params.get(found.param, "") if found is not None else ""


@router.get("/oauth/callback/{provider}", status_code=302, responses={400: _PROBLEM, 404: _PROBLEM})
async def callback(
    provider: str,
    request: Request,
    rt: StateRuntime,
    state: str = "",
    code: str | None = None,
    error: str | None = None,
    admin_consent: str | None = None,
) -> Response:
    """The vendor sends the browser back here; the code (or an admin's consent) becomes a connection."""
    if error or not (code or admin_consent):
        return _result(provider, status="error", code=error or "missing_code")
    conns = rt.connections  # the region of the tenant that started the flow (core.regions)
    cookie = request.cookies.get(_COOKIE)
    try:
        if code:
            conn = await run_in_threadpool(conns.callback, provider, code, state, cookie)
        elif (admin_consent or "").lower() != "true":
            return _result(provider, status="error", code="consent_denied")
        else:
            org = _organisation(conns, provider, request)
            conn = await run_in_threadpool(conns.admin_consented, provider, org, state, cookie)
    except ConnectorError as exc:
        return _result(provider, status="error", code=exc.code)
    return _result(provider, status="connected", connection_id=conn.id)


@router.get("/oauth/result", response_model=OAuthResult)
def result(
    provider: str, status: str, connection_id: str | None = None, code: str | None = None
) -> OAuthResult:
    """The end of a connect flow, for the browser (or the app that opened it)."""
    return OAuthResult(status=status, provider=provider, connection_id=connection_id, code=code)


@router.get("/connections", response_model=ConnectionList, responses={401: _PROBLEM})
def list_connections(tenant_id: TenantId, rt: TenantRuntime) -> ConnectionList:
    """The tenant's connected vendor accounts."""
    return ConnectionList(data=[_out(c) for c in rt.connections.store.list(tenant_id)])


class ConnectionDeleted(BaseModel):
    """DELETE /v1/connections/{id}: the tokens are deleted here; whether the vendor revoked the grant."""

    id: str
    provider: str
    status: Literal["revoked"] = "revoked"
    tokens_deleted: bool = True
    vendor_revoked: bool
    vendor_revocation: Revocation


@router.delete(
    "/connections/{connection_id}", response_model=ConnectionDeleted, responses={401: _PROBLEM, 404: _PROBLEM}
)
def delete_connection(connection_id: str, tenant_id: TenantId, rt: TenantRuntime) -> ConnectionDeleted:
    """Revoke the grant at the vendor where it can (Microsoft has no revocation endpoint); delete tokens."""
    done = rt.connections.disconnect(tenant_id, connection_id)
    return ConnectionDeleted(
        id=done.connection_id,
        provider=done.provider,
        vendor_revoked=done.vendor_revoked,
        vendor_revocation=done.vendor_revocation,
    )


class SinkSettingsOut(BaseModel):
    """A Sink connection's settings: rules, mapping overrides and ids (defaults come from config/)."""

    connection_id: str
    settings: dict[str, Any]


@router.get(
    "/connections/{connection_id}/mapping",
    response_model=SinkSettingsOut,
    responses={401: _PROBLEM, 404: _PROBLEM},
)
def get_mapping(connection_id: str, tenant_id: TenantId, rt: TenantRuntime) -> SinkSettingsOut:
    """The Sink connection's stored overrides."""
    rt.connections.store.get(tenant_id, connection_id)
    return SinkSettingsOut(connection_id=connection_id, settings=rt.deliveries.sinks.read(connection_id))


@router.put(
    "/connections/{connection_id}/mapping",
    response_model=SinkSettingsOut,
    responses={401: _PROBLEM, 404: _PROBLEM, 422: _PROBLEM},
)
def put_mapping(
    connection_id: str, body: SinkSettingsIn, tenant_id: TenantId, rt: TenantRuntime
) -> SinkSettingsOut:
    """Set field-mapping overrides, Slack alert rules or template ids on a Sink connection (merged)."""
    merged = rt.deliveries.sinks.write(tenant_id, connection_id, body)
    return SinkSettingsOut(connection_id=connection_id, settings=merged)


class SetupReport(BaseModel):
    """What ``connectors setup`` found, created, and what an admin must still do."""

    present: list[str] = []
    created: list[str] = []
    missing: list[str] = []
    manual: list[str] = []


@router.post(
    "/connections/{connection_id}/setup",
    response_model=SetupReport,
    responses={401: _PROBLEM, 404: _PROBLEM, 422: _PROBLEM},
)
def setup_connection(
    connection_id: str, tenant_id: TenantId, rt: TenantRuntime, create: bool = True
) -> SetupReport:
    """Check the custom fields the mapping writes exist; create the missing ones where the vendor allows."""
    report = rt.deliveries.sinks.setup(connection_id, create, tenant_id)
    return SetupReport(**report)
