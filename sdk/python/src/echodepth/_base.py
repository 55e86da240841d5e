"""Configuration, uploads, retry policy and error mapping shared by both halves of the SDK (no I/O here)."""

from __future__ import annotations

import email.utils
import os
import random
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import IO, Any, Union

import httpx

from echodepth._version import __version__
from echodepth.errors import (
    APIConnectionError,
    APIError,
    APITimeoutError,
    AuthenticationError,
    EchoDepthError,
    InvalidInputError,
    NotFoundError,
    RateLimitError,
)

DEFAULT_BASE_URL = "http://127.0.0.1:8000"
DEFAULT_TIMEOUT = 60.0
DEFAULT_MAX_RETRIES = 3
RETRY_STATUSES = frozenset({429, 502, 503, 504})
MAX_RETRY_AFTER = 120.0
_INPUT_STATUSES = frozenset({400, 409, 413, 415, 422})

FileInput = Union[str, "os.PathLike[str]", IO[bytes]]
"""A path to a file, or a binary file object (read from its current position)."""


@dataclass
class Options:
    """The resolved settings of a client."""

    api_key: str
    base_url: str
    timeout: float
    max_retries: int
    poll_interval: float = 0.25
    max_poll_interval: float = 2.0
    wait_timeout: float = 900.0


def resolve_options(
    api_key: str | None,
    base_url: str | None,
    timeout: float | None,
    max_retries: int | None,
    wait_timeout: float,
) -> Options:
    """Arguments first, then ``ECHODEPTH_API_KEY`` / ``ECHODEPTH_BASE_URL``, then defaults."""
    key = api_key or os.environ.get("ECHODEPTH_API_KEY")
    if not key:
        raise EchoDepthError("no API key: pass api_key=... or set ECHODEPTH_API_KEY")
    url = (base_url or os.environ.get("ECHODEPTH_BASE_URL") or DEFAULT_BASE_URL).rstrip("/")
    return Options(
        api_key=key,
        base_url=url,
        timeout=DEFAULT_TIMEOUT if timeout is None else timeout,
        max_retries=DEFAULT_MAX_RETRIES if max_retries is None else max_retries,
        wait_timeout=wait_timeout,
    )


def default_headers(opts: Options) -> dict[str, str]:
    return {
        "Authorization": f"Bearer {opts.api_key}",
        "User-Agent": f"echodepth-python/{__version__}",
        "Accept": "application/json",
    }


@dataclass
class FilePart:
    """One file to upload, re-readable for each attempt (paths are reopened, file objects rewound)."""

    name: str
    source: FileInput
    _start: int | None = field(default=None, init=False)
    _data: bytes | None = field(default=None, init=False)

    def filename(self) -> str:
        if isinstance(self.source, (str, os.PathLike)):
            return os.path.basename(os.fspath(self.source))
        return os.path.basename(str(getattr(self.source, "name", "") or "upload")) or "upload"

    def open(self) -> tuple[str, IO[bytes] | bytes]:
        """(filename, content) for one attempt; the caller closes what ``opened`` lists."""
        if isinstance(self.source, (str, os.PathLike)):
            return self.filename(), open(os.fspath(self.source), "rb")  # noqa: SIM115 - closed by caller
        fh = self.source
        if self._data is not None:
            return self.filename(), self._data
        try:
            if self._start is None:
                self._start = fh.tell()
            else:
                fh.seek(self._start)
            return self.filename(), fh
        except (OSError, AttributeError, ValueError):  # not seekable: keep the bytes for retries
            self._data = fh.read()
            return self.filename(), self._data


def multipart(parts: list[FilePart]) -> tuple[list[tuple[str, tuple[str, Any]]], list[IO[bytes]]]:
    """httpx ``files=`` for one attempt, and the files opened for it (to close afterwards)."""
    files: list[tuple[str, tuple[str, Any]]] = []
    opened: list[IO[bytes]] = []
    for part in parts:
        filename, content = part.open()
        if isinstance(part.source, (str, os.PathLike)) and not isinstance(content, bytes):
            opened.append(content)
        files.append((part.name, (filename, content)))
    return files, opened


def parse_retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds or an HTTP date), or None."""
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def backoff(attempt: int, retry_after: float | None) -> float:
    """Seconds to wait before retry number ``attempt`` (0-based); the server's Retry-After wins."""
    if retry_after is not None:
        return min(retry_after, MAX_RETRY_AFTER)
    return float(min(8.0, 0.5 * 2**attempt) * (0.75 + random.random() * 0.5))


def error_from_response(response: httpx.Response) -> APIError:
    """The typed error for a non-2xx answer."""
    status = response.status_code
    body: dict[str, Any] | None
    try:
        parsed = response.json()
        body = parsed if isinstance(parsed, dict) else None
    except ValueError:
        body = None
    code = str((body or {}).get("code") or f"http_{status}")
    message = str((body or {}).get("detail") or response.reason_phrase or "")
    headers = dict(response.headers)
    if status == 401:
        return AuthenticationError(code, status, message, body, headers)
    if status == 404:
        return NotFoundError(code, status, message, body, headers)
    if status == 429:
        return RateLimitError(code, status, message, body, headers, parse_retry_after(response.headers))
    if status in _INPUT_STATUSES:
        return InvalidInputError(code, status, message, body, headers)
    return APIError(code, status, message, body, headers)


def retryable_status(status: int, retry_safe: bool) -> bool:
    """429 was not applied, so it is always retried; 502/503/504 only when the call is safe to repeat."""
    return status == 429 or (retry_safe and status in RETRY_STATUSES)


def retryable_exception(exc: Exception, retry_safe: bool) -> bool:
    """A connection that never reached the server is always safe to retry; a broken one only if idempotent."""
    if isinstance(exc, (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)):
        return True
    return retry_safe and isinstance(exc, httpx.TransportError)


def delay_after_error(exc: httpx.TransportError, attempt: int, opts: Options, retry_safe: bool) -> float:
    """Seconds to wait before retrying after a transport error, or the typed error raised when not to."""
    if attempt >= opts.max_retries or not retryable_exception(exc, retry_safe):
        raise connection_error(exc) from exc
    return backoff(attempt, None)


def delay_after_response(response: httpx.Response, attempt: int, opts: Options, retry_safe: bool) -> float:
    """Seconds to wait before retrying after a non-2xx answer, or its typed error raised when not to."""
    if attempt >= opts.max_retries or not retryable_status(response.status_code, retry_safe):
        raise error_from_response(response)
    retry_after = parse_retry_after(response.headers)
    if retry_after is not None and retry_after > MAX_RETRY_AFTER:
        raise error_from_response(response)
    return backoff(attempt, retry_after)


def connection_error(exc: Exception) -> APIConnectionError:
    if isinstance(exc, httpx.TimeoutException):
        return APITimeoutError(f"request timed out: {exc}")
    return APIConnectionError(f"connection failed: {exc}")


def next_poll(interval: float, opts: Options) -> float:
    return min(opts.max_poll_interval, interval * 1.5)
