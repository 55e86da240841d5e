"""What core keeps for meeting Sources beyond jobs: vendor subscriptions (Graph), owner-summary tracking."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.storage.models import Base, utcnow

__all__ = ["SourceSubscription", "OwnerSummaryRecord"]


class SourceSubscription(Base):
    """One change-notification subscription per (connection, resource): ``creating`` → ``active``, or
    ``removed`` (the vendor dropped it; recreated). ``action`` is a pending lifecycle task: ``renew``,
    ``recreate`` or ``catch_up``. The ``clientState`` is a sealed vault secret."""

    __tablename__ = "source_subscriptions"
    __table_args__ = (UniqueConstraint("connection_id", "resource", name="uq_source_subscriptions_resource"),)
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    connection_id: Mapped[str] = mapped_column(ForeignKey("connections.id", ondelete="CASCADE"))
    source: Mapped[str] = mapped_column(String(40))
    resource: Mapped[str] = mapped_column(String(300))
    external_id: Mapped[str | None] = mapped_column(String(200), index=True)
    client_state_secret_id: Mapped[str | None] = mapped_column(
        ForeignKey("vault_secrets.id", ondelete="SET NULL")
    )
    expires_at: Mapped[datetime | None]
    status: Mapped[str] = mapped_column(String(16), default="creating")
    action: Mapped[str | None] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class OwnerSummaryRecord(Base):
    """A recording whose owner must get a summary: ``pending`` until the summary is delivered; the SLA
    alert is raised once (``alerted_at``)."""

    __tablename__ = "owner_summaries"
    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    source: Mapped[str] = mapped_column(String(40))
    connection_id: Mapped[str] = mapped_column(String(36))
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    delivery_id: Mapped[str | None] = mapped_column(String(36))
    delivered_at: Mapped[datetime | None]
    alerted_at: Mapped[datetime | None]
