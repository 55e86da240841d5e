"""A tier's ``media_minutes_per_day``: the audio and video a tenant may have analysed per UTC day.

Each audio or video item of a job is charged once (one ``media_charges`` row per job and item) with its
duration read from the container. Uploads are charged when submitted, against the calling credential's
tier (``429 media_quota_exceeded`` with ``Retry-After`` until midnight UTC); items fetched by the worker (a
URL, a meeting recording) are charged when fetched, against the tenant's tier, and a job over the quota
fails with ``media_quota_exceeded``. The check and the charge are one transaction (a tenant row lock on
PostgreSQL, the write lock on SQLite), so concurrent submits never exceed the quota.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import av
from sqlalchemy import Float, ForeignKey, Index, Integer, String, delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from core.sdk.errors import InputError
from core.storage.db import Database
from core.storage.models import Base, Job, Tenant, utcnow
from engine.media.guard import open_capped

__all__ = [
    "MediaCharge",
    "MediaQuota",
    "MediaQuotaExceeded",
    "WorkerCharge",
    "media_seconds",
    "CHARGED_ROLES",
]

log = logging.getLogger("echodepth.jobs.quota")
CHARGED_ROLES = frozenset({"audio", "video"})


class MediaCharge(Base):
    """The seconds of one media item of one job, counted on the UTC day it was charged."""

    __tablename__ = "media_charges"
    __table_args__ = (Index("ix_media_charges_tenant_day", "tenant_id", "day"),)
    job_id: Mapped[str] = mapped_column(String(36), primary_key=True)  # no foreign key: erasing a job is fine
    item: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    day: Mapped[str] = mapped_column(String(10))  # YYYY-MM-DD, UTC
    seconds: Mapped[float] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class MediaQuotaExceeded(InputError):
    """429 ``media_quota_exceeded``: the tenant's media minutes for today are spent."""

    def __init__(self, limit_minutes: int, used_seconds: float) -> None:
        super().__init__(
            "media_quota_exceeded",
            f"this tier allows {limit_minutes} media minutes per day (UTC); "
            f"{used_seconds / 60:.1f} are used and this media does not fit",
            429,
        )
        self.retry_after = seconds_until_midnight()


def seconds_until_midnight(now: datetime | None = None) -> int:
    """Seconds until the quota day (UTC) ends."""
    now = now or utcnow()
    tomorrow = (now + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    return max(1, math.ceil((tomorrow - now).total_seconds()))


def media_seconds(path: Path) -> float:
    """The duration the container declares (0 when it has none: an image, or an unreadable file, which the
    engine then refuses on its own)."""
    try:
        with open_capped(path) as container:  # probing never decodes an oversized frame (engine.media.guard)
            if container.duration is not None:
                return max(0.0, container.duration / av.time_base)
            spans = [float(s.duration * s.time_base) for s in container.streams if s.duration and s.time_base]
            return max(spans, default=0.0)
    except (av.FFmpegError, OSError, ValueError, UnicodeDecodeError):
        log.info("media %s: no readable duration; not charged", path.name)
        return 0.0


def _day(now: datetime | None = None) -> str:
    return (now or utcnow()).strftime("%Y-%m-%d")


class MediaQuota:
    """Charges and reads a tenant's media seconds per UTC day on one Database."""

    def __init__(self, db: Database) -> None:
        self.db = db

    @staticmethod
    def _used(s: Session, tenant_id: str, day: str) -> float:
        q = select(func.coalesce(func.sum(MediaCharge.seconds), 0.0)).where(
            MediaCharge.tenant_id == tenant_id, MediaCharge.day == day
        )
        return float(s.scalar(q) or 0.0)

    def used_seconds(self, tenant_id: str) -> float:
        """The tenant's media seconds charged today (UTC)."""
        with self.db.session() as s:
            return self._used(s, tenant_id, _day())

    def check(self, tenant_id: str, limit_minutes: int | None) -> None:
        """Refuse early when today's quota is already spent (before a body is read)."""
        if limit_minutes is None:
            return
        used = self.used_seconds(tenant_id)
        if used >= limit_minutes * 60:
            raise MediaQuotaExceeded(limit_minutes, used)

    def charge(
        self, tenant_id: str, job_id: str, items: list[tuple[int, float]], limit_minutes: int | None
    ) -> None:
        """Charge each (item index, seconds) of the job once; ``MediaQuotaExceeded`` (nothing charged) when
        today's total would pass ``limit_minutes``. Items charged before are skipped."""
        day = _day()
        with self.db.session() as s:
            if limit_minutes is not None:  # one charge at a time per tenant (PostgreSQL row lock)
                s.execute(select(Tenant.id).where(Tenant.id == tenant_id).with_for_update(key_share=True))
            done = set(s.scalars(select(MediaCharge.item).where(MediaCharge.job_id == job_id)))
            new = [(i, sec) for i, sec in items if i not in done]
            if not new:
                return
            s.add_all(
                MediaCharge(job_id=job_id, item=i, tenant_id=tenant_id, day=day, seconds=sec)
                for i, sec in new
            )
            try:
                s.flush()  # SQLite: the insert takes the write lock, so the sum below is the tenant's truth
            except IntegrityError:
                s.rollback()  # another attempt of the same job charged it first
                return
            used = self._used(s, tenant_id, day)
            if limit_minutes is not None and used > limit_minutes * 60:
                s.rollback()
                raise MediaQuotaExceeded(limit_minutes, used - sum(sec for _, sec in new))
            s.commit()

    def refund(self, job_id: str) -> None:
        """Forget a job's charges (its submission failed after it was charged)."""
        with self.db.session() as s:
            s.execute(delete(MediaCharge).where(MediaCharge.job_id == job_id))
            s.commit()

    def tenant_of(self, job_id: str) -> str | None:
        """The tenant of a job (worker side)."""
        with self.db.session() as s:
            return s.scalar(select(Job.tenant_id).where(Job.id == job_id))


class WorkerCharge:
    """The worker's charge of fetched items (``Context.charge_media``), against the tenant's tier."""

    def __init__(self, quota: MediaQuota, limit_for: Callable[[str], int | None]) -> None:
        self.quota = quota
        self.limit_for = limit_for

    def __call__(self, job_id: str, fetched: list[tuple[int, Path]]) -> None:
        """Charge the job's fetched files; ``MediaQuotaExceeded`` fails the job (not retryable)."""
        tenant_id = self.quota.tenant_of(job_id)
        if tenant_id is None:
            return
        items = [(index, media_seconds(path)) for index, path in fetched]
        self.quota.charge(tenant_id, job_id, items, self.limit_for(tenant_id))
