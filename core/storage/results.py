"""Result schema v1 documents built from stored rows: one builder for the API, webhooks and exports."""

from __future__ import annotations

from typing import Any

from core.sdk.schema import ErrorInfo, JobStatus, ResultV1
from core.storage.models import Job, Result

__all__ = ["job_error", "result_v1"]


def job_error(job: Job) -> ErrorInfo | None:
    """The job's failure, if it failed."""
    if job.error_code:
        return ErrorInfo(code=job.error_code, message=job.error_message or "")
    return None


def result_v1(job: Job, result: Result | None) -> ResultV1:
    """The job and (when completed) its analysis, as GET /v1/result/{job_id} returns it."""
    body: dict[str, Any] = dict(result.body) if result is not None else {}
    body.pop("modality", None)
    return ResultV1(
        job_id=job.id,
        status=JobStatus(job.status),
        modality=job.modality,
        created_at=job.created_at,
        completed_at=job.completed_at,
        error=job_error(job),
        metadata=job.metadata_ or {},
        **body,
    )
