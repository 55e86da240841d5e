"""The audit log: record an entry inside the caller's transaction, list a tenant's entries newest first."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.governance.models import AuditEntry
from core.storage.db import Database
from core.storage.models import utcnow
from core.storage.queries import newest_first_page

__all__ = ["AuditLog", "AuditPage", "record", "SYSTEM", "CLI"]

SYSTEM = "system"  # the periodic purge
CLI = "cli"  # an operator at the command line


def record(
    s: Session,
    tenant_id: str,
    actor: str,
    action: str,
    target: str | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    """Add an audit entry within ``s`` (the caller commits, so the entry and the change land together)."""
    s.add(
        AuditEntry(
            id=str(uuid.uuid4()),
            tenant_id=tenant_id,
            at=utcnow(),
            actor=actor[:80],
            action=action,
            target=target,
            detail=detail,
        )
    )


@dataclass(frozen=True)
class AuditPage:
    """One page of audit entries and the cursor of the next (None at the end)."""

    entries: list[AuditEntry]
    next_cursor: str | None


class AuditLog:
    """Writes and reads the ``audit_log`` table of one Database."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def add(
        self,
        tenant_id: str,
        actor: str,
        action: str,
        target: str | None = None,
        detail: dict[str, Any] | None = None,
    ) -> None:
        """Record one entry in its own transaction."""
        with self.db.session() as s:
            record(s, tenant_id, actor, action, target, detail)
            s.commit()

    def page(self, tenant_id: str, action: str | None, limit: int, cursor: str | None) -> AuditPage:
        """The tenant's entries, newest first, ``limit`` per page."""
        q = select(AuditEntry).where(AuditEntry.tenant_id == tenant_id)
        if action:
            q = q.where(AuditEntry.action == action)
        rows, next_cursor = newest_first_page(self.db, q, AuditEntry.at, AuditEntry.id, limit, cursor)
        return AuditPage(rows, next_cursor)
