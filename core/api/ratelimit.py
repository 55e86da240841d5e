"""Rate tiers: per-credential request budgets, route costs, concurrent jobs, ``GET /v1/usage``.

Every API key and OAuth access token spends request units (``config/tiers.yaml``: a video analysis costs
more than a result read) from a token bucket of its tier's ``requests_per_minute``: a burst of the whole
budget, refilled evenly (GCRA). The bucket is one Redis key updated by one Lua script when the broker is
Redis, so every API process shares it exactly; otherwise it lives in this process. Counted answers carry
``RateLimit-Limit``, ``RateLimit-Remaining`` and ``RateLimit-Reset`` (seconds until the bucket is full); a
refused request gets ``429 rate_limited`` with ``Retry-After``. Analyses beyond the tier's
``concurrent_jobs`` (queued or processing) get ``429 too_many_jobs``; live streams beyond
``concurrent_streams`` are closed 1013 ``too_many_streams`` (core.api.stream_slots).

A credential without a tier uses ``ECHODEPTH_DEFAULT_RATE_TIER``; with none of those,
``ECHODEPTH_RATE_LIMIT_PER_MINUTE`` (every route costing 1) or, when that is 0, no limit.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse

from core.api.problems import problem
from core.api.stream_slots import StreamSlots
from core.jobs.quota import MediaQuotaExceeded
from core.runtime import Runtime
from core.sdk.errors import InputError
from core.settings import Settings
from core.storage.store import Credential, JobLimitReached
from core.tiers import Tier, TierBook, load_tiers

__all__ = [
    "RateLimiter",
    "RateLimits",
    "Decision",
    "RateLimited",
    "Allowance",
    "install_rate_limits",
    "rate_limits",
    "charge",
    "charge_anonymous",
    "stream_limit",
]

# KEYS[1] the bucket's theoretical arrival time (ms); ARGV: interval ms, burst, cost. {allowed, tat, now}.
_GCRA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
if cost == 0 then return {1, tat, now} end
local new_tat = tat + cost * interval
if now < new_tat - burst * interval then
  return {0, tat, now}
end
redis.call('SET', KEYS[1], new_tat, 'PX', math.ceil(new_tat - now) + 1000)
return {1, new_tat, now}
"""


# Routes whose audio and video count towards a tier's media_minutes_per_day (core.jobs.quota).
_MEDIA_ROUTES = frozenset({"/v1/analyse/audio", "/v1/analyse/video", "/v1/analyse/multimodal"})


@dataclass(frozen=True)
class Decision:
    """Whether a request may go ahead, and the numbers for the RateLimit headers."""

    allowed: bool
    limit: int
    remaining: int
    reset: int
    retry_after: int

    def headers(self) -> dict[str, str]:
        """``RateLimit-*`` headers, and ``Retry-After`` when refused."""
        out = {
            "RateLimit-Limit": str(self.limit),
            "RateLimit-Remaining": str(self.remaining),
            "RateLimit-Reset": str(self.reset),
        }
        if not self.allowed:
            out["Retry-After"] = str(self.retry_after)
        return out


class RateLimited(InputError):
    """429 with the rate-limit headers."""

    def __init__(self, code: str, message: str, headers: dict[str, str]) -> None:
        super().__init__(code, message, 429)
        self.headers = headers


class RateLimiter:
    """GCRA buckets keyed by credential, in Redis (shared by every API process) or in this process."""

    def __init__(self, settings: Settings) -> None:
        self.prefix = f"{settings.broker_namespace}:ratelimit:"
        self.default_per_minute = settings.rate_limit_per_minute
        self._redis: Any = None
        self._script: Any = None
        url = settings.broker_url or ""
        if url.startswith(("redis://", "rediss://")):
            import redis

            self._redis = redis.Redis.from_url(url)
            self._script = self._redis.register_script(_GCRA)
        self._tats: dict[str, float] = {}
        self._lock = threading.Lock()

    def _local(self, ident: str, interval: float, burst: int, cost: int) -> tuple[bool, float, float]:
        now = time.time() * 1000
        with self._lock:
            tat = max(self._tats.get(ident, now), now)
            new_tat = tat + cost * interval
            if cost and now < new_tat - burst * interval:
                return False, tat, now
            self._tats[ident] = new_tat
            if len(self._tats) > 100_000:  # forget buckets that are full again
                self._tats = {k: v for k, v in self._tats.items() if v > now}
            return True, new_tat, now

    def hit(self, ident: str, per_minute: int | None = None, cost: int = 1) -> Decision:
        """Spend ``cost`` units of ``ident``'s bucket of ``per_minute`` (cost 0 only looks)."""
        per_minute = per_minute or self.default_per_minute
        interval = 60_000 / per_minute
        cost = min(cost, per_minute)  # a route dearer than the whole budget still goes on a full bucket
        if self._script is not None:
            args = [interval, per_minute, cost]
            allowed, tat, now = (float(x) for x in self._script(keys=[self.prefix + ident], args=args))
            ok = bool(allowed)
        else:
            ok, tat, now = self._local(ident, interval, per_minute, cost)
        remaining = max(0, math.floor((now + per_minute * interval - tat) / interval))
        wait_ms = max(0.0, tat + cost * interval - per_minute * interval - now)
        return Decision(
            allowed=ok,
            limit=per_minute,
            remaining=remaining,
            reset=math.ceil(max(0.0, tat - now) / 1000),
            retry_after=max(1, math.ceil(wait_ms / 1000)),
        )

    def close(self) -> None:
        """Close the Redis connection, if any."""
        if self._redis is not None:
            self._redis.close()


@dataclass
class RateLimits:
    """The app's tier book, request limiter and stream slots (``app.state.rate_limits``)."""

    book: TierBook
    limiter: RateLimiter
    streams: StreamSlots


@dataclass(frozen=True)
class Allowance:
    """The tier limits a request carries to where they are enforced (None: unlimited)."""

    job_limit: int | None = None  # concurrent_jobs, for ``Store.create_job(max_active=…)`` (atomic there)
    media_limit: int | None = None  # media_minutes_per_day, for ``MediaQuota.charge`` when media is probed


def rate_limits(app: FastAPI) -> RateLimits:
    """The app's rate limits (installed by ``install_rate_limits``)."""
    found: RateLimits = app.state.rate_limits
    return found


def _limits(request: Request) -> RateLimits:
    return rate_limits(request.app)


def charge(
    request: Request, credential: Credential, runtime: Runtime, method: str, path_template: str
) -> Allowance:
    """Spend the route's cost from the credential's bucket (``RateLimited`` when it is empty); refuse early
    an analysis over the tier's concurrent jobs or media minutes (``runtime``: the tenant's region)."""
    limits = _limits(request)
    tier = limits.book.tier_for(credential.rate_tier)
    if tier is None:
        return Allowance()
    if tier.requests_per_minute:
        cost = 1 if tier.name == "per_minute" else limits.book.cost(method, path_template)
        decision = limits.limiter.hit(credential.ident, tier.requests_per_minute, cost)
        request.state.rate_decision = decision
        if not decision.allowed:
            raise RateLimited(
                "rate_limited",
                f"this credential's {tier.name} tier allows {decision.limit} request units per minute "
                f"and this call costs {cost}; retry after {decision.retry_after} s",
                decision.headers(),
            )
    job_limit = media_limit = None
    if tier.concurrent_jobs and method == "POST" and path_template.startswith("/v1/analyse/"):
        job_limit = tier.concurrent_jobs  # enforced atomically when the job row is written
        _check_concurrent_jobs(runtime, credential.tenant_id, tier)  # refuse early, before the body is read
    if tier.media_minutes_per_day and method == "POST" and path_template in _MEDIA_ROUTES:
        media_limit = tier.media_minutes_per_day  # charged when the upload is probed
        runtime.media_quota.check(credential.tenant_id, tier.media_minutes_per_day)
    return Allowance(job_limit, media_limit)


def charge_anonymous(request: Request, buckets: list[tuple[str, int]]) -> None:
    """Spend one unit from each (bucket, per-minute) pair, for endpoints called without our credential
    (``/oauth/*``: by client IP and client_id); ``RateLimited`` when any is empty."""
    limiter = _limits(request).limiter
    for ident, per_minute in buckets:
        decision = limiter.hit(ident, per_minute, 1)
        if not decision.allowed:
            raise RateLimited(
                "rate_limited",
                f"too many OAuth requests ({per_minute} per minute); retry after {decision.retry_after} s",
                decision.headers(),
            )


def _check_concurrent_jobs(runtime: Runtime, tenant_id: str, tier: Tier) -> None:
    active = runtime.store.count_active_jobs(tenant_id)
    if tier.concurrent_jobs is not None and active >= tier.concurrent_jobs:
        raise RateLimited(
            "too_many_jobs",
            f"the {tier.name} tier allows {tier.concurrent_jobs} queued or processing jobs at once",
            {"Retry-After": "5"},
        )


def stream_limit(app: FastAPI, rate_tier: str | None) -> tuple[StreamSlots, int | None]:
    """The slots and the ``concurrent_streams`` of a tier (None = unlimited)."""
    limits = rate_limits(app)
    tier = limits.book.tier_for(rate_tier)
    return limits.streams, tier.concurrent_streams if tier else None


def _refused(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RateLimited)
    return problem(429, exc.code, exc.message, exc.headers)


def _media_quota(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, MediaQuotaExceeded)
    return problem(429, exc.code, exc.message, {"Retry-After": str(exc.retry_after)})


def _too_many_jobs(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, JobLimitReached)
    return problem(429, exc.code, exc.message, {"Retry-After": "5"})


async def _add_headers(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
    response = await call_next(request)
    decision: Decision | None = getattr(request.state, "rate_decision", None)
    if decision is not None and decision.allowed:
        for name, value in decision.headers().items():
            response.headers[name] = value
    return response


def install_rate_limits(app: FastAPI, settings: Settings) -> None:
    """Load the tiers (ConfigError on a bad file), the limiter, the 429 handler, headers and /v1/usage."""
    app.state.rate_limits = RateLimits(load_tiers(settings), RateLimiter(settings), StreamSlots(settings))
    app.add_exception_handler(RateLimited, _refused)
    app.add_exception_handler(JobLimitReached, _too_many_jobs)
    app.add_exception_handler(MediaQuotaExceeded, _media_quota)
    app.middleware("http")(_add_headers)
