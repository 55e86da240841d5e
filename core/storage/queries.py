"""Query helpers every store shares: counting changed rows, and newest-first keyset pages with cursors."""

from __future__ import annotations

import base64
import json
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import CursorResult, Executable, Select, and_, or_
from sqlalchemy.orm import InstrumentedAttribute, Session

from core.sdk.errors import InputError
from core.storage.db import Database

__all__ = ["changed", "newest_first_page"]

T = TypeVar("T")


def changed(s: Session, stmt: Executable) -> int:
    """Execute a write and return how many rows it changed."""
    result: CursorResult[Any] = s.execute(stmt)  # type: ignore[assignment]
    return int(result.rowcount)


def _encode(at: datetime, row_id: str) -> str:
    raw = json.dumps([at.isoformat(), row_id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode(cursor: str) -> tuple[datetime, str]:
    try:
        at, row_id = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        return datetime.fromisoformat(at), str(row_id)
    except (ValueError, TypeError) as exc:
        raise InputError("invalid_input", "cursor is not one this API issued", 422) from exc


def newest_first_page(
    db: Database,
    query: Select[T],
    at: InstrumentedAttribute[datetime],
    row_id: InstrumentedAttribute[str],
    limit: int,
    cursor: str | None,
) -> tuple[list[T], str | None]:
    """One page of ``query`` ordered by (``at``, ``row_id``) descending, and the next page's cursor."""
    if cursor:
        after_at, after_id = _decode(cursor)
        query = query.where(or_(at < after_at, and_(at == after_at, row_id < after_id)))
    query = query.order_by(at.desc(), row_id.desc()).limit(limit + 1)
    with db.session() as s:
        rows = list(s.scalars(query))
    more = len(rows) > limit
    rows = rows[:limit]
    if not (more and rows):
        return rows, None
    last = rows[-1]
    return rows, _encode(getattr(last, at.key), getattr(last, row_id.key))
