"""The Integrations page: connect and disconnect vendor accounts through the API's OAuth connect flow, each
connection's status (connected, needs re-auth, last delivery, last error), a CRM Sink's field mapping checked
against the vendor (missing fields shown, created on request), and alert rules with a test alert.

Which vendors exist, their names and what they take come from the connector registry and their provider
and mapping files; nothing here names a vendor.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from core.api.scopes import CONNECTIONS_MANAGE
from core.connections.state import STATE_TTL_SECONDS
from core.console import integrations as data
from core.console.alert_rules import parse_rules, queue_test_alert
from core.console.connect_return import RETURN_COOKIE
from core.console.deps import csrf_checked, require, tenant_runtime
from core.console.sessions import ConsoleUser
from core.console.templating import render
from core.delivery.sinks import SinkSettingsIn
from core.runtime import Runtime
from core.sdk.errors import ConnectorError, InputError

__all__ = ["router"]

router = APIRouter(prefix="/console/integrations")
Manager = Annotated[ConsoleUser, Depends(require(CONNECTIONS_MANAGE))]
Posting = Annotated[ConsoleUser, Depends(csrf_checked)]
_OAUTH_COOKIE = "echodepth_oauth"  # the API's connect-flow nonce cookie (core/api/connections.py)
MODALITIES = ("text", "audio", "video", "image", "multimodal", "stream")


def _known(rt: Runtime) -> dict[str, data.Provider]:
    return {p.key: p for p in data.providers(rt.deliveries.sinks.registry, rt.connections)}


def _list(rt: Runtime, tenant_id: str) -> tuple[list[data.Provider], list[data.ConnectionStatus]]:
    known = _known(rt)
    conns = [data.status_of(rt.db, c, known) for c in rt.connections.store.list(tenant_id)]
    return list(known.values()), conns


@router.get("", include_in_schema=False)
async def integrations_page(
    request: Request,
    user: Manager,
    status: str | None = None,
    provider: str | None = None,
    code: str | None = None,
) -> Response:
    """The vendors that can be connected and the tenant's connections; the outcome of a connect flow."""
    rt = tenant_runtime(request, user)
    known, conns = await run_in_threadpool(_list, rt, user.tenant_id)
    names = {p.key: p.name for p in known}
    outcome = (
        {"status": status, "name": names.get(provider or "", provider), "code": code} if status else None
    )
    return render(request, "integrations.html", user, providers=known, connections=conns, outcome=outcome)


@router.post("/{provider}/connect", include_in_schema=False)
async def connect(
    request: Request, provider: str, user: Manager, _: Posting, flow: Annotated[str, Form()] = "code"
) -> Response:
    """Start the vendor's consent flow (``flow=admin_consent``: an organisation's admin, app-only): htmx
    sends the browser to the consent page (a navigation, which the CSP's ``form-action`` does not restrict),
    the API's callback stores the connection."""
    rt = tenant_runtime(request, user)
    start = await run_in_threadpool(rt.connections.authorize, user.tenant_id, provider, {}, flow)
    await run_in_threadpool(rt.audit.add, user.tenant_id, user.actor, "connection.authorize", provider, None)
    response = Response(status_code=204, headers={"HX-Redirect": start.url})
    secure = request.url.scheme == "https"
    for name, value in ((_OAUTH_COOKIE, start.nonce), (RETURN_COOKIE, "1")):
        response.set_cookie(
            name,
            value,
            max_age=STATE_TTL_SECONDS,
            httponly=True,
            samesite="lax",
            path="/v1/oauth",
            secure=secure,
        )
    return response


async def _connection_page(
    request: Request, user: ConsoleUser, connection_id: str, status: int = 200, **shown: Any
) -> Response:
    rt = tenant_runtime(request, user)
    conn = await run_in_threadpool(rt.connections.store.get, user.tenant_id, connection_id)
    known = await run_in_threadpool(_known, rt)
    current = await run_in_threadpool(data.status_of, rt.db, conn, known)
    stored = await run_in_threadpool(rt.deliveries.sinks.read, conn.id)
    defaults = data.default_mapping(conn.provider)
    spec = rt.connections.catalog.spec(conn.provider)
    context: dict[str, Any] = {
        "c": current,
        "modalities": MODALITIES,
        "takes_rules": "rules" in spec.settings,
    }
    if defaults is not None:
        context["rows"] = data.mapping_rows(defaults, stored.get("mapping") or {})
        context["fields"] = data.result_fields(defaults)
    context["rules"] = list(stored.get("rules") or [])
    return render(request, "connection.html", user, status, **context, **shown)


@router.get("/connections/{connection_id}", include_in_schema=False)
async def connection_page(request: Request, connection_id: str, user: Manager) -> Response:
    """One connection: its status, its field mapping and its alert rules."""
    return await _connection_page(request, user, connection_id)


@router.post("/connections/{connection_id}/disconnect", include_in_schema=False)
async def disconnect(request: Request, connection_id: str, user: Manager, _: Posting) -> Response:
    """Revoke the grant at the vendor where it can, and delete the tokens."""
    rt = tenant_runtime(request, user)
    done = await run_in_threadpool(rt.connections.disconnect, user.tenant_id, connection_id)
    await run_in_threadpool(
        rt.audit.add, user.tenant_id, user.actor, "connection.delete", done.connection_id, None
    )
    known, conns = await run_in_threadpool(_list, rt, user.tenant_id)
    return render(request, "integrations.html", user, providers=known, connections=conns, disconnected=done)


async def _setup(rt: Runtime, user: ConsoleUser, connection_id: str, create: bool) -> dict[str, Any]:
    """The vendor's field check (or creation); a vendor error becomes the page's message."""
    try:
        report = await run_in_threadpool(rt.deliveries.sinks.setup, connection_id, create, user.tenant_id)
    except ConnectorError as exc:
        return {"problem": InputError(exc.code, f"the vendor answered: {exc}", 502)}
    return {"report": report}


@router.post("/connections/{connection_id}/mapping", include_in_schema=False)
async def save_mapping(request: Request, connection_id: str, user: Manager, _: Posting) -> Response:
    """Store the changed fields as the connection's mapping overrides, then check them at the vendor."""
    rt = tenant_runtime(request, user)
    conn = await run_in_threadpool(rt.connections.store.get, user.tenant_id, connection_id)
    defaults = data.default_mapping(conn.provider)
    if defaults is None:
        raise InputError("not_a_sink", "this connection takes no field mapping", 422)
    stored = await run_in_threadpool(rt.deliveries.sinks.read, conn.id)
    rows = data.mapping_rows(defaults, stored.get("mapping") or {})
    form = {k: str(v) for k, v in (await request.form()).items()}
    try:
        changes = data.mapping_changes(rows, form, data.result_fields(defaults))
    except InputError as exc:
        return await _connection_page(request, user, connection_id, exc.status, problem=exc)
    merged = {**(stored.get("mapping") or {}), **changes}
    body = SinkSettingsIn.model_validate({"mapping": merged})
    await run_in_threadpool(rt.deliveries.sinks.write, user.tenant_id, conn.id, body)
    await run_in_threadpool(rt.audit.add, user.tenant_id, user.actor, "connection.mapping", conn.id, None)
    checked = await _setup(rt, user, conn.id, create=False)
    return await _connection_page(request, user, connection_id, saved=True, **checked)


@router.post("/connections/{connection_id}/setup", include_in_schema=False)
async def setup(request: Request, connection_id: str, user: Manager, _: Posting) -> Response:
    """Check the mapped fields exist at the vendor (``create=1``: create the missing ones)."""
    rt = tenant_runtime(request, user)
    create = str((await request.form()).get("create", "")) == "1"
    await run_in_threadpool(rt.connections.store.get, user.tenant_id, connection_id)
    checked = await _setup(rt, user, connection_id, create)
    return await _connection_page(request, user, connection_id, **checked)


@router.post("/connections/{connection_id}/rules", include_in_schema=False)
async def save_rules(request: Request, connection_id: str, user: Manager, _: Posting) -> Response:
    """Replace the connection's alert rules with the form's (fields the form does not show are kept)."""
    rt = tenant_runtime(request, user)
    stored = await run_in_threadpool(rt.deliveries.sinks.read, connection_id)
    form = await request.form()
    try:
        rules = parse_rules(form, list(stored.get("rules") or []), MODALITIES)
        await run_in_threadpool(
            rt.deliveries.sinks.write,
            user.tenant_id,
            connection_id,
            SinkSettingsIn.model_validate({"rules": rules}),
        )
    except InputError as exc:
        return await _connection_page(request, user, connection_id, exc.status, problem=exc)
    await run_in_threadpool(rt.audit.add, user.tenant_id, user.actor, "connection.rules", connection_id, None)
    return await _connection_page(request, user, connection_id, saved=True)


@router.post("/connections/{connection_id}/rules/{index}/test", include_in_schema=False)
async def send_test_alert(
    request: Request, connection_id: str, index: int, user: Manager, _: Posting
) -> Response:
    """Send a made-up analysis that the rule matches through the connection, like a real alert."""
    rt = tenant_runtime(request, user)
    conn = await run_in_threadpool(rt.connections.store.get, user.tenant_id, connection_id)
    rules = list((await run_in_threadpool(rt.deliveries.sinks.read, conn.id)).get("rules") or [])
    if not 0 <= index < len(rules):
        raise InputError("not_found", "no such rule", 404)
    delivery_id = await run_in_threadpool(queue_test_alert, rt, conn, rules[index])
    return await _connection_page(request, user, connection_id, tested=delivery_id)
