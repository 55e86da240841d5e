"""Back to the console after a vendor's consent page.

The API's OAuth callback ends every connect flow at ``GET /v1/oauth/result`` (JSON, for apps). A flow the
console started carries a cookie (``RETURN_COOKIE``, path ``/v1/oauth``, 10 minutes) that sends the browser
to the Integrations page instead, with the outcome in its query; other flows are untouched.
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlencode

from starlette.requests import Request
from starlette.responses import RedirectResponse
from starlette.types import ASGIApp, Receive, Scope, Send

__all__ = ["RETURN_COOKIE", "RESULT_PATH", "ConnectReturn"]

RETURN_COOKIE = "echodepth_console_connect"
RESULT_PATH = "/v1/oauth/result"
_KEPT = ("status", "provider", "code")


class ConnectReturn:
    """ASGI middleware: a console-started connect flow lands on ``/console/integrations``."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path") != RESULT_PATH or scope.get("method") != "GET":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        if request.cookies.get(RETURN_COOKIE) != "1":
            await self.app(scope, receive, send)
            return
        query = parse_qs(scope.get("query_string", b"").decode())
        kept = {k: query[k][0] for k in _KEPT if k in query}
        response = RedirectResponse(f"/console/integrations?{urlencode(kept)}", status_code=303)
        response.delete_cookie(RETURN_COOKIE, path="/v1/oauth")
        await response(scope, receive, send)
