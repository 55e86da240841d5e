"""Delivery survives a worker killed mid-request; the schedule, jitter and Retry-After arithmetic."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import select

from core.delivery.models import WebhookDelivery
from core.runtime import Runtime
from core.settings import Settings
from core.storage.models import utcnow
from core.storage.store import NewInput
from tests.conftest import Backend, start_worker
from tests.core.delivery.conftest import scaled_settings
from tests.emulators.webhook_receiver import Step, WebhookReceiver


def _delivery(rt: Runtime) -> WebhookDelivery:
    with rt.db.session() as s:
        row = s.scalars(select(WebhookDelivery)).one()
        return row


def test_worker_killed_mid_delivery_yields_one_accepted_delivery(
    tmp_path: Path, pg_url: str, redis_namespace: str, receiver: WebhookReceiver
) -> None:
    settings = scaled_settings(tmp_path, pg_url, redis_namespace, webhook_timeout_seconds=3)
    rt = Runtime(settings)
    try:
        tenant = rt.store.ensure_tenant("acme")
        secret = "whsec_" + "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LTEyMw=="
        rt.deliveries.store.create_endpoint(
            tenant, receiver.url, ["analysis.failed"], None, secret, "endpoint"
        )
        receiver.secret = secret
        receiver.script = [Step(200, delay=2.5)]  # the first answer is slow: the worker dies while waiting
        first = start_worker(settings, tmp_path / "w1.log")
        job = rt.store.create_job(tenant, "nosuchmodality", NewInput(text="x"), {}, None)
        rt.queue.enqueue(job.id)
        receiver.wait_received(1, timeout=60)
        first.kill()
        assert _delivery(rt).status == "sending"
        second = start_worker(settings, tmp_path / "w2.log")
        try:
            got = receiver.wait_received(2, timeout=60)
            deadline = time.monotonic() + 30
            while _delivery(rt).status != "delivered" and time.monotonic() < deadline:
                time.sleep(0.1)
        finally:
            second.stop()
        row = _delivery(rt)
        assert row.status == "delivered" and row.attempts == 2
        assert len({r.headers["webhook-id"] for r in got}) == 1
        assert len(receiver.accepted) == 1
        assert [r.accepted for r in got] == [True, False]
    finally:
        rt.close()


@pytest.fixture
def quiet_hub(make_embedded: Callable[..., Backend]) -> Callable[..., Runtime]:
    def make(**overrides: object) -> Runtime:
        return make_embedded(**overrides).runtime

    return make


def test_schedule_setting_replaces_the_standard_schedule(tmp_path: Path) -> None:
    assert Settings(data_dir=tmp_path).webhook_retry_delays[:3] == [5, 300, 1800]
    assert Settings(data_dir=tmp_path, webhook_retry_schedule="1, 2.5,3").webhook_retry_delays == [1, 2.5, 3]
    with pytest.raises(ValueError):
        Settings(data_dir=tmp_path, webhook_retry_schedule="1,,soon")


def test_retries_follow_the_schedule_with_jitter_then_stop(quiet_hub: Callable[..., Runtime]) -> None:
    rt = quiet_hub(webhook_retry_schedule="10,100")
    dq = rt.deliveries
    for attempt, base in ((1, 10), (2, 100)):
        for _ in range(20):
            when = dq._next_attempt(attempt, None)
            assert when is not None
            wait = (when - utcnow()).total_seconds()
            assert base * 0.89 <= wait <= base * 1.11
    assert dq._next_attempt(3, None) is None


def test_retry_after_outweighs_a_shorter_schedule_step(quiet_hub: Callable[..., Runtime]) -> None:
    rt = quiet_hub(webhook_retry_schedule="1")
    when = rt.deliveries._next_attempt(1, 30)
    assert when is not None and (when - utcnow()).total_seconds() >= 29
