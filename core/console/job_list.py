"""The Jobs page's query: the tenant's jobs filtered by status, modality and creation date, newest first."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import select

from core.storage.db import Database
from core.storage.models import Job
from core.storage.queries import newest_first_page
from core.storage.residency import require_region

__all__ = ["JobFilter", "find_jobs", "PAGE_SIZE"]

PAGE_SIZE = 20


@dataclass(frozen=True)
class JobFilter:
    """What the Jobs page asks for; ``since`` and ``until`` are whole UTC days, both included."""

    status: str | None = None
    modality: str | None = None
    since: date | None = None
    until: date | None = None


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def find_jobs(
    db: Database, tenant_id: str, wanted: JobFilter, cursor: str | None, limit: int = PAGE_SIZE
) -> tuple[list[Job], str | None]:
    """One page of the tenant's jobs matching ``wanted`` and the cursor of the next page."""
    with db.session() as s:
        require_region(s, db, tenant_id)
    q = select(Job).where(Job.tenant_id == tenant_id)
    if wanted.status:
        q = q.where(Job.status == wanted.status)
    if wanted.modality:
        q = q.where(Job.modality == wanted.modality)
    if wanted.since:
        q = q.where(Job.created_at >= _day_start(wanted.since))
    if wanted.until:
        q = q.where(Job.created_at < _day_start(wanted.until + timedelta(days=1)))
    return newest_first_page(db, q, Job.created_at, Job.id, limit, cursor)
