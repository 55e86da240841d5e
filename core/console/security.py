"""The console's response headers: a strict Content-Security-Policy and its companions.

Every script and style is a static file of ``/console/static`` (no inline code, no ``'unsafe-inline'``, no
``eval``); media plays from ``blob:`` URLs of the user's own local file; nothing may frame the console.
"""

from __future__ import annotations

from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["CONTENT_SECURITY_POLICY", "ConsoleHeaders", "PREFIX"]

PREFIX = "/console"
CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data: blob:",  # ECharts' own icons are data: URIs
        "media-src 'self' blob:",
        "connect-src 'self'",
        "form-action 'self'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
    )
)
_HEADERS = (
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"cross-origin-opener-policy", b"same-origin"),
)


class ConsoleHeaders:
    """ASGI middleware adding the headers above to every ``/console`` response (pages, fragments, assets);
    pages and fragments are also ``Cache-Control: no-store`` (they show a signed-in user's data)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = str(scope.get("path", ""))
        if scope["type"] != "http" or not (path == PREFIX or path.startswith(PREFIX + "/")):
            await self.app(scope, receive, send)
            return
        static = path.startswith(PREFIX + "/static/")

        async def sender(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers: list[Any] = [
                    h for h in message.get("headers", []) if h[0].lower() != b"cache-control"
                ]
                headers += _HEADERS
                headers.append((b"cache-control", b"public, max-age=3600" if static else b"no-store"))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, sender)
