"""The baseline: a do-nothing FastAPI app, served by uvicorn exactly like the API."""

from __future__ import annotations

from fastapi import FastAPI, Response

__all__ = ["app"]

app = FastAPI()


@app.post("/noop", status_code=202)
async def noop() -> dict[str, str]:
    """Accept anything and do nothing."""
    return {}


@app.get("/healthz")
async def healthz() -> Response:
    """Readiness probe for the bench harness."""
    return Response(status_code=200)
