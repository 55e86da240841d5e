"""The audit log: record an entry inside the caller's transaction, list a tenant's entries newest first."""

from __future__ import annotations

import base64
import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from core.governance.models import AuditEntry
from core.sdk.errors import InputError
from core.storage.db import Database
from core.storage.models import utcnow

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


def _encode(entry: AuditEntry) -> str:
    raw = json.dumps([entry.at.isoformat(), entry.id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode(cursor: str) -> tuple[datetime, str]:
    try:
        at, entry_id = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        return datetime.fromisoformat(at), str(entry_id)
    except (ValueError, TypeError) as exc:
        raise InputError("invalid_input", "cursor is not one this API issued", 422) from exc


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
        if cursor:
            at, entry_id = _decode(cursor)
            q = q.where(or_(AuditEntry.at < at, and_(AuditEntry.at == at, AuditEntry.id < entry_id)))
        q = q.order_by(AuditEntry.at.desc(), AuditEntry.id.desc()).limit(limit + 1)
        with self.db.session() as s:
            rows = list(s.scalars(q))
        more = len(rows) > limit
        rows = rows[:limit]
        return AuditPage(rows, _encode(rows[-1]) if more and rows else None)
