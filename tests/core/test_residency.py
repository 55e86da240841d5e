"""Data residency: each region has its own PostgreSQL database, broker queue and media spool; a tenant's
jobs, results, media and tokens live only in its region, workers serve only their regions, and any
cross-region read or write is refused (421 wrong_region)."""

from __future__ import annotations

import json
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from core.api.app import create_app
from core.connections.oauth import TokenSet
from core.runtime import Runtime
from core.settings import Settings
from core.storage.residency import WrongRegion
from core.storage.store import NewInput
from tests.conftest import (
    ECHODEPTH_BIN,
    FAST_JOB_SETTINGS,
    PG_SERVER,
    REDIS_URL,
    WorkerProcess,
    settings_env,
    start_worker,
)

JPEG = Path(__file__).resolve().parents[1] / "fixtures" / "faces" / "london_030_smiling.jpg"


@pytest.fixture
def eu_pg_url(pg_admin: sa.Engine) -> Iterator[str]:
    """A second new, empty PostgreSQL database (the EU region's), dropped afterwards."""
    name = f"echodepth_t_{uuid.uuid4().hex[:12]}"
    with pg_admin.connect() as c:
        c.exec_driver_sql(f'CREATE DATABASE "{name}"')
    yield f"{PG_SERVER}/{name}"
    with pg_admin.connect() as c:
        c.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def settings(tmp_path: Path, pg_url: str, eu_pg_url: str, redis_namespace: str) -> Settings:
    """Home region uk (its database, Redis namespace and spool), region eu with its own of each."""
    eu = {"eu": {"database_url": eu_pg_url, "data_dir": str(tmp_path / "eu")}}
    return Settings(
        data_dir=tmp_path / "uk",
        database_url=pg_url,
        broker_url=REDIS_URL,
        broker_namespace=redis_namespace,
        regions=json.dumps(eu),
        **FAST_JOB_SETTINGS,
    )


@pytest.fixture
def runtime(settings: Settings) -> Iterator[Runtime]:
    rt = Runtime(settings)
    yield rt
    rt.close()


def _rows(url: str, sql: str) -> list[Any]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as c:
            return [row[0] for row in c.exec_driver_sql(sql)]
    finally:
        engine.dispose()


def _worker(settings: Settings, region: str, tmp_path: Path) -> WorkerProcess:
    only = settings.model_copy(update={"serve_regions": region})
    return start_worker(only, tmp_path / f"worker-{region}.log")


def _status(client: TestClient, job_id: str, key: str) -> str:
    r = client.get(f"/v1/result/{job_id}", headers={"Authorization": f"Bearer {key}"})
    assert r.status_code == 200, r.text
    return str(r.json()["status"])


def _wait(client: TestClient, job_id: str, key: str, timeout: float = 90) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        r = client.get(f"/v1/result/{job_id}", headers={"Authorization": f"Bearer {key}"})
        assert r.status_code == 200, r.text
        if r.json()["status"] in ("completed", "failed"):
            return dict(r.json())
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} did not finish in {timeout}s")


def _submit(client: TestClient, key: str, text: str) -> str:
    r = client.post("/v1/analyse/text", json={"text": text}, headers={"Authorization": f"Bearer {key}"})
    assert r.status_code == 202, r.text
    return str(r.json()["job_id"])


def test_each_tenants_jobs_results_and_media_stay_in_its_region_and_workers_serve_only_theirs(
    settings: Settings, runtime: Runtime, pg_url: str, eu_pg_url: str, tmp_path: Path
) -> None:
    eu_key = runtime.create_key("eurocorp", "eu")
    uk_key = runtime.create_key("britco")
    client = TestClient(create_app(runtime))
    uk_worker = _worker(settings, "uk", tmp_path)
    eu_worker: WorkerProcess | None = None
    try:
        eu_job = _submit(client, eu_key, "We are delighted with the new contract.")
        uk_job = _submit(client, uk_key, "I am worried the delivery will slip again.")
        assert _wait(client, uk_job, uk_key)["status"] == "completed"
        time.sleep(3)  # several sweeps (0.5 s) and re-enqueues (1 s): a uk worker seeing eu jobs would run it
        assert _status(client, eu_job, eu_key) == "queued"

        r = client.post(  # an upload while no eu worker runs: its media sits in the eu spool only
            "/v1/analyse/image",
            files=[("file", ("s.jpg", JPEG.read_bytes(), "image/jpeg"))],
            headers={"Authorization": f"Bearer {eu_key}"},
        )
        assert r.status_code == 202, r.text
        media_job = r.json()["job_id"]
        assert (tmp_path / "eu" / "spool" / media_job).is_dir()
        assert not (tmp_path / "uk" / "spool" / media_job).exists()
        gone = client.delete(f"/v1/result/{media_job}", headers={"Authorization": f"Bearer {eu_key}"})
        assert gone.status_code == 204
        assert not (tmp_path / "eu" / "spool" / media_job).exists()

        eu_worker = _worker(settings, "eu", tmp_path)
        done = _wait(client, eu_job, eu_key)  # GET /v1/result by the eu key, end to end
        assert done["status"] == "completed"
        assert done["compliance"]["region"] == "eu"
    finally:
        uk_worker.stop()
        if eu_worker is not None:
            eu_worker.stop()

    assert _rows(eu_pg_url, "SELECT id FROM jobs") == [eu_job]
    assert _rows(eu_pg_url, "SELECT job_id FROM results") == [eu_job]
    assert _rows(pg_url, "SELECT id FROM jobs") == [uk_job]
    assert _rows(pg_url, "SELECT job_id FROM results") == [uk_job]
    # The directory (tenant -> region, key hashes) is in the home database only.
    assert sorted(_rows(pg_url, "SELECT region FROM tenants")) == ["eu", "uk"]
    assert _rows(eu_pg_url, "SELECT name FROM tenants") == ["eurocorp"]
    assert _rows(eu_pg_url, "SELECT count(*) FROM api_keys") == [0]


def test_connection_tokens_live_in_the_tenants_region_only(
    runtime: Runtime, pg_url: str, eu_pg_url: str
) -> None:
    eu_key = runtime.create_key("eurocorp", "eu")
    eu_id = runtime.store.ensure_tenant("eurocorp")
    eu = runtime.for_tenant(eu_id)
    assert eu is runtime.regional["eu"]
    tokens = TokenSet("sealed-access", "sealed-refresh", None, ["meeting:read"])
    conn = eu.connections.store.save(eu_id, "zoom", "acct-1", {}, tokens)

    assert _rows(eu_pg_url, "SELECT tenant_id FROM vault_secrets") == [eu_id, eu_id]
    assert _rows(eu_pg_url, "SELECT id FROM connections") == [conn.id]
    assert _rows(pg_url, "SELECT count(*) FROM vault_secrets") == [0]
    assert _rows(pg_url, "SELECT count(*) FROM connections") == [0]
    listed = TestClient(create_app(runtime)).get("/v1/connections", headers={"X-API-Key": eu_key})
    assert listed.status_code == 200, listed.text
    assert [c["id"] for c in listed.json()["data"]] == [conn.id]
    with pytest.raises(WrongRegion):
        runtime.connections.store.save(eu_id, "zoom", "acct-2", {}, tokens)
    with pytest.raises(WrongRegion):
        runtime.vault.put(eu_id, "access_token", "x")
    assert _rows(pg_url, "SELECT count(*) FROM vault_secrets") == [0]


def test_cross_region_reads_and_writes_are_refused(runtime: Runtime, settings: Settings) -> None:
    runtime.create_key("eurocorp", "eu")
    runtime.create_key("britco")
    eu_id, uk_id = runtime.store.ensure_tenant("eurocorp"), runtime.store.ensure_tenant("britco")
    eu_store = runtime.regional["eu"].store
    job = eu_store.create_job(eu_id, "text", NewInput(text="hello"), {}, None)

    refused = [
        lambda: runtime.store.get_job(eu_id, job.id),  # eu tenant against the uk store
        lambda: runtime.store.create_job(eu_id, "text", NewInput(text="x"), {}, None),
        lambda: runtime.store.list_jobs(eu_id, None, 10, None),
        lambda: runtime.store.delete_job(eu_id, job.id),
        lambda: eu_store.create_job(uk_id, "text", NewInput(text="x"), {}, None),  # uk tenant in eu
        lambda: eu_store.count_active_jobs(uk_id),
    ]
    for attempt in refused:
        with pytest.raises(WrongRegion) as caught:
            attempt()
        assert (caught.value.code, caught.value.status) == ("wrong_region", 421)
    assert eu_store.get_job(eu_id, job.id) is not None
    assert runtime.store.claim(job.id, 30) is None  # a uk worker's store does not even see the eu job


def test_an_api_process_that_does_not_serve_a_region_answers_421(
    runtime: Runtime, settings: Settings
) -> None:
    eu_key = runtime.create_key("eurocorp", "eu")
    uk_key = runtime.create_key("britco")
    uk_only = Runtime(settings.model_copy(update={"serve_regions": "uk"}))
    try:
        client = TestClient(create_app(uk_only))
        r = client.get("/v1/jobs", headers={"Authorization": f"Bearer {eu_key}"})
        assert r.status_code == 421, r.text
        assert r.json()["code"] == "wrong_region"
        assert client.get("/v1/jobs", headers={"Authorization": f"Bearer {uk_key}"}).status_code == 200
    finally:
        uk_only.close()


def test_cli_creates_an_eu_tenant_whose_guard_applies_and_whose_region_cannot_move(
    settings: Settings, eu_pg_url: str
) -> None:
    env = settings_env(settings)

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([ECHODEPTH_BIN, *args], env=env, capture_output=True, text=True, timeout=120)

    made = cli("keys", "create", "--tenant", "schoolco", "--region", "eu")
    assert made.returncode == 0, made.stderr
    key = made.stdout.strip()
    assert _rows(eu_pg_url, "SELECT region FROM tenants WHERE name = 'schoolco'") == ["eu"]
    assert cli("tenants", "set", "--tenant", "schoolco", "--purposes", "education").returncode == 0
    assert _rows(eu_pg_url, "SELECT purposes FROM tenants") == [["education"]]  # policy kept in eu
    moved = cli("tenants", "set", "--tenant", "schoolco", "--region", "uk")
    assert moved.returncode != 0
    assert "cannot move between region stores" in moved.stderr

    rt = Runtime(settings)
    try:
        r = TestClient(create_app(rt)).post(
            "/v1/analyse/text", json={"text": "hello"}, headers={"Authorization": f"Bearer {key}"}
        )
        assert r.status_code == 403, r.text
        assert r.json()["code"] == "purpose_not_permitted"
    finally:
        rt.close()
