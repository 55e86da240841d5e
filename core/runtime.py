"""One process's services for one region, each built once with its collaborators: nothing is wired later.

Stores first (database, job store, vault, spool, broker), then the services over them in dependency
order: connections → Sink deliveries and summaries → Sources → the job and delivery queues → the scheduler
of their periodic tasks. Services that must reach a later one do so by message (``core.broker.Messages``):
a finished job sends ``fan_out(outbox_id)``, a Source's recording sends ``analyse_job(job_id)``.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from core.broker import Messages, make_broker
from core.connections import Connections
from core.delivery.queue import DeliveryQueue
from core.delivery.sinks import SinkDeliveries
from core.delivery.store import DeliveryStore
from core.delivery.summaries import Summaries
from core.governance.audit import AuditLog
from core.governance.policy import REGIONS, PolicyStore
from core.governance.retention import Retention
from core.jobs.analysis import Context, job_metadata
from core.jobs.queue import JobQueue
from core.jobs.quota import MediaQuota, WorkerCharge
from core.media.spool import Spool
from core.regions import hosted_regions, region_settings, region_stores, served_regions
from core.scheduler import Periodic, Scheduler
from core.settings import Settings, get_settings
from core.sources.access import SourceAccess
from core.sources.hooks import SourceHooks
from core.sources.service import Sources
from core.sources.summaries import OwnerSummaries
from core.storage.db import Database
from core.storage.residency import WrongRegion
from core.storage.store import Store
from core.stream import StreamStores
from core.tiers import TierBook, load_tiers
from core.vault import KeyRing, TokenVault, load_key_ring
from engine.voice import asr

__all__ = ["Runtime"]

log = logging.getLogger("echodepth")


def _open_database(settings: Settings, hosts: frozenset[str]) -> Database:
    """The region's database, migrated, refusing tenants of regions it does not hold."""
    db = Database(settings.effective_database_url, None if hosts == frozenset(REGIONS) else hosts)
    db.ensure_current()
    return db


class Runtime:
    """Everything a command or the API needs, built from one Settings.

    With ``ECHODEPTH_REGIONS`` set it also holds one Runtime per other region it serves (``regional``);
    ``for_tenant`` picks the one that holds a tenant's data (core.regions). ``directory`` is the home
    region's store (tenants' regions and tiers); the home runtime is its own.
    """

    def __init__(
        self,
        settings: Settings | None = None,
        hosts: frozenset[str] | None = None,
        ring: KeyRing | None = None,
        directory: Store | None = None,
    ) -> None:
        self.settings = settings or get_settings()
        asr.use(self.settings.asr_model)  # this process's recogniser and its workers' (engine.voice.asr)
        self.region = self.settings.region
        self.settings.data_dir.mkdir(parents=True, exist_ok=True)
        self.db = _open_database(self.settings, hosts or hosted_regions(self.settings))
        self.store = Store(self.db)
        self.directory = directory or self.store
        self.tiers: TierBook = load_tiers(self.settings)
        self.vault = TokenVault(self.db, ring or load_key_ring(self.settings))  # one ring for every region
        self.spool = Spool(self.settings.spool_dir)
        self.broker = make_broker(self.settings)
        self.messages = Messages(self.broker)
        self.policies = PolicyStore(self.db)
        self.audit = AuditLog(self.db)
        self.retention = Retention(self.settings, self.db, self.spool)
        self.media_quota = MediaQuota(self.db)  # a tier's media_minutes_per_day (core.jobs.quota)
        self._build_services()
        self.scheduler = Scheduler(self._periodic())
        self.served = served_regions(self.settings)
        ring = self.vault.ring
        self.regional = {  # the other regions' stores (their own database, broker and spool)
            name: Runtime(region_settings(self.settings, name), frozenset({name}), ring, self.store)
            for name in region_stores(self.settings)
            if name in self.served
        }
        self.hooks = SourceHooks([rt.sources for rt in self.serving()] or [self.sources])

    def _build_services(self) -> None:
        """Connections, Sinks, Sources and the two queues, each given what it calls."""
        s, db, vault, messages = self.settings, self.db, self.vault, self.messages
        self.connections = Connections(s, db, vault, messages)
        delivery_store = DeliveryStore(db, vault)
        sinks = SinkDeliveries(s, delivery_store, self.connections.tokens)
        self.sink_summaries = Summaries(sinks, messages.deliver)  # Slack daily / weekly summaries
        owners = OwnerSummaries(SourceAccess(s, db, vault, self.connections), delivery_store, messages)
        self.sources = Sources(s, db, self.store, vault, self.connections, messages, self.spool, owners)
        context = Context(
            s,
            self.spool,
            fetch_source=self.sources.fetch,  # Zoom/Teams recordings download through their Source
            charge_media=WorkerCharge(self.media_quota, self._media_limit),
            job_metadata=job_metadata(db),  # participants → speakers
        )
        self.queue = JobQueue(s, self.broker, self.store, self.spool, messages, context)
        self.deliveries = DeliveryQueue(s, delivery_store, self.broker, messages, sinks, [owners])

    def _periodic(self) -> list[Periodic]:
        """This region's periodic tasks, in the order the first round runs them."""
        s, region = self.settings, self.region
        return [
            Periodic(f"sweep-{region}", s.sweep_interval_seconds, self.queue.sweep_once),
            Periodic(f"retention-{region}", s.retention_purge_interval_seconds, self.retention.purge_expired),
            Periodic(f"sink-summaries-{region}", s.sweep_interval_seconds, self.sink_summaries.add_due),
            Periodic(f"catch-up-{region}", s.source_catch_up_interval_seconds, self.sources.catch_up),
            Periodic(
                f"subscriptions-{region}",
                s.source_subscription_interval_seconds,
                self.sources.subscriptions.maintain,
            ),
            Periodic(
                f"owner-sla-{region}",
                s.owner_summary_check_interval_seconds,
                self.sources.summaries.check_sla,
            ),
            Periodic(f"delivery-sweep-{region}", s.sweep_interval_seconds, self.deliveries.sweep_once),
        ]

    def _media_limit(self, tenant_id: str) -> int | None:
        """The media minutes per day of the tenant's tier (the default tier when it has none)."""
        tier = self.tiers.tier_for(self.directory.tenant_rate_tier(tenant_id))
        return tier.media_minutes_per_day if tier else None

    @property
    def stream_stores(self) -> StreamStores:
        """What a live stream of this region's tenants stores its summary job with."""
        return StreamStores(self.settings, self.store, self.policies, self.messages)

    def for_region(self, region: str) -> Runtime:
        """The runtime holding ``region``'s tenants; ``421 wrong_region`` if not served here."""
        if self.db.regions is None or region in self.db.regions:
            return self
        found = self.regional.get(region)
        if found is None:
            raise WrongRegion(region, frozenset(self.db.regions | self.regional.keys()))
        return found

    def for_tenant(self, tenant_id: str) -> Runtime:
        """The runtime holding the tenant's data, found by its region in the directory (home database)."""
        if self.db.regions is None:  # one set of stores holds every region
            return self
        return self.for_region(self.store.tenant_region(tenant_id) or self.region)

    def ensure_tenant(self, name: str, region: str | None = None) -> str:
        """The tenant's id, created if missing in the directory and in its region's database."""
        region = region or self.region
        target = self.for_region(region)
        tenant_id = self.store.ensure_tenant(name, region)
        if target is not self:
            target.store.ensure_tenant(name, region, tenant_id)
        return tenant_id

    def create_key(self, tenant_name: str, region: str | None = None, **options: Any) -> str:
        """A new API key (``Store.create_key`` options); the tenant is created in ``region`` if missing."""
        self.ensure_tenant(tenant_name, region)
        return self.store.create_key(tenant_name, **options)

    def serving(self) -> list[Runtime]:
        """This runtime (when it serves one of its regions) and every other region's runtime."""
        own = self.db.regions if self.db.regions is not None else hosted_regions(self.settings)
        return ([self] if own & self.served else []) + list(self.regional.values())

    def start_workers(self, threads: int | None = None) -> None:
        """Consume every served region's jobs and deliveries on this process's threads, and run their
        periodic tasks (core.scheduler)."""
        for rt in self.serving():
            rt.queue.start_worker(threads)
            rt.deliveries.start_worker()
            rt.scheduler.start()

    def start_embedded_worker(self) -> None:
        """In embedded mode, run the workers and the scheduler on this process's threads."""
        self.start_workers()

    def close(self) -> None:
        """Stop workers and close connections (the other regions' too). The queues stop side by side: each
        waits out its threads' poll timeout, so a shutdown costs one wait, not one per queue."""
        closing = [rt.close for rt in self.regional.values()]
        closing += [self.scheduler.stop, self.deliveries.close, self.queue.stop]
        with ThreadPoolExecutor(len(closing), thread_name_prefix="close") as pool:
            for done in [pool.submit(stop) for stop in closing]:
                done.result()
        self.broker.close()  # the broker both queues share, once both have stopped
        self.db.dispose()
