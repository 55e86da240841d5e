"""A per-API-key request limit: ``ECHODEPTH_RATE_LIMIT_PER_MINUTE`` (0, the default, means unlimited).

The seed of the rate tiers (issue [9] replaces this with the ``limits`` package and per-tenant tiers).
Each presented key may make ``N`` requests per minute as a token bucket (GCRA): a burst of ``N``, then one
more every ``60/N`` seconds. The state is in Redis when the broker is Redis (shared by every API process),
else in this process. Answers carry ``RateLimit-Limit``, ``RateLimit-Remaining`` and ``RateLimit-Reset``
(seconds until the bucket is full again); a refused request gets ``429 rate_limited`` with ``Retry-After``
(seconds until the next request is allowed). Only ``/v1/`` HTTP requests that present a key are counted.
"""

from __future__ import annotations

import hashlib
import math
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from fastapi import Request, Response
from starlette.concurrency import run_in_threadpool

from core.api.problems import problem
from core.settings import Settings

__all__ = ["RateLimiter", "Decision", "rate_limit_middleware"]

# KEYS[1] the key's theoretical arrival time (ms); ARGV: interval ms, burst. Returns {allowed, tat, now}.
_GCRA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
if now < tat - (burst - 1) * interval then
  return {0, tat, now}
end
tat = tat + interval
redis.call('SET', KEYS[1], tat, 'PX', math.ceil(tat - now) + 1000)
return {1, tat, now}
"""


@dataclass(frozen=True)
class Decision:
    """Whether a request may go ahead, and the numbers for the RateLimit headers."""

    allowed: bool
    limit: int
    remaining: int
    reset: int
    retry_after: int

    def headers(self) -> dict[str, str]:
        out = {
            "RateLimit-Limit": str(self.limit),
            "RateLimit-Remaining": str(self.remaining),
            "RateLimit-Reset": str(self.reset),
        }
        if not self.allowed:
            out["Retry-After"] = str(self.retry_after)
        return out


class RateLimiter:
    """GCRA over one key space, in Redis or in this process."""

    def __init__(self, settings: Settings) -> None:
        self.limit = settings.rate_limit_per_minute
        self.interval_ms = 60_000 / self.limit if self.limit else 0.0
        self.prefix = f"{settings.broker_namespace}:ratelimit:"
        self._redis: Any = None
        self._script: Any = None
        url = settings.broker_url or ""
        if self.limit and url.startswith(("redis://", "rediss://")):
            import redis

            self._redis = redis.Redis.from_url(url)
            self._script = self._redis.register_script(_GCRA)
        self._tats: dict[str, float] = {}
        self._lock = threading.Lock()

    def _local(self, ident: str) -> tuple[bool, float, float]:
        now = time.time() * 1000
        with self._lock:
            tat = max(self._tats.get(ident, now), now)
            if now < tat - (self.limit - 1) * self.interval_ms:
                return False, tat, now
            tat += self.interval_ms
            self._tats[ident] = tat
            if len(self._tats) > 100_000:  # forget keys whose bucket is full again
                self._tats = {k: v for k, v in self._tats.items() if v > now}
            return True, tat, now

    def hit(self, ident: str) -> Decision:
        """Count one request of ``ident`` (a hash of the presented key)."""
        if self._script is not None:
            allowed, tat, now = (
                float(x)
                for x in self._script(keys=[self.prefix + ident], args=[self.interval_ms, self.limit])
            )
            ok = bool(allowed)
        else:
            ok, tat, now = self._local(ident)
        remaining = max(0, math.floor((now + self.limit * self.interval_ms - tat) / self.interval_ms))
        wait_ms = max(0.0, tat - (self.limit - 1) * self.interval_ms - now)
        return Decision(
            allowed=ok,
            limit=self.limit,
            remaining=remaining,
            reset=math.ceil(max(0.0, tat - now) / 1000),
            retry_after=max(1, math.ceil(wait_ms / 1000)),
        )

    def close(self) -> None:
        if self._redis is not None:
            self._redis.close()


def _presented_key(request: Request) -> str | None:
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return request.headers.get("x-api-key") or None


def rate_limit_middleware(settings: Settings) -> Callable[..., Awaitable[Response]]:
    """HTTP middleware enforcing ``rate_limit_per_minute`` (a no-op when it is 0)."""
    limiter = RateLimiter(settings) if settings.rate_limit_per_minute else None

    async def middleware(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        key = _presented_key(request) if limiter is not None else None
        if limiter is None or key is None or not request.url.path.startswith("/v1/"):
            return await call_next(request)
        ident = hashlib.sha256(key.encode()).hexdigest()[:32]
        decision = await run_in_threadpool(limiter.hit, ident)
        if not decision.allowed:
            return problem(
                429,
                "rate_limited",
                f"more than {decision.limit} requests per minute with this key; retry after "
                f"{decision.retry_after} s",
                decision.headers(),
            )
        response = await call_next(request)
        for name, value in decision.headers().items():
            response.headers[name] = value
        return response

    return middleware
