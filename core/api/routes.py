"""The /v1 analysis, result and job routes."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from core import metrics
from core.api.bodies import MediaUrlRequest, TextRequest, parse_text_request
from core.api.deps import TenantId, TenantRuntime, TierAllowance
from core.api.guard import require_permitted_purpose
from core.api.idempotency import bind_key, fingerprint_json, remember_fingerprint, requested_key
from core.api.media import MEDIA_MODALITIES, submit_media
from core.api.webhooks import check_webhook_url
from core.runtime import Runtime
from core.sdk.errors import InputError
from core.sdk.schema import ErrorInfo, JobStatus, ResultV1
from core.storage.results import job_error, result_v1
from core.storage.store import NewInput

__all__ = ["router"]

router = APIRouter(prefix="/v1")
_PROBLEM: dict[str, Any] = {"content": {"application/problem+json": {}}}


class JobLinks(BaseModel):
    """Where to fetch the job's result."""

    result: str


class JobAccepted(BaseModel):
    """202 answer to an analysis request."""

    job_id: str
    status: JobStatus
    links: JobLinks


class JobSummary(BaseModel):
    """One row of GET /v1/jobs."""

    job_id: str
    status: JobStatus
    modality: str
    created_at: datetime
    completed_at: datetime | None
    error: ErrorInfo | None
    links: JobLinks


class JobList(BaseModel):
    """A page of jobs; pass ``next_cursor`` as ``cursor`` for the next one."""

    data: list[JobSummary]
    next_cursor: str | None


def _links(job_id: str) -> JobLinks:
    return JobLinks(result=f"/v1/result/{job_id}")


def _job_uuid(job_id: str) -> str:
    try:
        return str(uuid.UUID(job_id))
    except ValueError as exc:
        raise InputError("invalid_input", "job_id must be a UUID", 422) from exc


_TEXT_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": TextRequest.model_json_schema()},
            "text/plain": {"schema": {"type": "string"}},
        },
    }
}


@router.post(
    "/analyse/text",
    status_code=202,
    response_model=JobAccepted,
    openapi_extra=_TEXT_BODY,
    responses={400: _PROBLEM, 401: _PROBLEM, 403: _PROBLEM, 413: _PROBLEM, 415: _PROBLEM, 422: _PROBLEM},
    dependencies=[Depends(require_permitted_purpose)],  # 403 purpose_not_permitted (docs/compliance.md)
)
async def analyse_text(
    request: Request, response: Response, tenant_id: TenantId, rt: TenantRuntime, allowance: TierAllowance
) -> JobAccepted:
    """Queue linguistic emotion mapping and V/A/D scoring of a text; poll the result link."""
    requested_key(request)  # a malformed Idempotency-Key is refused before the body is read
    body = await parse_text_request(request, rt.settings.max_request_bytes, rt.settings.max_text_chars)
    remember_fingerprint(request, fingerprint_json(body.model_dump(mode="json")))
    webhook = str(body.webhook_url) if body.webhook_url else None
    if webhook:  # 422 url_not_allowed now rather than a dead letter later
        await run_in_threadpool(check_webhook_url, webhook, rt.settings.allow_private_urls)
    job = await run_in_threadpool(
        rt.store.create_job,
        tenant_id,
        "text",
        NewInput(text=body.text),
        body.metadata,
        webhook,
        max_active=allowance.job_limit,
    )
    job_id, replayed = await bind_key(request, rt, tenant_id, "text", job.id)
    return await _accepted(rt, job_id, "text", response, replayed)


async def _accepted(
    rt: Runtime, job_id: str, modality: str, response: Response, replayed: bool = False
) -> JobAccepted:
    """The 202 answer; a repeat under the same Idempotency-Key answers with the original job, not enqueued."""
    if replayed:
        response.headers["Idempotent-Replayed"] = "true"
    else:
        await run_in_threadpool(rt.queue.enqueue, job_id)
        metrics.JOBS_SUBMITTED.labels(modality).inc()
    response.headers["Location"] = f"/v1/result/{job_id}"
    return JobAccepted(job_id=job_id, status=JobStatus.queued, links=_links(job_id))


def _media_body(modality: str) -> dict[str, Any]:
    binary = {"type": "string", "format": "binary"}
    files: dict[str, Any] = (
        {
            "video": binary,
            "audio": binary,
            "image": {"type": "array", "items": binary},
            "text": {"type": "string"},
        }
        if modality == "multimodal"
        else {"file": {"type": "array", "items": binary} if modality == "image" else binary}
    )
    form = {
        **files,
        "metadata": {"type": "string", "description": "JSON object"},
        "webhook_url": {"type": "string", "format": "uri"},
    }
    return {
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": MediaUrlRequest.model_json_schema()},
                "multipart/form-data": {"schema": {"type": "object", "properties": form}},
            },
        }
    }


_MEDIA_DOCS = {
    "audio": "Queue vocal pitch, pace, hesitation, transcript and V/A/D analysis of an audio file or URL.",
    "video": "Queue facial AU, vocal and V/A/D analysis of a video file or URL, fused per second.",
    "image": "Queue facial AU detection and still-frame V/A/D scoring of one or more images.",
    "multimodal": "Queue unified cross-modal V/A/D analysis of any mix of video, audio, text and images.",
}


def _media_route(modality: str) -> Any:
    async def handler(
        request: Request, response: Response, tenant_id: TenantId, rt: TenantRuntime, allowance: TierAllowance
    ) -> JobAccepted:
        requested_key(request)  # a malformed Idempotency-Key is refused before the body is read
        job = await submit_media(request, rt, tenant_id, modality, allowance)
        job_id, replayed = await bind_key(request, rt, tenant_id, modality, job.id)
        return await _accepted(rt, job_id, modality, response, replayed)

    handler.__name__ = f"analyse_{modality}"
    handler.__doc__ = _MEDIA_DOCS[modality]
    return handler


for _modality in MEDIA_MODALITIES:
    router.add_api_route(
        f"/analyse/{_modality}",
        _media_route(_modality),
        methods=["POST"],
        status_code=202,
        response_model=JobAccepted,
        openapi_extra=_media_body(_modality),
        responses={400: _PROBLEM, 401: _PROBLEM, 403: _PROBLEM, 413: _PROBLEM, 415: _PROBLEM, 422: _PROBLEM},
        dependencies=[Depends(require_permitted_purpose)],  # 403 purpose_not_permitted (docs/compliance.md)
    )


@router.get("/result/{job_id}", response_model=ResultV1, responses={404: _PROBLEM, 422: _PROBLEM})
def get_result(job_id: str, tenant_id: TenantId, rt: TenantRuntime) -> ResultV1:
    """The job, and when completed its full result (schema v1)."""
    found = rt.store.get_job(tenant_id, _job_uuid(job_id))
    if found is None:
        raise InputError("not_found", "no such job", 404)
    return result_v1(*found)


@router.delete("/result/{job_id}", status_code=204, responses={404: _PROBLEM, 422: _PROBLEM})
def delete_result(job_id: str, tenant_id: TenantId, rt: TenantRuntime) -> Response:
    """Erase the job, its input and its result."""
    job_id = _job_uuid(job_id)
    if not rt.store.delete_job(tenant_id, job_id):
        raise InputError("not_found", "no such job", 404)
    rt.spool.delete(job_id)
    return Response(status_code=204)


@router.get("/jobs", response_model=JobList, responses={422: _PROBLEM})
def list_jobs(
    tenant_id: TenantId,
    rt: TenantRuntime,
    status: JobStatus | None = None,
    limit: Annotated[int, Query(ge=1)] = 20,
    cursor: str | None = None,
) -> JobList:
    """The tenant's jobs, newest first, cursor-paginated."""
    if limit > rt.settings.jobs_page_max:
        raise InputError("invalid_input", f"limit must be at most {rt.settings.jobs_page_max}", 422)
    page = rt.store.list_jobs(tenant_id, status.value if status else None, limit, cursor)
    data = [
        JobSummary(
            job_id=j.id,
            status=JobStatus(j.status),
            modality=j.modality,
            created_at=j.created_at,
            completed_at=j.completed_at,
            error=job_error(j),
            links=_links(j.id),
        )
        for j in page.jobs
    ]
    return JobList(data=data, next_cursor=page.next_cursor)
