"""Periodic summaries (Slack's daily and weekly digests) delivered through the ordinary delivery log.

Every sweep interval (core.scheduler) asks each active connection whose Sink is a ``SummarySink`` which
summary periods have ended (``summaries_due``: the latest complete local day or week of each rule), counts
the tenant's completed analyses of each period (mean Trust Score, the lowest ones with links), and adds one
``analysis.summary`` delivery. The delivery row's id is derived from (connection, period key), so a restart,
a second worker or the next sweep finds the row and adds nothing: one summary per period, retried and
dead-lettered like any delivery. Only the latest period is considered: a summary whose period passed while
no worker ran is skipped.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from core.connections.models import Connection
from core.delivery.events import envelope
from core.delivery.models import WebhookDelivery
from core.delivery.sinks import SINK_URL_PREFIX, SinkDeliveries
from core.sdk.summaries import SUMMARY_EVENT, SummaryPeriod, SummarySink
from core.storage.models import Job, Result, utcnow

__all__ = ["Summaries", "summary_delivery_id"]

log = logging.getLogger("echodepth.delivery.summaries")
_NAMESPACE = uuid.UUID("2b6f3c1e-8d4a-4f0b-9a5e-7c1d2e3f4a5b")


def summary_delivery_id(connection_id: str, key: str) -> str:
    """The one delivery row of a connection's summary for a period."""
    return str(uuid.uuid5(_NAMESPACE, f"{connection_id}:{key}"))


def _source(metadata: Mapping[str, Any]) -> str:
    value = metadata.get("source")
    return str(value.get("provider") or "api") if isinstance(value, Mapping) else str(value or "api")


def _title(metadata: Mapping[str, Any]) -> str:
    source = metadata.get("source")
    topic = source.get("topic") if isinstance(source, Mapping) else None
    return str(metadata.get("title") or topic or "")


class Summaries:
    """Adds the due summary deliveries of every summarising Sink connection."""

    def __init__(
        self, sinks: SinkDeliveries, send: Callable[[str], bool], clock: Callable[[], datetime] = utcnow
    ) -> None:
        self.sinks, self.send, self.clock = sinks, send, clock

    @property
    def db(self) -> Any:
        """The database the delivery log lives in."""
        return self.sinks.store.db

    def _connections(self) -> list[tuple[Connection, SummarySink]]:
        with self.db.session() as s:
            rows = list(s.scalars(select(Connection).where(Connection.status == "active")))
        found: list[tuple[Connection, SummarySink]] = []
        for conn in rows:
            sink = self.sinks._sink_of(conn.provider)
            if isinstance(sink, SummarySink):
                found.append((conn, sink))
        return found

    def _stats(self, tenant_id: str, period: SummaryPeriod, link: str) -> dict[str, Any]:
        """Count, mean Trust Score and the lowest analyses of the tenant that ended in the period."""
        q = (
            select(Job.id, Job.modality, Job.metadata_, Result.body["trust_score"].as_float())
            .join(Result, Result.job_id == Job.id)
            .where(Job.tenant_id == tenant_id, Job.status == "completed")
            .where(
                Job.completed_at >= period.start.astimezone(UTC),
                Job.completed_at < period.end.astimezone(UTC),
            )
        )
        with self.db.session() as s:
            rows = [
                (job_id, meta or {}, score)
                for job_id, modality, meta, score in s.execute(q)
                if (not period.modalities or modality in period.modalities)
                and (not period.sources or _source(meta or {}) in period.sources)
            ]
        scored = sorted((score, job_id, meta) for job_id, meta, score in rows if score is not None)
        lowest = [
            {
                "job_id": job_id,
                "trust_score": score,
                "title": _title(meta),
                "link": link.format(job_id=job_id) if link else None,
            }
            for score, job_id, meta in scored[: period.lowest]
        ]
        mean = sum(score for score, _, _ in scored) / len(scored) if scored else None
        return {"count": len(rows), "scored": len(scored), "mean_trust_score": mean, "lowest": lowest}

    def _data(self, conn: Connection, period: SummaryPeriod, link: str) -> dict[str, Any]:
        return {
            "key": period.key,
            "target": period.target,
            "label": period.label,
            "start": period.start.isoformat(),
            "end": period.end.isoformat(),
            **self._stats(conn.tenant_id, period, link),
        }

    def _add(self, conn: Connection, period: SummaryPeriod, link: str) -> str | None:
        """The new delivery's id; None when the period's summary row already exists."""
        delivery_id = summary_delivery_id(conn.id, period.key)
        with self.db.session() as s:
            if s.get(WebhookDelivery, delivery_id) is not None:
                return None
        self.sinks._ensure_endpoint(conn)
        now = utcnow()
        row = WebhookDelivery(
            id=delivery_id,
            tenant_id=conn.tenant_id,
            endpoint_id=conn.id,
            message_id="sum_" + uuid.UUID(delivery_id).hex,
            event_type=SUMMARY_EVENT,
            url=SINK_URL_PREFIX + conn.id,
            payload=envelope(SUMMARY_EVENT, self._data(conn, period, link)),
            status="pending",
            attempts=0,
            next_attempt_at=now,
            enqueued_at=now,
            created_at=now,
        )
        with self.db.session() as s:
            s.add(row)
            try:
                s.commit()
            except IntegrityError:  # another worker added it first
                s.rollback()
                return None
        return delivery_id

    def add_due(self) -> list[str]:
        """Add and send every summary whose period has ended and that has no delivery yet; their ids."""
        added = []
        now = self.clock()
        for conn, sink in self._connections():
            spec = self.sinks.spec_for(conn)
            for period in sink.summaries_due(spec, now):
                delivery_id = self._add(conn, period, str(spec.settings.get("result_url") or ""))
                if delivery_id is not None:
                    log.info("summary %s of connection %s queued", period.key, conn.id)
                    self.send(delivery_id)
                    added.append(delivery_id)
        return added
