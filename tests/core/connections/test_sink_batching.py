"""CRM deliveries of one connection go to the vendor as one batch through the delivery queue; each keeps its
own outcome, dead-letter and replay."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import SecretStr
from sqlalchemy import select

from core.delivery.models import WebhookDelivery
from core.runtime import Runtime
from core.settings import Settings
from tests.conftest import FAST_JOB_SETTINGS
from tests.emulators import crm
from tests.emulators.salesforce import SalesforceEmulator, salesforce_emulator


@pytest.fixture
def sf() -> Iterator[SalesforceEmulator]:
    with salesforce_emulator() as emulator:
        yield emulator


def _runtime(tmp_path: Path, sf: SalesforceEmulator, **extra: object) -> Runtime:
    return Runtime(
        Settings(
            data_dir=tmp_path / "var",
            providers_dir=crm.providers_dir(tmp_path / "providers", [sf]),
            allow_private_urls=True,
            connectors={
                "salesforce": {"client_id": sf.client_id, "client_secret": SecretStr(sf.client_secret)}
            },
            webhook_retry_schedule="0.2",
            sink_batch_linger_seconds=0.3,
            webhook_worker_threads=1,  # one consumer: the first message's claim gathers the others
            **{**FAST_JOB_SETTINGS, **extra},
        )
    )


def _rows(rt: Runtime) -> list[WebhookDelivery]:
    with rt.db.session() as s:
        return list(s.scalars(select(WebhookDelivery).order_by(WebhookDelivery.created_at)))


def _settled(rt: Runtime, timeout: float = 60) -> list[WebhookDelivery]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        rows = _rows(rt)
        if rows and all(r.status in ("delivered", "dead") for r in rows):
            return rows
        time.sleep(0.1)
    raise AssertionError(f"deliveries did not settle: {[r.status for r in _rows(rt)]}")


def test_one_batch_for_the_connection_and_a_bad_record_fails_alone(
    tmp_path: Path, sf: SalesforceEmulator
) -> None:
    people = [[f"p{i}@acme.io"] for i in range(20)] + [["lead@newco.io"]]
    for [email] in people[:20]:
        sf.add("Contact", Email=email, LastName="X")
    sf.add("Lead", Email="lead@newco.io", IsConverted=False)
    sf.missing_fields["Lead"] = {"EchoDepth_Valence__c"}  # the org lacks a mapped Lead field
    rt = _runtime(tmp_path, sf)
    try:
        tenant = rt.store.ensure_tenant("acme")
        crm.connect(rt, tenant, sf)
        jobs = crm.add_analyses(rt, tenant, people)
        assert crm.fan_out(rt, jobs) == 21
        rt.deliveries.start_worker()  # the deliveries the fan-out sent are waiting for it
        rows = _settled(rt)
        dead = [r for r in rows if r.status == "dead"]
        assert len(dead) == 1 and "INVALID_FIELD" in (dead[0].last_error or "")
        assert dead[0].payload["data"]["job_id"] == jobs[20]
        assert sum(r.status == "delivered" for r in rows) == 20
        # one batch: the org refuses the whole request for the Lead's missing field (INVALID_FIELD names the
        # type), and the same batch goes again without the Lead records
        assert sf.kinds["query Contact"] == 1 and sf.kinds["PATCH composite/sobjects"] == 2
        assert len(sf.records["Task"]) == 20
        replayed = rt.deliveries.store.replay(tenant, rows[0].id)
        rt.deliveries.send(replayed)
        again = _settled(rt)
        assert next(r for r in again if r.id == replayed).status == "delivered"
        assert len(sf.records["Task"]) == 20  # the replay found its Task
    finally:
        rt.close()


def test_batch_size_one_delivers_each_analysis_on_its_own(tmp_path: Path, sf: SalesforceEmulator) -> None:
    for i in range(3):
        sf.add("Contact", Email=f"p{i}@acme.io", LastName="X")
    rt = _runtime(tmp_path, sf, sink_batch_max=1)
    try:
        tenant = rt.store.ensure_tenant("acme")
        crm.connect(rt, tenant, sf)
        crm.fan_out(rt, crm.add_analyses(rt, tenant, [[f"p{i}@acme.io"] for i in range(3)]))
        rt.deliveries.start_worker()  # the deliveries the fan-out sent are waiting for it
        assert all(r.status == "delivered" for r in _settled(rt))
        assert sf.kinds["query Contact"] == 3 and len(sf.records["Task"]) == 3
    finally:
        rt.close()
