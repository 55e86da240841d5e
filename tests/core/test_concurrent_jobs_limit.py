"""A tier's ``concurrent_jobs`` holds under concurrent submits: the admission check and the job row are one
transaction (a tenant row lock on PostgreSQL, the write lock on SQLite), so the limit is never exceeded."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from core.api.app import create_app
from core.runtime import Runtime
from core.settings import Settings
from core.storage.store import JobLimitReached, NewInput
from tests.conftest import FAST_JOB_SETTINGS, REDIS_URL

_TIERS = "tiers:\n  small: {requests_per_minute: 10000, concurrent_jobs: 3}\n"


@pytest.fixture(params=["sqlite", "postgres+redis"])
def runtime(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Runtime]:
    """A deployment with no worker running, so every accepted job stays queued (active)."""
    tiers = tmp_path / "tiers.yaml"
    tiers.write_text(_TIERS)
    extra = {}
    if request.param != "sqlite":
        extra = {
            "database_url": request.getfixturevalue("pg_url"),
            "broker_url": REDIS_URL,
            "broker_namespace": request.getfixturevalue("redis_namespace"),
        }
    rt = Runtime(
        Settings(
            data_dir=tmp_path / "var",
            rate_tiers_file=tiers,
            default_rate_tier="small",
            **{**FAST_JOB_SETTINGS, **extra},
        )
    )
    try:
        yield rt
    finally:
        rt.close()


def test_concurrent_creates_never_exceed_max_active(runtime: Runtime) -> None:
    runtime.store.create_key("acme")
    tenant = runtime.store.ensure_tenant("acme")
    barrier = threading.Barrier(12)

    def create(_: int) -> bool:
        barrier.wait()
        try:
            runtime.store.create_job(tenant, "text", NewInput(text="hi"), {}, None, max_active=3)
        except JobLimitReached:
            return False
        return True

    with ThreadPoolExecutor(12) as pool:
        admitted = list(pool.map(create, range(12)))
    assert admitted.count(True) == 3
    assert runtime.store.count_active_jobs(tenant) == 3


def test_concurrent_submits_get_exactly_the_tiers_jobs(runtime: Runtime) -> None:
    key = runtime.store.create_key("acme")
    client = TestClient(create_app(runtime))
    barrier = threading.Barrier(10)

    def submit(i: int) -> int:
        barrier.wait()
        r = client.post(
            "/v1/analyse/text", json={"text": f"call {i}"}, headers={"Authorization": f"Bearer {key}"}
        )
        assert r.status_code in (202, 429), r.text
        if r.status_code == 429:
            assert r.json()["code"] == "too_many_jobs" and r.headers["Retry-After"]
        return r.status_code

    with ThreadPoolExecutor(10) as pool:
        codes = list(pool.map(submit, range(10)))
    assert codes.count(202) == 3, codes
    usage = client.get("/v1/usage", headers={"Authorization": f"Bearer {key}"}).json()
    assert usage["active_jobs"] == 3 and usage["concurrent_jobs"] == 3
