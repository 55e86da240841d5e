"""simple-salesforce sending through our ``HttpSession``; the one place Salesforce errors become ours.

simple-salesforce always builds ``https://{instance host}/services/data/vXX/``; ``core.sdk.http``'s
``RequestsAdapter`` mounted on that origin sends each request through the session to the connection's
``instance_url`` (so the SSRF guard applies and tests reach an emulator). Salesforce does not refresh a token
it did not obtain: a 401 ``INVALID_SESSION_ID`` is an AuthError here and core's TokenManager refreshes
through the vault. What each refusal means is data: ``errors`` in config/providers/salesforce.yaml.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, cast
from urllib.parse import urlsplit

import requests
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceError

from core.sdk import AuthError, HttpSession, ProviderSpec, TransientError
from core.sdk.http import Answer, RequestsAdapter, paced, requests_session
from core.sdk.http import call as sdk_call

__all__ = ["VENDOR", "Connection", "connect", "call", "usage_share"]

VENDOR = "salesforce"
T = TypeVar("T")


class Connection:
    """What ``call`` needs to type a connection's errors: its transport (last answer's headers), its spec."""

    def __init__(self, adapter: RequestsAdapter, spec: ProviderSpec) -> None:
        self.adapter, self.spec = adapter, spec


def connect(session: HttpSession, spec: ProviderSpec) -> tuple[Salesforce, Connection]:
    """A Salesforce client for the session's ``instance_url`` that sends through ``session``."""
    instance_url = str(session.credentials.extra.get("instance_url") or "")
    if not instance_url:
        raise AuthError(VENDOR, "no_instance_url", "the connection has no instance_url; reconnect it")
    parts = urlsplit(instance_url)
    port = f":{parts.port}" if parts.port not in (None, 443) else ""
    origin = f"https://{parts.hostname}{port}"
    adapter = RequestsAdapter(paced(session, spec), spec.timeout_seconds, rebase=(origin, instance_url))
    version = str(spec.settings.get("api_version", "62.0"))
    sf = Salesforce(
        instance_url=instance_url,
        session_id=session.credentials.access_token,
        session=requests_session(adapter, origin),
        version=version,
    )
    return sf, Connection(adapter, spec)


def call(conn: Connection, send: Callable[[], T]) -> T:
    """``send()``; Salesforce's failures as our typed errors."""

    def read(exc: SalesforceError) -> Answer:  # the SDK's error drops the headers (Retry-After)
        return Answer(int(exc.status), conn.adapter.last_headers, exc.content)

    try:
        return cast(T, sdk_call(conn.spec, send, (SalesforceError,), read=read))
    except requests.exceptions.JSONDecodeError as exc:
        raise TransientError(VENDOR, "bad_answer", "Salesforce answered something that is not JSON") from exc


def usage_share(sf: Salesforce) -> float:
    """The share of the daily API requests used, from the last ``Sforce-Limit-Info`` header (0 unknown)."""
    usage: Any = sf.api_usage.get("api-usage")
    used, total = getattr(usage, "used", 0), getattr(usage, "total", 0)
    return used / total if total else 0.0
