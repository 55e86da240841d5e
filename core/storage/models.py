"""Tables: tenants, API keys, jobs, job inputs and results (SQLAlchemy 2 typed mappings)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, DateTime, ForeignKey, Index, Integer, String, Text, TypeDecorator
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

__all__ = ["Base", "Tenant", "ApiKey", "Job", "JobInput", "Result", "utcnow"]


def utcnow() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Stores UTC; always gives back aware datetimes (SQLite drops the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    """Declarative base for every EchoDepth table."""

    type_annotation_map = {datetime: UTCDateTime, dict[str, Any]: JSON}


class Tenant(Base):
    """An organisation using EchoDepth; every row below belongs to one."""

    __tablename__ = "tenants"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Data governance (core.governance): region for the compliance guard, retention per the DPA (None =
    # ECHODEPTH_RESULT_RETENTION_DAYS), declared purposes and the lawful basis recorded on each result.
    region: Mapped[str] = mapped_column(String(8), default="uk", server_default="uk")
    retention_days: Mapped[int | None] = mapped_column(Integer)
    purposes: Mapped[list[str] | None] = mapped_column(JSON)
    consent_basis: Mapped[str | None] = mapped_column(String(40))
    rate_tier: Mapped[str | None] = mapped_column(String(40))  # config/tiers.yaml; None = the default tier
    # the organisation's own mail domains (core.governance.policy): a speaker at one is internal (the rep)
    own_domains: Mapped[list[str] | None] = mapped_column(JSON)


class ApiKey(Base):
    """A server-to-server key: only its SHA-256 and a short visible prefix are stored."""

    __tablename__ = "api_keys"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    prefix: Mapped[str] = mapped_column(String(32), unique=True)
    key_hash: Mapped[str] = mapped_column(String(64))
    name: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    scopes: Mapped[list[str]] = mapped_column(JSON, default=list)  # core.api.scopes
    rate_tier: Mapped[str | None] = mapped_column(String(40))  # overrides the tenant's tier


class Job(Base):
    """One analysis request and where it is in its life."""

    __tablename__ = "jobs"
    __table_args__ = (
        Index("ix_jobs_tenant_created", "tenant_id", "created_at", "id"),
        Index("ix_jobs_status_enqueued", "status", "enqueued_at"),
    )
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    modality: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20), default="queued")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    enqueued_at: Mapped[datetime | None]
    started_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]
    lease_expires_at: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error_code: Mapped[str | None] = mapped_column(String(64))
    error_message: Mapped[str | None] = mapped_column(Text)
    metadata_: Mapped[dict[str, Any]] = mapped_column("metadata", default=dict)
    webhook_url: Mapped[str | None] = mapped_column(String(2048))


class JobInput(Base):
    """What a job analyses (text), kept only until the job ends."""

    __tablename__ = "job_inputs"
    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True)
    text: Mapped[str | None] = mapped_column(Text)
    # Media items, in order: [{"role": "audio"|"video"|"image", "filename": str|None, "url": str|None}].
    # An item without a URL was uploaded and sits in the spool under its index.
    items: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)


class Result(Base):
    """The engine's report for a completed job (the analysis part of result schema v1)."""

    __tablename__ = "results"
    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True)
    schema_version: Mapped[str] = mapped_column(String(8))
    body: Mapped[dict[str, Any]]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
