"""The ``Idempotency-Key`` header of POST /v1/analyse/*: fingerprints and the replay decision."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from fastapi import Request
from starlette.concurrency import run_in_threadpool

from core.runtime import Runtime
from core.storage.idempotency import IdempotencyStore, check_key

__all__ = ["HEADER", "fingerprint_json", "fingerprint_upload", "requested_key", "bind_key"]

HEADER = "Idempotency-Key"
_STATE = "idempotency_fingerprint"


def fingerprint_json(data: Any) -> str:
    """SHA-256 of a validated request body (canonical JSON), so key order and spacing do not matter."""
    raw = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(raw.encode()).hexdigest()


def fingerprint_upload(fields: dict[str, str], files: list[tuple[str, str | None, Path]]) -> str:
    """SHA-256 over the form fields and each uploaded file's name, filename and content hash."""
    parts: list[Any] = [sorted(fields.items())]
    for name, filename, path in files:
        digest = hashlib.sha256()
        with path.open("rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                digest.update(chunk)
        parts.append([name, filename, digest.hexdigest()])
    return fingerprint_json(parts)


def remember_fingerprint(request: Request, fingerprint: str) -> None:
    """Record the request's fingerprint for :func:`bind_key` (set by whoever parsed the body)."""
    setattr(request.state, _STATE, fingerprint)


def requested_key(request: Request) -> str | None:
    """The request's idempotency key (validated), or None."""
    return check_key(request.headers.get(HEADER))


async def bind_key(
    request: Request, rt: Runtime, tenant_id: str, route: str, job_id: str
) -> tuple[str, bool]:
    """Bind the request's key to the new job ``job_id``.

    Returns ``(job_id, replayed)``: the job that owns the key (the original one for a repeat, in which case
    the new job is erased again) and whether this was a repeat. Raises 422 ``idempotency_key_reused`` (after
    erasing the new job) when the key was used with a different request.
    """
    key = requested_key(request)
    if key is None:
        return job_id, False
    fingerprint = getattr(request.state, _STATE, None) or ""
    store = IdempotencyStore(rt.db)
    try:
        claimed = await run_in_threadpool(store.claim, tenant_id, key, route, fingerprint, job_id)
    except BaseException:
        await _discard(rt, tenant_id, job_id)
        raise
    if claimed.replayed:
        await _discard(rt, tenant_id, job_id)
    return claimed.job_id, claimed.replayed


async def _discard(rt: Runtime, tenant_id: str, job_id: str) -> None:
    await run_in_threadpool(rt.store.delete_job, tenant_id, job_id)
    await run_in_threadpool(rt.spool.delete, job_id)
    await run_in_threadpool(rt.media_quota.refund, job_id)  # a repeat is not charged twice
