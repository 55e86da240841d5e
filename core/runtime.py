"""One process's wiring: settings → database → store → job queue."""

from __future__ import annotations

import logging

from core.connections import Connections
from core.delivery.queue import DeliveryQueue
from core.delivery.sinks import SinkDeliveries
from core.governance.audit import AuditLog
from core.governance.policy import PolicyStore
from core.governance.retention import Retention
from core.jobs.queue import JobQueue
from core.media.spool import Spool
from core.settings import Settings, get_settings
from core.sources import Sources
from core.storage.db import Database
from core.storage.store import Store
from core.vault import TokenVault, load_key_ring

__all__ = ["Runtime"]

log = logging.getLogger("echodepth")


class Runtime:
    """Everything a command or the API needs, built from one Settings."""

    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings or get_settings()
        self.settings.data_dir.mkdir(parents=True, exist_ok=True)
        self.db = Database(self.settings.effective_database_url)
        self.db.ensure_current()
        self.store = Store(self.db)
        self.vault = TokenVault(self.db, load_key_ring(self.settings))
        self.spool = Spool(self.settings.spool_dir)
        self.queue = JobQueue(self.settings, self.store, self.spool)
        self.deliveries = DeliveryQueue(self.settings, self.db, self.vault, self.queue.broker)
        self.queue.on_finished = self.deliveries.job_finished
        self.connections = Connections(self.settings, self.db, self.vault, self.deliveries)
        self.deliveries.sinks = SinkDeliveries(self.settings, self.deliveries.store, self.connections.tokens)
        self.policies = PolicyStore(self.db)
        self.audit = AuditLog(self.db)
        self.retention = Retention(self.settings, self.db, self.spool)
        self.queue.periodic.append(self.retention.purge_if_due)
        self.sources = Sources(
            self.settings, self.db, self.store, self.vault, self.connections, self.queue, self.spool
        )
        self.queue.use_source_fetch(self.sources.fetch)  # Zoom/Teams recordings download via their Source
        self.queue.periodic.append(self.sources.catch_up_if_due)

    def start_embedded_worker(self) -> None:
        """In embedded mode, run the worker and the sweep on this process's threads."""
        self.queue.start_worker()
        self.queue.start_sweeper()
        self.queue.sweep_once()
        self.deliveries.start()

    def close(self) -> None:
        """Stop workers and close connections."""
        self.deliveries.close()
        self.queue.close()
        self.db.dispose()
