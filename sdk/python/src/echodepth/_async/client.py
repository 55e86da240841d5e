"""``AsyncClient`` (asyncio) and ``Client`` (blocking): the resources over one retrying HTTP session."""

from __future__ import annotations

from types import TracebackType
from typing import Any

import httpx

from echodepth._base import resolve_options
from echodepth._requests import Spec

from .resources import AsyncAnalyse, AsyncJobs, AsyncResults, AsyncStream, AsyncWebhooks
from .session import AsyncSession

__all__ = ["AsyncClient"]


class AsyncClient:
    """The EchoDepth API. ``Client`` blocks; ``AsyncClient`` has the same surface for asyncio, with ``await``.

    Args:
        api_key: an API key (``edk_…``); defaults to ``ECHODEPTH_API_KEY``.
        base_url: the API's address; defaults to ``ECHODEPTH_BASE_URL``, then ``http://127.0.0.1:8000``.
        timeout: seconds for one HTTP request (connect, read, write).
        max_retries: retries of a request after a connection error, 429, 502, 503 or 504 (Retry-After is
            honoured). Analyse calls carry an ``Idempotency-Key``, so retrying them never makes a second job.
        wait_timeout: how long analyse calls wait for their job by default (seconds).
        http_client: an httpx client to use (proxies, custom TLS): ``httpx.Client`` for ``Client``,
            ``httpx.AsyncClient`` for ``AsyncClient``; the SDK sets its own headers per call.

    Use it as a context manager (``with``, or ``async with`` for ``AsyncClient``), or call :meth:`close`.
    """

    def __init__(
        self,
        api_key: str | None = None,
        base_url: str | None = None,
        timeout: float | None = None,
        max_retries: int | None = None,
        *,
        wait_timeout: float = 900.0,
        http_client: httpx.AsyncClient | None = None,
    ) -> None:
        opts = resolve_options(api_key, base_url, timeout, max_retries, wait_timeout)
        self._session = AsyncSession(opts, http_client)
        self.analyse = AsyncAnalyse(self._session)
        """Submit text, audio, video, images or a mix; wait for the result or get a job handle."""
        self.results = AsyncResults(self._session)
        """Fetch and delete results."""
        self.jobs = AsyncJobs(self._session)
        """List the tenant's jobs."""
        self.webhooks = AsyncWebhooks(self._session)
        """Webhook endpoints, secrets, delivery logs and replays."""
        self.stream = AsyncStream(self._session)
        """Real-time video/audio analysis over a WebSocket."""

    @property
    def base_url(self) -> str:
        """The API's base URL."""
        return self._session.opts.base_url

    @property
    def api_key(self) -> str:
        """The API key in use."""
        return self._session.opts.api_key

    @property
    def max_retries(self) -> int:
        """How many times a failed request is retried."""
        return self._session.opts.max_retries

    async def request(self, spec: Spec) -> httpx.Response:
        """Send one API call with retries; a non-2xx answer raises its typed :class:`APIError`."""
        return await self._session.request(spec)

    async def request_json(self, spec: Spec) -> Any:
        """:meth:`request` and the JSON body (None for 204)."""
        return await self._session.request_json(spec)

    async def close(self) -> None:
        """Close the connection pool (when the client created it)."""
        await self._session.close()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()
