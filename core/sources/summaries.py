"""The meeting owner's summary, sent through the delivery queue, and its SLA.

A Source opts in by implementing ``OwnerNotifier.send_summary`` (and, optionally,
``wants_summary(settings) -> bool``, given the tenant's stored settings for that Source). When such a
Source's recording is queued, core records it in ``owner_summaries`` (the SLA clock starts then). When its
job completes, the ``analysis.completed`` fan-out adds one more destination, ``owner:<connection id>``: the
same delivery rows, retries, dead-letter list and replay as webhooks and Sinks. The delivery worker words
the summary (``summary_text``: scores with their quality flags, never a verdict) and hands it to the Source.

``check_sla`` (periodic) replays dead summary deliveries and, once per recording, raises an alert (a log
line, ``echodepth_owner_summary_sla_missed_total`` and an ``analysis.sla_missed`` event) for any recording
whose summary is still undelivered ``owner_summary_sla_hours`` (or the tenant's ``summary_sla_hours``) after
it was queued.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from prometheus_client import Counter
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from core.broker import Messages
from core.connections.models import Connection
from core.delivery.models import WebhookDelivery
from core.delivery.store import DeliveryClaim, DeliveryStore, NewEvent, ensure_endpoint
from core.sdk.contracts import DeliveryReceipt, OwnerNotifier, OwnerSummary
from core.sdk.errors import AuthError, ConnectorError, InputError
from core.sources.access import SourceAccess
from core.sources.models import SourceSetting
from core.sources.records import OwnerSummaryRecord
from core.storage.models import Job, utcnow
from core.storage.outbox import envelope

__all__ = ["OwnerSummaries", "OWNER", "OWNER_URL_PREFIX", "summary_text"]

log = logging.getLogger("echodepth.sources.summaries")
OWNER = "owner"
OWNER_URL_PREFIX = "owner:"
_ENDPOINTS = uuid.UUID("0b7f4c8e-3a51-4d2e-9c61-7e5a2d8f1b34")
SENT = Counter("echodepth_owner_summaries_total", "Owner summaries sent", ["source", "outcome"])
SLA_MISSED = Counter(
    "echodepth_owner_summary_sla_missed_total", "Recordings whose owner summary missed the SLA", ["source"]
)
SLA_EVENT = "analysis.sla_missed"


def _score(value: Any) -> str:
    return "n/a" if value is None else f"{float(value):.2f}"


def summary_text(result: Mapping[str, Any], topic: str, url: str) -> tuple[float | None, str, str]:
    """(trust score, quality, text) of the owner's summary of ``result`` (a result schema v1 document)."""
    trust = result.get("trust") or {}
    score = result.get("trust_score")
    flags = list((result.get("quality") or {}).get("flags") or [])
    quality = ", ".join(flags) if flags else "no quality flags"
    vad = result.get("vad") or {}
    lines = [
        f"EchoDepth has analysed the recording of {topic or 'your meeting'}.",
        "",
        f"Trust Score: {'n/a' if score is None else f'{float(score):.0f}/100'}"
        f" (band {trust.get('band') or 'n/a'}, confidence {_score(trust.get('confidence'))}).",
        f"Signal quality: {quality}.",
        f"Valence {_score(vad.get('valence'))}, arousal {_score(vad.get('arousal'))},"
        f" dominance {_score(vad.get('dominance'))} (0 to 1).",
        "",
        "The Trust Score is a composite of signal congruence, stress markers and signal quality. It is not a"
        " lie detector and says nothing about anyone's honesty: use it only to decide where to look more"
        " closely.",
        "",
        f"Full result, with the evidence behind every number: {url}",
    ]
    return (None if score is None else float(score)), quality, "\n".join(lines)


class OwnerSummaries:
    """Owner summaries as delivery destinations, and their SLA."""

    def __init__(self, sources: SourceAccess, deliveries: DeliveryStore, messages: Messages) -> None:
        self.sources, self.deliveries, self.messages = sources, deliveries, messages
        self.settings, self.db = sources.settings, sources.db

    # which recordings ---------------------------------------------------------------------------

    def _tenant_settings(self, tenant_id: str, key: str) -> dict[str, Any]:
        with self.db.session() as s:
            row = s.get(SourceSetting, (tenant_id, key))
            return dict(row.settings) if row is not None else {}

    def notifier(self, key: str, tenant_id: str) -> OwnerNotifier | None:
        """The Source when it sends owner summaries for this tenant, else None."""
        try:
            source = self.sources.source(key)
        except InputError:
            return None
        if not isinstance(source, OwnerNotifier):
            return None
        wants = getattr(source, "wants_summary", None)
        if wants is not None and not wants(self._tenant_settings(tenant_id, key)):
            return None
        return source

    def track(self, key: str, conn: Connection, job_id: str) -> bool:
        """Start the SLA clock of a queued recording whose owner gets a summary; False when none is due."""
        if self.notifier(key, conn.tenant_id) is None:
            return False
        row = OwnerSummaryRecord(
            job_id=job_id, tenant_id=conn.tenant_id, source=key, connection_id=conn.id, recorded_at=utcnow()
        )
        with self.db.session() as s:
            s.add(row)
            try:
                s.commit()
            except IntegrityError:
                return False
        return True

    def _record(self, job_id: str) -> OwnerSummaryRecord | None:
        with self.db.session() as s:
            return s.get(OwnerSummaryRecord, job_id)

    # fan-out and delivery -----------------------------------------------------------------------

    def targets(self, event: NewEvent) -> list[tuple[str, str]]:
        """The owner's destination for a tracked recording's ``analysis.completed``."""
        if event.type != "analysis.completed":
            return []
        job_id = str((event.payload.get("data") or {}).get("job_id") or "")
        row = self._record(job_id) if job_id else None
        if row is None or row.status == "delivered":
            return []
        endpoint_id = self._ensure_endpoint(row)
        return [(endpoint_id, OWNER_URL_PREFIX + row.connection_id)]

    def _ensure_endpoint(self, row: OwnerSummaryRecord) -> str:
        """The connection's owner-summary endpoint row (a stable id), created once even under a race."""
        endpoint_id = str(uuid.uuid5(_ENDPOINTS, row.connection_id))
        ensure_endpoint(
            self.db,
            self.sources.vault,
            endpoint_id=endpoint_id,
            tenant_id=row.tenant_id,
            kind=OWNER,
            url=OWNER_URL_PREFIX + row.connection_id,
            description=f"{row.source} meeting owners",
        )
        return endpoint_id

    @staticmethod
    def owns(claim: DeliveryClaim) -> bool:
        """Whether the claim is an owner summary."""
        return claim.url.startswith(OWNER_URL_PREFIX)

    def summary(self, row: OwnerSummaryRecord, result: Mapping[str, Any]) -> OwnerSummary:
        """The summary core words for the recording's owner."""
        meeting = dict((result.get("metadata") or {}).get("source") or {})
        url = f"{self.settings.public_url.rstrip('/')}/v1/result/{row.job_id}"
        topic = str(meeting.get("topic") or "")
        score, quality, text = summary_text(result, topic, url)
        return OwnerSummary(
            tenant_id=row.tenant_id,
            job_id=row.job_id,
            source=row.source,
            account_id=str(meeting.get("account_id") or ""),
            meeting_id=str(meeting.get("meeting_id") or meeting.get("meeting_uuid") or ""),
            topic=topic,
            owner=str(
                meeting.get("organizer_id") or meeting.get("host_id") or meeting.get("host_email") or ""
            ),
            trust_score=score,
            quality=quality,
            text=text,
            result_url=url,
            metadata=meeting,
        )

    def send(self, claim: DeliveryClaim) -> DeliveryReceipt:
        """Send one claimed summary through its Source; typed errors for the delivery queue."""
        result = dict(claim.payload.get("data") or {})
        row = self._record(str(result.get("job_id") or ""))
        source = self.notifier(row.source, row.tenant_id) if row is not None else None
        if row is None or source is None:
            raise AuthError(OWNER, "summary_gone", "the recording or its Source's summaries are gone")
        self._set(row.job_id, delivery_id=claim.delivery_id)
        summary = self.summary(row, result)
        spec = self.sources.spec(row.source)
        try:
            receipt = self.sources.with_token(
                row.connection_id,
                lambda t, _: source.send_summary(self.sources.summary_session(row.source, t), spec, summary),
            )
        except ConnectorError as exc:
            SENT.labels(row.source, exc.code).inc()
            raise
        self._set(row.job_id, status="delivered", delivered_at=utcnow())
        SENT.labels(row.source, "delivered").inc()
        return receipt

    def _set(self, job_id: str, **values: Any) -> None:
        with self.db.session() as s:
            s.execute(update(OwnerSummaryRecord).where(OwnerSummaryRecord.job_id == job_id).values(**values))
            s.commit()

    # SLA ----------------------------------------------------------------------------------------

    def sla(self, tenant_id: str, key: str) -> timedelta:
        """The tenant's SLA for ``key``'s owner summaries."""
        hours = self._tenant_settings(tenant_id, key).get("summary_sla_hours")
        return timedelta(hours=float(hours or self.settings.owner_summary_sla_hours))

    def check_sla(self, now: datetime | None = None) -> list[str]:
        """Replay dead summaries; alert once for each recording past its SLA and undelivered. Alerted ids."""
        now = now or utcnow()
        with self.db.session() as s:
            rows = list(s.scalars(select(OwnerSummaryRecord).where(OwnerSummaryRecord.status != "delivered")))
        self._replay_dead(rows)
        alerted: list[str] = []
        for row in rows:
            if row.alerted_at is None and row.recorded_at + self.sla(row.tenant_id, row.source) <= now:
                self._alert(row, now)
                alerted.append(row.job_id)
        return alerted

    def _replay_dead(self, rows: list[OwnerSummaryRecord]) -> None:
        for row in rows:
            if row.delivery_id is None:
                continue
            with self.db.session() as s:
                found = s.get(WebhookDelivery, row.delivery_id)
            if found is not None and found.status == "dead":
                new_id = self.deliveries.replay(row.tenant_id, found.id)
                self._set(row.job_id, delivery_id=new_id)
                self.messages.deliver(new_id)
                log.info("owner summary of job %s: dead delivery replayed as %s", row.job_id, new_id)

    def _alert(self, row: OwnerSummaryRecord, now: datetime) -> None:
        with self.db.session() as s:
            job = s.get(Job, row.job_id)
        sla = self.sla(row.tenant_id, row.source)
        data = {
            "job_id": row.job_id,
            "source": row.source,
            "connection_id": row.connection_id,
            "recorded_at": row.recorded_at.isoformat(),
            "sla_hours": sla.total_seconds() / 3600,
            "job_status": job.status if job is not None else "erased",
            "summary_status": row.status,
        }
        log.warning(
            "owner summary of %s job %s is undelivered %.1f h after the recording (SLA %.1f h)",
            row.source,
            row.job_id,
            (now - row.recorded_at).total_seconds() / 3600,
            data["sla_hours"],
        )
        SLA_MISSED.labels(row.source).inc()
        self._set(row.job_id, alerted_at=now)
        outbox_id = self.deliveries.record(NewEvent(row.tenant_id, SLA_EVENT, envelope(SLA_EVENT, data)))
        self.messages.fan_out(outbox_id)
