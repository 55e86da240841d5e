"""The Webhooks page: endpoints (create with the secret shown once, edit, rotate, disable), each endpoint's
delivery log with the request and answer of each delivery, replay one, recover every failed one since a time.

The same services as ``/v1/webhooks`` (``DeliveryQueue`` and its store) on the tenant's region; each change
is audited with the API's action names, actor ``user:<email>``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from core.api.scopes import WEBHOOKS_MANAGE
from core.api.webhooks import check_webhook_url
from core.console.deps import csrf_checked, require, tenant_runtime
from core.console.sessions import ConsoleUser
from core.console.templating import render
from core.console.webhook_log import delivery_view, recoverable
from core.delivery.models import ENDPOINT
from core.delivery.secrets import new_webhook_secret
from core.runtime import Runtime
from core.sdk.contracts import EVENT_TYPES
from core.sdk.errors import InputError
from core.storage.models import utcnow

__all__ = ["router", "EVENTS"]

router = APIRouter(prefix="/console/webhooks")
Manager = Annotated[ConsoleUser, Depends(require(WEBHOOKS_MANAGE))]
Posting = Annotated[ConsoleUser, Depends(csrf_checked)]
EVENTS = tuple(sorted(EVENT_TYPES))
LOG_SIZE = 50


def _events(chosen: list[str]) -> list[str]:
    picked = [e for e in chosen if e in EVENT_TYPES]
    if not picked:
        raise InputError("invalid_input", "choose at least one event", 422)
    return picked


def _since(text: str) -> datetime:
    """A ``datetime-local`` value (UTC, as the page says)."""
    try:
        return datetime.fromisoformat(text).replace(tzinfo=UTC)
    except ValueError as exc:
        raise InputError("invalid_input", "give the time as YYYY-MM-DDTHH:MM (UTC)", 422) from exc


async def _audit(rt: Runtime, user: ConsoleUser, action: str, target: str, detail: Any = None) -> None:
    await run_in_threadpool(rt.audit.add, user.tenant_id, user.actor, action, target, detail)


async def _list_page(request: Request, user: ConsoleUser, status: int = 200, **shown: Any) -> Response:
    rt = tenant_runtime(request, user)
    endpoints = await run_in_threadpool(rt.deliveries.store.list_endpoints, user.tenant_id)
    default_since = (utcnow() - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    return render(
        request,
        "webhooks.html",
        user,
        status,
        endpoints=endpoints,
        events=EVENTS,
        default_since=default_since,
        **shown,
    )


@router.get("", include_in_schema=False)
async def webhooks_page(request: Request, user: Manager) -> Response:
    """The tenant's endpoints, the form to add one, and recovery of failed deliveries."""
    return await _list_page(request, user)


@router.post("", include_in_schema=False)
async def create_endpoint(
    request: Request,
    user: Manager,
    _: Posting,
    url: Annotated[str, Form(max_length=2048)] = "",
    events: Annotated[list[str] | None, Form()] = None,
    description: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    """Register an endpoint; the page shows its signing secret this once."""
    rt = tenant_runtime(request, user)
    try:
        checked = await run_in_threadpool(check_webhook_url, url.strip(), rt.settings.allow_private_urls)
        chosen = _events(events or [])
    except InputError as exc:
        return await _list_page(request, user, exc.status, problem=exc)
    secret = new_webhook_secret()
    endpoint = await run_in_threadpool(
        rt.deliveries.store.create_endpoint,
        user.tenant_id,
        checked,
        chosen,
        description.strip() or None,
        secret,
        ENDPOINT,
    )
    await _audit(rt, user, "webhook.create", endpoint.id)
    return await _list_page(request, user, 201, created=endpoint, secret=secret)


@router.post("/recover", include_in_schema=False)
async def recover(
    request: Request,
    user: Manager,
    _: Posting,
    since: Annotated[str, Form()] = "",
    endpoint_id: Annotated[str, Form()] = "",
) -> Response:
    """Send every dead delivery since ``since`` (not replayed yet) again, each as a replay."""
    rt = tenant_runtime(request, user)
    try:
        when = _since(since)
    except InputError as exc:
        return await _list_page(request, user, exc.status, problem=exc)
    store = rt.deliveries.store
    ids = await run_in_threadpool(recoverable, store.db, user.tenant_id, when, endpoint_id or None)
    for delivery_id in ids:
        new_id = await run_in_threadpool(store.replay, user.tenant_id, delivery_id)
        await run_in_threadpool(rt.deliveries.send, new_id)
    detail = {"since": when.isoformat(), "deliveries": len(ids)}
    await _audit(rt, user, "webhook.recover", endpoint_id or "all", detail)
    return await _list_page(request, user, recovered=len(ids), recovered_since=when)


async def _endpoint_page(
    request: Request, user: ConsoleUser, endpoint_id: str, status: int = 200, **shown: Any
) -> Response:
    rt = tenant_runtime(request, user)
    store = rt.deliveries.store
    endpoint = await run_in_threadpool(store.get_endpoint, user.tenant_id, endpoint_id)
    rows = await run_in_threadpool(store.list_deliveries, user.tenant_id, endpoint_id, None, LOG_SIZE)
    return render(
        request,
        "webhook.html",
        user,
        status,
        endpoint=endpoint,
        deliveries=[delivery_view(r) for r in rows],
        events=EVENTS,
        **shown,
    )


@router.get("/{endpoint_id}", include_in_schema=False)
async def endpoint_page(request: Request, endpoint_id: str, user: Manager) -> Response:
    """One endpoint: its settings, its secret rotation and its delivery log."""
    return await _endpoint_page(request, user, endpoint_id)


@router.post("/{endpoint_id}/edit", include_in_schema=False)
async def edit_endpoint(
    request: Request,
    endpoint_id: str,
    user: Manager,
    _: Posting,
    url: Annotated[str, Form(max_length=2048)] = "",
    events: Annotated[list[str] | None, Form()] = None,
    description: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    """Change the endpoint's URL, events and description."""
    rt = tenant_runtime(request, user)
    try:
        checked = await run_in_threadpool(check_webhook_url, url.strip(), rt.settings.allow_private_urls)
        chosen = _events(events or [])
        changes = {"url": checked, "events": chosen, "description": description.strip() or None}
        await run_in_threadpool(rt.deliveries.store.update_endpoint, user.tenant_id, endpoint_id, changes)
    except InputError as exc:
        if exc.status == 404:
            raise
        return await _endpoint_page(request, user, endpoint_id, exc.status, problem=exc)
    await _audit(rt, user, "webhook.update", endpoint_id)
    return await _endpoint_page(request, user, endpoint_id, saved=True)


@router.post("/{endpoint_id}/status", include_in_schema=False)
async def set_status(
    request: Request, endpoint_id: str, user: Manager, _: Posting, status: Annotated[str, Form()] = ""
) -> Response:
    """Disable the endpoint (its deliveries are dead-lettered as ``endpoint_disabled``) or enable it."""
    if status not in ("active", "disabled"):
        raise InputError("invalid_input", "status is active or disabled", 422)
    rt = tenant_runtime(request, user)
    changes: dict[str, Any] = {"status": status}
    if status == "disabled":
        changes["disabled_reason"] = "disabled_by_user"
    await run_in_threadpool(rt.deliveries.store.update_endpoint, user.tenant_id, endpoint_id, changes)
    await _audit(rt, user, "webhook.update", endpoint_id, {"status": status})
    return await _endpoint_page(request, user, endpoint_id)


@router.post("/{endpoint_id}/rotate", include_in_schema=False)
async def rotate_secret(request: Request, endpoint_id: str, user: Manager, _: Posting) -> Response:
    """A new signing secret, shown once; the old one keeps signing for the overlap."""
    rt = tenant_runtime(request, user)
    dq = rt.deliveries
    endpoint = await run_in_threadpool(dq.store.get_endpoint, user.tenant_id, endpoint_id)
    secret = new_webhook_secret()
    overlap = dq.settings.webhook_secret_overlap_seconds
    until = await run_in_threadpool(dq.store.rotate_secret, endpoint, secret, overlap)
    await _audit(rt, user, "webhook.rotate_secret", endpoint_id)
    return await _endpoint_page(request, user, endpoint_id, secret=secret, previous_until=until)


@router.post("/{endpoint_id}/deliveries/{delivery_id}/replay", include_in_schema=False)
async def replay(request: Request, endpoint_id: str, delivery_id: str, user: Manager, _: Posting) -> Response:
    """Send one delivery's message again (same ``webhook-id``)."""
    rt = tenant_runtime(request, user)
    store = rt.deliveries.store
    found = await run_in_threadpool(store.get_delivery, user.tenant_id, delivery_id)
    if found.endpoint_id != endpoint_id:
        raise InputError("not_found", "no such delivery", 404)
    try:
        new_id = await run_in_threadpool(store.replay, user.tenant_id, delivery_id)
    except InputError as exc:
        return await _endpoint_page(request, user, endpoint_id, exc.status, problem=exc)
    await run_in_threadpool(rt.deliveries.send, new_id)
    await _audit(rt, user, "webhook.replay", delivery_id)
    return await _endpoint_page(request, user, endpoint_id, replayed=new_id)
