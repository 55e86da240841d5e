"""The token vault: ciphertext only at rest, key ids beside it, rotation, and the generated embedded key."""

from __future__ import annotations

import base64
import logging
import os
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import SecretStr
from sqlalchemy import text

from core.runtime import Runtime
from core.sdk.errors import ConfigError
from core.settings import Settings
from core.storage.db import Database
from core.vault import KeyRing, TokenVault, VaultError, load_key_ring
from core.vault.keys import KEY_FILE_NAME
from tests.conftest import ECHODEPTH_BIN

SECRET = "ya29.a0AfH6SMBx-refresh-me-PLAINTEXT-7c1f"
KEY_A = "a:" + base64.b64encode(b"A" * 32).decode()
KEY_B = "b:" + base64.b64encode(b"B" * 32).decode()


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'vault.db'}"
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture
def runtime(tmp_path: Path, db_url: str) -> Iterator[Runtime]:
    rt = Runtime(Settings(data_dir=tmp_path / "var", database_url=db_url, vault_keys=SecretStr(KEY_A)))
    yield rt
    rt.close()


def _raw_rows(db: Database) -> list[tuple[object, ...]]:
    with db.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text("SELECT * FROM vault_secrets"))]


def _as_bytes(value: object) -> bytes:
    if isinstance(value, memoryview):
        return value.tobytes()
    return value if isinstance(value, bytes) else str(value).encode()


def test_raw_database_rows_hold_only_ciphertext(runtime: Runtime) -> None:
    tenant = runtime.store.ensure_tenant("acme")
    secret_id = runtime.vault.put(tenant, "access_token", SECRET)
    rows = _raw_rows(runtime.db)
    assert len(rows) == 1
    dump = b"|".join(_as_bytes(v) for v in rows[0])
    for form in (SECRET.encode(), base64.b64encode(SECRET.encode()), SECRET.encode().hex().encode()):
        assert form not in dump
    assert b"a" in [_as_bytes(v) for v in rows[0]]  # the key id sits beside the ciphertext
    assert runtime.vault.get(secret_id) == SECRET


def test_each_seal_uses_a_fresh_nonce(runtime: Runtime) -> None:
    tenant = runtime.store.ensure_tenant("acme")
    runtime.vault.put(tenant, "t", SECRET)
    runtime.vault.put(tenant, "t", SECRET)
    with runtime.db.engine.connect() as conn:
        rows = conn.execute(text("SELECT nonce, ciphertext FROM vault_secrets")).all()
    assert len({_as_bytes(r[0]) for r in rows}) == 2
    assert len({_as_bytes(r[1]) for r in rows}) == 2


def test_ciphertext_moved_to_another_row_does_not_open(runtime: Runtime) -> None:
    tenant = runtime.store.ensure_tenant("acme")
    first = runtime.vault.put(tenant, "t", SECRET)
    second = runtime.vault.put(tenant, "t", "other")
    with runtime.db.engine.begin() as conn:
        nonce, sealed = conn.execute(
            text("SELECT nonce, ciphertext FROM vault_secrets WHERE id = :i"), {"i": first}
        ).one()
        conn.execute(
            text("UPDATE vault_secrets SET nonce = :n, ciphertext = :c WHERE id = :i"),
            {"n": nonce, "c": sealed, "i": second},
        )
    with pytest.raises(VaultError):
        runtime.vault.get(second)


def test_rotation_reseals_under_the_newest_key_and_old_key_can_go(runtime: Runtime, db_url: str) -> None:
    tenant = runtime.store.ensure_tenant("acme")
    ids = [runtime.vault.put(tenant, "t", f"{SECRET}-{i}") for i in range(3)]
    rotating = TokenVault(runtime.db, KeyRing.parse(f"{KEY_B},{KEY_A}"))
    assert rotating.rotate(batch=2) == 3
    assert rotating.rotate() == 0
    with runtime.db.engine.connect() as conn:
        assert {r[0] for r in conn.execute(text("SELECT key_id FROM vault_secrets"))} == {"b"}
    only_new = TokenVault(runtime.db, KeyRing.parse(KEY_B))
    assert [only_new.get(i) for i in ids] == [f"{SECRET}-{i}" for i in range(3)]
    with pytest.raises(VaultError, match="not in"):
        runtime.vault.get(ids[0])


def test_cli_rotate_reencrypts_and_logs_no_plaintext(runtime: Runtime, db_url: str, tmp_path: Path) -> None:
    tenant = runtime.store.ensure_tenant("acme")
    secret_id = runtime.vault.put(tenant, "t", SECRET)
    env = {k: v for k, v in os.environ.items() if not k.startswith("ECHODEPTH_")}
    env.update(
        ECHODEPTH_DATA_DIR=str(tmp_path / "var"),
        ECHODEPTH_DATABASE_URL=db_url,
        ECHODEPTH_VAULT_KEYS=f"{KEY_B},{KEY_A}",
        ECHODEPTH_LOG_LEVEL="DEBUG",
    )
    out = subprocess.run(
        [ECHODEPTH_BIN, "vault", "rotate"], env=env, capture_output=True, text=True, check=True
    )
    assert "re-encrypted 1 secrets under key b" in out.stdout
    assert SECRET not in out.stdout + out.stderr
    assert TokenVault(runtime.db, KeyRing.parse(KEY_B)).get(secret_id) == SECRET


def test_plaintext_never_reaches_the_logs(runtime: Runtime, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    tenant = runtime.store.ensure_tenant("acme")
    secret_id = runtime.vault.put(tenant, "t", SECRET)
    runtime.vault.get(secret_id)
    TokenVault(runtime.db, KeyRing.parse(f"{KEY_B},{KEY_A}")).rotate()
    assert SECRET not in caplog.text
    assert "AAAA" not in repr(runtime.vault.ring)


def test_embedded_default_generates_a_private_key_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = Settings(data_dir=tmp_path / "var")
    with caplog.at_level(logging.WARNING, logger="echodepth.vault"):
        first = load_key_ring(settings)
    path = tmp_path / "var" / KEY_FILE_NAME
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert "ECHODEPTH_VAULT_KEYS" in caplog.text
    assert load_key_ring(settings) == first
    assert len(first.keys[first.current]) == 32


@pytest.mark.parametrize(
    "value",
    ["", "nokid", "k:not-base64!", "k:" + base64.b64encode(b"short").decode(), ":" + KEY_A.split(":")[1]],
)
def test_malformed_key_ring_is_a_config_error(value: str) -> None:
    with pytest.raises(ConfigError):
        KeyRing.parse(value)


def test_key_ring_newest_first() -> None:
    ring = KeyRing.parse(f" {KEY_B} , {KEY_A} ")
    assert ring.current == "b" and set(ring.keys) == {"a", "b"}
