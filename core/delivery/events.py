"""Event envelopes: ``{"type", "timestamp", "data"}``; for analyses ``data`` is the result as GET /v1/result
returns it (schema v1)."""

from __future__ import annotations

from typing import Any

from core.delivery.store import NewEvent
from core.storage.db import Database
from core.storage.models import Job, Result
from core.storage.outbox import envelope
from core.storage.results import result_v1

__all__ = ["envelope", "result_document", "job_event"]


def result_document(job: Job, result: Result | None) -> dict[str, Any]:
    """The job's result schema v1 document, exactly as GET /v1/result/{job_id} serialises it."""
    return result_v1(job, result).model_dump(mode="json")


def job_event(db: Database, job_id: str) -> NewEvent | None:
    """``analysis.completed`` / ``analysis.failed`` for an ended job; None if it is gone or not ended."""
    with db.session() as s:
        job = s.get(Job, job_id)
        if job is None or job.status not in ("completed", "failed"):
            return None
        data = result_document(job, s.get(Result, job_id))
    event_type = "analysis.completed" if job.status == "completed" else "analysis.failed"
    return NewEvent(job.tenant_id, event_type, envelope(event_type, data), job.webhook_url)
