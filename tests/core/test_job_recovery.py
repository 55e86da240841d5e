"""Lost messages, crashed workers, retries and failures with a code."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import delete, func, select

from core.jobs import analysis
from core.runtime import Runtime
from core.settings import Settings
from core.storage.models import Job, JobInput, Result
from core.storage.store import NewInput
from engine.report import Report
from tests.conftest import FAST_JOB_SETTINGS, REDIS_URL, Backend, start_worker


def _status(rt: Runtime, job_id: str) -> Job:
    with rt.db.session() as s:
        job = s.get(Job, job_id)
        assert job is not None
        return job


def _wait_status(rt: Runtime, job_id: str, wanted: str, timeout: float = 60) -> Job:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = _status(rt, job_id)
        if job.status == wanted:
            return job
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} never reached {wanted}; it is {_status(rt, job_id).status}")


def test_sweep_resends_a_job_whose_message_was_lost(backend: Backend) -> None:
    rt = backend.runtime
    tenant = rt.store.authenticate(backend.key)
    assert tenant
    job = rt.store.create_job(
        tenant, "text", NewInput(text="The message for this job never reached the broker."), {}, None
    )
    # No enqueue: the message is lost. The worker's sweep must find the job and send it again.
    done = _wait_status(rt, job.id, "completed", timeout=60)
    assert done.attempts == 1


def test_worker_killed_mid_job_is_rerun_and_completes_once(
    tmp_path: Path, pg_url: str, redis_namespace: str
) -> None:
    settings = Settings(
        data_dir=tmp_path / "var",
        database_url=pg_url,
        broker_url=REDIS_URL,
        broker_namespace=redis_namespace,
        **{**FAST_JOB_SETTINGS, "job_lease_seconds": 2},
    )
    rt = Runtime(settings)
    try:
        tenant = rt.store.ensure_tenant("acme")
        long_text = " ".join(f"Sentence {i} says the quarter went rather well for us." for i in range(800))
        job = rt.store.create_job(tenant, "text", NewInput(text=long_text), {}, None)
        first = start_worker(settings, tmp_path / "w1.log")
        rt.queue.enqueue(job.id)
        _wait_status(rt, job.id, "processing", timeout=30)
        first.kill()
        assert _status(rt, job.id).status == "processing"
        second = start_worker(settings, tmp_path / "w2.log")
        try:
            done = _wait_status(rt, job.id, "completed", timeout=120)
        finally:
            second.stop()
        assert done.attempts == 2
        with rt.db.session() as s:
            assert s.scalar(select(func.count()).select_from(Result).where(Result.job_id == job.id)) == 1
            assert s.get(JobInput, job.id) is None
    finally:
        rt.close()


def test_missing_input_fails_with_a_code_and_no_retry(make_embedded: Callable[..., Backend]) -> None:
    b = make_embedded()
    tenant = b.runtime.store.authenticate(b.key)
    assert tenant
    job = b.runtime.store.create_job(tenant, "text", NewInput(text="Some words that will vanish."), {}, None)
    with b.runtime.db.session() as s:
        s.execute(delete(JobInput).where(JobInput.job_id == job.id))
        s.commit()
    b.runtime.queue.enqueue(job.id)
    body = b.wait(job.id)
    assert body["status"] == "failed"
    assert body["error"]["code"] == "input_missing"
    assert _status(b.runtime, job.id).attempts == 1


def test_transient_crash_is_retried_then_completes(
    make_embedded: Callable[..., Backend], monkeypatch: pytest.MonkeyPatch
) -> None:
    real = analysis.ANALYSERS["text"]
    calls: list[str | None] = []

    def flaky(text: str | None, media: analysis.Media, settings: Settings) -> Report:
        calls.append(text)
        if len(calls) == 1:
            raise ConnectionError("database went away for a moment")
        return real(text, media, settings)

    monkeypatch.setitem(analysis.ANALYSERS, "text", flaky)
    b = make_embedded()
    body = b.wait(b.submit("A sentence that works the second time."))
    assert body["status"] == "completed"
    assert calls == ["A sentence that works the second time."] * 2
    assert _status(b.runtime, body["job_id"]).attempts == 2


def test_crash_on_every_attempt_ends_failed_with_internal_error(
    make_embedded: Callable[..., Backend], monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(text: str | None, media: analysis.Media, settings: Settings) -> Report:
        raise RuntimeError("a bug")

    monkeypatch.setitem(analysis.ANALYSERS, "text", broken)
    b = make_embedded(job_max_retries=2)
    body = b.wait(b.submit("This will never be analysed."))
    assert body["status"] == "failed"
    assert body["error"] == {"code": "internal_error", "message": "analysis failed unexpectedly"}
    assert _status(b.runtime, body["job_id"]).attempts == 3
