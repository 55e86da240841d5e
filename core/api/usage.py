"""``GET /v1/usage``: the calling credential's tier and what is left of it now."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from core.api.deps import Limits, Principal, TenantRuntime

__all__ = ["router", "UsageOut"]

router = APIRouter(prefix="/v1", tags=["usage"])


class UsageOut(BaseModel):
    """GET /v1/usage: the calling credential's tier and what is left of it now."""

    tier: str | None
    requests_per_minute: int | None
    requests_remaining: int | None
    reset_seconds: int | None
    concurrent_jobs: int | None
    active_jobs: int
    media_minutes_per_day: int | None
    media_minutes_used_today: float
    media_minutes_remaining_today: float | None
    concurrent_streams: int | None
    costs: dict[str, int]


@router.get("/usage", response_model=UsageOut)
def usage(credential: Principal, rt: TenantRuntime, limits: Limits) -> UsageOut:
    """The tier of the calling key or token, its remaining request units and the tenant's active jobs."""
    tier = limits.book.tier_for(credential.rate_tier)
    per_minute = tier.requests_per_minute if tier else None
    decision = limits.limiter.hit(credential.ident, per_minute, 0) if per_minute else None
    minutes = tier.media_minutes_per_day if tier else None
    used = rt.media_quota.used_seconds(credential.tenant_id)  # UTC today
    return UsageOut(
        tier=tier.name if tier else None,
        requests_per_minute=per_minute,
        requests_remaining=decision.remaining if decision else None,
        reset_seconds=decision.reset if decision else None,
        concurrent_jobs=tier.concurrent_jobs if tier else None,
        active_jobs=rt.store.count_active_jobs(credential.tenant_id),
        media_minutes_per_day=minutes,
        media_minutes_used_today=round(used / 60, 2),
        media_minutes_remaining_today=round(max(0.0, minutes - used / 60), 2) if minutes else None,
        concurrent_streams=tier.concurrent_streams if tier else None,
        costs=limits.book.costs,
    )
