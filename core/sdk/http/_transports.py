"""Transports that send an SDK's requests through an ``HttpSession`` (so the SSRF guard, the pinned address
and the pacer apply, and tests reach an emulator): one per HTTP library the vendor SDKs are built on."""

from __future__ import annotations

import io
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode
from urllib.request import Request

import httpx
import requests
import urllib3
from requests.adapters import BaseAdapter

from core.sdk.contracts import HttpSession

__all__ = ["RequestsAdapter", "requests_session", "Urllib3Pool", "AsyncTransport", "send_urllib"]

_DROPPED = {"host", "content-length"}  # the guarded session sets Host for the pinned address; httpx sizes


class RequestsAdapter(BaseAdapter):
    """A ``requests`` transport: mount it on a ``requests.Session`` for the SDK's origin.

    ``rebase`` = (origin the SDK builds, origin to send to) re-roots every URL (an SDK that always builds
    ``https://<host>`` while the account lives elsewhere). ``last_headers`` keeps the latest answer's
    headers for SDKs whose errors drop them."""

    def __init__(self, session: HttpSession, timeout: float, rebase: tuple[str, str] | None = None) -> None:
        super().__init__()
        self.session, self.timeout, self.rebase = session, timeout, rebase
        self.last_headers: dict[str, str] = {}

    def send(self, request: requests.PreparedRequest, **_: Any) -> requests.Response:  # type: ignore[override]
        """Send ``request`` through the session; a ``requests.Response`` of its answer."""
        url = str(request.url)
        if self.rebase and url.startswith(self.rebase[0]):
            url = self.rebase[1].rstrip("/") + url[len(self.rebase[0]) :]
        raw = request.body
        body = raw.encode() if isinstance(raw, str) else raw if isinstance(raw, bytes) else None
        headers = {k: v if isinstance(v, str) else v.decode() for k, v in request.headers.items()}
        got = self.session.request(
            str(request.method), url, headers=headers, content=body, timeout=self.timeout
        )
        self.last_headers = dict(got.headers)
        response = requests.Response()
        response.status_code, response._content = got.status_code, got.content
        response.headers.update(got.headers)
        response.url, response.request, response.encoding = url, request, "utf-8"
        return response

    def close(self) -> None:
        """Nothing pooled."""


def requests_session(adapter: RequestsAdapter, origin: str) -> requests.Session:
    """A ``requests.Session`` that sends everything for ``origin`` through ``adapter`` (no proxies from the
    environment)."""
    http = requests.Session()
    http.trust_env = False
    http.mount(origin, adapter)
    return http


class Urllib3Pool:
    """The subset of ``urllib3.PoolManager.request`` generated (OpenAPI) clients use, over an HttpSession."""

    def __init__(self, session: HttpSession, timeout: float) -> None:
        self.session = session
        self.timeout = timeout

    def request(
        self,
        method: str,
        url: str,
        body: Any = None,
        fields: Any = None,
        headers: Mapping[str, str] | None = None,
        **_: Any,
    ) -> urllib3.HTTPResponse:
        """Send one request; its answer as a ``urllib3.HTTPResponse``."""
        content: bytes | None = body.encode() if isinstance(body, str) else body
        if fields and method in ("GET", "HEAD", "DELETE"):
            url = f"{url}?{urlencode(list(fields.items()) if isinstance(fields, dict) else fields)}"
        elif fields:
            content = urlencode(fields).encode()
        got = self.session.request(
            method, url, headers=dict(headers or {}), content=content, timeout=self.timeout
        )
        return urllib3.HTTPResponse(
            body=io.BytesIO(got.content),
            headers=dict(got.headers),
            status=got.status_code,
            reason=got.reason_phrase,
        )


class AsyncTransport(httpx.AsyncBaseTransport):
    """An ``httpx.AsyncClient`` transport for async SDKs: each request sent through the session."""

    def __init__(self, session: HttpSession, timeout: float) -> None:
        self._session, self._timeout = session, timeout

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Send ``request`` through the session (blocking: the SDK runs on its own event loop)."""
        body = await request.aread()
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _DROPPED}
        answer = self._session.request(
            request.method, str(request.url), headers=headers, content=body or None, timeout=self._timeout
        )
        return httpx.Response(answer.status_code, headers=answer.headers, content=answer.content)


def send_urllib(session: HttpSession, url: str, request: Request, timeout: float) -> dict[str, Any]:
    """A ``urllib.request.Request`` sent through the session: ``{status, headers, body}`` (for SDKs that
    build urllib requests and let a subclass perform them)."""
    data = request.data if isinstance(request.data, bytes) else None
    method = request.get_method()
    response = session.request(
        method, url, headers=dict(request.header_items()), content=data, timeout=timeout
    )
    return {"status": response.status_code, "headers": dict(response.headers), "body": response.text}
