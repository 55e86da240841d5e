"""Scopes: every authenticated route checks the one core.api.scopes names for it."""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from core.api.scopes import ADMIN, ANY_SCOPE, SCOPES, required_scope
from core.storage import scopes as stored
from core.storage.db import Database
from core.storage.store import Store
from tests.conftest import ECHODEPTH_BIN, Backend

_ALL_BUT = {s: [x for x in SCOPES if x != s] for s in SCOPES}


def test_storage_and_api_agree_on_the_scopes() -> None:
    assert stored.SCOPES is SCOPES  # one list: the api's route rules name the stored vocabulary


def test_every_v1_route_refuses_a_key_without_scopes_unless_it_is_public(
    make_embedded: Callable[..., Backend],
) -> None:
    b = make_embedded()
    bare = b.runtime.store.create_key("acme", scopes=[])
    checked = 0
    for path, methods in b.client.get("/openapi.json").json()["paths"].items():
        if not path.startswith("/v1/") or required_scope("GET", path) == ANY_SCOPE:
            continue
        url = re.sub(r"\{[^}]+\}", "00000000-0000-0000-0000-000000000000", path)
        for method in methods:
            with_key = b.client.request(method.upper(), url, headers=b.headers(bare))
            anonymous = b.client.request(method.upper(), url)
            if anonymous.status_code != 401:
                continue  # a public route (vendor callbacks and hooks): it does not read our credentials
            assert with_key.status_code == 403, (method, path, with_key.text)
            assert with_key.json()["code"] == "insufficient_scope"
            checked += 1
    assert checked > 20
    assert required_scope("GET", "/v1/something/new") == ADMIN  # fail closed


@pytest.mark.parametrize(
    ("method", "path", "scope"),
    [
        ("POST", "/v1/analyse/text", "analyse:write"),
        ("GET", "/v1/jobs", "results:read"),
        ("GET", "/v1/result/00000000-0000-0000-0000-000000000000", "results:read"),
        ("DELETE", "/v1/result/00000000-0000-0000-0000-000000000000", "results:delete"),
        ("POST", "/v1/stream/tokens", "stream"),
        ("GET", "/v1/webhooks", "webhooks:manage"),
        ("GET", "/v1/connections", "connections:manage"),
        ("GET", "/v1/tenants/me", "admin"),
        ("GET", "/v1/audit", "admin"),
        ("GET", "/v1/tenants/me/export", "admin"),
        ("POST", "/v1/oauth/clients", "admin"),
    ],
)
def test_a_key_without_the_routes_scope_gets_403_insufficient_scope(
    make_embedded: Callable[..., Backend], method: str, path: str, scope: str
) -> None:
    b = make_embedded()
    lacking = b.runtime.store.create_key("acme", scopes=_ALL_BUT[scope])
    body = {"text": "hello"} if path.endswith("/text") else None
    r = b.client.request(method, path, headers=b.headers(lacking), json=body)
    assert r.status_code == 403, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["code"] == "insufficient_scope"
    assert scope in r.json()["detail"]
    only = b.runtime.store.create_key("acme", scopes=[scope])
    r = b.client.request(method, path, headers=b.headers(only), json=body)
    assert r.status_code != 403, r.text


def test_keys_get_every_scope_by_default_and_usage_needs_none(make_embedded: Callable[..., Backend]) -> None:
    b = make_embedded()
    assert b.client.get("/v1/audit", headers=b.headers()).status_code == 200
    bare = b.runtime.store.create_key("acme", scopes=[])
    assert b.client.get("/v1/usage", headers=b.headers(bare)).status_code == 200
    assert b.client.get("/v1/jobs", headers=b.headers(bare)).json()["code"] == "insufficient_scope"


def test_the_stream_socket_needs_the_stream_scope(make_embedded: Callable[..., Backend]) -> None:
    b = make_embedded()
    lacking = b.runtime.store.create_key("acme", scopes=_ALL_BUT["stream"])
    with b.client.websocket_connect("/v1/stream/video", headers=b.headers(lacking)) as ws:
        assert ws.receive_json()["code"] == "insufficient_scope"


def test_migration_gives_existing_keys_every_scope(tmp_path: Path) -> None:
    import sqlalchemy as sa
    from alembic import command

    db = Database(f"sqlite:///{tmp_path / 'm.db'}")
    command.upgrade(db.alembic_config(), "0006_governance")
    with db.engine.begin() as c:
        c.execute(
            sa.text(
                "INSERT INTO tenants (id, name, created_at, region) VALUES ('t', 'acme', '2025-01-01', 'uk')"
            )
        )
        c.execute(
            sa.text(
                "INSERT INTO api_keys (id, tenant_id, prefix, key_hash, created_at) "
                "VALUES ('k', 't', 'edk_abcdefgh', 'x', '2025-01-01')"
            )
        )
    command.upgrade(db.alembic_config(), "head")
    with db.engine.connect() as c:
        scopes = c.execute(sa.text("SELECT scopes FROM api_keys")).scalar_one()
    assert sorted(json.loads(scopes)) == sorted(SCOPES)
    db.dispose()


def test_cli_creates_keys_with_the_given_scopes_and_refuses_unknown_ones(tmp_path: Path) -> None:
    env = {**os.environ, "ECHODEPTH_DATA_DIR": str(tmp_path)}
    run = [ECHODEPTH_BIN, "keys", "create", "--tenant", "acme"]
    key = subprocess.run(
        [*run, "--scope", "results:read", "--scope", "stream", "--tier", "pilot"],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()[-1]
    assert subprocess.run([*run, "--scope", "root"], env=env, capture_output=True).returncode != 0
    found = Store(Database(f"sqlite:///{tmp_path / 'echodepth.db'}")).authenticate_key(key)
    assert found is not None
    assert found.scopes == {"results:read", "stream"} and found.rate_tier == "pilot"
