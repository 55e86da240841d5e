"""A worker killed while a Salesforce Task, a HubSpot timeline event and a Slack message are in flight (each
written at the vendor, the answer held back): the next worker finishes the deliveries and the vendors still
hold exactly one of each."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
from pydantic import SecretStr
from sqlalchemy import select

from core.delivery.models import WebhookDelivery
from core.runtime import Runtime
from core.settings import Settings
from tests.conftest import FAST_JOB_SETTINGS, REDIS_URL, start_worker
from tests.emulators import crm
from tests.emulators.hubspot import HubSpotEmulator, hubspot_emulator
from tests.emulators.oauth import OAuthEmulator
from tests.emulators.salesforce import SalesforceEmulator, salesforce_emulator
from tests.emulators.slack import SlackEmulator, slack_emulator

EMAIL = "ana@acme.io"
Vendors = tuple[SalesforceEmulator, HubSpotEmulator, SlackEmulator]


@pytest.fixture
def vendors() -> Iterator[Vendors]:
    with ExitStack() as stack:
        sf = stack.enter_context(salesforce_emulator())
        hs = stack.enter_context(hubspot_emulator())
        slack = stack.enter_context(slack_emulator())
        sf.add("Contact", Email=EMAIL, LastName="Ana")
        hs.add("contacts", email=EMAIL)
        yield sf, hs, slack
        for emulator in (sf, hs, slack):
            emulator.hold_writes = False


def _settings(tmp_path: Path, pg_url: str, namespace: str, emulators: list[OAuthEmulator]) -> Settings:
    creds: dict[str, dict[str, object]] = {}
    for emulator in emulators:
        creds[emulator.key] = {
            "client_id": emulator.client_id,
            "client_secret": SecretStr(emulator.client_secret),
        }
    return Settings(
        data_dir=tmp_path / "var",
        database_url=pg_url,
        broker_url=REDIS_URL,
        broker_namespace=namespace,
        providers_dir=crm.providers_dir(tmp_path / "providers", emulators),
        allow_private_urls=True,
        webhook_timeout_seconds=10,  # Slack (unbatched): its claim's lease is this plus 5 s
        sink_batch_lease_seconds=15,  # Salesforce and HubSpot go as batches
        sink_batch_linger_seconds=0.2,
        webhook_retry_schedule="0.5,1,1",
        connectors=creds,
        **FAST_JOB_SETTINGS,
    )


def _until(check: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def _written(sf: SalesforceEmulator, hs: HubSpotEmulator, slack: SlackEmulator) -> tuple[int, int, int]:
    return len(sf.records.get("Task", {})), len(hs.timeline), len(slack.messages("C0ALERTS"))


def _deliveries(rt: Runtime) -> list[WebhookDelivery]:
    with rt.db.session() as s:
        return list(s.scalars(select(WebhookDelivery)))


def test_worker_killed_mid_delivery_leaves_one_task_one_event_one_message(
    tmp_path: Path, pg_url: str, redis_namespace: str, vendors: Vendors
) -> None:
    sf, hs, slack = vendors
    settings = _settings(tmp_path, pg_url, redis_namespace, [sf, hs, slack])
    rt = Runtime(settings)
    try:
        tenant = rt.store.ensure_tenant("acme")
        crm.connect(rt, tenant, sf)
        crm.connect(rt, tenant, hs)
        crm.connect(rt, tenant, slack, rules=[{"channel": "C0ALERTS", "modalities": ["text"]}])
        jobs = crm.add_analyses(rt, tenant, [[EMAIL]])
        for emulator in vendors:
            emulator.hold_writes = True  # each write lands, its answer never reaches the first worker
        assert crm.fan_out(rt, jobs) == 3  # one delivery per connection, queued on Redis
        first = start_worker(settings, tmp_path / "w1.log")
        _until(lambda: _written(sf, hs, slack) == (1, 1, 1), 60, "the three writes")
        first.kill()
        assert "delivered" not in {d.status for d in _deliveries(rt)}  # every answer was still held
        for emulator in vendors:
            emulator.hold_writes = False
        second = start_worker(settings, tmp_path / "w2.log")
        try:
            _until(lambda: {d.status for d in _deliveries(rt)} == {"delivered"}, 90, "redelivery")
        finally:
            second.stop()
        assert _written(sf, hs, slack) == (1, 1, 1)
        assert min(d.attempts for d in _deliveries(rt)) >= 2
        [task] = sf.records["Task"].values()
        assert task["EchoDepth_Key__c"] == f"echodepth-{jobs[0]}"
    finally:
        rt.close()
