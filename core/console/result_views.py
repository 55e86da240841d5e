"""The Result page and the result's JSON download."""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from core.api.scopes import RESULTS_READ
from core.console import result_view as view
from core.console.deps import require, tenant_runtime
from core.console.job_views import STAGES, job_uuid
from core.console.result_cache import CachedResult, ResultCache
from core.console.sessions import ConsoleUser
from core.console.templating import render
from core.sdk.errors import InputError

__all__ = ["router"]

router = APIRouter(prefix="/console")
Reader = Annotated[ConsoleUser, Depends(require(RESULTS_READ))]


TRANSCRIPT_FIRST = 80  # stretches in the page itself; the rest arrive as the reader scrolls to them
TRANSCRIPT_MORE = 200


def _cache(request: Request) -> ResultCache:
    found: ResultCache | None = getattr(request.app.state, "console_results", None)
    if found is None:
        found = request.app.state.console_results = ResultCache()
    return found


async def _cached(request: Request, user: ConsoleUser, job_id: str) -> CachedResult:
    rt = tenant_runtime(request, user)
    found = await run_in_threadpool(_cache(request).get, rt.store, rt.db, user.tenant_id, job_uuid(job_id))
    if found is None:
        raise InputError("not_found", "no such job", 404)
    return found


async def _result(request: Request, user: ConsoleUser, job_id: str) -> CachedResult:
    """The job's result v1, audited as a read like the API's ``GET /v1/result``."""
    found = await _cached(request, user, job_id)
    rt = tenant_runtime(request, user)
    job = str(found.result["job_id"])
    await run_in_threadpool(rt.audit.add, user.tenant_id, user.actor, "result.read", job, None)
    return found


@router.get("/result/{job_id}", include_in_schema=False)
async def result_page(request: Request, job_id: str, user: Reader) -> Response:
    """Everything the analysis found, with the evidence behind each number; the plots' data is fetched by
    the page's script (``/charts``) and the transcript past its first stretches as the reader scrolls."""
    found = await _result(request, user, job_id)
    result = found.result
    lines = view.transcript(result)
    return render(
        request,
        "result.html",
        user,
        r=result,
        trust=view.trust_view(result),
        transcript=lines[:TRANSCRIPT_FIRST],
        transcript_more=len(lines) > TRANSCRIPT_FIRST,
        transcript_next=TRANSCRIPT_FIRST,
        speakers=view.speakers(result),
        sentences=view.sentences(result),
        charts=found.charts,
        media=view.media_kind(result),
        stages=STAGES,
        clock=view.clock,
        au_names=view.au_names(),
    )


@router.get("/result/{job_id}/charts", include_in_schema=False)
async def result_charts(request: Request, job_id: str, user: Reader) -> Response:
    """The plots' data (per-second series as compact arrays), fetched by the Result page after first paint."""
    found = await _cached(request, user, job_id)
    return Response(found.charts_json, media_type="application/json")


@router.get("/result/{job_id}/transcript", include_in_schema=False)
async def result_transcript(
    request: Request, job_id: str, user: Reader, start: Annotated[int, Query(ge=0)] = 0
) -> Response:
    """The next stretches of the transcript from ``start`` (an htmx fragment)."""
    found = await _cached(request, user, job_id)
    lines = view.transcript(found.result)
    end = start + TRANSCRIPT_MORE
    return render(
        request,
        "_transcript_items.html",
        user,
        r=found.result,
        transcript=lines[start:end],
        transcript_more=len(lines) > end,
        transcript_next=end,
    )


@router.get("/result/{job_id}/json", include_in_schema=False)
async def result_json(request: Request, job_id: str, user: Reader) -> Response:
    """The result exactly as ``GET /v1/result/{job_id}`` gives it, as a file to save."""
    result = (await _result(request, user, job_id)).result
    return Response(
        json.dumps(result, indent=2),
        media_type="application/json",
        headers={"Content-Disposition": f'attachment; filename="echodepth-{result["job_id"]}.json"'},
    )
