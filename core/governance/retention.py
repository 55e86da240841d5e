"""Retention and erasure: the periodic purge of expired jobs and results, and erase-all for one tenant.

A job and everything derived from it (input, result, webhook deliveries carrying the result, outbox events,
its idempotency key, any spooled media) goes together. The audit log is kept: it records that data was
purged or erased, with counts, and holds no analysis output.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, delete, func, select
from sqlalchemy.orm import Session

from core.delivery.models import WebhookDelivery
from core.governance.audit import SYSTEM, record
from core.governance.policy import PolicyStore
from core.media.spool import Spool
from core.settings import Settings
from core.storage.db import Database
from core.storage.idempotency import IdempotencyKey
from core.storage.models import Job, JobInput, Result, utcnow
from core.storage.outbox import OutboxEvent
from core.storage.queries import changed

__all__ = ["Retention", "ENDED"]

log = logging.getLogger("echodepth.governance")
ENDED = ("completed", "failed")
_BATCH = 500


def _delete_jobs(s: Session, job_ids: Sequence[str]) -> int:
    """Delete these jobs and every row derived from them; returns how many jobs went."""
    for table in (Result, JobInput):
        s.execute(delete(table).where(table.job_id.in_(job_ids)))
    s.execute(delete(OutboxEvent).where(OutboxEvent.job_id.in_(job_ids)))
    s.execute(delete(IdempotencyKey).where(IdempotencyKey.job_id.in_(job_ids)))
    return changed(s, delete(Job).where(Job.id.in_(job_ids)))


class Retention:
    """Purges what has outlived its tenant's retention; erases a tenant's analysis data on request."""

    def __init__(self, settings: Settings, db: Database, spool: Spool) -> None:
        self.settings = settings
        self.db = db
        self.spool = spool
        self.policies = PolicyStore(db)

    def purge_expired(self, now: datetime | None = None) -> dict[str, int]:
        """Delete every tenant's jobs and results that ended longer ago than its retention."""
        now = now or utcnow()
        purged: dict[str, int] = {}
        for policy in self.policies.all_policies():
            days = policy.effective_retention_days(self.settings.result_retention_days)
            counts = self._purge_tenant(policy.tenant_id, now - timedelta(days=days), days)
            if counts["jobs"] or counts["webhook_deliveries"]:
                purged[policy.tenant_id] = counts["jobs"]
        return purged

    def _purge_tenant(self, tenant_id: str, cutoff: datetime, days: int) -> dict[str, int]:
        ended_at = func.coalesce(Job.completed_at, Job.created_at)
        expired = [Job.tenant_id == tenant_id, Job.status.in_(ENDED), ended_at < cutoff]
        jobs = self._delete_where(expired)
        with self.db.session() as s:
            deliveries = changed(
                s,
                delete(WebhookDelivery).where(
                    WebhookDelivery.tenant_id == tenant_id, WebhookDelivery.created_at < cutoff
                ),
            )
            counts = {"jobs": jobs, "webhook_deliveries": deliveries}
            if jobs or deliveries:
                record(s, tenant_id, SYSTEM, "retention.purge", None, {**counts, "retention_days": days})
                log.info("retention: purged %s of tenant %s", counts, tenant_id)
            s.commit()
        return counts

    def _delete_where(self, conditions: list[ColumnElement[bool]]) -> int:
        """Delete matching jobs in batches, with their spooled media; returns how many."""
        total = 0
        while True:
            with self.db.session() as s:
                ids = list(s.scalars(select(Job.id).where(*conditions).limit(_BATCH)))
                if not ids:
                    return total
                total += _delete_jobs(s, ids)
                s.commit()
            for job_id in ids:
                self.spool.delete(job_id)

    def erase_all(self, tenant_id: str, actor: str) -> dict[str, int]:
        """Erase every job, input, result, webhook delivery and spooled file of the tenant, now."""
        jobs = self._delete_where([Job.tenant_id == tenant_id])
        with self.db.session() as s:
            deliveries = changed(s, delete(WebhookDelivery).where(WebhookDelivery.tenant_id == tenant_id))
            s.execute(delete(OutboxEvent).where(OutboxEvent.tenant_id == tenant_id))
            s.execute(delete(IdempotencyKey).where(IdempotencyKey.tenant_id == tenant_id))
            counts = {"jobs": jobs, "webhook_deliveries": deliveries}
            record(s, tenant_id, actor, "tenant.erase", None, counts)
            s.commit()
        return counts
