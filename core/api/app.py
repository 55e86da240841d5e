"""The API application: routes, problem handlers, health, readiness and metrics (``core.app`` adds the
console; the API knows nothing of it)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

import engine
from core import metrics
from core.api.connections import router as connections_router
from core.api.deps import HomeRuntime
from core.api.early import install_early_answers
from core.api.governance import install_governance
from core.api.oauth import install_oauth
from core.api.problems import install_problem_handlers, problem
from core.api.ratelimit import install_rate_limits
from core.api.routes import router
from core.api.sources import router as sources_router
from core.api.stream import router as stream_router
from core.api.usage import router as usage_router
from core.api.webhooks import router as webhooks_router
from core.runtime import Runtime
from core.settings import Settings, get_settings

__all__ = ["create_app"]

log = logging.getLogger("echodepth.api")

_DESCRIPTION = """
Emotion analysis with its evidence. **The Trust Score is not a lie detector**: science does not
support detecting deception from faces, voices or words. It is a documented composite of signal
congruence, stress markers and signal quality, always returned with its components, evidence and
quality flags. Use it to decide where a human should look more closely, never as a verdict.
"""


def create_app(
    runtime: Runtime | None = None,
    settings: Settings | None = None,
    frontends: Sequence[Callable[[FastAPI], None]] = (),
) -> FastAPI:
    """The API. Without a runtime one is built (and in embedded mode it runs the worker too); each of
    ``frontends`` installs itself after the API's routes, inside the request counter and HTTPS."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        owned = runtime is None
        rt = runtime or Runtime(settings)
        app.state.runtime = rt
        if owned and rt.settings.embedded_worker:
            rt.start_embedded_worker()
        try:
            yield
        finally:
            if owned:
                rt.close()

    app = FastAPI(
        title="EchoDepth API", version=engine.__version__, description=_DESCRIPTION, lifespan=lifespan
    )
    if runtime is not None:
        app.state.runtime = runtime
    install_problem_handlers(app)
    app.include_router(router)
    app.include_router(webhooks_router)
    app.include_router(connections_router)
    app.include_router(stream_router)
    app.include_router(sources_router)  # POST /v1/hooks/{source}, /v1/sources/{source}/settings
    _add_ops_routes(app)
    limits = runtime.settings if runtime is not None else (settings or get_settings())
    install_rate_limits(app, limits)  # tiers (config/tiers.yaml), 429s, RateLimit-* headers
    app.include_router(usage_router)  # GET /v1/usage
    install_oauth(app)  # the OAuth 2.0 authorization server (/oauth/*, /v1/oauth/clients)
    for install in frontends:  # the web console at /console (core.app, docs/console.md)
        install(app)
    app.middleware("http")(_count_requests)
    install_governance(app, limits)  # tenants/me, audit, compliance guard errors, HTTPS
    install_early_answers(app, limits.max_upload_bytes)  # up-front 413, drain before early errors (outermost)
    return app


async def _count_requests(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
    response = await call_next(request)
    route = request.scope.get("route")
    path = getattr(route, "path", "unmatched")
    metrics.REQUESTS.labels(request.method, path, str(response.status_code)).inc()
    return response


def _add_ops_routes(app: FastAPI) -> None:
    @app.get("/healthz", tags=["ops"])
    def healthz() -> dict[str, str]:
        """The process is up."""
        return {"status": "ok"}

    @app.get("/readyz", tags=["ops"], response_model=None)
    def readyz(rt: HomeRuntime) -> dict[str, str] | Response:
        """The database and the broker answer."""
        checks = {"database": rt.db.ping, "broker": rt.queue.ping}
        for name, check in checks.items():
            try:
                check()
            except Exception as exc:  # noqa: BLE001 - any failure means not ready
                log.warning("readiness: %s unreachable: %s", name, exc)
                return problem(503, "not_ready", f"{name} is unreachable")
        return {"status": "ready", "database": "ok", "broker": "ok"}

    @app.get("/metrics", tags=["ops"], include_in_schema=False)
    def prometheus(rt: HomeRuntime) -> Response:
        """Prometheus text format."""
        if not rt.settings.metrics_enabled:
            return problem(404, "not_found", "metrics are disabled")
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
