"""The Jobs page (filters, paging, erasure) and a job's live progress fragment."""

from __future__ import annotations

import json
import uuid
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from core.api.scopes import RESULTS_DELETE, RESULTS_READ
from core.console.deps import csrf_checked, require, tenant_runtime
from core.console.job_list import JobFilter, find_jobs
from core.console.sessions import ConsoleUser
from core.console.templating import render
from core.sdk.errors import InputError
from core.sdk.schema import JobStatus
from core.storage.models import Job, utcnow

__all__ = ["router", "progress_fragment", "job_uuid", "STAGES"]

router = APIRouter(prefix="/console")
Reader = Annotated[ConsoleUser, Depends(require(RESULTS_READ))]
Eraser = Annotated[ConsoleUser, Depends(require(RESULTS_DELETE))]
Posting = Annotated[ConsoleUser, Depends(csrf_checked)]
MODALITIES = ("text", "audio", "video", "image", "multimodal")
STAGES = (("queued", "Queued"), ("processing", "Analysing"), ("completed", "Done"))


def job_uuid(job_id: str) -> str:
    """The job id in canonical form; 404 for anything that is not a UUID."""
    try:
        return str(uuid.UUID(job_id))
    except ValueError as exc:
        raise InputError("not_found", "no such job", 404) from exc


def _filter(status: str | None, modality: str | None, since: str | None, until: str | None) -> JobFilter:
    try:
        return JobFilter(
            status=status if status in {s.value for s in JobStatus} else None,
            modality=modality if modality in MODALITIES else None,
            since=date.fromisoformat(since) if since else None,
            until=date.fromisoformat(until) if until else None,
        )
    except ValueError as exc:
        raise InputError("invalid_input", "dates are YYYY-MM-DD", 422) from exc


@router.get("/jobs", include_in_schema=False)
async def jobs_page(
    request: Request,
    user: Reader,
    status: str | None = None,
    modality: str | None = None,
    since: str | None = None,
    until: str | None = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    """The tenant's jobs, newest first, 20 a page; htmx asks for the table alone when a filter changes."""
    rt = tenant_runtime(request, user)
    wanted = _filter(status, modality, since, until)
    jobs, next_cursor = await run_in_threadpool(find_jobs, rt.db, user.tenant_id, wanted, cursor or None)
    query = {k: v for k, v in {"status": wanted.status, "modality": wanted.modality}.items() if v}
    query |= {k: v.isoformat() for k, v in {"since": wanted.since, "until": wanted.until}.items() if v}
    partial = request.headers.get("hx-target") == "jobs-table"
    return render(
        request,
        "_jobs_table.html" if partial else "jobs.html",
        user,
        jobs=jobs,
        wanted=wanted,
        query=query,
        next_cursor=next_cursor,
        first_page=not cursor,
        statuses=[s.value for s in JobStatus],
        modalities=MODALITIES,
    )


def _stage(job: Job) -> int:
    return {"queued": 1, "processing": 2, "completed": 3, "failed": 3}.get(job.status, 1)


async def progress_fragment(request: Request, user: ConsoleUser, job_id: str) -> Response:
    """The job's stage; once it is done, htmx is told to open the result in place (``HX-Location``)."""
    rt = tenant_runtime(request, user)
    found = await run_in_threadpool(rt.store.get_job, user.tenant_id, job_uuid(job_id))
    if found is None:
        raise InputError("not_found", "no such job", 404)
    job = found[0]
    since = job.started_at or job.created_at
    response = render(
        request,
        "_progress.html",
        user,
        job=job,
        stage=_stage(job),
        stages=STAGES,
        elapsed=max(0, int((utcnow() - since).total_seconds())),
    )
    if job.status == "completed":
        target = {
            "path": f"/console/result/{job.id}",
            "target": "#main",
            "select": "#main",
            "swap": "outerHTML",
        }
        response.headers["HX-Location"] = json.dumps(target)
    return response


@router.get("/jobs/{job_id}/progress", include_in_schema=False)
async def job_progress(request: Request, job_id: str, user: Reader) -> Response:
    """The progress fragment the Analyse page polls about once a second."""
    return await progress_fragment(request, user, job_id)


@router.post("/jobs/{job_id}/delete", include_in_schema=False)
async def delete_job(
    request: Request, job_id: str, user: Eraser, _: Posting, then: Annotated[str, Form()] = "row"
) -> Response:
    """Erase the job, its input and its result (audited); the row or the result page goes with it."""
    rt = tenant_runtime(request, user)
    job_id = job_uuid(job_id)
    if not await run_in_threadpool(rt.store.delete_job, user.tenant_id, job_id):
        raise InputError("not_found", "no such job", 404)
    await run_in_threadpool(rt.spool.delete, job_id)
    forget = getattr(request.app.state, "console_results", None)
    if forget is not None:
        forget.forget(user.tenant_id, job_id)
    await run_in_threadpool(rt.audit.add, user.tenant_id, user.actor, "result.delete", job_id, None)
    if then == "jobs":
        return Response(status_code=204, headers={"HX-Redirect": "/console/jobs"})
    return render(request, "_erased_row.html", user, job_id=job_id)
