"""A tier's ``concurrent_streams``: one slot per live ``WS /v1/stream/video`` of a tenant.

Slots are members of a Redis sorted set per tenant (score = lease end, renewed while the stream runs) when the
broker is Redis, so every API process counts the same streams; a process that dies frees its slots when their
lease runs out. Without Redis they are counted in this process.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

from starlette.concurrency import run_in_threadpool

from core.settings import Settings

__all__ = ["StreamSlots"]

_LEASE_MS = 60_000  # a slot outlives a dead process by at most this long
_RENEW_SECONDS = 20

# KEYS[1] the tenant's set; ARGV: now ms, lease ms, limit, slot id. 1 when admitted.
_ACQUIRE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then return 0 end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[1]), ARGV[3])
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[1]))
return 1
"""


class StreamSlots:
    """Acquire, renew and release stream slots per tenant."""

    def __init__(self, settings: Settings) -> None:
        self.prefix = f"{settings.broker_namespace}:streams:"
        self._redis: Any = None
        url = settings.broker_url or ""
        if url.startswith(("redis://", "rediss://")):
            import redis

            self._redis = redis.Redis.from_url(url)
            self._acquire = self._redis.register_script(_ACQUIRE)
        self._local: dict[str, set[str]] = {}
        self._lock = threading.Lock()

    def acquire(self, tenant_id: str, limit: int, slot: str) -> bool:
        """Take a slot if the tenant has fewer than ``limit`` live streams."""
        if self._redis is not None:
            return bool(self._acquire(keys=[self.prefix + tenant_id], args=[_LEASE_MS, limit, slot]))
        with self._lock:
            live = self._local.setdefault(tenant_id, set())
            if len(live) >= limit:
                return False
            live.add(slot)
            return True

    def renew(self, tenant_id: str, slot: str) -> None:
        """Extend the slot's lease (Redis only)."""
        if self._redis is not None:
            key = self.prefix + tenant_id
            self._redis.zadd(key, {slot: time.time() * 1000 + _LEASE_MS}, xx=True)
            self._redis.pexpire(key, _LEASE_MS)

    def release(self, tenant_id: str, slot: str) -> None:
        """Give the slot back."""
        if self._redis is not None:
            self._redis.zrem(self.prefix + tenant_id, slot)
            return
        with self._lock:
            self._local.get(tenant_id, set()).discard(slot)

    @contextlib.asynccontextmanager
    async def hold(self, tenant_id: str, limit: int | None) -> AsyncIterator[bool]:
        """Yield whether the stream may run; while it runs its slot is renewed, afterwards released."""
        if not limit:
            yield True
            return
        slot = uuid.uuid4().hex
        if not await run_in_threadpool(self.acquire, tenant_id, limit, slot):
            yield False
            return
        renewer = asyncio.create_task(self._renew_forever(tenant_id, slot))
        try:
            yield True
        finally:
            renewer.cancel()
            self.release(tenant_id, slot)  # not awaited: a cancelled stream task must still free its slot

    async def _renew_forever(self, tenant_id: str, slot: str) -> None:
        while True:
            await asyncio.sleep(_RENEW_SECONDS)
            await run_in_threadpool(self.renew, tenant_id, slot)
