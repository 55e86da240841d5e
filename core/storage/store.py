"""Every query the service makes, each scoped by tenant where a tenant is involved."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, delete, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.sdk.errors import InputError
from core.storage.compliance import compliance_record
from core.storage.db import Database
from core.storage.models import ApiKey, Job, JobInput, Result, Tenant, utcnow
from core.storage.outbox import OutboxEvent, record_job_event
from core.storage.queries import changed, newest_first_page
from core.storage.residency import require_region
from core.storage.scopes import SCOPES

__all__ = [
    "Store",
    "JobLimitReached",
    "JobPage",
    "Claim",
    "NewInput",
    "MediaItem",
    "Credential",
    "KEY_PREFIX",
]

KEY_PREFIX = "edk_"
_PREFIX_LEN = 12


class JobLimitReached(InputError):
    """429 ``too_many_jobs``: the tenant already has its tier's ``concurrent_jobs`` queued or processing."""

    def __init__(self, limit: int) -> None:
        super().__init__("too_many_jobs", f"this tier allows {limit} queued or processing jobs at once", 429)
        self.limit = limit


@dataclass(frozen=True)
class Credential:
    """Who a presented API key or access token speaks for: tenant, scopes and rate tier."""

    tenant_id: str
    scopes: frozenset[str]
    rate_tier: str | None  # the key's own tier, else the tenant's, else None (the default)
    ident: str  # the key or token row id: the rate limiter counts per credential
    actor: str  # for the audit log, never the secret itself


@dataclass(frozen=True)
class JobPage:
    """One page of a tenant's jobs and the cursor of the next page (None at the end)."""

    jobs: list[Job]
    next_cursor: str | None


@dataclass(frozen=True)
class MediaItem:
    """One media file of a job: uploaded (in the spool under its index) or to fetch from ``url``."""

    role: str
    filename: str | None = None
    url: str | None = None
    source: str | None = None  # a Source connector's key: the worker asks it for the file (core.sources)
    ref: dict[str, Any] | None = None  # what that Source needs to find the file again (no plaintext secrets)


@dataclass(frozen=True)
class Claim:
    """A worker's hold on a job: the attempt number guards every later write."""

    job_id: str
    attempt: int
    modality: str
    text: str | None
    items: tuple[MediaItem, ...] = ()


@dataclass(frozen=True)
class NewInput:
    """What a new job analyses: text and/or media items."""

    text: str | None = None
    items: tuple[MediaItem, ...] = ()


def _item_row(item: MediaItem) -> dict[str, Any]:
    row: dict[str, Any] = {"role": item.role, "filename": item.filename, "url": item.url}
    if item.source is not None:
        row.update(source=item.source, ref=item.ref)
    return row


def _hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


class Store:
    """Tenants, keys, jobs and results on one Database."""

    def __init__(self, db: Database) -> None:
        self.db = db

    # tenants and keys -------------------------------------------------------------------------

    def ensure_tenant(self, name: str, region: str | None = None, tenant_id: str | None = None) -> str:
        """The id of the tenant called ``name``, created if missing (in ``region``, under ``tenant_id``)."""
        with self.db.session() as s:
            found = s.execute(select(Tenant.id, Tenant.region).where(Tenant.name == name)).first()
            if found:
                if region is not None and found.region != region:
                    raise InputError("region_mismatch", f"tenant {name!r} is in region '{found.region}'", 409)
                return str(found.id)
            tenant = Tenant(id=tenant_id or str(uuid.uuid4()), name=name, region=region or "uk")
            s.add(tenant)
            try:
                s.commit()
            except IntegrityError:
                s.rollback()
                return s.scalars(select(Tenant.id).where(Tenant.name == name)).one()
            return tenant.id

    def create_key(
        self,
        tenant_name: str,
        name: str | None = None,
        scopes: list[str] | None = None,
        rate_tier: str | None = None,
    ) -> str:
        """A new API key (all scopes unless given); the plaintext is returned once and never stored."""
        tenant_id = self.ensure_tenant(tenant_name)
        key = KEY_PREFIX + secrets.token_urlsafe(32)
        with self.db.session() as s:
            s.add(
                ApiKey(
                    id=str(uuid.uuid4()),
                    tenant_id=tenant_id,
                    prefix=key[:_PREFIX_LEN],
                    key_hash=_hash_key(key),
                    name=name,
                    scopes=list(SCOPES if scopes is None else scopes),
                    rate_tier=rate_tier,
                )
            )
            s.commit()
        return key

    def authenticate(self, key: str) -> str | None:
        """The tenant id that owns ``key``, or None."""
        found = self.authenticate_key(key)
        return found.tenant_id if found else None

    def authenticate_key(self, key: str) -> Credential | None:
        """The tenant, scopes and rate tier of ``key``, or None when it is not a valid API key."""
        if not key.startswith(KEY_PREFIX) or len(key) < _PREFIX_LEN + 8:
            return None
        with self.db.session() as s:
            found = s.execute(
                select(ApiKey, Tenant.rate_tier)
                .join(Tenant, Tenant.id == ApiKey.tenant_id)
                .where(ApiKey.prefix == key[:_PREFIX_LEN], ApiKey.revoked_at.is_(None))
            ).first()
            if found is None or not hmac.compare_digest(found[0].key_hash, _hash_key(key)):
                return None
            row, tenant_tier = found
            return Credential(
                tenant_id=row.tenant_id,
                scopes=frozenset(row.scopes or ()),
                rate_tier=row.rate_tier or tenant_tier,
                ident=f"key:{row.id}",
                actor=f"key:{row.prefix}",
            )

    def tenant_region(self, tenant_id: str) -> str | None:
        """The tenant's region from this database's tenant row (the directory, in the home database)."""
        with self.db.session() as s:
            return s.scalar(select(Tenant.region).where(Tenant.id == tenant_id))

    def tenant_rate_tier(self, tenant_id: str) -> str | None:
        """The tenant's own rate tier (None = the default)."""
        with self.db.session() as s:
            return s.scalar(select(Tenant.rate_tier).where(Tenant.id == tenant_id))

    def set_rate_tier(self, tenant_name: str, tier: str | None, key_prefix: str | None = None) -> int:
        """Assign a rate tier to the tenant, or to one of its keys by visible prefix; rows changed."""
        tenant_id = self.ensure_tenant(tenant_name)
        with self.db.session() as s:
            if key_prefix is None:
                n = changed(s, update(Tenant).where(Tenant.id == tenant_id).values(rate_tier=tier))
            else:
                n = changed(
                    s,
                    update(ApiKey)
                    .where(ApiKey.tenant_id == tenant_id, ApiKey.prefix == key_prefix[:_PREFIX_LEN])
                    .values(rate_tier=tier),
                )
            s.commit()
            return n

    # jobs -------------------------------------------------------------------------------------

    def create_job(
        self,
        tenant_id: str,
        modality: str,
        source: NewInput,
        metadata: dict[str, Any],
        webhook_url: str | None,
        job_id: str | None = None,
        max_active: int | None = None,
    ) -> Job:
        """Commit a queued job and its input in one transaction; ``JobLimitReached`` (nothing written) when
        the tenant would then have more than ``max_active`` queued or processing jobs."""
        job = Job(
            id=job_id or str(uuid.uuid4()),
            tenant_id=tenant_id,
            modality=modality,
            status="queued",
            created_at=utcnow(),
            enqueued_at=utcnow(),
            attempts=0,
            metadata_=metadata,
            webhook_url=webhook_url,
        )
        with self.db.session() as s:
            require_region(s, self.db, tenant_id)
            if max_active is not None:  # one admission at a time per tenant (PostgreSQL row lock)
                s.execute(select(Tenant.id).where(Tenant.id == tenant_id).with_for_update(key_share=True))
            s.add(job)
            s.flush()  # SQLite: the insert takes the write lock, so the count below is the tenant's truth
            if max_active is not None and self._active(s, tenant_id) > max_active:
                s.rollback()
                raise JobLimitReached(max_active)
            s.add(
                JobInput(
                    job_id=job.id,
                    text=source.text,
                    items=[_item_row(i) for i in source.items],
                )
            )
            s.commit()
        return job

    def create_completed_job(
        self,
        tenant_id: str,
        modality: str,
        metadata: dict[str, Any],
        schema_version: str,
        body: dict[str, Any],
        started_at: datetime,
    ) -> Job:
        """Commit a job that is already done (a live stream's summary) and its result in one transaction."""
        now = utcnow()
        job = Job(
            id=str(uuid.uuid4()),
            tenant_id=tenant_id,
            modality=modality,
            status="completed",
            created_at=started_at,
            started_at=started_at,
            completed_at=now,
            attempts=1,
            metadata_=metadata,
        )
        with self.db.session() as s:
            require_region(s, self.db, tenant_id)
            s.add(job)
            s.flush()
            body = {**body, "compliance": compliance_record(s, job.id)}  # region, purposes, lawful basis
            s.add(Result(job_id=job.id, schema_version=schema_version, body=body))
            record_job_event(s, job.id, "analysis.completed")  # same transaction: never lost
            s.commit()
        return job

    def get_job(self, tenant_id: str, job_id: str) -> tuple[Job, Result | None] | None:
        """The tenant's job and its result, or None (also for another tenant's job)."""
        with self.db.session() as s:
            require_region(s, self.db, tenant_id)
            job = s.scalars(select(Job).where(Job.id == job_id, Job.tenant_id == tenant_id)).first()
            if job is None:
                return None
            return job, s.get(Result, job_id)

    def list_jobs(self, tenant_id: str, status: str | None, limit: int, cursor: str | None) -> JobPage:
        """The tenant's jobs, newest first, ``limit`` per page."""
        with self.db.session() as s:
            require_region(s, self.db, tenant_id)
        q = select(Job).where(Job.tenant_id == tenant_id)
        if status:
            q = q.where(Job.status == status)
        rows, next_cursor = newest_first_page(self.db, q, Job.created_at, Job.id, limit, cursor)
        return JobPage(rows, next_cursor)

    def count_active_jobs(self, tenant_id: str) -> int:
        """How many of the tenant's jobs are queued or processing."""
        with self.db.session() as s:
            require_region(s, self.db, tenant_id)
            return self._active(s, tenant_id)

    @staticmethod
    def _active(s: Session, tenant_id: str) -> int:
        q = (
            select(func.count())
            .select_from(Job)
            .where(Job.tenant_id == tenant_id, Job.status.in_(("queued", "processing")))
        )
        return int(s.scalar(q) or 0)

    def delete_job(self, tenant_id: str, job_id: str) -> bool:
        """Erase the job, its input and its result; False when there is no such job."""
        with self.db.session() as s:
            require_region(s, self.db, tenant_id)
            found = s.scalar(select(Job.id).where(Job.id == job_id, Job.tenant_id == tenant_id))
            if not found:
                return False
            for table in (Result, JobInput):
                s.execute(delete(table).where(table.job_id == job_id))
            s.execute(delete(Job).where(Job.id == job_id))
            s.commit()
            return True

    # worker side ------------------------------------------------------------------------------

    def claim(self, job_id: str, lease_seconds: float) -> Claim | None:
        """Take the job if it is queued or its last worker's lease ran out; None if not ours to run."""
        now = utcnow()
        with self.db.session() as s:
            job = s.get(Job, job_id)
            if job is None:
                return None
            claimable = job.status == "queued" or (
                job.status == "processing" and job.lease_expires_at is not None and job.lease_expires_at < now
            )
            if not claimable:
                return None
            attempt = job.attempts + 1
            won = changed(
                s,
                update(Job)
                .where(Job.id == job_id, Job.attempts == job.attempts, Job.status == job.status)
                .values(
                    status="processing",
                    attempts=attempt,
                    started_at=now,
                    lease_expires_at=now + timedelta(seconds=lease_seconds),
                ),
            )
            if not won:
                s.rollback()
                return None
            src = s.get(JobInput, job_id)
            s.commit()
            if src is None:
                return Claim(job_id, attempt, job.modality, None)
            items = tuple(MediaItem(**item) for item in src.items or [])
            return Claim(job_id, attempt, job.modality, src.text, items)

    def renew_lease(self, claim: Claim, lease_seconds: float) -> bool:
        """Extend the lease; False when the job is no longer this attempt's."""
        with self.db.session() as s:
            n = changed(
                s,
                update(Job)
                .where(Job.id == claim.job_id, Job.attempts == claim.attempt, Job.status == "processing")
                .values(lease_expires_at=utcnow() + timedelta(seconds=lease_seconds)),
            )
            s.commit()
            return bool(n)

    def complete(self, claim: Claim, schema_version: str, body: dict[str, Any]) -> bool:
        """Store the result and end the job, once; False if this attempt lost the job meanwhile."""
        with self.db.session() as s:
            n = changed(
                s,
                update(Job)
                .where(Job.id == claim.job_id, Job.attempts == claim.attempt, Job.status == "processing")
                .values(status="completed", completed_at=utcnow(), lease_expires_at=None),
            )
            if not n:
                s.rollback()
                return False
            body = {**body, "compliance": compliance_record(s, claim.job_id)}  # region, purposes, basis
            s.add(Result(job_id=claim.job_id, schema_version=schema_version, body=body))
            s.execute(delete(JobInput).where(JobInput.job_id == claim.job_id))
            record_job_event(s, claim.job_id, "analysis.completed")  # same transaction: never lost
            s.commit()
            return True

    def fail(self, job_id: str, code: str, message: str, attempt: int | None = None) -> bool:
        """End the job as failed with a stable code, dropping its input."""
        cond = [Job.id == job_id, Job.status.in_(("queued", "processing"))]
        if attempt is not None:
            cond.append(Job.attempts == attempt)
        with self.db.session() as s:
            n = changed(
                s,
                update(Job)
                .where(*cond)
                .values(
                    status="failed",
                    completed_at=utcnow(),
                    lease_expires_at=None,
                    error_code=code,
                    error_message=message[:2000],
                ),
            )
            if n:
                s.execute(delete(JobInput).where(JobInput.job_id == job_id))
                record_job_event(s, job_id, "analysis.failed")  # same transaction: never lost
            s.commit()
            return bool(n)

    def release(self, claim: Claim) -> None:
        """Give a job back to the queue after a transient failure (the retry will claim it)."""
        with self.db.session() as s:
            changed(
                s,
                update(Job)
                .where(Job.id == claim.job_id, Job.attempts == claim.attempt, Job.status == "processing")
                .values(status="queued", lease_expires_at=None, enqueued_at=utcnow()),
            )
            s.commit()

    def active_job_ids(self, job_ids: list[str]) -> set[str]:
        """Which of ``job_ids`` still exist and are queued or processing."""
        if not job_ids:
            return set()
        with self.db.session() as s:
            rows = s.scalars(
                select(Job.id).where(Job.id.in_(job_ids), Job.status.in_(("queued", "processing")))
            )
            return set(rows)

    def due_for_requeue(self, requeue_after: float, limit: int = 500) -> list[str]:
        """Jobs whose message looks lost (queued too long) or whose worker died (lease expired).

        Marks each one re-enqueued now, so concurrent sweepers send each message once.
        """
        now = utcnow()
        stale = now - timedelta(seconds=requeue_after)
        due = or_(
            and_(Job.status == "queued", Job.enqueued_at < stale),
            and_(
                Job.status == "processing",
                Job.lease_expires_at < now,
                or_(Job.enqueued_at < Job.lease_expires_at, Job.enqueued_at < stale),
            ),
        )
        picked: list[str] = []
        with self.db.session() as s:
            rows = s.execute(select(Job.id, Job.enqueued_at).where(due).limit(limit)).all()
            for job_id, enqueued_at in rows:
                n = changed(
                    s,
                    update(Job)
                    .where(Job.id == job_id, Job.enqueued_at == enqueued_at)
                    .values(enqueued_at=now),
                )
                if n:
                    picked.append(job_id)
            s.commit()
        return picked

    def job_outbox(self, job_id: str) -> list[str]:
        """The ids of the job's events still in the outbox (``analysis.completed`` / ``analysis.failed``)."""
        with self.db.session() as s:
            return list(s.scalars(select(OutboxEvent.id).where(OutboxEvent.job_id == job_id)))
