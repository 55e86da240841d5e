"""One process's wiring: settings → database → store → job queue."""

from __future__ import annotations

import logging

from core.jobs.queue import JobQueue
from core.media.spool import Spool
from core.settings import Settings, get_settings
from core.storage.db import Database
from core.storage.store import Store

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
        self.spool = Spool(self.settings.spool_dir)
        self.queue = JobQueue(self.settings, self.store, self.spool)

    def start_embedded_worker(self) -> None:
        """In embedded mode, run the worker and the sweep on this process's threads."""
        self.queue.start_worker()
        self.queue.start_sweeper()
        self.queue.sweep_once()

    def close(self) -> None:
        """Stop workers and close connections."""
        self.queue.close()
        self.db.dispose()
