"""The Settings page (``admin``): the tenant's purposes and lawful basis (the compliance guard acts on them),
its region, its retention, its usage (rate tier, request units and media minutes left) and its audit log.

The same services as ``/v1/tenants/me``, ``/v1/usage`` and ``/v1/audit``; changes are audited by them.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from core.api.ratelimit import RateLimits
from core.api.scopes import ADMIN
from core.console.deps import csrf_checked, require, tenant_runtime
from core.console.sessions import ConsoleUser
from core.console.templating import render
from core.governance.policy import CONSENT_BASES, PROHIBITED_IN_EU, PURPOSES, refusal
from core.runtime import Runtime
from core.sdk.errors import InputError

__all__ = ["router"]

router = APIRouter(prefix="/console/settings")
Admin = Annotated[ConsoleUser, Depends(require(ADMIN))]
Posting = Annotated[ConsoleUser, Depends(csrf_checked)]
AUDIT_PAGE = 20


def _usage(request: Request, rt: Runtime, user: ConsoleUser) -> dict[str, Any]:
    """The tenant's tier and what is left of it now (request units of this console user's budget)."""
    limits: RateLimits = request.app.state.rate_limits
    tier = limits.book.tier_for(user.rate_tier)
    per_minute = tier.requests_per_minute if tier else None
    decision = limits.limiter.hit(user.credential().ident, per_minute, 0) if per_minute else None
    minutes = tier.media_minutes_per_day if tier else None
    used = rt.media_quota.used_seconds(user.tenant_id) / 60
    return {
        "tier": tier.name if tier else None,
        "requests_per_minute": per_minute,
        "requests_remaining": decision.remaining if decision else None,
        "concurrent_jobs": tier.concurrent_jobs if tier else None,
        "active_jobs": rt.store.count_active_jobs(user.tenant_id),
        "media_minutes_per_day": minutes,
        "media_minutes_used": round(used, 1),
        "media_minutes_left": round(max(0.0, minutes - used), 1) if minutes else None,
        "concurrent_streams": tier.concurrent_streams if tier else None,
    }


def _page_data(
    request: Request, rt: Runtime, user: ConsoleUser, cursor: str | None, action: str | None
) -> Any:
    policy = rt.policies.get(user.tenant_id)
    audit = rt.audit.page(user.tenant_id, action or None, AUDIT_PAGE, cursor)
    return {
        "policy": policy,
        "retention": policy.effective_retention_days(rt.settings.result_retention_days),
        "default_retention": rt.settings.result_retention_days,
        "refused": refusal(policy.region, policy.purposes),
        "usage": _usage(request, rt, user),
        "audit": audit,
        "action": action or "",
        "first_page": not cursor,
    }


async def _page(
    request: Request, user: ConsoleUser, status: int = 200, cursor: str | None = None, **shown: Any
) -> Response:
    rt = tenant_runtime(request, user)
    action = request.query_params.get("action")
    found = await run_in_threadpool(_page_data, request, rt, user, cursor, action)
    partial = request.headers.get("hx-target") == "audit-log"
    return render(
        request,
        "_audit.html" if partial else "settings.html",
        user,
        status,
        purposes=PURPOSES,
        bases=CONSENT_BASES,
        prohibited_in_eu=PROHIBITED_IN_EU,
        **found,
        **shown,
    )


@router.get("", include_in_schema=False)
async def settings_page(
    request: Request, user: Admin, cursor: Annotated[str | None, Query(max_length=200)] = None
) -> Response:
    """The tenant's governance settings, usage and audit log (``cursor`` pages the log)."""
    return await _page(request, user, cursor=cursor or None)


@router.post("/purposes", include_in_schema=False)
async def set_purposes(
    request: Request,
    user: Admin,
    _: Posting,
    purposes: Annotated[list[str] | None, Form()] = None,
    consent_basis: Annotated[str, Form()] = "",
) -> Response:
    """Declare the tenant's purposes and lawful basis."""
    rt = tenant_runtime(request, user)
    try:
        await run_in_threadpool(
            rt.policies.set_purposes, user.tenant_id, purposes or [], consent_basis or None, user.actor
        )
    except InputError as exc:
        return await _page(request, user, exc.status, problem=exc)
    return await _page(request, user, saved="purposes")


@router.post("/retention", include_in_schema=False)
async def set_retention(
    request: Request, user: Admin, _: Posting, days: Annotated[str, Form()] = ""
) -> Response:
    """Set how many days results are kept (empty: the deployment default)."""
    rt = tenant_runtime(request, user)
    try:
        value = int(days) if days.strip() else None
        await run_in_threadpool(rt.policies.set_retention, user.tenant_id, value, user.actor)
    except ValueError:
        problem = InputError("invalid_input", "retention is a whole number of days", 422)
        return await _page(request, user, 422, problem=problem)
    except InputError as exc:
        return await _page(request, user, exc.status, problem=exc)
    return await _page(request, user, saved="retention")
