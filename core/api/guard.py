"""The compliance guard on every analyse route: ``403 purpose_not_permitted`` (core.governance.policy)."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from core.api.deps import TenantId, TenantRuntime
from core.api.problems import problem
from core.governance.policy import COMPLIANCE_DOCS, PolicyStore, refusal
from core.sdk.errors import InputError

__all__ = ["PurposeNotPermitted", "require_permitted_purpose", "purpose_refusal", "install_guard_handler"]


class PurposeNotPermitted(InputError):
    """The tenant's region and declared purposes put its analyses under the EU AI Act prohibition."""

    def __init__(self, message: str) -> None:
        super().__init__("purpose_not_permitted", message, 403)


async def require_permitted_purpose(rt: TenantRuntime, tenant_id: TenantId) -> None:
    """Refuse the request when the guard forbids the tenant's analyses (use as a route dependency)."""
    reason = await run_in_threadpool(purpose_refusal, rt.policies, tenant_id)  # its region
    if reason is not None:
        raise PurposeNotPermitted(reason)


def purpose_refusal(policies: PolicyStore, tenant_id: str) -> str | None:
    """Why the guard refuses this tenant's analyses, or None (for WebSocket routes, which cannot raise)."""
    policy = policies.get(tenant_id)
    return refusal(policy.region, policy.purposes)


def _refused(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, PurposeNotPermitted)
    headers = {"Link": f'<{COMPLIANCE_DOCS}>; rel="help"'}
    return problem(403, exc.code, exc.message, headers, links={"docs": COMPLIANCE_DOCS})


def install_guard_handler(app: FastAPI) -> None:
    """Answer PurposeNotPermitted with the docs link (in the body and a ``Link`` header)."""
    app.add_exception_handler(PurposeNotPermitted, _refused)
