"""``make bench-crm``: analyses through the real delivery queue to the Salesforce and HubSpot emulators,
which enforce the vendors' limits (Salesforce's API request limit; HubSpot's 100 requests / 10 s and 5
searches / s), counting vendor calls per analysis: batched beside the unbatched path (batch size 1).

It runs on PostgreSQL + Redis (``BENCH_PG_SERVER``, ``BENCH_REDIS_URL``), the production delivery path;
``--embedded`` uses SQLite. Every analysis names one participant who is a Contact in both CRMs (a fifth
of them with an open Opportunity / deal). "Field-sync calls" are the lookups (contact/lead search,
opportunity or deal associations) plus the field writes; Task and timeline-event calls are counted apart
(HubSpot: app events on the contact and on each open deal). "Lost" compares the analyses with what the
vendor holds: one Task and one contact timeline event each.
The analyses are fanned out first (a backlog: a burst of meetings, or a vendor back after an outage), then
the delivery workers start; wall time is the delivery alone. Arriving one by one, batches fill only as far
as the arrival rate times ``sink_batch_linger_seconds`` allows.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import SecretStr
from rich.console import Console
from rich.table import Table
from sqlalchemy import func, select

from bench.servers import REDIS_URL, redis_namespace, temp_pg_database
from core.delivery.models import WebhookDelivery
from core.runtime import Runtime
from core.settings import Settings
from tests.emulators import crm
from tests.emulators.hubspot import HubSpotEmulator, hubspot_emulator
from tests.emulators.salesforce import SalesforceEmulator, salesforce_emulator

TARGET_CALLS_PER_ANALYSIS = 0.05
# HubSpot activities go out as app events (v4) on the contact and on each open deal
HUBSPOT_APP_EVENTS = {"contacts": "ae62515_echodepth-contact", "deals": "ae62515_echodepth-deal"}
# retries come soon and often, so that 429s cost wall time but never dead-letter an analysis
RETRY_SCHEDULE = ",".join(["1", "2", "5"] + ["10"] * 30)
out = Console()


@dataclass(frozen=True)
class Row:
    """One vendor's line of the table."""

    vendor: str
    mode: str
    analyses: int
    field_calls: int
    activity_calls: int
    seconds: float
    delivered: int
    at_vendor: int
    refused: int

    @property
    def lost(self) -> int:
        """Analyses without exactly one Task / timeline event at the vendor."""
        return abs(self.analyses - self.at_vendor) + (self.analyses - self.delivered)


def _settings(tmp: Path, emulators: list[Any], batch_max: int, threads: int, **scaled: str) -> Settings:
    providers = crm.providers_dir(tmp / "providers", emulators)
    creds: dict[str, dict[str, Any]] = {}
    for emulator in emulators:
        creds[emulator.key] = {
            "client_id": emulator.client_id,
            "client_secret": SecretStr(emulator.client_secret),
        }
    return Settings(
        data_dir=tmp / "var",
        providers_dir=providers,
        allow_private_urls=True,
        webhook_retry_schedule=RETRY_SCHEDULE,
        webhook_worker_threads=threads,
        sweep_interval_seconds=2,
        requeue_after_seconds=30,
        sink_batch_max=batch_max,
        log_level="WARNING",
        connectors=creds,
        **scaled,
    )


def _seed_vendors(sf: SalesforceEmulator, hs: HubSpotEmulator, n: int) -> list[list[str]]:
    """``n`` people who are contacts in both CRMs (every fifth with an open opportunity / deal)."""
    people = []
    for i in range(n):
        email = f"buyer{i}@customer{i % 97}.example"
        contact = sf.add("Contact", Email=email, LastName=f"Buyer {i}")
        hs_contact = hs.add("contacts", email=email)
        if i % 5 == 0:
            opp = sf.add("Opportunity", Name=f"Deal {i}", IsClosed=False)
            sf.add("OpportunityContactRole", ContactId=contact, OpportunityId=opp, CreatedDate="2026-01-01")
            deal = hs.add("deals", dealname=f"Deal {i}", hs_is_closed="false")
            hs.associations.add((hs_contact, deal))
        people.append([email])
    return people


def _pending(rt: Runtime) -> dict[str, int]:
    """Deliveries not yet delivered or dead, by endpoint (connection) id."""
    with rt.db.session() as s:
        rows = s.execute(
            select(WebhookDelivery.endpoint_id, func.count())
            .where(WebhookDelivery.status.in_(("pending", "sending")))
            .group_by(WebhookDelivery.endpoint_id)
        ).all()
    return {str(endpoint): int(count) for endpoint, count in rows}


def _delivered(rt: Runtime, endpoint_id: str) -> int:
    with rt.db.session() as s:
        return int(
            s.scalar(
                select(func.count()).where(
                    WebhookDelivery.endpoint_id == endpoint_id, WebhookDelivery.status == "delivered"
                )
            )
            or 0
        )


def _wait(rt: Runtime, conns: dict[str, str], started: float, timeout: float) -> dict[str, float]:
    """Seconds from ``started`` until each vendor's deliveries are all delivered or dead."""
    done: dict[str, float] = {}
    deadline = time.monotonic() + timeout
    while len(done) < len(conns) and time.monotonic() < deadline:
        pending = _pending(rt)
        for vendor, conn_id in conns.items():
            if vendor not in done and pending.get(conn_id, 0) == 0:
                done[vendor] = time.monotonic() - started
        time.sleep(0.2)
    return {v: done.get(v, float("nan")) for v in conns}


def _salesforce_calls(sf: SalesforceEmulator) -> tuple[int, int]:
    task = sum(c for kind, c in sf.kinds.items() if "Task" in kind)
    return sum(sf.kinds.values()) - task, task


def _hubspot_calls(hs: HubSpotEmulator) -> tuple[int, int]:
    crm_calls = [c for c in hs.api_calls if c.split(" ", 1)[1].startswith(("/crm/", "/integrators/"))]
    timeline = sum(1 for c in crm_calls if "/timeline/" in c)
    return len(crm_calls) - timeline, timeline


@contextmanager
def _vendors() -> Iterator[tuple[SalesforceEmulator, HubSpotEmulator]]:
    with ExitStack() as stack:
        yield stack.enter_context(salesforce_emulator()), stack.enter_context(hubspot_emulator())


@contextmanager
def _stores(embedded: bool) -> Iterator[dict[str, str]]:
    """PostgreSQL + Redis (a fresh database and key prefix), or nothing for embedded SQLite."""
    if embedded:
        yield {}
        return
    with temp_pg_database() as url, redis_namespace() as namespace:
        yield {"database_url": url, "broker_url": REDIS_URL, "broker_namespace": namespace}


def _fan_out(rt: Runtime, jobs: list[str], threads: int) -> None:
    """Fan the jobs' events out from several threads, as jobs ending on several workers do."""
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(lambda part: crm.fan_out(rt, part), [jobs[i::threads] for i in range(threads)]))


def run(n: int, batch_max: int, threads: int, timeout: float, embedded: bool = False) -> list[Row]:
    """Deliver ``n`` analyses to both CRMs with ``sink_batch_max=batch_max``; one row per vendor."""
    with tempfile.TemporaryDirectory() as tmp, _vendors() as (sf, hs), _stores(embedded) as scaled:
        people = _seed_vendors(sf, hs, n)
        rt = Runtime(_settings(Path(tmp), [sf, hs], batch_max, threads, **scaled))
        try:
            tenant = rt.store.ensure_tenant("bench-crm")
            hs.app_event_types = {name: kind for kind, name in HUBSPOT_APP_EVENTS.items()}
            conns = {
                "salesforce": crm.connect(rt, tenant, sf),
                "hubspot": crm.connect(rt, tenant, hs, mapping={"app_events": HUBSPOT_APP_EVENTS}),
            }
            jobs = crm.add_analyses(rt, tenant, people)
            fanning = time.monotonic()
            _fan_out(rt, jobs, threads)  # a backlog, as after a burst of meetings or a vendor outage
            out.print(f"{n} analyses fanned out in {time.monotonic() - fanning:.1f} s; delivering")
            rt.deliveries.start_worker()  # the backlog the fan-out sent is waiting for it
            seconds = _wait(rt, conns, time.monotonic(), timeout)
            sf_calls, hs_calls = _salesforce_calls(sf), _hubspot_calls(hs)
            hs_events = len(hs.events_on("contacts"))
            tasks = sf.records.get("Task", {})  # duplicates would show as more Tasks than analyses
            mode = "batched" if batch_max > 1 else "unbatched"
            return [
                Row("Salesforce", mode, n, *sf_calls, seconds["salesforce"],
                    _delivered(rt, conns["salesforce"]), len(tasks), sf.limited),
                Row("HubSpot", mode, n, *hs_calls, seconds["hubspot"],
                    _delivered(rt, conns["hubspot"]), hs_events, sum(hs.limited.values())),
            ]  # fmt: skip
        finally:
            rt.close()


def table(rows: list[Row]) -> Table:
    """The bench table."""
    t = Table(title="CRM field sync through the delivery queue (emulators enforce the vendors' limits)")
    for name in (
        "vendor", "mode", "analyses", "field-sync calls", "calls/analysis", "Task/timeline calls",
        "wall s", "delivered", "lost", "429s / limit refusals",
    ):  # fmt: skip
        t.add_column(name, justify="left" if name in ("vendor", "mode") else "right")
    for r in rows:
        ratio = r.field_calls / r.analyses
        mark = "" if r.mode == "unbatched" or ratio <= TARGET_CALLS_PER_ANALYSIS else " (over target)"
        t.add_row(
            r.vendor, r.mode, str(r.analyses), str(r.field_calls), f"{ratio:.3f}{mark}",
            str(r.activity_calls), f"{r.seconds:.1f}", str(r.delivered), str(r.lost), str(r.refused),
        )  # fmt: skip
    return t


def main(
    analyses: Annotated[int, typer.Option(help="analyses pushed through the batched path")] = 10_000,
    baseline: Annotated[int, typer.Option(help="analyses pushed one at a time (batch size 1)")] = 100,
    threads: Annotated[int, typer.Option(help="delivery worker threads")] = 4,
    timeout: Annotated[float, typer.Option(help="give up waiting after this many seconds per run")] = 1800,
    embedded: Annotated[bool, typer.Option(help="SQLite and the in-process broker")] = False,
) -> None:
    """Run the unbatched baseline, then the batched run, and print one table."""
    rows = run(baseline, 1, threads, timeout, embedded) + run(analyses, 200, threads, timeout, embedded)
    out.print(table(rows))
    out.print(
        f"target: field-sync calls/analysis <= {TARGET_CALLS_PER_ANALYSIS} when batched; lost must be 0. "
        "Salesforce refusals are REQUEST_LIMIT_EXCEEDED (daily API requests), HubSpot's are 429s."
    )
    if any(r.lost for r in rows):
        raise typer.Exit(1)


if __name__ == "__main__":
    typer.run(main)
