"""Vendor answers and transport failures as our typed errors: ``retry_after``, ``classify``, ``call``."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, TypeVar

import httpx

from core.sdk.contracts import ErrorMap, ErrorRule, ProviderSpec
from core.sdk.errors import AuthError, ConnectorError, PermanentError, SkipItem, TransientError

__all__ = [
    "Answer",
    "answer_of",
    "dig",
    "retry_after",
    "classify",
    "raise_for",
    "transport_errors",
    "call",
    "patiently",
]

T = TypeVar("T")
_TYPES: dict[str, type[ConnectorError]] = {
    "auth": AuthError,
    "permanent": PermanentError,
    "retry": TransientError,
    "rate_limited": TransientError,
    "skip": SkipItem,
}
_REASONS = {
    "auth": "token_rejected",
    "permanent": "http_error",
    "retry": "http_error",
    "rate_limited": "rate_limited",
    "skip": "not_found",
}
MAX_RETRY_AFTER = 3600.0  # a wait longer than an hour is capped: the delivery queue's backoff takes over


@dataclass(frozen=True)
class Answer:
    """What a vendor answered to a refused call: status, headers and body (text, bytes or parsed JSON)."""

    status: int
    headers: Mapping[str, Any]
    body: Any = None


def answer_of(exc: BaseException) -> Answer:
    """The answer an SDK error carries: its status (``status``, ``status_code``…), headers and body."""
    status = next(
        (v for n in ("status", "status_code", "response_status_code") if (v := getattr(exc, n, None))), 0
    )
    headers = getattr(exc, "headers", None) or getattr(exc, "response_headers", None) or {}
    body = next((v for n in ("body", "content") if (v := getattr(exc, n, None)) is not None), None)
    return Answer(int(status or 0), dict(headers), body if body is not None else str(exc))


def _header(headers: Mapping[str, Any], name: str) -> str:
    value = next((v for k, v in headers.items() if k.lower() == name.lower()), "")
    value = value[0] if isinstance(value, list | tuple) and value else value
    return str(value or "").strip()


def _seconds(value: str, now: datetime) -> float | None:
    """``Retry-After`` as seconds: delta-seconds or an HTTP-date (RFC 9110 §10.2.3)."""
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    when = when if when.tzinfo else when.replace(tzinfo=UTC)
    return max((when - now).total_seconds(), 0.0)


def retry_after(
    headers: Mapping[str, Any] | None,
    *,
    ms_headers: Sequence[str] = (),
    cap: float = MAX_RETRY_AFTER,
    now: datetime | None = None,
) -> float | None:
    """How long the answer asks us to wait: ``Retry-After`` (seconds or HTTP-date), else the first of
    ``ms_headers`` given in milliseconds; at most ``cap``; None when it names no wait."""
    found = _seconds(_header(headers or {}, "retry-after"), now or datetime.now(UTC))
    for name in ms_headers if found is None else ():
        value = _header(headers or {}, name)
        if value.isdigit():
            found = int(value) / 1000
            break
    return None if found is None else min(found, cap)


def _parsed(body: Any) -> Any:
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    if isinstance(body, str):
        try:
            return json.loads(body) if body.lstrip()[:1] in ("{", "[") else None
        except ValueError:
            return None
    return body


def dig(data: Any, path: str) -> Any:
    """The value at a dotted path (``team.id``, ``value.0.id``); None when any step is missing."""
    for step in path.split("."):
        if isinstance(data, Mapping):
            data = data.get(step)
        elif isinstance(data, list) and step.isdigit() and int(step) < len(data):
            data = data[int(step)]
        else:
            return None
    return data


def _at(data: Any, path: str | None) -> str | None:
    """The value at dotted ``path`` as text, None when absent or not a single value."""
    found = dig(data, path) if path else None
    return None if found is None or isinstance(found, Mapping | list) else str(found)


def _matches(rule: ErrorRule, errors: ErrorMap, status: int, data: Any, message: str) -> bool:
    if rule.status and status not in rule.status:
        return False
    if rule.code and _at(data, rule.field or errors.code_field) not in rule.code:
        return False
    return rule.message is None or rule.message in message


def _default(status: int) -> str:
    if status == 401:
        return "auth"
    if status == 429:
        return "rate_limited"
    if status in (0, 408) or status >= 500:
        return "retry"
    return "permanent"


def classify(spec: ProviderSpec, answer: Answer, message: str | None = None) -> ConnectorError:
    """The typed error for a refused call, by the spec's ``errors`` map (rules first, then defaults)."""
    errors, data = spec.errors, _parsed(answer.body)
    vendor_message = _at(data, errors.message_field) or ""
    text = str(answer.body if data is None else json.dumps(data))[:200]
    rule = next((r for r in errors.rules if _matches(r, errors, answer.status, data, vendor_message)), None)
    action = rule.action if rule else _default(answer.status)
    code = _at(data, errors.code_field) if errors.keep_code else None
    reason = (rule.reason if rule else None) or code or _REASONS[action]
    wait = None
    if action in ("retry", "rate_limited"):
        wait = retry_after(
            answer.headers, ms_headers=errors.retry_after_ms_headers, cap=errors.max_retry_after
        )
        wait = wait if wait is not None or rule is None else rule.retry_after
    said = message or vendor_message[:300] or f"{spec.display_name} answered HTTP {answer.status}: {text}"
    return _TYPES[action](spec.key, reason, said, answer.status or None, wait)


def raise_for(spec: ProviderSpec, response: httpx.Response, message: str | None = None) -> httpx.Response:
    """``response`` when it is a 2xx; otherwise its typed error is raised."""
    if 200 <= response.status_code < 300:
        return response
    raise classify(spec, Answer(response.status_code, response.headers, response.content), message)


@contextmanager
def transport_errors(vendor: str, timeout: float | None = None) -> Iterator[None]:
    """Turn a failed exchange (no answer in time, connection refused) into a TransientError."""
    try:
        yield
    except httpx.TimeoutException as exc:
        waited = f" within {timeout:g}s" if timeout else " in time"
        raise TransientError(vendor, "timeout", f"no answer{waited}") from exc
    except httpx.HTTPError as exc:
        raise TransientError(vendor, "connection_failed", type(exc).__name__) from exc


def patiently(send: Callable[[], T], patience: float) -> T:
    """``send()``; a 429 whose wait fits in what is left of ``patience`` is waited out and sent again, in
    place (a batch that has done its lookups does not start over for a momentary limit)."""
    waited = 0.0
    while True:
        try:
            return send()
        except TransientError as exc:
            wait = exc.retry_after
            if exc.status != 429 or not wait or waited + wait > patience:  # no wait given: never spin
                raise
        time.sleep(wait)
        waited += wait


def call(
    spec: ProviderSpec,
    send: Callable[[], T],
    refused: tuple[type[BaseException], ...] = (),
    *,
    read: Callable[[Any], Answer] = answer_of,
    accept: Collection[int] = (),
    patience: float = 0.0,
) -> T | None:
    """``send()`` through an SDK: its refusals (``refused`` types, their answer ``read``) classified,
    transport failures typed; None when the answer's status is in ``accept``; 429s waited out in place up
    to ``patience`` seconds."""

    def once() -> T | None:
        with transport_errors(spec.key, spec.timeout_seconds):
            try:
                return send()
            except refused as exc:
                answer = read(exc)
                if answer.status in accept:
                    return None
                raise classify(spec, answer) from exc

    return patiently(once, patience)
