"""The Result page and the result's JSON download."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from core.api.scopes import RESULTS_READ
from core.console import result_view as view
from core.console.deps import require, tenant_runtime
from core.console.job_views import STAGES, job_uuid
from core.console.sessions import ConsoleUser
from core.console.templating import render
from core.sdk.errors import InputError
from core.storage.results import result_v1

__all__ = ["router"]

router = APIRouter(prefix="/console")
Reader = Annotated[ConsoleUser, Depends(require(RESULTS_READ))]


async def _result(request: Request, user: ConsoleUser, job_id: str) -> dict[str, Any]:
    """The job's result v1 as JSON, audited as a read like the API's ``GET /v1/result``."""
    rt = tenant_runtime(request, user)
    job_id = job_uuid(job_id)
    found = await run_in_threadpool(rt.store.get_job, user.tenant_id, job_id)
    if found is None:
        raise InputError("not_found", "no such job", 404)
    await run_in_threadpool(rt.audit.add, user.tenant_id, user.actor, "result.read", job_id, None)
    body: dict[str, Any] = result_v1(*found).model_dump(mode="json")
    return body


@router.get("/result/{job_id}", include_in_schema=False)
async def result_page(request: Request, job_id: str, user: Reader) -> Response:
    """Everything the analysis found, with the evidence behind each number."""
    result = await _result(request, user, job_id)
    return render(
        request,
        "result.html",
        user,
        r=result,
        trust=view.trust_view(result),
        transcript=view.transcript(result),
        speakers=view.speakers(result),
        sentences=view.sentences(result),
        charts=view.chart_data(result),
        media=view.media_kind(result),
        stages=STAGES,
        clock=view.clock,
        au_names=view.au_names(),
    )


@router.get("/result/{job_id}/json", include_in_schema=False)
async def result_json(request: Request, job_id: str, user: Reader) -> Response:
    """The result exactly as ``GET /v1/result/{job_id}`` gives it, as a file to save."""
    result = await _result(request, user, job_id)
    return Response(
        json.dumps(result, indent=2),
        media_type="application/json",
        headers={"Content-Disposition": f'attachment; filename="echodepth-{result["job_id"]}.json"'},
    )
