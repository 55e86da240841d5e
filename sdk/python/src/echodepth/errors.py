"""Typed errors: every API error is an :class:`APIError` with the stable ``code`` and the HTTP ``status``."""

from __future__ import annotations

from typing import Any

__all__ = [
    "EchoDepthError",
    "APIConnectionError",
    "APITimeoutError",
    "APIError",
    "AuthenticationError",
    "NotFoundError",
    "InvalidInputError",
    "RateLimitError",
    "JobFailedError",
    "WaitTimeoutError",
    "WebhookVerificationError",
    "StreamError",
]


class EchoDepthError(Exception):
    """Base class of every error this SDK raises."""


class APIConnectionError(EchoDepthError):
    """The server could not be reached (after retries), or the connection broke mid-request."""


class APITimeoutError(APIConnectionError):
    """The request timed out (after retries)."""


class APIError(EchoDepthError):
    """The API answered with an error (RFC 9457 problem+json).

    Attributes:
        code: the stable error code, e.g. ``"invalid_input"`` or ``"idempotency_key_reused"``.
        status: the HTTP status code.
        message: the human-readable ``detail``.
        body: the whole problem document (or ``None`` when the body was not JSON).
        headers: the response headers.
    """

    def __init__(
        self,
        code: str,
        status: int,
        message: str = "",
        body: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(f"{status} {code}: {message}" if message else f"{status} {code}")
        self.code = code
        self.status = status
        self.message = message
        self.body = body
        self.headers = headers or {}


class AuthenticationError(APIError):
    """401: the API key is missing, wrong or revoked."""


class NotFoundError(APIError):
    """404: no such job, webhook endpoint or delivery (or it belongs to another tenant)."""


class InvalidInputError(APIError):
    """400/413/415/422: the request was refused as it stands; retrying the same request will not help."""


class RateLimitError(APIError):
    """429: too many requests; ``retry_after`` is the ``Retry-After`` in seconds (``None`` if absent)."""

    def __init__(
        self,
        code: str,
        status: int,
        message: str = "",
        body: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(code, status, message, body, headers)
        self.retry_after = retry_after


class JobFailedError(EchoDepthError):
    """A waited-for job ended ``failed``: ``code``/``message`` are its error, ``result`` the whole job."""

    def __init__(self, code: str, message: str, result: Any) -> None:
        super().__init__(f"job {getattr(result, 'job_id', '?')} failed: {code}: {message}")
        self.code = code
        self.message = message
        self.result = result


class WaitTimeoutError(EchoDepthError):
    """The job did not finish within the wait timeout; it keeps running on the server (see ``job_id``)."""

    def __init__(self, job_id: str, timeout: float) -> None:
        super().__init__(f"job {job_id} did not finish within {timeout:g} s; it is still running")
        self.job_id = job_id
        self.timeout = timeout


class WebhookVerificationError(EchoDepthError):
    """A webhook's signature, timestamp or headers did not verify."""


class StreamError(EchoDepthError):
    """A stream ended abnormally: the server's error ``code`` (or the WebSocket close code) and message."""

    def __init__(self, code: str, message: str = "", close_code: int | None = None) -> None:
        super().__init__(f"stream error {code}: {message}" if message else f"stream error {code}")
        self.code = code
        self.message = message
        self.close_code = close_code
