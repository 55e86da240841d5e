"""The Live page (``stream``): the browser's camera and microphone streamed to ``WS /v1/stream/video`` with
a short-lived stream token (``POST /console/live/token``, the same token ``POST /v1/stream/tokens`` issues);
face boxes, AUs, a scrolling V/A/D plot and the measured round trip are drawn by ``static/live.js``."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from core.api.guard import PurposeNotPermitted, purpose_refusal
from core.api.scopes import STREAM
from core.console.deps import csrf_checked, require, tenant_runtime
from core.console.sessions import ConsoleUser
from core.console.templating import render
from core.stream import issue_token

__all__ = ["router", "LIVE_FPS"]

router = APIRouter(prefix="/console/live")
Streamer = Annotated[ConsoleUser, Depends(require(STREAM))]
Posting = Annotated[ConsoleUser, Depends(csrf_checked)]
LIVE_FPS = 5  # frames a second the page sends: enough for boxes and AUs, light on a shared machine


@router.get("", include_in_schema=False)
async def live_page(request: Request, user: Streamer) -> Response:
    """The camera, the overlay of what the stream finds, and its plots."""
    rt = tenant_runtime(request, user)
    return render(request, "live.html", user, fps=min(LIVE_FPS, rt.settings.stream_max_fps))


@router.post("/token", include_in_schema=False)
async def stream_token(request: Request, user: Streamer, _: Posting) -> Response:
    """A token that opens one stream for the user's tenant, valid ``stream_token_ttl_seconds``; refused like
    the API's when the tenant's declared purposes are not permitted."""
    rt = tenant_runtime(request, user)
    reason = await run_in_threadpool(purpose_refusal, rt.policies, user.tenant_id)
    if reason is not None:
        raise PurposeNotPermitted(reason)
    token, expires = issue_token(rt.vault.ring, user.tenant_id, rt.settings.stream_token_ttl_seconds)
    body = {
        "url": f"/v1/stream/video?token={token}",
        "expires_at": datetime.fromtimestamp(expires, UTC).isoformat(),
    }
    return JSONResponse(body, status_code=201, headers={"Cache-Control": "no-store"})
