"""The audit middleware: a successful call to an audited route is recorded in the tenant's audit log.

It runs after the answer, outside the route's dependencies, so it reads the tenant and actor that
``core.api.auth.authorise`` noted on the request and records in the tenant's region (core.regions).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from fastapi import Request, Response
from starlette.concurrency import run_in_threadpool

from core.runtime import Runtime

__all__ = ["AUDITED_ROUTES", "audit_requests"]

log = logging.getLogger("echodepth.api")

# (method, route path) -> audit action, recorded by the middleware when the answer is not an error.
AUDITED_ROUTES = {
    ("GET", "/v1/result/{job_id}"): "result.read",
    ("DELETE", "/v1/result/{job_id}"): "result.delete",
    ("GET", "/v1/tenants/me/export"): "tenant.export",
    ("POST", "/v1/webhooks"): "webhook.create",
    ("PATCH", "/v1/webhooks/{endpoint_id}"): "webhook.update",
    ("DELETE", "/v1/webhooks/{endpoint_id}"): "webhook.delete",
    ("POST", "/v1/webhooks/{endpoint_id}/rotate-secret"): "webhook.rotate_secret",
    ("POST", "/v1/webhooks/job-signing-secret"): "webhook.job_signing_secret",
    ("POST", "/v1/webhooks/deliveries/{delivery_id}/replay"): "webhook.replay",
    ("GET", "/v1/connections/{provider}/authorize"): "connection.authorize",
    ("DELETE", "/v1/connections/{connection_id}"): "connection.delete",
    ("POST", "/v1/oauth/clients"): "oauth_client.create",
    ("POST", "/v1/oauth/users"): "user.create",
}



def _record(home: Runtime, tenant_id: str, actor: str, action: str, target: str | None) -> None:
    home.for_tenant(tenant_id).audit.add(tenant_id, actor, action, target, None)


async def audit_requests(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
    """Record the audited route's action once it has answered without an error."""
    response = await call_next(request)
    path = getattr(request.scope.get("route"), "path", None)
    action = AUDITED_ROUTES.get((request.method, path or ""))
    tenant_id = getattr(request.state, "tenant_id", None)
    if action is None or tenant_id is None or response.status_code >= 400:
        return response
    params = request.scope.get("path_params") or {}
    target = next(iter(params.values()), None)
    actor = str(getattr(request.state, "actor", "unknown"))
    try:
        await run_in_threadpool(_record, request.app.state.runtime, tenant_id, actor, action, target)
    except Exception:  # noqa: BLE001 - the answer is already made; a lost audit entry is logged loudly
        log.exception("audit: could not record %s on %s for tenant %s", action, target, tenant_id)
    return response
