"""The Result page's parsed results, kept in memory for the next view (a result is opened, then reopened,
and its plots fetch their data right after): each entry is a finished job's result v1 document and its
chart data as JSON text. Every use first checks the job row is still there and unchanged (one indexed
query), so an erased, purged or re-run job is never served from here."""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from core.console import result_view as view
from core.storage.db import Database
from core.storage.models import Job
from core.storage.results import result_v1
from core.storage.store import Store

__all__ = ["CachedResult", "ResultCache"]

ENTRIES = 16  # a handful of results per API process; the largest (30 min) is about 1 MB of Python objects


@dataclass(frozen=True)
class CachedResult:
    """A job's result v1 document, its chart data and that data as JSON (served to the page's script)."""

    result: dict[str, Any]
    charts: dict[str, Any]
    charts_json: str
    version: tuple[str, datetime | None]


def _version(db: Database, tenant_id: str, job_id: str) -> tuple[str, datetime | None] | None:
    with db.session() as s:
        row = s.execute(
            select(Job.status, Job.completed_at).where(Job.id == job_id, Job.tenant_id == tenant_id)
        ).first()
    return None if row is None else (str(row[0]), row[1])


class ResultCache:
    """A small LRU of parsed results by (tenant, job), checked against the job row at every use."""

    def __init__(self, entries: int = ENTRIES) -> None:
        self.entries = entries
        self._items: OrderedDict[tuple[str, str], CachedResult] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, store: Store, db: Database, tenant_id: str, job_id: str) -> CachedResult | None:
        """The job's parsed result (from memory when the job is unchanged); None when there is no such job."""
        key = (tenant_id, job_id)
        version = _version(db, tenant_id, job_id)
        if version is None:
            self.forget(tenant_id, job_id)
            return None
        with self._lock:
            found = self._items.get(key)
            if found is not None and found.version == version:
                self._items.move_to_end(key)
                return found
        loaded = store.get_job(tenant_id, job_id)
        if loaded is None:
            return None
        result: dict[str, Any] = result_v1(*loaded).model_dump(mode="json")
        charts = view.chart_data(result)
        made = CachedResult(result, charts, json.dumps(charts, separators=(",", ":")), version)
        if version[0] in ("completed", "failed"):  # a running job's result is still to come
            with self._lock:
                self._items[key] = made
                while len(self._items) > self.entries:
                    self._items.popitem(last=False)
        return made

    def forget(self, tenant_id: str, job_id: str) -> None:
        """Drop the job's entry (it was erased)."""
        with self._lock:
            self._items.pop((tenant_id, job_id), None)
