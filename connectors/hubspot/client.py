"""hubspot-api-client sending through our ``HttpSession``; the one place HubSpot errors become ours.

The generated clients keep a urllib3 ``pool_manager``; ``api_factory`` (a documented ``HubSpot`` keyword)
swaps it for ``core.sdk.http.Urllib3Pool`` over the paced session, so every call passes the SSRF guard and
keeps inside the account's budget (``rate_limit`` in config/providers/hubspot.yaml: 100 per 10 s, 5
searches per second, learnt from ``X-HubSpot-RateLimit-*``). What each refusal means is data there too
(``errors``); a 429 inside a batch may be waited out in place (``patience``).
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable
from typing import Any, TypeVar

from hubspot import HubSpot
from hubspot.discovery.discovery_base import DiscoveryBase

from core.sdk import AuthError, HttpSession, ProviderSpec
from core.sdk.http import Answer, Urllib3Pool, paced, patiently, raise_for, transport_errors
from core.sdk.http import call as sdk_call

__all__ = ["VENDOR", "connect", "call", "post_json", "ALREADY_EXISTS", "MISSING_SCOPES"]

VENDOR = "hubspot"
ALREADY_EXISTS = 409  # a timeline event id HubSpot already has: the earlier delivery wrote it
# 403 category of a token without a scope the call needs (https://developers.hubspot.com/docs/api/error-handling)
MISSING_SCOPES = "missing_scopes"
T = TypeVar("T")


def connect(session: HttpSession, spec: ProviderSpec, api_key: str | None = None) -> HubSpot:
    """A HubSpot client on the spec's API base URL whose every API sends through ``session``; ``api_key``
    is the app's developer API key, sent as ``hapikey`` by the app-level APIs (timeline event templates)."""
    pool = Urllib3Pool(paced(session, spec), spec.timeout_seconds)

    def factory(package: Any, api_name: str, config: dict[str, Any]) -> Any:
        api = DiscoveryBase._default_api_factory(package, api_name, config)
        api.api_client.rest_client.pool_manager = pool
        return api

    return HubSpot(
        access_token=session.credentials.access_token,
        api_key=api_key,
        host=str(spec.api_base_url).rstrip("/"),
        api_factory=factory,
    )


_PACKAGES = ("contacts", "deals", "timeline", "properties", "associations.v4")


def _exception_types() -> tuple[type[Exception], ...]:
    """Every generated package has its own ``ApiException`` class (they share no base but Exception)."""
    return tuple(importlib.import_module(f"hubspot.crm.{p}.exceptions").ApiException for p in _PACKAGES)


def _answer(body: str) -> dict[str, Any]:
    try:
        answer = json.loads(body) if body.lstrip().startswith("{") else {}
    except ValueError:
        return {}
    return answer if isinstance(answer, dict) else {}


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


def _explained(exc: AuthError, body: str) -> AuthError:
    """A missing-scopes refusal that names the scopes to grant."""
    if exc.code != MISSING_SCOPES:
        return exc
    return AuthError(VENDOR, exc.code, _scopes_wanted(body), exc.status)


def _read(exc: Any) -> Answer:
    body = str(getattr(exc, "body", "") or "")
    return Answer(int(getattr(exc, "status", 0) or 0), dict(getattr(exc, "headers", None) or {}), body)


def call(
    spec: ProviderSpec,
    send: Callable[[], T],
    accept: frozenset[int] = frozenset(),
    patience: float = 0.0,
) -> T | None:
    """``send()``; None when HubSpot answers a status in ``accept``; other failures as our typed errors.

    With ``patience`` > 0 a 429 whose wait fits in it is waited out and the call sent again, in place."""
    try:
        return sdk_call(spec, send, _exception_types(), read=_read, accept=accept, patience=patience)
    except AuthError as exc:
        raise _explained(exc, str(getattr(exc.__cause__, "body", "") or "")) from exc.__cause__


def post_json(session: HttpSession, spec: ProviderSpec, path: str, body: Any, patience: float = 0.0) -> Any:
    """POST ``body`` as JSON to ``path`` where the SDK has no client (v4 app events); the parsed answer."""
    paced_session = paced(session, spec)
    url = str(spec.api_base_url).rstrip("/") + path
    token = session.credentials.access_token or ""

    def once() -> Any:
        with transport_errors(spec.key, spec.timeout_seconds):
            got = paced_session.request(
                "POST",
                url,
                headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
                content=json.dumps(body).encode(),
                timeout=spec.timeout_seconds,
            )
        try:
            raise_for(spec, got)
        except AuthError as exc:
            raise _explained(exc, got.text) from exc
        return _answer(got.text) if got.content else {}

    return patiently(once, patience)
