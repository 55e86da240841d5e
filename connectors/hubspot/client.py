"""hubspot-api-client sending through our ``HttpSession``; the one place HubSpot errors become ours.

The generated clients keep a urllib3 ``pool_manager``; ``api_factory`` (a documented ``HubSpot`` keyword)
swaps it for ``_SessionPool`` so every call passes the SSRF guard. HubSpot's limits
(https://developers.hubspot.com/docs/api/usage-details): about 100 requests per 10 s per app and account,
429 when spent; ``X-HubSpot-RateLimit-Interval-Milliseconds`` says how long the window is.
"""

from __future__ import annotations

import importlib
import io
import time
from collections.abc import Callable, Mapping
from typing import Any, TypeVar
from urllib.parse import urlencode

import httpx
import urllib3
from hubspot import HubSpot
from hubspot.discovery.discovery_base import DiscoveryBase

from core.sdk import AuthError, HttpSession, PermanentError, TransientError

__all__ = ["VENDOR", "connect", "call", "ALREADY_EXISTS"]

VENDOR = "hubspot"
ALREADY_EXISTS = 409  # a timeline event id HubSpot already has: the earlier delivery wrote it
_DEFAULT_RETRY_AFTER = 10.0  # HubSpot's rolling window is 10 s; a 429 without Retry-After waits that long
T = TypeVar("T")


class _SessionPool:
    """The subset of ``urllib3.PoolManager.request`` the generated clients use, over an HttpSession."""

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


def connect(session: HttpSession, base_url: str, timeout: float, api_key: str | None = None) -> HubSpot:
    """A HubSpot client on ``base_url`` whose every API sends through ``session``; ``api_key`` is the app's
    developer API key, sent as ``hapikey`` by the app-level APIs (timeline event templates)."""
    pool = _SessionPool(session, timeout)

    def factory(package: Any, api_name: str, config: dict[str, Any]) -> Any:
        api = DiscoveryBase._default_api_factory(package, api_name, config)
        api.api_client.rest_client.pool_manager = pool
        return api

    return HubSpot(
        access_token=session.credentials.access_token,
        api_key=api_key,
        host=base_url.rstrip("/"),
        api_factory=factory,
    )


_PACKAGES = ("contacts", "deals", "timeline", "properties", "associations.v4")


def _exception_types() -> tuple[type[Exception], ...]:
    """Every generated package has its own ``ApiException`` class (they share no base but Exception)."""
    return tuple(importlib.import_module(f"hubspot.crm.{p}.exceptions").ApiException for p in _PACKAGES)


def _retry_after(headers: Mapping[str, str]) -> float:
    lower = {k.lower(): v for k, v in headers.items()}
    value = str(lower.get("retry-after", "")).strip()
    if value.isdigit():
        return float(value)
    interval = str(lower.get("x-hubspot-ratelimit-interval-milliseconds", "")).strip()
    return int(interval) / 1000 if interval.isdigit() else _DEFAULT_RETRY_AFTER


def _typed(status: int, headers: Mapping[str, str], body: str) -> Exception:
    if status == 429:
        return TransientError(VENDOR, "rate_limited", "HubSpot rate limit", 429, _retry_after(headers))
    if status >= 500 or status == 408 or status == 0:
        return TransientError(VENDOR, "http_error", f"HubSpot answered HTTP {status}", status)
    if status in (401, 403):
        return AuthError(VENDOR, "token_rejected", body[:200], status)
    return PermanentError(VENDOR, "http_error", f"HubSpot answered HTTP {status}: {body[:200]}", status)


def call(send: Callable[[], T], accept: frozenset[int] = frozenset(), patience: float = 0.0) -> T | None:
    """``send()``; None when HubSpot answers a status in ``accept``; other failures as our typed errors.

    With ``patience`` > 0 a 429 whose wait fits in it is waited out and the call sent again, in place: a batch
    that has already looked up its records does not start over (and spend the budget again) for one 429.
    """
    waited = 0.0
    while True:
        try:
            return _call_once(send, accept)
        except TransientError as exc:
            wait = exc.retry_after
            if exc.status != 429 or not wait or waited + wait > patience:  # no wait given: never spin
                raise
        time.sleep(wait)
        waited += wait


def _call_once(send: Callable[[], T], accept: frozenset[int]) -> T | None:
    try:
        return send()
    except _exception_types() as exc:
        status = int(getattr(exc, "status", 0) or 0)
        if status in accept:
            return None
        headers = dict(getattr(exc, "headers", None) or {})
        raise _typed(status, headers, str(getattr(exc, "body", "") or "")) from exc
    except httpx.TimeoutException as exc:
        raise TransientError(VENDOR, "timeout", "HubSpot did not answer in time") from exc
    except httpx.HTTPError as exc:
        raise TransientError(VENDOR, "connection_failed", type(exc).__name__) from exc
