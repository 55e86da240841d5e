"""The event outbox: an event is written in the same transaction as the state change it reports, then
fanned out to webhook deliveries (``core.delivery``), which deletes the row in the fan-out's transaction.
A worker that dies between the two leaves the row behind; the delivery sweep fans it out later, once."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from core.storage.models import Base, Job, utcnow

__all__ = ["OutboxEvent", "envelope", "record_event", "record_job_event"]


class OutboxEvent(Base):
    """One event not yet fanned out. Job events carry no payload: it is built from the job at fan-out."""

    __tablename__ = "event_outbox"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    event_type: Mapped[str] = mapped_column(String(64))
    job_id: Mapped[str | None] = mapped_column(
        String(36), index=True
    )  # no foreign key: erasing a job is fine
    payload: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


def envelope(event_type: str, data: dict[str, Any]) -> dict[str, Any]:
    """The JSON body of one event: ``{"type", "timestamp", "data"}``."""
    return {"type": event_type, "timestamp": utcnow().isoformat(), "data": data}


def record_event(s: Session, tenant_id: str, event_type: str, payload: dict[str, Any]) -> OutboxEvent:
    """Add an event to the outbox within ``s`` (the caller commits)."""
    row = OutboxEvent(
        id=str(uuid.uuid4()), tenant_id=tenant_id, event_type=event_type, payload=payload, created_at=utcnow()
    )
    s.add(row)
    return row


def record_job_event(s: Session, job_id: str, event_type: str) -> None:
    """Add ``analysis.completed`` / ``analysis.failed`` for ``job_id`` within the job's final transaction."""
    tenant_id = s.scalar(select(Job.tenant_id).where(Job.id == job_id))
    if tenant_id is not None:
        s.add(
            OutboxEvent(
                id=str(uuid.uuid4()),
                tenant_id=tenant_id,
                event_type=event_type,
                job_id=job_id,
                created_at=utcnow(),
            )
        )
