"""Connect, refresh and revoke for Microsoft, Salesforce, HubSpot and Slack against their emulators, with
requests-oauthlib doing the OAuth and each vendor's own wire format and error bodies."""

from __future__ import annotations

import threading
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import text

from core.connections.models import Connection
from core.sdk.errors import AuthError, TransientError
from core.storage.models import utcnow
from tests.core.connections.conftest import Hub
from tests.emulators.webhook_receiver import WebhookReceiver

REVOKES = {"microsoft": None, "salesforce": "refresh", "hubspot": "refresh", "slack": "access"}


def _only(hub: Hub) -> dict[str, object]:
    [conn] = hub.connections()
    return conn


def _expire_soon(hub: Hub, conn_id: str) -> None:
    """Our side believes the token expires in two minutes (inside the refresh-ahead window)."""
    with hub.runtime.db.session() as s:
        row = s.get(Connection, conn_id)
        assert row is not None
        row.expires_at = utcnow() + timedelta(seconds=120)
        s.commit()


def _secrets_at_rest(hub: Hub) -> str:
    with hub.runtime.db.engine.connect() as c:
        rows = [
            repr(tuple(r))
            for t in ("vault_secrets", "connections")
            for r in c.execute(text(f"SELECT * FROM {t}"))
        ]
    return "\n".join(rows)


def test_connect_stores_the_account_and_only_ciphertext(hub: Hub) -> None:
    start = hub.client.get(
        f"/v1/connections/{hub.vendor.key}/authorize", headers=hub.headers(), follow_redirects=False
    )
    query = parse_qs(urlsplit(start.headers["location"]).query)
    assert query["client_id"] == [hub.emulator.client_id]
    assert query["redirect_uri"] == [f"http://testserver/v1/oauth/callback/{hub.vendor.key}"]
    assert ("code_challenge" in query) == (hub.vendor.key != "hubspot")
    result = hub.connect()
    assert result["status"] == "connected", result
    conn = _only(hub)
    assert conn["id"] == result["connection_id"] and conn["status"] == "active"
    assert conn["external_account_id"] == hub.vendor.account_id
    assert conn["grant_type"] == "authorization_code"
    dump = _secrets_at_rest(hub)
    tokens = (
        set(hub.emulator.state.access)
        | hub.emulator.state.refresh
        | set(getattr(hub.emulator, "user_tokens", []))
    )
    assert tokens and not any(t in dump for t in tokens)
    assert hub.emulator.client_secret not in dump


def test_refreshes_ahead_of_expiry_once_under_concurrency_and_keeps_the_newest_refresh_token(
    hub: Hub,
) -> None:
    hub.connect()
    conn_id = str(_only(hub)["id"])
    if hub.vendor.key == "salesforce":
        assert _only(hub)["expires_at"] is None  # no expires_in: only a 401 triggers a refresh
    _expire_soon(hub, conn_id)
    hub.emulator.state.token_delay = 0.3
    got: list[str] = []
    barrier = threading.Barrier(10)

    def job() -> None:
        barrier.wait()
        got.append(hub.runtime.connections.tokens.access_token(conn_id))

    threads = [threading.Thread(target=job) for _ in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert hub.emulator.state.refresh_calls == 1 and len(got) == 10 and len(set(got)) == 1
    assert hub.api(got[0]).status_code == 200
    hub.emulator.state.token_delay = 0
    _expire_soon(hub, conn_id)
    hub.runtime.connections.tokens.access_token(conn_id)
    used, issued = hub.emulator.state.refresh_used, hub.emulator.state.issued_refresh
    expected = issued[1] if hub.emulator.rotates else issued[0]
    assert used == [issued[0], expected]  # a rotated refresh token was stored and used next time


def test_a_vendor_rejection_refreshes_once_and_the_call_is_retried(hub: Hub) -> None:
    hub.connect()
    conn_id = str(_only(hub)["id"])
    tokens = hub.runtime.connections.tokens
    assert tokens.call(conn_id, hub.api).status_code == 200
    assert hub.emulator.state.refresh_calls == 0
    hub.emulator.expire_access()  # e.g. Salesforce ended the session: 401 INVALID_SESSION_ID
    answer = tokens.call(conn_id, hub.api)
    assert answer.status_code == 200 and answer.json().get("ok", True) is True
    assert hub.emulator.state.refresh_calls == 1


def test_invalid_grant_marks_needs_reauth_and_emits_the_event(hub: Hub, receiver: WebhookReceiver) -> None:
    r = hub.client.post(
        "/v1/webhooks",
        json={"url": receiver.url, "events": ["connection.needs_reauth"]},
        headers=hub.headers(),
    )
    receiver.secret = r.json()["secret"]
    hub.connect()
    conn_id = str(_only(hub)["id"])
    hub.emulator.forget_grants()  # the user removed the app at the vendor
    hub.emulator.expire_access()
    with pytest.raises(AuthError) as caught:
        hub.runtime.connections.tokens.call(conn_id, hub.api)
    assert caught.value.code == "invalid_grant"
    conn = _only(hub)
    assert conn["status"] == "needs_reauth" and conn["refresh_failures"] == 1
    [payload] = receiver.wait_accepted(1)
    assert payload["type"] == "connection.needs_reauth"
    assert payload["data"]["connection_id"] == conn_id and payload["data"]["provider"] == hub.vendor.key
    with pytest.raises(AuthError):
        hub.runtime.connections.tokens.access_token(conn_id)
    assert hub.emulator.state.refresh_calls == 1
    assert hub.connect()["status"] == "connected"
    assert _only(hub)["status"] == "active"


def test_a_throttled_token_endpoint_is_transient_and_keeps_the_connection(hub: Hub) -> None:
    hub.connect()
    conn_id = str(_only(hub)["id"])
    _expire_soon(hub, conn_id)
    hub.emulator.state.throttle_next = 1
    with pytest.raises(TransientError) as caught:
        hub.runtime.connections.tokens.access_token(conn_id)
    assert caught.value.retry_after is not None
    assert _only(hub)["status"] == "active"
    assert hub.api(hub.runtime.connections.tokens.access_token(conn_id)).status_code == 200


def test_delete_revokes_at_the_vendor_where_it_can_and_deletes_the_tokens(hub: Hub) -> None:
    hub.connect()
    conn_id = str(_only(hub)["id"])
    refresh = hub.emulator.state.issued_refresh[-1]
    [access] = list(hub.emulator.state.access)
    deleted = hub.client.delete(f"/v1/connections/{conn_id}", headers=hub.headers())
    assert deleted.status_code == 200, deleted.text
    kind = REVOKES[hub.vendor.key]
    # Microsoft's identity platform has no token revocation endpoint: said plainly, tokens still deleted
    assert deleted.json() == {
        "id": conn_id,
        "provider": hub.vendor.key,
        "status": "revoked",
        "tokens_deleted": True,
        "vendor_revoked": kind is not None,
        "vendor_revocation": "revoked" if kind else "not_supported",
    }
    assert hub.emulator.state.revoked == ({"refresh": [refresh], "access": [access]}[kind] if kind else [])
    assert hub.connections() == []
    with hub.runtime.db.engine.connect() as c:
        assert c.execute(text("SELECT count(*) FROM vault_secrets")).scalar() == 0


def test_a_forged_callback_code_lands_on_the_error_page(hub: Hub) -> None:
    start = hub.client.get(
        f"/v1/connections/{hub.vendor.key}/authorize", headers=hub.headers(), follow_redirects=False
    )
    state = parse_qs(urlsplit(start.headers["location"]).query)["state"][0]
    r = hub.client.get(
        f"/v1/oauth/callback/{hub.vendor.key}",
        params={"code": "forged", "state": state},
        follow_redirects=True,
    )
    assert r.json()["status"] == "error" and r.json()["code"]
    assert hub.connections() == []


def test_connect_and_refresh_on_postgres_and_redis(scaled_hub: Hub) -> None:
    assert scaled_hub.connect()["status"] == "connected"
    conn_id = str(_only(scaled_hub)["id"])
    scaled_hub.emulator.expire_access()
    assert scaled_hub.runtime.connections.tokens.call(conn_id, scaled_hub.api).status_code == 200
    assert scaled_hub.emulator.state.refresh_calls == 1
