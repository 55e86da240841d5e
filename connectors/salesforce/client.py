"""simple-salesforce sending through our ``HttpSession``; the one place Salesforce errors become ours.

simple-salesforce always builds ``https://{instance host}/services/data/vXX/``; a requests adapter mounted on
that origin sends each request through the session to the connection's ``instance_url`` (so the SSRF guard
applies and tests reach an emulator). Salesforce does not refresh a token it did not obtain: a 401
``INVALID_SESSION_ID`` is an AuthError here and core's TokenManager refreshes through the vault.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar
from urllib.parse import urlsplit

import httpx
import requests
from requests.adapters import BaseAdapter
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceError

from core.sdk import AuthError, HttpSession, PermanentError, TransientError

__all__ = ["VENDOR", "connect", "call", "usage_share"]

VENDOR = "salesforce"
# a session whose grant lacks the api scope (or full): 401 INVALID_SESSION_ID with this message; a refresh
# keeps the grant's scopes, so only a new consent helps
# https://help.salesforce.com/s/articleView?id=xcloud.remoteaccess_oauth_tokens_scopes.htm&type=5
NOT_FOR_REST = "This session is not valid for use with the REST API"
T = TypeVar("T")


class _SessionAdapter(BaseAdapter):
    """A requests transport over an HttpSession, re-rooted on the connection's instance URL."""

    def __init__(self, session: HttpSession, sdk_origin: str, instance_url: str, timeout: float) -> None:
        super().__init__()
        self.session, self.sdk_origin, self.timeout = session, sdk_origin, timeout
        self.instance_url = instance_url.rstrip("/")
        self.last_headers: dict[str, str] = {}

    def send(self, request: requests.PreparedRequest, **_: Any) -> requests.Response:  # type: ignore[override]
        url = str(request.url)
        if url.startswith(self.sdk_origin):
            url = self.instance_url + url[len(self.sdk_origin) :]
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


def connect(session: HttpSession, timeout: float, version: str) -> tuple[Salesforce, _SessionAdapter]:
    """A Salesforce client for the session's ``instance_url`` that sends through ``session``."""
    instance_url = str(session.credentials.extra.get("instance_url") or "")
    if not instance_url:
        raise AuthError(VENDOR, "no_instance_url", "the connection has no instance_url; reconnect it")
    parts = urlsplit(instance_url)
    port = f":{parts.port}" if parts.port not in (None, 443) else ""
    origin = f"https://{parts.hostname}{port}"
    adapter = _SessionAdapter(session, origin, instance_url, timeout)
    http = requests.Session()
    http.trust_env = False
    http.mount(origin, adapter)
    sf = Salesforce(
        instance_url=instance_url, session_id=session.credentials.access_token, session=http, version=version
    )
    return sf, adapter


def _code(content: Any) -> str:
    if isinstance(content, list) and content and isinstance(content[0], Mapping):
        return str(content[0].get("errorCode", "error"))
    return "error"


def _message(exc: SalesforceError) -> str:
    """Salesforce's own message (``[{"message", "errorCode"}]``), else the SDK's text."""
    content = exc.content
    if isinstance(content, list) and content and isinstance(content[0], Mapping):
        return str(content[0].get("message", ""))[:300]
    return str(exc)[:200]


def _retry_after(headers: Mapping[str, str]) -> float | None:
    value = {k.lower(): v for k, v in headers.items()}.get("retry-after", "").strip()
    return float(value) if value.isdigit() else None


def _typed(exc: SalesforceError, headers: Mapping[str, str]) -> Exception:
    status, code, message = int(exc.status), _code(exc.content), _message(exc)
    if status == 429 or status >= 500 or code in ("REQUEST_LIMIT_EXCEEDED", "SERVER_UNAVAILABLE"):
        return TransientError(
            VENDOR, code if code != "error" else "http_error", message, status, _retry_after(headers)
        )
    if message == NOT_FOR_REST:
        return AuthError(VENDOR, "api_scope_missing", f"{message}: reconnect granting the api scope", status)
    if status == 401 or code in ("INVALID_SESSION_ID", "INSUFFICIENT_ACCESS"):
        return AuthError(VENDOR, code if code != "error" else "token_rejected", message, status)
    return PermanentError(VENDOR, code if code != "error" else "http_error", message, status)


def call(adapter: _SessionAdapter, send: Callable[[], T]) -> T:
    """``send()``; Salesforce's failures as our typed errors."""
    try:
        return send()
    except SalesforceError as exc:
        raise _typed(exc, adapter.last_headers) from exc
    except httpx.TimeoutException as exc:
        raise TransientError(VENDOR, "timeout", "Salesforce did not answer in time") from exc
    except httpx.HTTPError as exc:
        raise TransientError(VENDOR, "connection_failed", type(exc).__name__) from exc
    except requests.exceptions.JSONDecodeError as exc:
        raise TransientError(VENDOR, "bad_answer", "Salesforce answered something that is not JSON") from exc


def usage_share(sf: Salesforce) -> float:
    """The share of the daily API requests used, from the last ``Sforce-Limit-Info`` header (0 unknown)."""
    usage = sf.api_usage.get("api-usage")
    used, total = getattr(usage, "used", 0), getattr(usage, "total", 0)
    return used / total if total else 0.0
