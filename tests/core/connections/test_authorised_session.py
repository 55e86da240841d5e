"""Every connector call (a Source's through ``Sources.with_token``, a Sink's through ``SinkDeliveries``) uses
``TokenManager.with_token``: a vendor's "this token is no longer valid" answer, in that vendor's own words
(``InvalidAuthenticationToken``, ``INVALID_SESSION_ID``, Slack's ``token_expired``), refreshes once and the
call is retried; any other AuthError is not retried."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import requests

from core.connections import oauth
from core.sdk.errors import AuthError
from tests.core.connections.conftest import Hub


def _connector_call(hub: Hub, calls: list[bool]) -> Callable[[str, bool], requests.Response]:
    """What a connector's client does: call the vendor API, turn a rejected-token answer into AuthError
    with the vendor's own error code (the one place vendor errors become typed errors)."""
    key = hub.vendor.key
    spec = hub.runtime.connections.catalog.spec(key)
    rule = hub.runtime.connections.catalog.oauth(key).token_rejected

    def act(token: str, first: bool) -> requests.Response:
        calls.append(first)
        answer = hub.api(token)
        try:
            body: Any = answer.json()
        except ValueError:
            body = None
        if oauth.token_rejected(spec, answer.status_code, body):
            code = str(oauth.dig(body, rule.code_field)) if rule.code_field else "token_rejected"
            raise AuthError(key, code, "the vendor rejected the token", answer.status_code)
        return answer

    return act


def _connected(hub: Hub) -> str:
    hub.connect()
    [conn] = hub.connections()
    return str(conn["id"])


def test_a_source_call_refreshes_once_on_the_vendors_own_rejection_code(hub: Hub) -> None:
    conn_id = _connected(hub)
    hub.emulator.expire_access()
    calls: list[bool] = []
    answer = hub.runtime.sources.with_token(conn_id, _connector_call(hub, calls))
    assert answer.status_code == 200 and calls == [True, False]
    assert hub.emulator.state.refresh_calls == 1


def test_a_sink_call_refreshes_once_on_the_vendors_own_rejection_code(hub: Hub) -> None:
    conn_id = _connected(hub)
    hub.emulator.expire_access()
    calls: list[bool] = []
    act = _connector_call(hub, calls)
    conn = hub.runtime.connections.store.by_id(conn_id)
    assert conn is not None
    answer = hub.runtime.deliveries.sinks._with_token(
        conn, lambda session, _: act(str(session.credentials.access_token), True)
    )
    assert answer.status_code == 200 and len(calls) == 2
    assert hub.emulator.state.refresh_calls == 1


@pytest.mark.parametrize("hub", ["hubspot"], indirect=True)
def test_other_auth_errors_are_not_retried(hub: Hub) -> None:
    conn_id = _connected(hub)
    calls: list[bool] = []

    def missing_scope(token: str, first: bool) -> None:
        calls.append(first)
        raise AuthError("hubspot", "MISSING_SCOPES", "the app lacks a scope", 403)

    with pytest.raises(AuthError):
        hub.runtime.sources.with_token(conn_id, missing_scope)
    assert calls == [True] and hub.emulator.state.refresh_calls == 0
