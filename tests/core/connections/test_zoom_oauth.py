"""Zoom connect, refresh and revoke against the Zoom emulator, with requests-oauthlib doing the OAuth."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import text

from core.api.app import create_app
from core.runtime import Runtime
from core.sdk.errors import AuthError
from core.settings import Settings
from tests.conftest import FAST_JOB_SETTINGS, REDIS_URL, Backend, delivering
from tests.emulators.webhook_receiver import WebhookReceiver, webhook_receiver
from tests.emulators.zoom import ACCOUNT_ID, CLIENT_ID, CLIENT_SECRET, ZoomEmulator, zoom_emulator


@pytest.fixture
def zoom(monkeypatch: pytest.MonkeyPatch) -> Iterator[ZoomEmulator]:
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")  # the emulator speaks plain http on loopback
    with zoom_emulator() as emulator:
        yield emulator


def _settings(tmp_path: Path, zoom: ZoomEmulator, **extra: Any) -> Settings:
    return Settings(
        data_dir=tmp_path / "var",
        public_url="http://testserver",
        providers_dir=zoom.write_spec(tmp_path / "providers"),
        connectors={"zoom": {"client_id": CLIENT_ID, "client_secret": SecretStr(CLIENT_SECRET)}},
        allow_private_urls=True,
        webhook_retry_schedule="0.2",
        **{**FAST_JOB_SETTINGS, **extra},
    )


@pytest.fixture(params=["embedded", "postgres+redis"])
def hub(request: pytest.FixtureRequest, tmp_path: Path, zoom: ZoomEmulator) -> Iterator[Backend]:
    """An API (no analysis worker needed) on SQLite, or on PostgreSQL with Redis locks."""
    extra: dict[str, Any] = {}
    if request.param == "postgres+redis":
        extra = {
            "database_url": request.getfixturevalue("pg_url"),
            "broker_url": REDIS_URL,
            "broker_namespace": request.getfixturevalue("redis_namespace"),
        }
    rt = Runtime(_settings(tmp_path, zoom, **extra))
    try:
        with delivering(rt):
            yield Backend(request.param, rt, TestClient(create_app(rt)), rt.store.create_key("acme"))
    finally:
        rt.close()


def connect(hub: Backend) -> dict[str, Any]:
    """Follow the whole flow as a browser would: our redirect, the vendor's page, our callback."""
    start = hub.client.get("/v1/connections/zoom/authorize", headers=hub.headers(), follow_redirects=False)
    assert start.status_code == 302, start.text
    vendor = httpx.get(start.headers["location"], follow_redirects=False)
    assert vendor.status_code == 302, vendor.text
    back = urlsplit(vendor.headers["location"])
    assert back.netloc == "testserver"
    done = hub.client.get(f"{back.path}?{back.query}", follow_redirects=True)
    assert done.status_code == 200, done.text
    result: dict[str, Any] = done.json()
    return result


def _connection(hub: Backend) -> dict[str, Any]:
    [conn] = hub.client.get("/v1/connections", headers=hub.headers()).json()["data"]
    found: dict[str, Any] = conn
    return found


def test_connect_stores_the_account_and_only_ciphertext(hub: Backend, zoom: ZoomEmulator) -> None:
    start = hub.client.get("/v1/connections/zoom/authorize", headers=hub.headers(), follow_redirects=False)
    query = parse_qs(urlsplit(start.headers["location"]).query)
    assert query["code_challenge_method"] == ["S256"] and query["client_id"] == [CLIENT_ID]
    assert query["redirect_uri"] == ["http://testserver/v1/oauth/callback/zoom"]
    result = connect(hub)
    assert result["status"] == "connected"
    conn = _connection(hub)
    assert conn["id"] == result["connection_id"]
    assert conn["external_account_id"] == ACCOUNT_ID and conn["status"] == "active"
    assert "user:read:user" in conn["scopes"]
    tokens = set(zoom.state.access) | zoom.state.refresh
    assert len(tokens) == 2
    with hub.runtime.db.engine.connect() as c:
        for table in ("vault_secrets", "connections"):
            for row in c.execute(text(f"SELECT * FROM {table}")):
                dump = repr(tuple(row))
                assert not any(t in dump for t in tokens), table
                assert CLIENT_SECRET not in dump


def test_a_state_is_single_use_and_bound_to_the_browser(hub: Backend) -> None:
    start = hub.client.get("/v1/connections/zoom/authorize", headers=hub.headers(), follow_redirects=False)
    back = urlsplit(httpx.get(start.headers["location"], follow_redirects=False).headers["location"])
    stranger = TestClient(hub.client.app)
    r = stranger.get(f"{back.path}?{back.query}", follow_redirects=False)
    assert r.status_code == 400 and r.json()["code"] == "invalid_state"
    assert hub.client.get(f"{back.path}?{back.query}", follow_redirects=False).status_code == 302
    hub.client.cookies.set(
        "echodepth_oauth", parse_qs(back.query)["state"][0].split(".")[0], path="/v1/oauth"
    )
    again = hub.client.get(f"{back.path}?{back.query}", follow_redirects=False)
    assert again.status_code == 400 and again.json()["code"] == "invalid_state"


def test_a_forged_state_is_refused(hub: Backend) -> None:
    r = hub.client.get(
        "/v1/oauth/callback/zoom", params={"code": "c", "state": "e30.AAAA"}, follow_redirects=False
    )
    assert r.status_code == 400 and r.json()["code"] == "invalid_state"


def test_vendor_denial_lands_on_the_result_page(hub: Backend) -> None:
    r = hub.client.get("/v1/oauth/callback/zoom", params={"error": "access_denied"}, follow_redirects=True)
    assert r.json() == {"status": "error", "provider": "zoom", "connection_id": None, "code": "access_denied"}


def test_unknown_or_unconfigured_provider(hub: Backend, tmp_path: Path, zoom: ZoomEmulator) -> None:
    r = hub.client.get("/v1/connections/fax/authorize", headers=hub.headers(), follow_redirects=False)
    assert r.status_code == 404 and r.json()["code"] == "not_found"
    rt = Runtime(Settings(data_dir=tmp_path / "other", providers_dir=zoom.write_spec(tmp_path / "p2")))
    try:
        client = TestClient(create_app(rt))
        headers = {"Authorization": f"Bearer {rt.store.create_key('acme')}"}
        r = client.get("/v1/connections/zoom/authorize", headers=headers, follow_redirects=False)
        assert r.status_code == 409 and r.json()["code"] == "provider_not_configured"
    finally:
        rt.close()


def _expire_soon(hub: Backend, zoom: ZoomEmulator) -> str:
    zoom.state.expires_in = 120  # inside the 10-minute refresh-ahead window
    connect(hub)
    zoom.state.expires_in = 3600
    return str(_connection(hub)["id"])


def test_refreshes_expiring_token_once_under_concurrency(hub: Backend, zoom: ZoomEmulator) -> None:
    conn_id = _expire_soon(hub, zoom)
    zoom.state.token_delay = 0.3
    tokens_at_start = set(zoom.state.access)
    got: list[str] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(20)

    def job() -> None:
        try:
            barrier.wait()
            got.append(hub.runtime.connections.tokens.access_token(conn_id))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=job) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []
    assert zoom.state.refresh_calls == 1
    assert len(set(got)) == 1 and got[0] not in tokens_at_start
    assert hub.runtime.connections.tokens.access_token(conn_id) == got[0]
    assert zoom.state.refresh_calls == 1


def test_refresh_across_two_processes_happens_once(
    tmp_path: Path, zoom: ZoomEmulator, pg_url: str, redis_namespace: str
) -> None:
    """Two runtimes (as two worker processes would) on one PostgreSQL and one Redis lock."""
    settings = _settings(
        tmp_path, zoom, database_url=pg_url, broker_url=REDIS_URL, broker_namespace=redis_namespace
    )
    first, second = Runtime(settings), Runtime(settings)
    try:
        hub = Backend("pg", first, TestClient(create_app(first)), first.store.create_key("acme"))
        conn_id = _expire_soon(hub, zoom)
        zoom.state.token_delay = 0.3
        got: list[str] = []
        managers = [first.connections.tokens, second.connections.tokens] * 10
        threads = [threading.Thread(target=lambda m=m: got.append(m.access_token(conn_id))) for m in managers]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        assert zoom.state.refresh_calls == 1 and len(got) == 20 and len(set(got)) == 1
    finally:
        second.close()
        first.close()


def test_a_vendor_401_forces_one_refresh_and_reuses_a_newer_token(hub: Backend, zoom: ZoomEmulator) -> None:
    connect(hub)
    conn_id = str(_connection(hub)["id"])
    tokens = hub.runtime.connections.tokens
    old = tokens.access_token(conn_id)
    assert zoom.state.refresh_calls == 0
    new = tokens.access_token(conn_id, rejected=old)
    assert new != old and zoom.state.refresh_calls == 1
    assert tokens.access_token(conn_id, rejected=old) == new  # a late 401 on the old token: no second refresh
    assert zoom.state.refresh_calls == 1
    assert (
        httpx.get(f"{zoom.base}/v2/users/me", headers={"Authorization": f"Bearer {new}"}).status_code == 200
    )


def test_invalid_grant_marks_needs_reauth_and_emits_the_event(
    hub: Backend, zoom: ZoomEmulator, receiver: WebhookReceiver
) -> None:
    r = hub.client.post(
        "/v1/webhooks",
        json={"url": receiver.url, "events": ["connection.needs_reauth"]},
        headers=hub.headers(),
    )
    receiver.secret = r.json()["secret"]
    conn_id = _expire_soon(hub, zoom)
    zoom.state.refresh.clear()  # the vendor forgot every refresh token (user revoked the app)
    with pytest.raises(AuthError):
        hub.runtime.connections.tokens.access_token(conn_id)
    conn = _connection(hub)
    assert conn["status"] == "needs_reauth" and conn["refresh_failures"] == 1
    [payload] = receiver.wait_accepted(1)
    assert payload["type"] == "connection.needs_reauth"
    assert payload["data"]["connection_id"] == conn_id and payload["data"]["provider"] == "zoom"
    with pytest.raises(AuthError):
        hub.runtime.connections.tokens.access_token(conn_id)
    assert zoom.state.refresh_calls == 1
    assert connect(hub)["status"] == "connected"
    assert _connection(hub)["status"] == "active"


def test_delete_revokes_at_zoom_and_deletes_the_tokens(hub: Backend, zoom: ZoomEmulator) -> None:
    connect(hub)
    conn_id = _connection(hub)["id"]
    [refresh] = zoom.state.refresh
    assert hub.client.delete(f"/v1/connections/{conn_id}", headers=hub.headers()).status_code == 200
    assert zoom.state.revoked == [refresh]
    assert hub.client.get("/v1/connections", headers=hub.headers()).json()["data"] == []
    with hub.runtime.db.engine.connect() as c:
        assert c.execute(text("SELECT count(*) FROM vault_secrets")).scalar() == 0
    other = hub.new_key("globex")
    assert hub.client.delete(f"/v1/connections/{conn_id}", headers=hub.headers(other)).status_code == 404


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    with webhook_receiver() as r:
        yield r
