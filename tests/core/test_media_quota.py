"""A tier's ``media_minutes_per_day``: uploads are charged on submit (429 ``media_quota_exceeded`` beyond it,
atomically under concurrent submits), fetched media by the worker (the job fails ``media_quota_exceeded``),
and ``GET /v1/usage`` shows what is used today."""

from __future__ import annotations

import threading
import wave
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from core.api.app import create_app
from core.jobs.quota import media_seconds
from core.runtime import Runtime
from core.settings import Settings
from tests.conftest import FAST_JOB_SETTINGS, REDIS_URL, Backend

_TIERS = "tiers:\n  metered: {requests_per_minute: 100000, media_minutes_per_day: 2}\n"


def _wav(path: Path, seconds: float, rate: int = 4000) -> Path:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(b"\x00\x00" * int(seconds * rate))
    return path


@pytest.fixture
def media(tmp_path: Path) -> dict[int, Path]:
    folder = tmp_path / "media"
    folder.mkdir()
    return {s: _wav(folder / f"{s}s.wav", s) for s in (20, 50, 90)}


@pytest.fixture
def tiers(tmp_path: Path) -> Path:
    path = tmp_path / "tiers.yaml"
    path.write_text(_TIERS)
    return path


@pytest.fixture(params=["sqlite", "postgres+redis"])
def idle(
    request: pytest.FixtureRequest, tmp_path: Path, tiers: Path
) -> Iterator[tuple[Runtime, TestClient, str]]:
    """A deployment with no worker, so only the submit-side charge runs."""
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
            default_rate_tier="metered",
            **{**FAST_JOB_SETTINGS, **extra},
        )
    )
    try:
        yield rt, TestClient(create_app(rt)), rt.store.create_key("acme")
    finally:
        rt.close()


def _upload(client: TestClient, key: str, path: Path) -> tuple[int, dict[str, object], dict[str, str]]:
    with path.open("rb") as f:
        r = client.post(
            "/v1/analyse/audio",
            files={"file": (path.name, f, "audio/wav")},
            headers={"Authorization": f"Bearer {key}"},
        )
    return r.status_code, r.json(), dict(r.headers)


def _usage(client: TestClient, key: str) -> dict[str, object]:
    body: dict[str, object] = client.get("/v1/usage", headers={"Authorization": f"Bearer {key}"}).json()
    return body


def test_the_container_duration_is_read(media: dict[int, Path]) -> None:
    assert media_seconds(media[90]) == pytest.approx(90, abs=0.1)
    assert media_seconds(media[90].with_suffix(".missing")) == 0


def test_uploads_beyond_the_daily_minutes_get_429(
    idle: tuple[Runtime, TestClient, str], media: dict[int, Path]
) -> None:
    _, client, key = idle
    assert _upload(client, key, media[90])[0] == 202
    usage = _usage(client, key)
    assert usage["media_minutes_per_day"] == 2
    assert usage["media_minutes_used_today"] == pytest.approx(1.5, abs=0.01)
    assert usage["media_minutes_remaining_today"] == pytest.approx(0.5, abs=0.01)
    status, body, headers = _upload(client, key, media[50])
    assert status == 429 and body["code"] == "media_quota_exceeded"
    assert 1 <= int(headers["retry-after"]) <= 86_400
    assert _usage(client, key)["media_minutes_used_today"] == pytest.approx(1.5, abs=0.01)  # nothing charged
    assert _upload(client, key, media[20])[0] == 202  # what still fits is accepted
    assert _upload(client, key, media[20])[0] == 429  # 110 s used: 20 s more would pass 120 s


def test_concurrent_uploads_never_pass_the_daily_minutes(
    idle: tuple[Runtime, TestClient, str], media: dict[int, Path]
) -> None:
    _, client, key = idle
    barrier = threading.Barrier(6)

    def submit(_: int) -> int:
        barrier.wait()
        return _upload(client, key, media[50])[0]

    with ThreadPoolExecutor(6) as pool:
        codes = list(pool.map(submit, range(6)))
    assert codes.count(202) == 2 and codes.count(429) == 4, codes
    assert _usage(client, key)["media_minutes_used_today"] == pytest.approx(100 / 60, abs=0.01)


def test_fetched_media_over_the_quota_fails_the_job(
    make_embedded: Callable[..., Backend], tiers: Path, media: dict[int, Path]
) -> None:
    server = ThreadingHTTPServer(
        ("127.0.0.1", 0), partial(SimpleHTTPRequestHandler, directory=str(media[90].parent))
    )
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        b = make_embedded(rate_tiers_file=tiers, default_rate_tier="metered", allow_private_urls=True)
        base = f"http://127.0.0.1:{server.server_address[1]}"
        first = b.client.post("/v1/analyse/audio", json={"url": f"{base}/90s.wav"}, headers=b.headers())
        assert first.status_code == 202  # the duration is only known once the worker fetched it
        b.wait(first.json()["job_id"], timeout=120)
        assert _usage(b.client, b.key)["media_minutes_used_today"] == pytest.approx(1.5, abs=0.01)
        second = b.client.post("/v1/analyse/audio", json={"url": f"{base}/90s.wav"}, headers=b.headers())
        assert second.status_code == 202
        body = b.wait(second.json()["job_id"], timeout=120)
        assert body["status"] == "failed" and body["error"]["code"] == "media_quota_exceeded", body
        assert _usage(b.client, b.key)["media_minutes_used_today"] == pytest.approx(1.5, abs=0.01)
    finally:
        server.shutdown()
