"""The HTTP core of a client: one connection pool, the API key, retries and typed errors."""

from __future__ import annotations

from typing import Any

import httpx

from echodepth import _base
from echodepth._base import Options
from echodepth._io import async_sleep
from echodepth._requests import Spec

__all__ = ["AsyncSession"]


class AsyncSession:
    """Sends :class:`Spec` calls for one client; the resources (``client.analyse`` …) all share it."""

    def __init__(self, opts: Options, http_client: httpx.AsyncClient | None) -> None:
        self.opts = opts
        self._http = http_client or httpx.AsyncClient(timeout=opts.timeout)
        self._owns_http = http_client is None

    async def request(self, spec: Spec) -> httpx.Response:
        """Send one API call with retries; a non-2xx answer raises its typed :class:`APIError`."""
        attempt = 0
        while True:
            files, opened = _base.multipart(spec.parts) if spec.parts else (None, [])
            try:
                response = await self._http.request(
                    spec.method,
                    self.opts.base_url + spec.path,
                    json=spec.json if not spec.parts else None,
                    data=spec.form or None,
                    files=files,
                    params=spec.params,
                    headers={**_base.default_headers(self.opts), **spec.headers},
                    timeout=self.opts.timeout,
                )
            except httpx.TransportError as exc:
                delay = _base.delay_after_error(exc, attempt, self.opts, spec.retry_safe)
            else:
                if response.is_success:
                    return response
                delay = _base.delay_after_response(response, attempt, self.opts, spec.retry_safe)
            finally:
                for fh in opened:
                    fh.close()
            await async_sleep(delay)
            attempt += 1

    async def request_json(self, spec: Spec) -> Any:
        """:meth:`request` and the JSON body (None for 204)."""
        response = await self.request(spec)
        return None if response.status_code == 204 or not response.content else response.json()

    async def close(self) -> None:
        """Close the connection pool (when the session created it)."""
        if self._owns_http:
            await self._http.aclose()
