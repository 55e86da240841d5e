"""One process's wiring: settings → database → store → job queue."""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from core.api.tiers import load_tiers
from core.connections import Connections
from core.delivery.queue import DeliveryQueue
from core.delivery.sinks import SinkDeliveries
from core.delivery.summaries import Summaries
from core.governance.audit import AuditLog
from core.governance.policy import REGIONS, PolicyStore
from core.governance.retention import Retention
from core.jobs.queue import JobQueue
from core.jobs.quota import MediaQuota, WorkerCharge
from core.media.spool import Spool
from core.regions import hosted_regions, region_settings, region_stores, served_regions
from core.settings import Settings, get_settings
from core.sources import Sources
from core.storage.db import Database
from core.storage.residency import WrongRegion
from core.storage.store import Store
from core.vault import KeyRing, TokenVault, load_key_ring
from engine.voice import asr

__all__ = ["Runtime"]

log = logging.getLogger("echodepth")


class Runtime:
    """Everything a command or the API needs, built from one Settings.

    With ``ECHODEPTH_REGIONS`` set it also holds one Runtime per other region it serves (``regional``);
    ``for_tenant`` picks the one that holds a tenant's data (core.regions).
    """

    def __init__(
        self,
        settings: Settings | None = None,
        hosts: frozenset[str] | None = None,
        ring: KeyRing | None = None,
    ) -> None:
        self.settings = settings or get_settings()
        asr.use(self.settings.asr_model)  # this process's recogniser and its workers' (engine.voice.asr)
        self.region = self.settings.region
        self.home: Runtime = self  # the runtime holding the directory (tenants' tiers and regions)
        self.settings.data_dir.mkdir(parents=True, exist_ok=True)
        self.db = Database(self.settings.effective_database_url)
        hosts = hosts or hosted_regions(self.settings)
        self.db.regions = None if hosts == frozenset(REGIONS) else hosts  # holding every region: no check
        self.db.ensure_current()
        self.store = Store(self.db)
        self.vault = TokenVault(self.db, ring or load_key_ring(self.settings))  # one ring for every region
        self.spool = Spool(self.settings.spool_dir)
        self.queue = JobQueue(self.settings, self.store, self.spool)
        self.deliveries = DeliveryQueue(self.settings, self.db, self.vault, self.queue.broker)
        self.queue.on_finished = self.deliveries.job_finished
        self.connections = Connections(self.settings, self.db, self.vault, self.deliveries)
        self.deliveries.sinks = SinkDeliveries(self.settings, self.deliveries.store, self.connections.tokens)
        self.sink_summaries = Summaries(self.deliveries.sinks, self.deliveries.send)
        self.policies = PolicyStore(self.db)
        self.audit = AuditLog(self.db)
        self.retention = Retention(self.settings, self.db, self.spool)
        self.queue.periodic.append(self.retention.purge_if_due)
        self.queue.periodic.append(self.sink_summaries.post_due)  # Slack daily / weekly summaries
        self.sources = Sources(
            self.settings, self.db, self.store, self.vault, self.connections, self.queue, self.spool
        )
        self.queue.use_source_fetch(self.sources.fetch)  # Zoom/Teams recordings download via their Source
        self.media_quota = MediaQuota(self.db)  # a tier's media_minutes_per_day (core.jobs.quota)
        self.queue.use_media_quota(WorkerCharge(self.media_quota, self._media_limit))
        self.queue.periodic.append(self.sources.catch_up_if_due)
        self.deliveries.owner_summaries = self.sources.summaries  # owners' summaries ride the delivery queue
        self.queue.periodic.append(self.sources.subscriptions.maintain_if_due)
        self.queue.periodic.append(self.sources.summaries.check_if_due)
        self.served = served_regions(self.settings)
        self.regional = {  # the other regions' stores (their own database, broker and spool)
            name: Runtime(region_settings(self.settings, name), frozenset({name}), self.vault.ring)
            for name in region_stores(self.settings)
            if name in self.served
        }
        for regional in self.regional.values():
            regional.home = self

    def _media_limit(self, tenant_id: str) -> int | None:
        """The media minutes per day of the tenant's tier (the default tier when it has none)."""
        tier = load_tiers(self.settings).tier_for(self.home.store.tenant_rate_tier(tenant_id))
        return tier.media_minutes_per_day if tier else None

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

    def start_embedded_worker(self) -> None:
        """In embedded mode, run the worker and the sweep on this process's threads (every served region)."""
        for rt in self.serving():
            rt.queue.start_worker()
            rt.queue.start_sweeper()
            rt.queue.sweep_once()
            rt.deliveries.start()

    def close(self) -> None:
        """Stop workers and close connections (the other regions' too). The queues stop side by side: each
        waits out its threads' poll timeout, so a shutdown costs one wait, not one per queue."""
        closing = [rt.close for rt in self.regional.values()] + [self.deliveries.close, self.queue.stop]
        with ThreadPoolExecutor(len(closing), thread_name_prefix="close") as pool:
            for done in [pool.submit(stop) for stop in closing]:
                done.result()
        self.queue.close()  # the broker the deliveries share, once both have stopped
        self.db.dispose()
