"""Idempotency-Key on POST /v1/analyse/*, and the per-key request limit (ECHODEPTH_RATE_LIMIT_PER_MINUTE)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, update

from core.api.ratelimit import RateLimiter
from core.settings import Settings
from core.storage.idempotency import IdempotencyKey
from core.storage.models import Job
from tests.conftest import REDIS_URL, Backend

FACE = Path(__file__).resolve().parents[1] / "fixtures" / "faces" / "london_008_smiling.jpg"


def _post(b: Backend, path: str, key: str | None, **kw: Any) -> Any:
    headers = b.headers()
    if key is not None:
        headers["Idempotency-Key"] = key
    return b.client.post(path, headers=headers, **kw)


def _job_count(b: Backend) -> int:
    with b.runtime.db.session() as s:
        return int(s.scalar(select(func.count()).select_from(Job)) or 0)


def test_same_key_same_body_returns_the_original_job(backend: Backend) -> None:
    key = str(uuid.uuid4())
    first = _post(
        backend, "/v1/analyse/text", key, json={"text": "We shipped it on time.", "metadata": {"a": 1}}
    )
    assert first.status_code == 202, first.text
    again = _post(
        backend, "/v1/analyse/text", key, json={"metadata": {"a": 1}, "text": "We shipped it on time."}
    )
    assert again.status_code == 202, again.text
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.headers["Location"] == first.headers["Location"]
    assert _job_count(backend) == 1
    done = backend.wait(first.json()["job_id"])
    assert done["status"] == "completed"
    third = _post(
        backend, "/v1/analyse/text", key, json={"text": "We shipped it on time.", "metadata": {"a": 1}}
    )
    assert third.json()["job_id"] == first.json()["job_id"]  # also after the job ended
    assert _job_count(backend) == 1


def test_same_key_different_body_is_refused(backend: Backend) -> None:
    key = "retry-" + uuid.uuid4().hex
    assert _post(backend, "/v1/analyse/text", key, json={"text": "one"}).status_code == 202
    r = _post(backend, "/v1/analyse/text", key, json={"text": "two"})
    assert r.status_code == 422
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["code"] == "idempotency_key_reused"
    # the same key on another route is a different request too
    r = _post(backend, "/v1/analyse/multimodal", key, json={"text": "one"})
    assert r.json()["code"] == "idempotency_key_reused"
    assert _job_count(backend) == 1


def test_keys_are_per_tenant_and_absent_keys_change_nothing(backend: Backend) -> None:
    other = backend.new_key("globex")
    key = uuid.uuid4().hex
    a = _post(backend, "/v1/analyse/text", key, json={"text": "hello"})
    b = backend.client.post(
        "/v1/analyse/text", json={"text": "hello"}, headers={**backend.headers(other), "Idempotency-Key": key}
    )
    assert a.status_code == b.status_code == 202
    assert a.json()["job_id"] != b.json()["job_id"]
    c = _post(backend, "/v1/analyse/text", None, json={"text": "hello"})
    d = _post(backend, "/v1/analyse/text", None, json={"text": "hello"})
    assert len({a.json()["job_id"], c.json()["job_id"], d.json()["job_id"]}) == 3


def test_uploads_are_fingerprinted_by_content_not_encoding(backend: Backend) -> None:
    key = uuid.uuid4().hex
    files = [("file", ("face.jpg", FACE.read_bytes(), "image/jpeg"))]
    first = _post(backend, "/v1/analyse/image", key, files=files, data={"metadata": '{"x": 1}'})
    again = _post(
        backend, "/v1/analyse/image", key, files=files, data={"metadata": '{"x": 1}'}
    )  # new boundary
    assert first.status_code == again.status_code == 202, again.text
    assert again.json()["job_id"] == first.json()["job_id"]
    other = [("file", ("face.jpg", FACE.read_bytes()[:-10], "image/jpeg"))]
    r = _post(backend, "/v1/analyse/image", key, files=other, data={"metadata": '{"x": 1}'})
    assert r.status_code == 422 and r.json()["code"] == "idempotency_key_reused"
    assert _job_count(backend) == 1
    body = backend.wait(first.json()["job_id"], timeout=120)
    assert body["status"] == "completed", body
    assert backend.runtime.spool.files() == []  # the discarded duplicates left nothing behind


def test_concurrent_repeats_create_one_job(backend: Backend) -> None:
    key = uuid.uuid4().hex

    def send(_: int) -> str:
        r = _post(backend, "/v1/analyse/text", key, json={"text": "Same request, many times."})
        assert r.status_code == 202, r.text
        return str(r.json()["job_id"])

    with ThreadPoolExecutor(6) as pool:
        ids = set(pool.map(send, range(12)))
    assert len(ids) == 1
    assert _job_count(backend) == 1


def test_a_key_expires_after_24_hours_and_a_deleted_job_frees_it(backend: Backend) -> None:
    key = uuid.uuid4().hex
    first = _post(backend, "/v1/analyse/text", key, json={"text": "hello"}).json()["job_id"]
    with backend.runtime.db.session() as s:
        s.execute(update(IdempotencyKey).values(created_at=IdempotencyKey.created_at - timedelta(hours=25)))
        s.commit()
    second = _post(backend, "/v1/analyse/text", key, json={"text": "a different body is fine now"})
    assert second.status_code == 202 and second.json()["job_id"] != first
    backend.wait(second.json()["job_id"])
    assert (
        backend.client.delete(f"/v1/result/{second.json()['job_id']}", headers=backend.headers()).status_code
        == 204
    )
    third = _post(backend, "/v1/analyse/text", key, json={"text": "and after deletion"})
    assert third.status_code == 202 and third.json()["job_id"] not in (first, second.json()["job_id"])


@pytest.mark.parametrize("bad", ["", " ", "x" * 256, "naïve"])
def test_malformed_keys_are_refused(make_embedded: Callable[..., Backend], bad: str) -> None:
    b = make_embedded()
    headers = [(k.encode(), v.encode()) for k, v in b.headers().items()]
    headers.append((b"Idempotency-Key", bad.encode("utf-8")))
    r = b.client.post("/v1/analyse/text", json={"text": "hi"}, headers=headers)
    assert r.status_code == 422 and r.json()["code"] == "invalid_input"
    assert _job_count(b) == 0


# the per-key request limit ------------------------------------------------------------------------


def test_rate_limit_answers_429_with_retry_after_then_lets_requests_through(
    make_embedded: Callable[..., Backend],
) -> None:
    b = make_embedded(rate_limit_per_minute=60)  # burst 60, then one more per second
    other = b.new_key("globex")
    # the bucket refills while we spend it, so a loaded machine needs a few more than 60: bound it by time
    answers, deadline = [], time.monotonic() + 60
    while time.monotonic() < deadline and (not answers or answers[-1].status_code != 429):
        answers.append(b.client.get("/v1/jobs", headers=b.headers()))
    *served, refused = answers
    assert len(served) >= 60 and {r.status_code for r in served} == {200}
    assert served[0].headers["RateLimit-Limit"] == "60"
    assert served[0].headers["RateLimit-Remaining"] == "59"
    assert served[-1].headers["RateLimit-Remaining"] == "0"
    assert refused.status_code == 429
    assert refused.json()["code"] == "rate_limited"
    assert refused.headers["Retry-After"] == "1"
    assert refused.headers["RateLimit-Remaining"] == "0"
    assert int(refused.headers["RateLimit-Reset"]) >= 59
    assert b.client.get("/v1/jobs", headers=b.headers(other)).status_code == 200  # per key
    assert b.client.get("/healthz").status_code == 200  # unkeyed ops routes are not counted
    time.sleep(float(refused.headers["Retry-After"]) + 0.05)
    assert b.client.get("/v1/jobs", headers=b.headers()).status_code == 200


def test_rate_limit_is_off_by_default(make_embedded: Callable[..., Backend]) -> None:
    b = make_embedded()
    r = b.client.get("/v1/jobs", headers=b.headers())
    assert r.status_code == 200 and "RateLimit-Limit" not in r.headers


@pytest.mark.redis
def test_rate_limit_state_is_shared_through_redis(tmp_path: Path, redis_namespace: str) -> None:
    settings = Settings(
        data_dir=tmp_path, broker_url=REDIS_URL, broker_namespace=redis_namespace, rate_limit_per_minute=3
    )
    one, two = RateLimiter(settings), RateLimiter(settings)  # two API processes
    try:
        decisions = [one.hit("k"), two.hit("k"), one.hit("k"), two.hit("k")]
        assert [d.allowed for d in decisions] == [True, True, True, False]
        assert [d.remaining for d in decisions] == [2, 1, 0, 0]
        assert decisions[-1].retry_after == 20
        assert one.hit("other").allowed
    finally:
        one.close()
        two.close()
