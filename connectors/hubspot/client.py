"""hubspot-api-client sending through our ``HttpSession``; the one place HubSpot errors become ours.

The generated clients keep a urllib3 ``pool_manager``; ``api_factory`` (a documented ``HubSpot`` keyword)
swaps it for ``_SessionPool`` so every call passes the SSRF guard. HubSpot's limits
(https://developers.hubspot.com/docs/api/usage-details): about 100 requests per 10 s per app and account,
429 when spent; ``X-HubSpot-RateLimit-Interval-Milliseconds`` says how long the window is.
"""

from __future__ import annotations

import importlib
import io
import json
import math
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from typing import Any, TypeVar
from urllib.parse import urlencode, urlsplit

import httpx
import urllib3
from hubspot import HubSpot
from hubspot.discovery.discovery_base import DiscoveryBase

from core.sdk import AuthError, HttpSession, PermanentError, TransientError

__all__ = ["VENDOR", "connect", "call", "post_json", "ALREADY_EXISTS", "MISSING_SCOPES"]

VENDOR = "hubspot"
ALREADY_EXISTS = 409  # a timeline event id HubSpot already has: the earlier delivery wrote it
# 403 category of a token without a scope the call needs (https://developers.hubspot.com/docs/api/error-handling)
MISSING_SCOPES = "MISSING_SCOPES"
_DEFAULT_RETRY_AFTER = 10.0  # HubSpot's rolling window is 10 s; a 429 without Retry-After waits that long
_SECONDLY_RETRY_AFTER = 1.0  # the search endpoints' limit is per second (policy SECONDLY)
_BUDGETED = ("/crm/", "/integrators/timeline/v3/events")  # the calls an account's budget counts
T = TypeVar("T")


class _Pacer:
    """Keeps this process's calls for one HubSpot account inside the documented budgets, so the delivery
    threads wait their turn instead of spending calls on 429s: ``X-HubSpot-RateLimit-Max`` requests per
    ``X-HubSpot-RateLimit-Interval-Milliseconds`` (100 per 10 s until an answer says otherwise) and 5
    searches per second. A call counts from when its answer came back (HubSpot counted it at some moment
    before that), so a slow network never lets two calls land in one window. Other processes and apps on
    the account spend the same budget; the 429s they cause are still waited out (``call``'s patience) or
    retried."""

    SEARCHES_PER_SECOND = 5
    _IDLE = 60.0  # an account not called for this long is forgotten
    _MARGIN = 0.02  # seconds of slack on top of each window

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.budget: dict[str, tuple[int, float]] = {}  # account -> (max, window seconds)
        self.sent: dict[tuple[str, bool], deque[list[float]]] = {}  # (account, search) -> [answered at]

    def take(self, account: str, search: bool) -> list[float]:
        """Wait until a call of this kind fits in the account's window; its slot, to ``done`` afterwards."""
        limit, window = (self.SEARCHES_PER_SECOND, 1.0) if search else self.budget.get(account, (100, 10.0))
        while True:
            with self.lock:
                now = time.monotonic()
                sent = self.sent.setdefault((account, search), deque())
                while sent and sent[0][0] <= now - window - self._MARGIN:
                    sent.popleft()
                if len(sent) < limit:
                    slot = [math.inf]  # in flight: it holds its place until answered
                    sent.append(slot)
                    self._forget_idle(now)
                    return slot
                pause = sent[0][0] + window + self._MARGIN - now
            time.sleep(min(max(pause, 0.005), window))

    def done(self, account: str, slot: list[float], headers: Mapping[str, str]) -> None:
        """The call of ``slot`` was answered now; learn the budget from the answer's rate-limit headers."""
        lower = {k.lower(): str(v) for k, v in headers.items()}
        limit = lower.get("x-hubspot-ratelimit-max", "")
        interval = lower.get("x-hubspot-ratelimit-interval-milliseconds", "")
        with self.lock:
            slot[0] = time.monotonic()
            if limit.isdigit() and interval.isdigit() and int(limit) > 0 and int(interval) > 0:
                self.budget[account] = (int(limit), int(interval) / 1000)

    def _forget_idle(self, now: float) -> None:
        for key in [k for k, times in self.sent.items() if not times or times[-1][0] < now - self._IDLE]:
            del self.sent[key]


_PACER = _Pacer()


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
        account, path = self.session.credentials.access_token or "", urlsplit(url).path
        slot = _PACER.take(account, path.endswith("/search")) if path.startswith(_BUDGETED) else [0.0]
        answer: Mapping[str, str] = {}
        try:
            got = self.session.request(
                method, url, headers=dict(headers or {}), content=content, timeout=self.timeout
            )
            answer = got.headers
        finally:
            _PACER.done(account, slot, answer)
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


def _retry_after(headers: Mapping[str, str], body: str = "") -> float:
    """How long a 429 asks us to wait: Retry-After, else the window's length; the search endpoints' 429s carry
    no headers, and their ``policyName`` ``SECONDLY`` means a one-second window."""
    lower = {k.lower(): v for k, v in headers.items()}
    value = str(lower.get("retry-after", "")).strip()
    if value.isdigit():
        return float(value)
    interval = str(lower.get("x-hubspot-ratelimit-interval-milliseconds", "")).strip()
    if interval.isdigit():
        return int(interval) / 1000
    try:
        answer = json.loads(body) if body.lstrip().startswith("{") else {}
    except ValueError:
        answer = {}
    policy = answer.get("policyName") if isinstance(answer, dict) else None
    return _SECONDLY_RETRY_AFTER if policy == "SECONDLY" else _DEFAULT_RETRY_AFTER


def _answer(body: str) -> dict[str, Any]:
    try:
        answer = json.loads(body) if body.lstrip().startswith("{") else {}
    except ValueError:
        return {}
    return answer if isinstance(answer, dict) else {}


def _category(body: str) -> str:
    return str(_answer(body).get("category") or "")


def _scopes_wanted(body: str) -> str:
    """The scopes a 403 MISSING_SCOPES names (``errors[].context.requiredGranularScopes``)."""
    wanted = [
        s
        for e in _answer(body).get("errors") or []
        for s in ((e.get("context") or {}).get("requiredGranularScopes") or [])
        if isinstance(e, dict)
    ]
    return "HubSpot: the app lacks a scope; re-install it to grant " + (
        ", ".join(wanted) or "the missing scopes"
    )


def _typed(status: int, headers: Mapping[str, str], body: str) -> Exception:
    if status == 429:
        return TransientError(VENDOR, "rate_limited", "HubSpot rate limit", 429, _retry_after(headers, body))
    if status >= 500 or status == 408 or status == 0:
        return TransientError(VENDOR, "http_error", f"HubSpot answered HTTP {status}", status)
    if status == 401:
        return AuthError(VENDOR, "token_rejected", body[:200], status)
    if status == 403 and _category(body) == MISSING_SCOPES:  # re-consent fixes it: mark needs_reauth
        return AuthError(VENDOR, "missing_scopes", _scopes_wanted(body), status)
    if status == 403:
        return PermanentError(VENDOR, "forbidden", f"HubSpot refused the call: {body[:200]}", status)
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


def post_json(session: HttpSession, url: str, body: Any, timeout: float, patience: float = 0.0) -> Any:
    """POST ``body`` as JSON where the SDK has no client (v4 app events); the parsed answer, errors typed."""
    waited = 0.0
    while True:
        try:
            return _post_once(session, url, body, timeout)
        except TransientError as exc:
            wait = exc.retry_after
            if exc.status != 429 or not wait or waited + wait > patience:
                raise
        time.sleep(wait)
        waited += wait


def _post_once(session: HttpSession, url: str, body: Any, timeout: float) -> Any:
    account = session.credentials.access_token or ""
    slot = _PACER.take(account, False)
    answer: Mapping[str, str] = {}
    try:
        got = session.request(
            "POST",
            url,
            headers={"Content-Type": "application/json", "Authorization": f"Bearer {account}"},
            content=json.dumps(body).encode(),
            timeout=timeout,
        )
        answer = got.headers
    except httpx.TimeoutException as exc:
        raise TransientError(VENDOR, "timeout", "HubSpot did not answer in time") from exc
    except httpx.HTTPError as exc:
        raise TransientError(VENDOR, "connection_failed", type(exc).__name__) from exc
    finally:
        _PACER.done(account, slot, answer)
    if got.status_code >= 400:
        raise _typed(got.status_code, dict(got.headers), got.text)
    return _answer(got.text) if got.content else {}
