"""The one error tree. Each leaf means an action::

EchoDepthError
  ConfigError          bad settings or YAML: fail at start-up
  InputError           bad user input: 4xx problem+json with a stable code
  ConnectorError(vendor, code, status, retry_after)
    AuthError          refresh failed / scope missing: mark needs_reauth, no retry
    TransientError     429, 5xx, timeout: retry with backoff, honour Retry-After
    PermanentError     other 4xx: dead-letter
    SkipItem           resource gone: log, count, continue
  EngineError          analysis failed (``retryable`` says whether a retry can help)
"""

from __future__ import annotations

from engine.errors import EngineError  # the engine's own error (the engine imports nothing from core)

__all__ = [
    "EchoDepthError",
    "ConfigError",
    "InputError",
    "ConnectorError",
    "AuthError",
    "TransientError",
    "PermanentError",
    "SkipItem",
    "EngineError",
]


class EchoDepthError(Exception):
    """Base of every error EchoDepth raises on purpose."""


class ConfigError(EchoDepthError):
    """Settings or configuration data are wrong; raised at start-up."""


class InputError(EchoDepthError):
    """The caller sent something we cannot accept; maps to a problem+json response."""

    def __init__(self, code: str, message: str, status: int = 422) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


class ConnectorError(EchoDepthError):
    """A vendor call failed; the subclass says what to do about it."""

    def __init__(
        self,
        vendor: str,
        code: str,
        message: str = "",
        status: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message or code)
        self.vendor = vendor
        self.code = code
        self.status = status
        self.retry_after = retry_after


class AuthError(ConnectorError):
    """Credentials are no longer valid: the connection needs re-authorisation."""


class TransientError(ConnectorError):
    """Worth retrying later (429, 5xx, timeout)."""


class PermanentError(ConnectorError):
    """Retrying will not help; dead-letter the delivery."""


class SkipItem(ConnectorError):
    """The resource is gone; log, count and continue."""
