"""Rate tiers: per key/token budgets with route costs, per-tenant and per-key assignment, concurrent jobs,
GET /v1/usage, and one exact budget shared by two real ``echodepth serve`` processes on Redis."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from core.api.stream_slots import StreamSlots
from core.runtime import Runtime
from core.sdk.errors import ConfigError
from core.settings import Settings
from core.storage.store import NewInput
from core.tiers import load_tiers
from tests.conftest import ECHODEPTH_BIN, REDIS_URL, Backend, settings_env
from tests.sdk.live import free_port

_TIERS = """
costs:
  GET /v1/jobs: 4
tiers:
  tiny: {requests_per_minute: 10, concurrent_jobs: 1}
  roomy: {requests_per_minute: 1000}
"""


@pytest.fixture
def tiers_file(tmp_path: Path) -> Path:
    path = tmp_path / "tiers.yaml"
    path.write_text(_TIERS)
    return path


def test_the_shipped_tiers_load_and_a_video_costs_more_than_a_read() -> None:
    book = load_tiers(Settings(default_rate_tier="pilot"))
    assert set(book.tiers) >= {"pilot", "standard", "enterprise"}
    pilot = book.tiers["pilot"]
    assert pilot.requests_per_minute and pilot.concurrent_jobs and pilot.media_minutes_per_day
    assert pilot.concurrent_streams
    assert book.cost("POST", "/v1/analyse/video") > book.cost("GET", "/v1/result/{job_id}") == 1


def test_an_unknown_default_tier_stops_start_up() -> None:
    with pytest.raises(ConfigError):
        load_tiers(Settings(default_rate_tier="platinum"))


def test_route_costs_spend_the_budget_and_429_carries_the_headers(
    make_embedded: Callable[..., Backend], tiers_file: Path
) -> None:
    b = make_embedded(rate_tiers_file=tiers_file, default_rate_tier="tiny")
    first = b.client.get("/v1/jobs", headers=b.headers())
    assert first.status_code == 200
    assert (first.headers["RateLimit-Limit"], first.headers["RateLimit-Remaining"]) == ("10", "6")
    assert b.client.get("/v1/jobs", headers=b.headers()).headers["RateLimit-Remaining"] == "2"
    refused = b.client.get("/v1/jobs", headers=b.headers())  # costs 4, 2 left
    assert refused.status_code == 429
    assert refused.json()["code"] == "rate_limited"
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert refused.headers["RateLimit-Remaining"] == "2"
    assert 11 <= int(refused.headers["Retry-After"]) <= 12  # 2 units at 6 s each
    assert int(refused.headers["RateLimit-Reset"]) >= 47
    cheap = b.client.get("/v1/usage", headers=b.headers())  # costs 1
    assert cheap.status_code == 200
    assert cheap.json()["tier"] == "tiny" and cheap.json()["requests_per_minute"] == 10


def test_tiers_are_assigned_per_tenant_and_a_keys_own_tier_wins(
    make_embedded: Callable[..., Backend], tiers_file: Path
) -> None:
    b = make_embedded(rate_tiers_file=tiers_file)
    assert "RateLimit-Limit" not in b.client.get("/v1/jobs", headers=b.headers()).headers  # no tier: none
    b.runtime.store.set_rate_tier("acme", "tiny")
    assert b.client.get("/v1/jobs", headers=b.headers()).headers["RateLimit-Limit"] == "10"
    own = b.runtime.store.create_key("acme", rate_tier="roomy")
    assert b.client.get("/v1/jobs", headers=b.headers(own)).headers["RateLimit-Limit"] == "1000"
    assert b.runtime.store.set_rate_tier("acme", "roomy", key_prefix=b.key[:12]) == 1
    assert b.client.get("/v1/usage", headers=b.headers()).json()["tier"] == "roomy"


def test_analyses_beyond_the_tiers_concurrent_jobs_get_429_too_many_jobs(
    make_embedded: Callable[..., Backend], tiers_file: Path
) -> None:
    b = make_embedded(rate_tiers_file=tiers_file, default_rate_tier="tiny", worker_threads=1)
    tenant = b.runtime.store.authenticate(b.key)
    assert tenant is not None
    b.runtime.store.create_job(tenant, "text", NewInput(text="waiting"), {}, None)  # queued, never sent
    r = b.client.post("/v1/analyse/text", json={"text": "one more"}, headers=b.headers())
    assert r.status_code == 429 and r.json()["code"] == "too_many_jobs"
    assert r.headers["Retry-After"]
    assert b.client.get("/v1/usage", headers=b.headers()).json()["active_jobs"] == 1


@pytest.fixture
def two_servers(
    tmp_path: Path, pg_url: str, redis_namespace: str, tiers_file: Path
) -> Iterator[tuple[str, ...]]:
    settings = Settings(
        data_dir=tmp_path / "var",
        database_url=pg_url,
        broker_url=REDIS_URL,
        broker_namespace=redis_namespace,
        rate_tiers_file=tiers_file,
        default_rate_tier="unlimited",
        log_level="WARNING",
    )
    rt = Runtime(settings)  # migrates the database before the servers start
    key = rt.store.create_key("acme", rate_tier="tiny")
    procs, urls = [], []
    try:
        for i in range(2):
            port = free_port()
            env = {**settings_env(settings), "ECHODEPTH_PORT": str(port)}
            log = (tmp_path / f"serve{i}.log").open("wb")
            procs.append(
                subprocess.Popen([ECHODEPTH_BIN, "serve"], env=env, stdout=log, stderr=subprocess.STDOUT)
            )
            urls.append(f"http://127.0.0.1:{port}")
        for url in urls:
            _wait_up(url)
        yield key, *urls
    finally:
        for p in procs:
            p.terminate()
            p.wait(timeout=20)
        rt.close()


def _wait_up(url: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise AssertionError(f"{url} did not come up")


@pytest.mark.redis
def test_one_budget_is_exact_across_two_api_processes(two_servers: tuple[str, ...]) -> None:
    key, one, two = two_servers
    headers = {"Authorization": f"Bearer {key}"}

    def call(i: int) -> int:
        return httpx.get(f"{(one, two)[i % 2]}/v1/usage", headers=headers, timeout=10).status_code

    started = time.monotonic()
    with ThreadPoolExecutor(8) as pool:
        codes = list(pool.map(call, range(24)))
    assert time.monotonic() - started < 6  # the bucket refills one unit every 6 s
    assert codes.count(200) == 10 and codes.count(429) == 14
    r = httpx.get(f"{two}/v1/usage", headers=headers)
    assert r.status_code == 429 and r.headers["Retry-After"] and r.headers["RateLimit-Limit"] == "10"


def test_streams_beyond_the_tiers_concurrent_streams_are_closed_1013(
    make_embedded: Callable[..., Backend], tmp_path: Path
) -> None:
    path = tmp_path / "streams.yaml"
    path.write_text("tiers:\n  one: {concurrent_streams: 1}\n")
    b = make_embedded(rate_tiers_file=path, default_rate_tier="one", stream_idle_timeout_seconds=1)
    tenant = b.runtime.store.authenticate(b.key)
    assert tenant is not None
    slots = b.client.app.state.rate_limits.streams  # type: ignore[attr-defined]
    assert slots.acquire(tenant, 1, "a-live-stream")  # as another API process's stream would
    with b.client.websocket_connect("/v1/stream/video", headers=b.headers()) as refused:
        assert refused.receive_json()["code"] == "too_many_streams"
    slots.release(tenant, "a-live-stream")
    with b.client.websocket_connect("/v1/stream/video", headers=b.headers()) as admitted:
        admitted.send_json({"type": "end"})
        assert admitted.receive_json()["code"] != "too_many_streams"
    deadline = time.monotonic() + 5
    while not slots.acquire(tenant, 1, "next"):  # the admitted stream gives its slot back when it ends
        assert time.monotonic() < deadline, "the stream's slot was never released"
        time.sleep(0.05)


@pytest.mark.redis
def test_stream_slots_are_shared_through_redis(tmp_path: Path, redis_namespace: str) -> None:
    settings = Settings(data_dir=tmp_path, broker_url=REDIS_URL, broker_namespace=redis_namespace)
    one, two = StreamSlots(settings), StreamSlots(settings)  # two API processes
    assert one.acquire("t", 2, "s1") and two.acquire("t", 2, "s2")
    assert not one.acquire("t", 2, "s3")
    two.release("t", "s2")
    assert one.acquire("t", 2, "s3")
