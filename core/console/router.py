"""The console mounted on the API app: its pages, its static files, its headers and its error pages."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import cast

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from core.console import (
    analyse_views,
    auth_views,
    integration_views,
    job_views,
    live_views,
    result_views,
    settings_views,
    webhook_views,
)
from core.console.connect_return import ConnectReturn
from core.console.deps import SignInRequired
from core.console.security import PREFIX, ConsoleHeaders
from core.console.templating import STATIC_DIR, render
from core.sdk.errors import InputError

__all__ = ["install_console"]

Handler = Callable[[Request, Exception], Response | Awaitable[Response]]
_TITLES = {401: "Signed out", 403: "Not permitted", 404: "Not found", 429: "Too many requests"}


def _is_page(request: Request) -> bool:
    """A console request a person looks at (a page or an htmx fragment), not a script's JSON call."""
    path = request.url.path
    if not (path == PREFIX or path.startswith(PREFIX + "/")):
        return False
    accept = request.headers.get("accept", "")
    return "text/html" in accept or "application/json" not in accept  # scripts ask for JSON


def _sign_in_first(request: Request) -> Response:
    """Send the browser to the sign-in page, and back to this page afterwards."""
    back = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    target = f"/console/sign-in?next={back}" if request.method == "GET" else "/console/sign-in"
    if request.headers.get("hx-request") == "true":
        return Response(status_code=401, headers={"HX-Redirect": target})
    return RedirectResponse(target, status_code=303)


def _html_errors(api_handler: Handler) -> Handler:
    """InputError as an HTML page or fragment for the console's pages; the API's problem+json elsewhere."""

    async def handler(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, InputError)
        if not _is_page(request):
            answer = api_handler(request, exc)
            return await answer if isinstance(answer, Awaitable) else answer
        if isinstance(exc, SignInRequired):
            return _sign_in_first(request)
        user = getattr(request.state, "console_user", None)
        name = "_problem.html" if request.headers.get("hx-request") == "true" else "error.html"
        title = _TITLES.get(exc.status, "Something went wrong")
        return render(request, name, user, exc.status, title=title, problem=exc)

    return handler


def install_console(app: FastAPI) -> None:
    """Serve the console at ``/console`` (same origin as the API), its assets at ``/console/static``;
    call it after the problem handlers are installed (it wraps the one for InputError)."""
    modules = (
        auth_views,
        analyse_views,
        job_views,
        result_views,
        live_views,
        integration_views,
        webhook_views,
        settings_views,
    )
    for module in modules:
        app.include_router(module.router)
    app.mount(f"{PREFIX}/static", StaticFiles(directory=STATIC_DIR), name="console-static")
    api_handler = cast(Handler, app.exception_handlers[InputError])
    app.add_exception_handler(InputError, _html_errors(api_handler))
    app.add_middleware(ConsoleHeaders)
    app.add_middleware(ConnectReturn)  # a connect flow the console started ends on its Integrations page
