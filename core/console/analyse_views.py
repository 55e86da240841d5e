"""The Analyse page: upload a file (XHR with upload progress), paste a text or give a URL; then the job's
progress, polled by htmx, until its result opens."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from core import metrics
from core.api.guard import PurposeNotPermitted, purpose_refusal
from core.api.media import submit_media
from core.api.ratelimit import Allowance, charge
from core.api.scopes import ANALYSE_WRITE
from core.console.deps import csrf_checked, require, tenant_runtime
from core.console.job_views import progress_fragment
from core.console.sessions import ConsoleUser
from core.console.templating import render
from core.media.outbound import check_url
from core.runtime import Runtime
from core.sdk.errors import InputError
from core.storage.models import Job
from core.storage.store import MediaItem, NewInput

__all__ = ["router", "UPLOAD_MODALITIES"]

router = APIRouter(prefix="/console")
UPLOAD_MODALITIES = ("video", "audio", "image")
Analyst = Annotated[ConsoleUser, Depends(require(ANALYSE_WRITE))]
Posting = Annotated[ConsoleUser, Depends(csrf_checked)]


@router.get("/analyse", include_in_schema=False)
async def analyse_page(request: Request, user: Analyst) -> Response:
    """The three ways to start an analysis."""
    rt = tenant_runtime(request, user)
    limits = {
        "max_upload_mb": rt.settings.max_upload_bytes // 1_000_000,
        "max_text": rt.settings.max_text_chars,
    }
    return render(request, "analyse.html", user, modalities=UPLOAD_MODALITIES, **limits)


async def _admit(request: Request, user: ConsoleUser, modality: str) -> tuple[Runtime, Allowance]:
    """The tenant's runtime, and what its tier allows, once the compliance guard and the API's rate tier
    let this analysis in."""
    rt = tenant_runtime(request, user)
    reason = await run_in_threadpool(purpose_refusal, rt.policies, user.tenant_id)
    if reason is not None:
        raise PurposeNotPermitted(reason)
    path = f"/v1/analyse/{modality}"
    allowance = await run_in_threadpool(charge, request, user.credential(), rt, "POST", path)
    return rt, allowance


async def _enqueue(rt: Runtime, job: Job) -> None:
    await run_in_threadpool(rt.queue.enqueue, job.id)
    metrics.JOBS_SUBMITTED.labels(job.modality).inc()


async def _upload(request: Request, user: ConsoleUser, modality: str) -> Response:
    rt, allowance = await _admit(request, user, modality)
    job = await submit_media(request, rt, user.tenant_id, modality, allowance)  # the API's streamed intake
    await _enqueue(rt, job)
    return JSONResponse(
        {
            "job_id": job.id,
            "progress": f"/console/jobs/{job.id}/progress",
            "result": f"/console/result/{job.id}",
        },
        status_code=202,
    )


def _upload_route(modality: str) -> None:
    async def handler(request: Request, user: Analyst, _: Posting) -> Response:
        return await _upload(request, user, modality)

    handler.__name__ = f"console_upload_{modality}"
    handler.__doc__ = f"Upload a {modality} file (multipart, field 'file'; CSRF token as a header)."
    router.add_api_route(f"/analyse/{modality}", handler, methods=["POST"], include_in_schema=False)


for _modality in UPLOAD_MODALITIES:
    _upload_route(_modality)


def _error_fragment(request: Request, user: ConsoleUser, exc: InputError) -> Response:
    return render(request, "_problem.html", user, exc.status, problem=exc)


@router.post("/analyse/text", include_in_schema=False)
async def analyse_text(
    request: Request, user: Analyst, _: Posting, text: Annotated[str, Form()] = ""
) -> Response:
    """Queue a pasted text; answers with the job's progress."""
    try:
        rt, allowance = await _admit(request, user, "text")
        if not text.strip():
            raise InputError("invalid_input", "paste some text to analyse", 422)
        if len(text) > rt.settings.max_text_chars:
            raise InputError(
                "payload_too_large", f"the text is over {rt.settings.max_text_chars} characters", 413
            )
        job = await run_in_threadpool(
            rt.store.create_job,
            user.tenant_id,
            "text",
            NewInput(text=text),
            {},
            None,
            max_active=allowance.job_limit,
        )
        await _enqueue(rt, job)
    except InputError as exc:
        return _error_fragment(request, user, exc)
    return await progress_fragment(request, user, job.id)


@router.post("/analyse/url", include_in_schema=False)
async def analyse_url(
    request: Request,
    user: Analyst,
    _: Posting,
    url: Annotated[str, Form(max_length=2048)] = "",
    modality: Annotated[str, Form()] = "video",
) -> Response:
    """Queue a file the worker fetches from a public URL; answers with the job's progress."""
    try:
        if modality not in UPLOAD_MODALITIES:
            raise InputError("invalid_input", f"modality is one of {', '.join(UPLOAD_MODALITIES)}", 422)
        rt, allowance = await _admit(request, user, modality)
        await run_in_threadpool(check_url, url.strip(), rt.settings.allow_private_urls)
        source = NewInput(items=(MediaItem(role=modality, url=url.strip()),))
        job = await run_in_threadpool(
            rt.store.create_job, user.tenant_id, modality, source, {}, None, max_active=allowance.job_limit
        )
        await _enqueue(rt, job)
    except InputError as exc:
        return _error_fragment(request, user, exc)
    return await progress_fragment(request, user, job.id)
