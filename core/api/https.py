"""HTTPS in production: refuse plain HTTP, believe ``X-Forwarded-Proto`` only from trusted proxies, send HSTS.

With ``require_https`` a plain-HTTP request gets ``403 https_required`` (problem+json) and a plain WebSocket
handshake is closed (403) before it is accepted, unless it comes from an address in ``trusted_proxies`` with
``X-Forwarded-Proto: https``; such a request is then treated as HTTPS (``request.url.scheme`` is ``https``,
so cookies set on it are ``Secure``). ``/healthz`` and ``/readyz`` stay open for load-balancer probes.
Every HTTPS response carries ``Strict-Transport-Security`` (RFC 6797) unless ``hsts_max_age_seconds`` is 0.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from core.api.problems import problem
from core.sdk.errors import ConfigError
from core.settings import Settings

__all__ = ["HttpsMiddleware", "parse_networks", "PROBE_PATHS"]

PROBE_PATHS = frozenset({"/healthz", "/readyz"})
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(spec: str) -> tuple[Network, ...]:
    """``"10.0.0.0/8, 127.0.0.1"`` as networks; a bad entry is a ConfigError."""
    try:
        return tuple(ipaddress.ip_network(p.strip(), strict=False) for p in spec.split(",") if p.strip())
    except ValueError as exc:
        raise ConfigError(f"ECHODEPTH_TRUSTED_PROXIES: {exc}") from exc


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return str(value.decode("latin-1"))
    return None


class HttpsMiddleware:
    """ASGI middleware doing the above for HTTP and WebSocket scopes."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.require = settings.require_https
        self.proxies = parse_networks(settings.trusted_proxies)
        max_age = settings.hsts_max_age_seconds
        self.hsts = f"max-age={max_age}".encode() if max_age else b""

    def _from_trusted_proxy(self, scope: Scope) -> bool:
        client = scope.get("client")
        if not client or not self.proxies:
            return False
        try:
            address = ipaddress.ip_address(client[0])
        except ValueError:
            return False
        return any(address in network for network in self.proxies)

    def _secure(self, scope: Scope) -> bool:
        """True for a TLS connection or a trusted proxy's forwarded HTTPS (then the scope says so too)."""
        if scope.get("scheme") in ("https", "wss"):
            return True
        forwarded = (_header(scope, b"x-forwarded-proto") or "").split(",")[0].strip().lower()
        if forwarded == "https" and self._from_trusted_proxy(scope):
            scope["scheme"] = "https" if scope["type"] == "http" else "wss"
            return True
        return False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        secure = self._secure(scope)
        if not secure and self.require and scope.get("path") not in PROBE_PATHS:
            await self._refuse(scope, receive, send)
            return
        if secure and self.hsts and scope["type"] == "http":
            send = self._with_hsts(send)
        await self.app(scope, receive, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008, "reason": "https_required"})
            return
        response = problem(403, "https_required", "this API accepts only HTTPS; use https://")
        await response(scope, receive, send)

    def _with_hsts(self, send: Send) -> Send:
        async def sender(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers: list[Any] = list(message.get("headers", []))
                headers.append((b"strict-transport-security", self.hsts))
                message = {**message, "headers": headers}
            await send(message)

        return sender
