"""A tenant's data as JSON lines: one ``{"type", "data"}`` object per line, ending with a ``summary`` line.

Types, in order: ``tenant``, ``job`` (as ``GET /v1/result`` shows it, result included), ``webhook_endpoint``
(never its secret), ``connection`` (never its tokens), ``audit``. Rows are read in short keyset-paged
queries, so a slow reader holds no transaction open.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

from sqlalchemy import Select, select

from core.connections.models import Connection
from core.delivery.models import ENDPOINT, WebhookEndpoint
from core.governance.models import AuditEntry
from core.governance.policy import PolicyStore
from core.storage.db import Database
from core.storage.models import Job, Result
from core.storage.results import result_v1

__all__ = ["TenantExport"]

_PAGE = 200


def _line(kind: str, data: dict[str, Any]) -> bytes:
    return (json.dumps({"type": kind, "data": data}, default=str, separators=(",", ":")) + "\n").encode()


def _endpoint(e: WebhookEndpoint) -> dict[str, Any]:
    return {
        "id": e.id,
        "url": e.url,
        "description": e.description,
        "events": list(e.events or []),
        "status": e.status,
        "disabled_reason": e.disabled_reason,
        "created_at": e.created_at.isoformat(),
    }


def _connection(c: Connection) -> dict[str, Any]:
    return {
        "id": c.id,
        "provider": c.provider,
        "external_account_id": c.external_account_id,
        "account": c.account or {},
        "scopes": list(c.scopes or []),
        "status": c.status,
        "created_at": c.created_at.isoformat(),
    }


def _audit(a: AuditEntry) -> dict[str, Any]:
    return {
        "id": a.id,
        "at": a.at.isoformat(),
        "actor": a.actor,
        "action": a.action,
        "target": a.target,
        "detail": a.detail,
    }


class TenantExport:
    """Streams everything stored for one tenant."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def lines(self, tenant_id: str) -> Iterator[bytes]:
        """The export, line by line."""
        policy = PolicyStore(self.db).get(tenant_id)
        yield _line(
            "tenant",
            {
                "id": policy.tenant_id,
                "name": policy.name,
                "region": policy.region,
                "purposes": list(policy.purposes),
                "consent_basis": policy.consent_basis,
                "retention_days": policy.retention_days,
            },
        )
        counts = {"job": 0, "webhook_endpoint": 0, "connection": 0, "audit": 0}
        for jobs in self._pages(select(Job).where(Job.tenant_id == tenant_id), Job.id):
            with self.db.session() as s:
                results = {
                    r.job_id: r
                    for r in s.scalars(select(Result).where(Result.job_id.in_([j.id for j in jobs])))
                }
            for job in jobs:
                counts["job"] += 1
                yield _line("job", result_v1(job, results.get(job.id)).model_dump(mode="json"))
        tables: list[tuple[str, Any, Callable[[Any], dict[str, Any]]]] = [
            ("webhook_endpoint", WebhookEndpoint, _endpoint),
            ("connection", Connection, _connection),
            ("audit", AuditEntry, _audit),
        ]
        for kind, model, render in tables:
            q = select(model).where(model.tenant_id == tenant_id)
            if model is WebhookEndpoint:
                q = q.where(WebhookEndpoint.kind == ENDPOINT)  # the job-URL signer is a secret, not data
            for rows in self._pages(q, model.id):
                counts[kind] += len(rows)
                yield from (_line(kind, render(row)) for row in rows)
        yield _line("summary", {"counts": counts, "complete": True})

    def _pages(self, query: Select[Any], key: Any) -> Iterator[list[Any]]:
        """The query's rows in pages ordered by ``key`` (the id), each read in its own short session."""
        after: str | None = None
        while True:
            q = query.order_by(key).limit(_PAGE)
            if after is not None:
                q = q.where(key > after)
            with self.db.session() as s:
                rows = list(s.scalars(q))
            if rows:
                yield rows
            if len(rows) < _PAGE:
                return
            after = rows[-1].id
