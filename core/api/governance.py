"""/v1/tenants/me (policy, purposes, retention, export, erase-all) and /v1/audit.

These routes need the ``admin`` scope (core.api.scopes).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, Query, Response
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from core.api.audit import audit_requests
from core.api.deps import Principal, TenantId, TenantRuntime
from core.api.guard import install_guard_handler
from core.api.https import HttpsMiddleware
from core.governance.export import TenantExport
from core.governance.policy import TenantPolicy, refusal
from core.sdk.errors import InputError
from core.settings import Settings

__all__ = ["router", "install_governance"]

router = APIRouter(prefix="/v1", tags=["governance"])
_PROBLEM: dict[str, Any] = {"content": {"application/problem+json": {}}}

class TenantOut(BaseModel):
    """The calling tenant's governance settings."""

    id: str
    name: str
    region: str = Field(description="uk (default) or eu; set by the operator (echodepth tenants set)")
    purposes: list[str]
    consent_basis: str | None
    retention_days: int | None = Field(description="the tenant's own retention; null = the default")
    effective_retention_days: int
    analyses_permitted: bool = Field(description="false when the compliance guard refuses analyses")


class PurposesIn(BaseModel):
    """PUT /v1/tenants/me/purposes."""

    purposes: list[str] = Field(description="any of the purposes in docs/compliance.md; [] clears them")
    consent_basis: str | None = Field(
        default=None, description="GDPR Art. 6(1) lawful basis, recorded on results"
    )


class RetentionIn(BaseModel):
    """PUT /v1/tenants/me/retention."""

    days: int | None = Field(description="1-3650; null = the deployment default (result_retention_days)")


class AuditOut(BaseModel):
    """One audit entry."""

    id: str
    at: datetime
    actor: str
    action: str
    target: str | None
    detail: dict[str, Any] | None


class AuditList(BaseModel):
    """A page of audit entries, newest first; pass ``next_cursor`` as ``cursor`` for the next one."""

    data: list[AuditOut]
    next_cursor: str | None


def _out(p: TenantPolicy, default_days: int) -> TenantOut:
    return TenantOut(
        id=p.tenant_id,
        name=p.name,
        region=p.region,
        purposes=list(p.purposes),
        consent_basis=p.consent_basis,
        retention_days=p.retention_days,
        effective_retention_days=p.effective_retention_days(default_days),
        analyses_permitted=refusal(p.region, p.purposes) is None,
    )


@router.get("/tenants/me", response_model=TenantOut, responses={401: _PROBLEM})
def get_tenant(tenant_id: TenantId, rt: TenantRuntime) -> TenantOut:
    """The tenant's region, declared purposes, lawful basis and retention."""
    return _out(rt.policies.get(tenant_id), rt.settings.result_retention_days)


@router.put("/tenants/me/purposes", response_model=TenantOut, responses={401: _PROBLEM, 422: _PROBLEM})
def put_purposes(body: PurposesIn, caller: Principal, rt: TenantRuntime) -> TenantOut:
    """Declare what the tenant uses EchoDepth for (the compliance guard acts on it) and its lawful basis."""
    policy = rt.policies.set_purposes(caller.tenant_id, body.purposes, body.consent_basis, caller.actor)
    return _out(policy, rt.settings.result_retention_days)


@router.put("/tenants/me/retention", response_model=TenantOut, responses={401: _PROBLEM, 422: _PROBLEM})
def put_retention(body: RetentionIn, caller: Principal, rt: TenantRuntime) -> TenantOut:
    """Set how many days jobs and results are kept after they end (per the DPA)."""
    policy = rt.policies.set_retention(caller.tenant_id, body.days, caller.actor)
    return _out(policy, rt.settings.result_retention_days)


@router.get(
    "/tenants/me/export",
    responses={200: {"content": {"application/x-ndjson": {}}}, 401: _PROBLEM},
    response_class=StreamingResponse,
)
def export(tenant_id: TenantId, rt: TenantRuntime) -> StreamingResponse:
    """All of the tenant's data as JSON lines (jobs with results, webhook endpoints, connections, audit)."""
    lines = TenantExport(rt.db).lines(tenant_id)
    return StreamingResponse(
        lines,
        media_type="application/x-ndjson",
        headers={"Content-Disposition": 'attachment; filename="echodepth-export.jsonl"'},
    )


@router.delete("/tenants/me/data", status_code=204, responses={401: _PROBLEM})
async def erase_all(caller: Principal, rt: TenantRuntime) -> Response:
    """Erase every job, input, result, media file and webhook delivery of the tenant; done when it answers."""
    await run_in_threadpool(rt.retention.erase_all, caller.tenant_id, caller.actor)
    return Response(status_code=204)


@router.get("/audit", response_model=AuditList, responses={401: _PROBLEM, 422: _PROBLEM})
def audit(
    tenant_id: TenantId,
    rt: TenantRuntime,
    action: str | None = None,
    limit: Annotated[int, Query(ge=1)] = 50,
    cursor: str | None = None,
) -> AuditList:
    """The tenant's audit log (result access and admin actions), newest first."""
    if limit > rt.settings.jobs_page_max:
        raise InputError("invalid_input", f"limit must be at most {rt.settings.jobs_page_max}", 422)
    page = rt.audit.page(tenant_id, action, limit, cursor)
    data = [
        AuditOut(id=e.id, at=e.at, actor=e.actor, action=e.action, target=e.target, detail=e.detail)
        for e in page.entries
    ]
    return AuditList(data=data, next_cursor=page.next_cursor)


def install_governance(app: FastAPI, settings: Settings) -> None:
    """The governance routes, the guard's error handler, the audit log and HTTPS enforcement (outermost)."""
    app.include_router(router)
    install_guard_handler(app)
    app.middleware("http")(audit_requests)
    app.add_middleware(HttpsMiddleware, settings=settings)
