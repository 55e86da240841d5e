"""Meeting-source routes: vendor webhooks (``POST /v1/hooks/{source}``, for every served region: a webhook
names an account, and each region queues it for its own tenants) and per-tenant meeting policies (in the
tenant's region)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool

from core.api.deps import HomeRuntime, Hooks, TenantId, TenantRuntime
from core.sdk.errors import InputError
from core.sources.models import MeetingPolicy

__all__ = ["router"]

router = APIRouter(prefix="/v1", tags=["sources"])
_PROBLEM: dict[str, Any] = {"content": {"application/problem+json": {}}}


@router.post("/hooks/{source}", responses={401: _PROBLEM, 404: _PROBLEM, 413: _PROBLEM, 503: _PROBLEM})
async def source_hook(source: str, request: Request, home: HomeRuntime, hooks: Hooks) -> Response:
    """A vendor's webhook (Zoom): verified over the raw body, answered at once, the work queued."""
    body = await request.body()
    if len(body) > home.settings.max_request_bytes:
        raise InputError("payload_too_large", "the webhook body is too large", 413)
    reply = await run_in_threadpool(
        hooks.hook, source, dict(request.query_params), dict(request.headers), body
    )
    return Response(reply.body, status_code=reply.status_code, media_type=reply.media_type)


@router.get(
    "/sources/{source}/settings", response_model=MeetingPolicy, responses={401: _PROBLEM, 404: _PROBLEM}
)
def get_source_settings(source: str, tenant_id: TenantId, rt: TenantRuntime) -> MeetingPolicy:
    """Which of the tenant's recorded meetings this Source analyses."""
    rt.sources.source(source)
    return rt.sources.policy(tenant_id, source)


@router.put(
    "/sources/{source}/settings",
    response_model=MeetingPolicy,
    responses={401: _PROBLEM, 404: _PROBLEM, 422: _PROBLEM},
)
def put_source_settings(
    source: str, policy: MeetingPolicy, tenant_id: TenantId, rt: TenantRuntime
) -> MeetingPolicy:
    """Choose which recorded meetings are analysed: all, a topic pattern, hosts or an opt-in keyword;
    a minimum duration; whether the consent marker is required."""
    return rt.sources.set_policy(tenant_id, source, policy)


@router.post("/sources/{source}/subscriptions", responses={401: _PROBLEM, 404: _PROBLEM})
def sync_source_subscriptions(source: str, tenant_id: TenantId, rt: TenantRuntime) -> dict[str, Any]:
    """Create or renew the vendor's change-notification subscriptions now (Teams; the workers also do it
    every ``source_subscription_interval_seconds``) and list the tenant's, never their clientState."""
    rt.sources.source(source)
    rt.sources.subscriptions.maintain()
    rows = rt.sources.subscriptions.listed(tenant_id, source)
    return {
        "data": [
            {
                "id": r.external_id,
                "connection_id": r.connection_id,
                "resource": r.resource,
                "status": r.status,
                "expires_at": r.expires_at.isoformat() if r.expires_at else None,
            }
            for r in rows
        ]
    }
