"""Shared fixtures: real SQLite, PostgreSQL and Redis; a separate worker process for the scaled mode."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import redis
import sqlalchemy as sa
from fastapi.testclient import TestClient
from pydantic import SecretStr

from core.api.app import create_app
from core.runtime import Runtime
from core.scheduler import Scheduler
from core.settings import Settings

PG_SERVER = os.environ.get("ECHODEPTH_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432")
REDIS_URL = os.environ.get("ECHODEPTH_TEST_REDIS", "redis://127.0.0.1:6379/0")
ECHODEPTH_BIN = str(Path(sys.executable).with_name("echodepth"))
FAST_JOB_SETTINGS: dict[str, Any] = {
    "job_lease_seconds": 3,
    "requeue_after_seconds": 1,
    "sweep_interval_seconds": 0.5,
    "retry_min_backoff_ms": 50,
    "retry_max_backoff_ms": 200,
}
# tests of tiers name theirs; the safe default (standard) is what tests/chaos checks
UNTIERED: dict[str, Any] = {"default_rate_tier": "unlimited"}


@pytest.fixture(scope="session")
def pg_admin() -> Iterator[sa.Engine]:
    """An autocommit connection to the local PostgreSQL server (CREATE/DROP DATABASE)."""
    engine = sa.create_engine(f"{PG_SERVER}/postgres", isolation_level="AUTOCOMMIT")
    yield engine
    engine.dispose()


@pytest.fixture
def pg_url(pg_admin: sa.Engine) -> Iterator[str]:
    """A new, empty PostgreSQL database for one test, dropped afterwards."""
    name = f"echodepth_t_{uuid.uuid4().hex[:12]}"
    with pg_admin.connect() as c:
        c.exec_driver_sql(f'CREATE DATABASE "{name}"')
    yield f"{PG_SERVER}/{name}"
    with pg_admin.connect() as c:
        c.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def redis_namespace() -> Iterator[str]:
    """A Redis key prefix of one test; its keys are deleted afterwards."""
    ns = f"echodepth-t-{uuid.uuid4().hex[:12]}"
    yield ns
    client = redis.Redis.from_url(REDIS_URL)
    for key in client.scan_iter(f"{ns}*"):
        client.delete(key)
    client.close()


def settings_env(settings: Settings) -> dict[str, str]:
    """The ECHODEPTH_* environment that reproduces ``settings`` in another process."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ECHODEPTH_")}
    for name, value in settings.model_dump(exclude_none=True).items():
        if name == "connectors":  # each connector reads its own ECHODEPTH_<KEY>_<NAME>
            env.update(_connector_env(value))
            continue
        plain = value.get_secret_value() if isinstance(value, SecretStr) else value
        env[f"ECHODEPTH_{name.upper()}"] = str(plain)
    return env


@contextlib.contextmanager
def delivering(rt: Runtime) -> Iterator[Runtime]:
    """Run only ``rt``'s delivery worker and delivery sweep (a hub whose tests drive jobs themselves)."""
    rt.deliveries.start_worker()
    sweeps = Scheduler([t for t in rt.scheduler.tasks if t.name.startswith("delivery-sweep")])
    sweeps.start()
    try:
        yield rt
    finally:
        sweeps.stop()


def _connector_env(connectors: dict[str, dict[str, Any]]) -> dict[str, str]:
    env: dict[str, str] = {}
    for key, values in connectors.items():
        for name, value in values.items():
            plain = value.get_secret_value() if isinstance(value, SecretStr) else value
            env[f"ECHODEPTH_{key.upper()}_{name.upper()}"] = str(plain)
    return env


@dataclass
class WorkerProcess:
    """An ``echodepth worker`` child process."""

    proc: subprocess.Popen[bytes]
    log: Path

    def kill(self) -> None:
        self.proc.kill()
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()


def start_worker(settings: Settings, log: Path) -> WorkerProcess:
    """Start ``echodepth worker`` with these settings and wait until it says it is ready."""
    fh = log.open("wb")
    proc = subprocess.Popen(
        [ECHODEPTH_BIN, "worker"], env=settings_env(settings), stdout=fh, stderr=subprocess.STDOUT
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if b"worker ready" in log.read_bytes():
            return WorkerProcess(proc, log)
        if proc.poll() is not None:
            raise RuntimeError(f"worker exited early:\n{log.read_text()}")
        time.sleep(0.1)
    proc.kill()
    raise RuntimeError(f"worker did not start:\n{log.read_text()}")


@dataclass
class Backend:
    """A running deployment for API tests: its runtime, an HTTP client and one API key."""

    name: str
    runtime: Runtime
    client: TestClient
    key: str

    def headers(self, key: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {key or self.key}"}

    def new_key(self, tenant: str) -> str:
        return self.runtime.store.create_key(tenant)

    def submit(self, text: str, key: str | None = None, **extra: Any) -> str:
        r = self.client.post("/v1/analyse/text", json={"text": text, **extra}, headers=self.headers(key))
        assert r.status_code == 202, r.text
        return str(r.json()["job_id"])

    def wait(self, job_id: str, key: str | None = None, timeout: float = 60) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            r = self.client.get(f"/v1/result/{job_id}", headers=self.headers(key))
            assert r.status_code == 200, r.text
            body: dict[str, Any] = r.json()
            if body["status"] in ("completed", "failed"):
                return body
            time.sleep(0.05)
        raise AssertionError(f"job {job_id} did not finish in {timeout}s")


def embedded_settings(tmp_path: Path, **overrides: Any) -> Settings:
    return Settings(data_dir=tmp_path / "var", **{**UNTIERED, **FAST_JOB_SETTINGS, **overrides})


@pytest.fixture
def make_embedded(tmp_path: Path) -> Iterator[Callable[..., Backend]]:
    """Build embedded backends (SQLite + in-process worker); closed at teardown."""
    made: list[Runtime] = []

    def make(**overrides: Any) -> Backend:
        rt = Runtime(embedded_settings(tmp_path, **overrides))
        rt.start_embedded_worker()
        made.append(rt)
        return Backend("embedded", rt, TestClient(create_app(rt)), rt.store.create_key("acme"))

    yield make
    for rt in made:
        rt.close()


@pytest.fixture(params=["embedded", "postgres+redis"])
def backend(
    request: pytest.FixtureRequest, tmp_path: Path, make_embedded: Callable[..., Backend]
) -> Iterator[Backend]:
    """The API on SQLite + in-process worker, and on PostgreSQL + Redis + a separate worker process."""
    if request.param == "embedded":
        yield make_embedded()
        return
    pg_url = request.getfixturevalue("pg_url")
    ns = request.getfixturevalue("redis_namespace")
    settings = Settings(
        data_dir=tmp_path / "var",
        database_url=pg_url,
        broker_url=REDIS_URL,
        broker_namespace=ns,
        **UNTIERED,
        **FAST_JOB_SETTINGS,
    )
    rt = Runtime(settings)
    worker = start_worker(settings, tmp_path / "worker.log")
    try:
        yield Backend("postgres+redis", rt, TestClient(create_app(rt)), rt.store.create_key("acme"))
    finally:
        worker.stop()
        rt.close()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Fail the run when a connector called a vendor endpoint that no contract table lists."""
    from tests.emulators import contract

    if contract.UNLISTED:
        seen = sorted(set(contract.UNLISTED))
        sys.stderr.write("\ncalls not in tests/contracts/<vendor>/calls.yaml (see docs/vendors.md):\n")
        sys.stderr.write("".join(f"  {v}: {m} {p}\n" for v, m, p in seen))
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
