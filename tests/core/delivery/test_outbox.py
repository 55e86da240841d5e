"""The event outbox: a job's end and its event commit in one transaction; fan-out happens exactly once, even
when the worker died before fanning out (the sweep does it) or several workers try at once."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from core.delivery.models import WebhookDelivery
from core.runtime import Runtime
from core.settings import Settings
from core.storage.outbox import OutboxEvent
from core.storage.store import NewInput
from tests.conftest import FAST_JOB_SETTINGS, REDIS_URL
from tests.emulators.webhook_receiver import WebhookReceiver

SECRET = "whsec_" + "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LTEyMw=="


@pytest.fixture(params=["embedded", "postgres+redis"])
def rt(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Runtime]:
    """A hub with a webhook delivery worker but no analysis worker and no sweep thread: the test sweeps."""
    extra: dict[str, Any] = {}
    if request.param == "postgres+redis":
        extra = {
            "database_url": request.getfixturevalue("pg_url"),
            "broker_url": REDIS_URL,
            "broker_namespace": request.getfixturevalue("redis_namespace"),
        }
    settings = Settings(
        data_dir=tmp_path / "var",
        allow_private_urls=True,
        webhook_retry_schedule="0.2",
        **{**FAST_JOB_SETTINGS, **extra},
    )
    runtime = Runtime(settings)
    runtime.deliveries.start_worker()
    try:
        yield runtime
    finally:
        runtime.close()


def _subscribe(rt: Runtime, receiver: WebhookReceiver) -> str:
    tenant = rt.store.ensure_tenant("acme")
    events = ["analysis.completed", "analysis.failed"]
    rt.deliveries.store.create_endpoint(tenant, receiver.url, events, None, SECRET, "endpoint")
    receiver.secret = SECRET
    return tenant


def _ended_job(rt: Runtime, tenant: str, how: str, webhook_url: str | None = None) -> str:
    """A job a worker ended, dying before it could send its ``fan_out`` message."""
    job = rt.store.create_job(tenant, "text", NewInput(text="x"), {}, webhook_url)
    claim = rt.store.claim(job.id, 30)
    assert claim is not None
    if how == "completed":
        assert rt.store.complete(claim, "1", {})
    else:
        assert rt.store.fail(job.id, "engine_error", "the engine crashed", claim.attempt)
    return job.id


def _outbox(rt: Runtime) -> list[tuple[str | None, str]]:
    with rt.db.session() as s:
        return [(r.job_id, r.event_type) for r in s.scalars(select(OutboxEvent))]


def _delivery_count(rt: Runtime) -> int:
    with rt.db.session() as s:
        return int(s.scalar(select(func.count()).select_from(WebhookDelivery)) or 0)


@pytest.mark.parametrize("how", ["completed", "failed"])
def test_an_event_left_in_the_outbox_is_delivered_by_the_sweep_exactly_once(
    rt: Runtime, receiver: WebhookReceiver, how: str
) -> None:
    job_id = _ended_job(rt, _subscribe(rt, receiver), how)
    assert _outbox(rt) == [(job_id, f"analysis.{how}")]
    assert rt.deliveries.sweep_once() == [] and _delivery_count(rt) == 0  # too young: the worker may still
    time.sleep(rt.settings.requeue_after_seconds + 0.1)
    rt.deliveries.sweep_once()
    rt.deliveries.sweep_once()
    [payload] = receiver.wait_accepted(1)
    assert payload["type"] == f"analysis.{how}" and payload["data"]["job_id"] == job_id
    assert payload["data"]["status"] == how
    assert _outbox(rt) == [] and _delivery_count(rt) == 1
    time.sleep(0.5)
    assert len(receiver.received) == 1


def test_concurrent_fan_outs_of_one_event_make_one_delivery(rt: Runtime, receiver: WebhookReceiver) -> None:
    job_id = _ended_job(rt, _subscribe(rt, receiver), "completed")
    barrier = threading.Barrier(6)

    [outbox_id] = rt.store.job_outbox(job_id)

    def fan_out() -> None:
        barrier.wait()
        rt.deliveries.fan_out(outbox_id)  # what each worker's fan_out message runs

    threads = [threading.Thread(target=fan_out) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    receiver.wait_accepted(1)
    assert _delivery_count(rt) == 1 and _outbox(rt) == []
    time.sleep(0.5)
    assert len(receiver.received) == 1


def test_the_job_webhook_url_is_delivered_from_the_outbox(rt: Runtime, receiver: WebhookReceiver) -> None:
    tenant = rt.store.ensure_tenant("acme")
    receiver.secret, _ = rt.deliveries.rotate_job_secret(tenant)
    job_id = _ended_job(rt, tenant, "failed", webhook_url=receiver.url)
    rt.deliveries.drain_outbox()
    [payload] = receiver.wait_accepted(1)
    assert payload["data"]["job_id"] == job_id and payload["type"] == "analysis.failed"


def test_an_attempt_that_lost_its_job_writes_no_event(rt: Runtime) -> None:
    tenant = rt.store.ensure_tenant("acme")
    job = rt.store.create_job(tenant, "text", NewInput(text="x"), {}, None)
    claim = rt.store.claim(job.id, 30)
    assert claim is not None
    assert rt.store.fail(job.id, "deleted", "cancelled")
    assert not rt.store.complete(claim, "1", {})
    assert _outbox(rt) == [(job.id, "analysis.failed")]


def test_an_erased_job_drops_its_event(rt: Runtime, receiver: WebhookReceiver) -> None:
    tenant = _subscribe(rt, receiver)
    job_id = _ended_job(rt, tenant, "completed")
    assert rt.store.delete_job(tenant, job_id)
    assert rt.deliveries.drain_outbox() == []
    assert _outbox(rt) == [] and _delivery_count(rt) == 0
