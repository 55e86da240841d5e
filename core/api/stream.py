"""``WS /v1/stream/video`` (live analysis, protocol in docs/streaming.md) and ``POST /v1/stream/tokens``."""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime

from fastapi import APIRouter, Depends, FastAPI, WebSocket
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from core.api.auth import InsufficientScope, authenticate, presented_credential
from core.api.deps import HomeRuntime, TenantId, TenantRuntime
from core.api.guard import purpose_refusal, require_permitted_purpose
from core.api.ratelimit import stream_limit
from core.api.scopes import STREAM
from core.governance.policy import COMPLIANCE_DOCS
from core.runtime import Runtime
from core.stream import SpentTokens, StreamService, issue_token, verify_token
from core.stream.protocol import Close

__all__ = ["router"]


@contextlib.asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    yield
    service = getattr(app.state, "streams", None)
    if service is not None:
        service.close()
    spent = getattr(app.state, "spent_stream_tokens", None)
    if spent is not None:
        spent.close()


router = APIRouter(prefix="/v1", tags=["stream"], lifespan=_lifespan)


class StreamToken(BaseModel):
    """A short-lived credential for ``WS /v1/stream/video?token=…`` (for browsers)."""

    token: str
    expires_at: datetime
    expires_in: int
    url: str


@router.post(
    "/stream/tokens",
    status_code=201,
    response_model=StreamToken,
    dependencies=[Depends(require_permitted_purpose)],  # 403 purpose_not_permitted (docs/compliance.md)
)
def create_stream_token(tenant_id: TenantId, rt: TenantRuntime) -> StreamToken:
    """A token for one browser stream; valid ``stream_token_ttl_seconds`` (60 s by default)."""
    token, expires = issue_token(rt.vault.ring, tenant_id, rt.settings.stream_token_ttl_seconds)
    return StreamToken(
        token=token,
        expires_at=datetime.fromtimestamp(expires, UTC),
        expires_in=int(rt.settings.stream_token_ttl_seconds),
        url=f"/v1/stream/video?token={token}",
    )


def _tenant(ws: WebSocket, rt: Runtime) -> tuple[str, str | None] | None:
    """The stream's (tenant id, rate tier), from a credential header or a single-use ``?token=``."""
    secret = presented_credential(ws.headers)
    if secret:
        credential = authenticate(rt, secret)
        if credential is not None and STREAM not in credential.scopes:
            raise InsufficientScope(STREAM)  # a ?token= was issued by POST /v1/stream/tokens, which checked
        return (credential.tenant_id, credential.rate_tier) if credential else None
    token = ws.query_params.get("token")
    claims = verify_token(rt.vault.ring, token) if token else None
    if claims is None or not _spent_tokens(ws.app, rt).spend(claims):  # each token opens one stream
        return None
    return claims.tenant_id, rt.store.tenant_rate_tier(claims.tenant_id)


def _spent_tokens(app: FastAPI, rt: Runtime) -> SpentTokens:
    spent: SpentTokens | None = getattr(app.state, "spent_stream_tokens", None)
    if spent is None:
        spent = app.state.spent_stream_tokens = SpentTokens(rt.settings)
    return spent


def _service(app: FastAPI) -> StreamService:
    service: StreamService | None = getattr(app.state, "streams", None)
    if service is None:
        service = app.state.streams = StreamService()
    return service


@router.websocket("/stream/video")
async def stream_video(websocket: WebSocket, home: HomeRuntime) -> None:
    """Live frames and audio in, per-frame and per-second analysis out, a summary job at the end."""
    await websocket.accept()
    try:
        found = await run_in_threadpool(_tenant, websocket, home)
    except InsufficientScope as exc:
        await websocket.send_text(json.dumps({"type": "error", "code": exc.code, "message": exc.message}))
        await websocket.close(int(Close.POLICY), exc.code)
        return
    if found is None:
        message = "send 'Authorization: Bearer <key>' or an unused ?token= from POST /v1/stream/tokens"
        await websocket.send_text(json.dumps({"type": "error", "code": "unauthorized", "message": message}))
        await websocket.close(int(Close.POLICY), "unauthorized")
        return
    tenant_id, rate_tier = found
    rt = await run_in_threadpool(home.for_tenant, tenant_id)  # the stores of the tenant's region
    refused = await run_in_threadpool(purpose_refusal, rt.policies, tenant_id)  # docs/compliance.md
    if refused is not None:
        error = {"type": "error", "code": "purpose_not_permitted", "message": refused}
        await websocket.send_text(json.dumps({**error, "docs": COMPLIANCE_DOCS}))
        await websocket.close(int(Close.POLICY), "purpose_not_permitted")
        return
    slots, limit = stream_limit(websocket.app, rate_tier)  # the tier's concurrent_streams
    async with slots.hold(tenant_id, limit) as admitted:
        if not admitted:
            error = {"type": "error", "code": "too_many_streams"}
            message = f"the rate tier allows {limit} concurrent streams"
            await websocket.send_text(json.dumps({**error, "message": message}))
            await websocket.close(int(Close.TRY_AGAIN_LATER), "too_many_streams")
            return
        await _service(websocket.app).run(websocket, rt.stream_stores, tenant_id)
