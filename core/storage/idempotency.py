"""``Idempotency-Key`` on POST /v1/analyse/*: one job per (tenant, key) for 24 hours.

A retried request with the same key and the same body gets the original job back; the same key with a
different body is refused (``422 idempotency_key_reused``). The fingerprint is of the request's meaning
(validated JSON, or the uploaded files' SHA-256 and the form fields), so a client may re-encode the body
(a new multipart boundary) on retry.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import DateTime, Index, String, delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from core.sdk.errors import InputError
from core.storage.db import Database
from core.storage.models import Base, Job, utcnow

__all__ = ["IdempotencyKey", "IdempotencyStore", "Claimed", "IDEMPOTENCY_TTL", "check_key"]

IDEMPOTENCY_TTL = timedelta(hours=24)
_MAX_KEY_LEN = 255


class IdempotencyKey(Base):
    """A client's idempotency key and the job it created (the job id is not a foreign key: a deleted job
    frees the key)."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (Index("ix_idempotency_keys_created", "created_at"),)
    tenant_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    route: Mapped[str] = mapped_column(String(40))
    fingerprint: Mapped[str] = mapped_column(String(64))
    job_id: Mapped[str] = mapped_column(String(36))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


@dataclass(frozen=True)
class Claimed:
    """The outcome of claiming a key: ``job_id`` is the job that owns it (ours or the original)."""

    job_id: str
    replayed: bool


def check_key(value: str | None) -> str | None:
    """The header value, or None when absent; 422 ``invalid_input`` when it is not a usable key."""
    if value is None:
        return None
    key = value.strip()
    if not key or len(key) > _MAX_KEY_LEN or not key.isascii() or not key.isprintable():
        raise InputError("invalid_input", "Idempotency-Key must be 1-255 printable ASCII characters", 422)
    return key


def _aware(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


class IdempotencyStore:
    """Lookups and claims of idempotency keys on one Database."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def _live(self, tenant_id: str, key: str) -> IdempotencyKey | None:
        """The key's row if it is younger than the TTL and its job still exists; stale rows are removed."""
        with self.db.session() as s:
            row = s.get(IdempotencyKey, (tenant_id, key))
            if row is None:
                return None
            fresh = _aware(row.created_at) > utcnow() - IDEMPOTENCY_TTL
            exists = s.scalar(select(Job.id).where(Job.id == row.job_id, Job.tenant_id == tenant_id))
            if fresh and exists:
                s.expunge(row)
                return row
            s.execute(
                delete(IdempotencyKey).where(
                    IdempotencyKey.tenant_id == tenant_id,
                    IdempotencyKey.key == key,
                    IdempotencyKey.created_at == row.created_at,
                )
            )
            s.commit()
            return None

    def lookup(self, tenant_id: str, key: str, route: str, fingerprint: str) -> str | None:
        """The original job id for a repeat of the same request; None for a new key; 422 for a reuse."""
        row = self._live(tenant_id, key)
        if row is None:
            return None
        if row.route != route or row.fingerprint != fingerprint:
            raise InputError(
                "idempotency_key_reused",
                "this Idempotency-Key was already used with a different request in the last 24 hours",
                422,
            )
        return row.job_id

    def claim(self, tenant_id: str, key: str, route: str, fingerprint: str, job_id: str) -> Claimed:
        """Bind the key to ``job_id``; if a concurrent request won the key, its job (or a 422)."""
        with self.db.session() as s:
            s.execute(
                delete(IdempotencyKey).where(
                    IdempotencyKey.tenant_id == tenant_id,
                    IdempotencyKey.created_at < utcnow() - IDEMPOTENCY_TTL,
                )
            )
            s.add(
                IdempotencyKey(
                    tenant_id=tenant_id, key=key, route=route, fingerprint=fingerprint, job_id=job_id
                )
            )
            try:
                s.commit()
                return Claimed(job_id, replayed=False)
            except IntegrityError:
                s.rollback()
        original = self.lookup(tenant_id, key, route, fingerprint)
        if original is None:  # the winner's job vanished in between: take the key over
            return self.claim(tenant_id, key, route, fingerprint, job_id)
        return Claimed(original, replayed=True)
