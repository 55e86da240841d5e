"""``Client`` (blocking) and ``AsyncClient`` (asyncio): the HTTP core with retries."""

from __future__ import annotations

import asyncio
import time
from types import TracebackType
from typing import Any

import httpx

from echodepth import _base
from echodepth._base import Options, resolve_options
from echodepth._requests import Spec

__all__ = ["Client", "AsyncClient"]


class _Shared:
    _opts: Options

    @property
    def base_url(self) -> str:
        """The API's base URL."""
        return self._opts.base_url

    @property
    def api_key(self) -> str:
        """The API key in use."""
        return self._opts.api_key

    @property
    def max_retries(self) -> int:
        """How many times a failed request is retried."""
        return self._opts.max_retries


class Client(_Shared):
    """The EchoDepth API, blocking.

    Args:
        api_key: an API key (``edk_…``); defaults to ``ECHODEPTH_API_KEY``.
        base_url: the API's address; defaults to ``ECHODEPTH_BASE_URL``, then ``http://127.0.0.1:8000``.
        timeout: seconds for one HTTP request (connect, read, write).
        max_retries: retries of a request after a connection error, 429, 502, 503 or 504 (Retry-After is
            honoured). Analyse calls carry an ``Idempotency-Key``, so retrying them never makes a second job.
        wait_timeout: how long analyse calls wait for their job by default (seconds).
        http_client: an ``httpx.Client`` to use (proxies, custom TLS); the SDK sets its own headers per call.

    Use it as a context manager, or call :meth:`close`.
    """

    def __init__(
        self,
        api_key: str | None = None,
        base_url: str | None = None,
        timeout: float | None = None,
        max_retries: int | None = None,
        *,
        wait_timeout: float = 900.0,
        http_client: httpx.Client | None = None,
    ) -> None:
        from echodepth.resources import Analyse, Jobs, Results, Stream, Webhooks

        self._opts = resolve_options(api_key, base_url, timeout, max_retries, wait_timeout)
        self._http = http_client or httpx.Client(timeout=self._opts.timeout)
        self._owns_http = http_client is None
        self.analyse = Analyse(self)
        """Submit text, audio, video, images or a mix; wait for the result or get a :class:`Job`."""
        self.results = Results(self)
        """Fetch and delete results."""
        self.jobs = Jobs(self)
        """List the tenant's jobs."""
        self.webhooks = Webhooks(self)
        """Webhook endpoints, secrets, delivery logs and replays."""
        self.stream = Stream(self)
        """Real-time video/audio analysis over a WebSocket."""

    def request(self, spec: Spec) -> httpx.Response:
        """Send one API call with retries; a non-2xx answer raises its typed :class:`APIError`."""
        attempt = 0
        while True:
            files, opened = _base.multipart(spec.parts) if spec.parts else (None, [])
            retry_after: float | None = None
            try:
                response = self._http.request(
                    spec.method,
                    self._opts.base_url + spec.path,
                    json=spec.json if not spec.parts else None,
                    data=spec.form or None,
                    files=files,
                    params=spec.params,
                    headers={**_base.default_headers(self._opts), **spec.headers},
                    timeout=self._opts.timeout,
                )
            except httpx.TransportError as exc:
                if attempt >= self._opts.max_retries or not _base.retryable_exception(exc, spec.retry_safe):
                    raise _base.connection_error(exc) from exc
            else:
                if response.is_success:
                    return response
                if attempt >= self._opts.max_retries or not _base.retryable_status(
                    response.status_code, spec.retry_safe
                ):
                    raise _base.error_from_response(response)
                retry_after = _base.parse_retry_after(response.headers)
                if retry_after is not None and retry_after > _base.MAX_RETRY_AFTER:
                    raise _base.error_from_response(response)
            finally:
                for fh in opened:
                    fh.close()
            time.sleep(_base.backoff(attempt, retry_after))
            attempt += 1

    def request_json(self, spec: Spec) -> Any:
        """:meth:`request` and the JSON body (None for 204)."""
        response = self.request(spec)
        return None if response.status_code == 204 or not response.content else response.json()

    def close(self) -> None:
        """Close the connection pool (when the client created it)."""
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


class AsyncClient(_Shared):
    """The EchoDepth API for asyncio: the same surface as :class:`Client`, with ``await``.

    Use ``async with AsyncClient() as client:``, or ``await client.close()``.
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
        from echodepth.resources import AsyncAnalyse, AsyncJobs, AsyncResults, AsyncStream, AsyncWebhooks

        self._opts = resolve_options(api_key, base_url, timeout, max_retries, wait_timeout)
        self._http = http_client or httpx.AsyncClient(timeout=self._opts.timeout)
        self._owns_http = http_client is None
        self.analyse = AsyncAnalyse(self)
        """Submit text, audio, video, images or a mix; wait for the result or get an :class:`AsyncJob`."""
        self.results = AsyncResults(self)
        """Fetch and delete results."""
        self.jobs = AsyncJobs(self)
        """List the tenant's jobs."""
        self.webhooks = AsyncWebhooks(self)
        """Webhook endpoints, secrets, delivery logs and replays."""
        self.stream = AsyncStream(self)
        """Real-time video/audio analysis over a WebSocket."""

    async def request(self, spec: Spec) -> httpx.Response:
        """Send one API call with retries; a non-2xx answer raises its typed :class:`APIError`."""
        attempt = 0
        while True:
            files, opened = _base.multipart(spec.parts) if spec.parts else (None, [])
            retry_after: float | None = None
            try:
                response = await self._http.request(
                    spec.method,
                    self._opts.base_url + spec.path,
                    json=spec.json if not spec.parts else None,
                    data=spec.form or None,
                    files=files,
                    params=spec.params,
                    headers={**_base.default_headers(self._opts), **spec.headers},
                    timeout=self._opts.timeout,
                )
            except httpx.TransportError as exc:
                if attempt >= self._opts.max_retries or not _base.retryable_exception(exc, spec.retry_safe):
                    raise _base.connection_error(exc) from exc
            else:
                if response.is_success:
                    return response
                if attempt >= self._opts.max_retries or not _base.retryable_status(
                    response.status_code, spec.retry_safe
                ):
                    raise _base.error_from_response(response)
                retry_after = _base.parse_retry_after(response.headers)
                if retry_after is not None and retry_after > _base.MAX_RETRY_AFTER:
                    raise _base.error_from_response(response)
            finally:
                for fh in opened:
                    fh.close()
            await asyncio.sleep(_base.backoff(attempt, retry_after))
            attempt += 1

    async def request_json(self, spec: Spec) -> Any:
        """:meth:`request` and the JSON body (None for 204)."""
        response = await self.request(spec)
        return None if response.status_code == 204 or not response.content else response.json()

    async def close(self) -> None:
        """Close the connection pool (when the client created it)."""
        if self._owns_http:
            await self._http.aclose()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()
