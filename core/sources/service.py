"""Meeting Sources in the hub (one region's): the intake (events become jobs, downloads, catch-up, meeting
policies, core.sources.intake) and the change-notification subscriptions of ``Subscriber`` Sources."""

from __future__ import annotations

from core.broker import Messages
from core.connections import Connections
from core.media.spool import Spool
from core.registry import ConnectorRegistry
from core.settings import Settings
from core.sources.intake import CAUGHT_UP, HOOKS, PARTICIPANTS, REFUSED, SourceIntake, job_id_for
from core.sources.subscriptions import SourceSubscriptions
from core.sources.summaries import OwnerSummaries
from core.storage.db import Database
from core.storage.store import Store
from core.vault import TokenVault

__all__ = ["Sources", "HOOKS", "REFUSED", "CAUGHT_UP", "PARTICIPANTS", "job_id_for"]


class Sources(SourceIntake):
    """A region's intake of recordings, with its subscriptions (``subscriptions``) and owner summaries."""

    def __init__(
        self,
        settings: Settings,
        db: Database,
        store: Store,
        vault: TokenVault,
        connections: Connections,
        messages: Messages,
        spool: Spool,
        summaries: OwnerSummaries,
        registry: ConnectorRegistry | None = None,
    ) -> None:
        super().__init__(settings, db, store, vault, connections, messages, spool, summaries, registry)
        self.subscriptions = SourceSubscriptions(self)
