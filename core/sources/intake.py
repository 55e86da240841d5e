"""Recordings in: a verified vendor event becomes an analysis job, workers download through the Source,
a periodic catch-up (core.scheduler) enqueues recordings whose webhook was missed.

One job per recording: its id is derived from (tenant, source, the event's id — Zoom: meeting UUID + file
id), so a vendor's retried delivery, a replayed event and catch-up all land on the same job. The webhook
answer never waits for the vendor: it verifies, writes the job row, enqueues, and returns. A tenant the EU AI
Act purpose guard refuses gets no job (the vendor still gets a 2xx, so it does not retry for days).

The worker asks a Source that lists participants (``ParticipantLister``) who attended, once per job, and
stores them as ``metadata.participants`` before the analysis, so CRM sinks can match them by e-mail.
"""

from __future__ import annotations

import json
import logging
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from prometheus_client import Counter
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from core import metrics
from core.broker import Messages
from core.connections import Connections
from core.connections.models import Connection
from core.governance.policy import PolicyStore, refusal
from core.media.spool import Spool
from core.registry import ConnectorRegistry
from core.sdk.contracts import (
    HookReply,
    MediaItem,
    ParticipantLister,
    SourceEvent,
)
from core.sdk.errors import ConnectorError, EngineError, InputError, TransientError
from core.settings import Settings
from core.sources.access import SourceAccess
from core.sources.models import MeetingPolicy, SourceSetting
from core.sources.summaries import OwnerSummaries
from core.storage.db import Database
from core.storage.models import Job, utcnow
from core.storage.store import MediaItem as JobItem
from core.storage.store import NewInput, Store
from core.vault import TokenVault, VaultSecret

__all__ = ["SourceIntake", "HOOKS", "REFUSED", "CAUGHT_UP", "PARTICIPANTS", "job_id_for"]

log = logging.getLogger("echodepth.sources")
HOOKS = Counter("echodepth_source_webhooks_total", "Meeting-source webhook requests", ["source", "outcome"])
CAUGHT_UP = Counter("echodepth_source_catch_up_jobs_total", "Recordings enqueued by catch-up", ["source"])
REFUSED = Counter(
    "echodepth_source_recordings_refused_total",
    "Recordings given no job (webhook or catch-up): meeting policy or the purpose guard",
    ["source", "reason"],
)
PARTICIPANTS = Counter(
    "echodepth_source_participant_lookups_total", "Participant lookups for source jobs", ["source", "outcome"]
)
_JOB_NAMESPACE = uuid.UUID("4f6c2a1e-9d0b-4c52-8a57-2f3e0d1c9b7a")
_SEALED_KIND = "source_event_secret"
_SEALED_TTL = timedelta(days=1)  # Zoom's download_token is valid about 24 h
_ROLES = {"video": "video", "audio": "audio", "transcript": "transcript"}


def job_id_for(tenant_id: str, source: str, event_id: str) -> str:
    """The one job id of a recording for a tenant (idempotency key)."""
    return str(uuid.uuid5(_JOB_NAMESPACE, f"{tenant_id}:{source}:{event_id}"))


def _reply(status: int, outcome: str) -> HookReply:
    return HookReply(status, json.dumps({"status": outcome}).encode())


class SourceIntake(SourceAccess):
    """Events in, jobs out, downloads for the worker, catch-up and per-tenant meeting policies."""

    def __init__(
        self,
        settings: Settings,
        db: Database,
        store: Store,
        vault: TokenVault,
        connections: Connections,
        messages: Messages,
        spool: Spool,
        summaries: OwnerSummaries,
        registry: ConnectorRegistry | None = None,
    ) -> None:
        super().__init__(settings, db, vault, connections, registry)
        self.store, self.messages, self.spool, self.summaries = store, messages, spool, summaries
        self.policies = PolicyStore(db)

    def _accounts(self, key: str, account_id: str, active_only: bool = True) -> list[Connection]:
        provider, _ = self.connection_kind(self.source(key), key)
        q = select(Connection).where(
            Connection.provider == provider, Connection.external_account_id == account_id
        )
        if active_only:
            q = q.where(Connection.status == "active")
        with self.db.session() as s:
            return list(s.scalars(q.order_by(Connection.created_at, Connection.id)))

    def ingest(self, key: str, event: SourceEvent) -> str:
        """Queue the event's recording for each tenant connected to its account; the outcome's name."""
        if event.deauthorized:
            self.deauthorize(key, event)
            return "deauthorized"
        conns = self._accounts(key, event.account_id)
        if not conns:
            return "unknown_account"
        by_tenant = {c.tenant_id: c for c in reversed(conns)}  # one connection per tenant, the oldest
        outcomes = [self.enqueue(key, conn, event) for conn in by_tenant.values()]
        return "accepted" if "accepted" in outcomes else outcomes[0]

    def enqueue(self, key: str, conn: Connection, event: SourceEvent) -> str:
        """Commit the recording's job (once) and send its message: ``accepted``, ``duplicate`` or why not."""
        tenant = self.policies.get(conn.tenant_id)
        forbidden = refusal(tenant.region, tenant.purposes)  # the same guard as the analyse routes
        if forbidden is not None:
            log.warning("%s recording %s refused for tenant %s: %s", key, event.id, conn.tenant_id, forbidden)
            REFUSED.labels(key, "purpose_not_permitted").inc()
            return "purpose_not_permitted"
        skipped = self.policy(conn.tenant_id, key).refusal(dict(event.metadata))
        if skipped is not None:
            log.info("%s recording %s skipped for tenant %s: %s", key, event.id, conn.tenant_id, skipped)
            REFUSED.labels(key, skipped).inc()
            return "filtered"
        job_id = job_id_for(conn.tenant_id, key, event.id)
        if self.store.get_job(conn.tenant_id, job_id) is not None:
            return "duplicate"
        sealed = (
            self.vault.put(conn.tenant_id, _SEALED_KIND, json.dumps(dict(event.secrets)))
            if event.secrets
            else None
        )
        items = tuple(self._job_item(key, conn, item, sealed, job_id) for item in event.items)
        roles = {i.role for i in items}
        modality = "multimodal" if "transcript" in roles or len(items) > 1 else items[0].role
        metadata = {
            "source": {"provider": key, **event.metadata, "event": event.type, "connection_id": conn.id}
        }
        try:
            self.store.create_job(conn.tenant_id, modality, NewInput(items=items), metadata, None, job_id)
        except IntegrityError:  # a concurrent delivery of the same event won
            self._unseal(sealed)
            return "duplicate"
        self.summaries.track(key, conn, job_id)  # before the message: the owner's SLA clock starts now
        self.messages.analyse(job_id)
        metrics.JOBS_SUBMITTED.labels(modality).inc()
        return "accepted"

    def _job_item(
        self, key: str, conn: Connection, item: MediaItem, sealed: str | None, job_id: str
    ) -> JobItem:
        ref = {
            "job_id": job_id,
            "connection_id": conn.id,
            "sealed": sealed,
            "external_id": item.external_id,
            "download_url": item.download_url,
            "kind": item.kind,
            "size": item.size,
            "metadata": dict(item.metadata),
        }
        return JobItem(role=_ROLES.get(item.kind, item.kind), source=key, ref=ref)

    def _unseal(self, sealed: str | None) -> None:
        if sealed is not None:
            with self.db.session() as s:
                s.execute(delete(VaultSecret).where(VaultSecret.id == sealed))
                s.commit()

    # app removed ------------------------------------------------------------------------------

    def deauthorize(self, key: str, event: SourceEvent) -> int:
        """Delete the account's tokens; with ``keep_data`` false also its jobs and results. Jobs deleted."""
        deleted = 0
        for conn in self._accounts(key, event.account_id, active_only=False):
            self.connections.store.delete(conn)
            if not event.keep_data:
                deleted += self._delete_account_jobs(conn.tenant_id, key, event.account_id)
            log.info(
                "%s account %s removed the app: tenant %s tokens deleted",
                key,
                event.account_id,
                conn.tenant_id,
            )
        return deleted

    def _delete_account_jobs(self, tenant_id: str, key: str, account_id: str) -> int:
        with self.db.session() as s:
            rows = s.execute(select(Job.id, Job.metadata_).where(Job.tenant_id == tenant_id)).all()
        mine = [
            job_id
            for job_id, meta in rows
            if (meta or {}).get("source", {}).get("provider") == key
            and (meta or {}).get("source", {}).get("account_id") == account_id
        ]
        for job_id in mine:
            self.store.delete_job(tenant_id, job_id)
            self.spool.delete(job_id)
        return len(mine)

    # worker side ------------------------------------------------------------------------------

    def fetch(self, item: JobItem, path: Path) -> None:
        """Download a Source item into the spool (the worker's ``Context.fetch_source``); EngineError."""
        assert item.source is not None
        ref = item.ref or {}
        try:
            source, spec = self.source(item.source), self.spec(item.source)
            extra = self._opened(ref.get("sealed"))
            media = MediaItem(
                external_id=str(ref["external_id"]),
                download_url=str(ref["download_url"]),
                kind=str(ref["kind"]),
                size=ref.get("size"),
                metadata=ref.get("metadata") or {},
            )

            def attempt(token: str, first: bool) -> Path:
                # the event's download token first; the connection's (refreshed) OAuth token after a 401
                return source.download(self.session(token, extra if first else {}), spec, media, path)

            self.with_token(str(ref["connection_id"]), attempt)
            if item.role in ("video", "audio") and ref.get("job_id"):
                self._attach_participants(item.source, str(ref["job_id"]), str(ref["connection_id"]))
        except TransientError as exc:
            raise EngineError("source_unavailable", f"{item.source}: {exc}", retryable=True) from exc
        except (ConnectorError, InputError) as exc:
            raise EngineError("source_download_failed", f"{item.source}: {exc}", retryable=False) from exc

    def _attach_participants(self, key: str, job_id: str, connection_id: str) -> None:
        """Store who attended as the job's ``metadata.participants`` (once; a failed lookup only logs)."""
        source, spec = self.source(key), self.spec(key)
        with self.db.session() as s:
            job = s.get(Job, job_id)
            metadata = dict(job.metadata_ or {}) if job is not None else None
        if not isinstance(source, ParticipantLister) or metadata is None or "participants" in metadata:
            return
        meeting = metadata.get("source") or {}
        try:
            people = self.with_token(
                connection_id, lambda token, _: source.participants(self.session(token), spec, meeting)
            )
        except ConnectorError as exc:  # the analysis goes on; sinks then match only what the event named
            PARTICIPANTS.labels(key, exc.code).inc()
            log.warning("%s job %s: participants unavailable: %s", key, job_id, exc)
            return
        with self.db.session() as s:
            job = s.get(Job, job_id)
            if job is not None:
                job.metadata_ = {**(job.metadata_ or {}), "participants": people}
                s.commit()
        PARTICIPANTS.labels(key, "found").inc()

    def _opened(self, sealed: Any) -> dict[str, str]:
        if not sealed:
            return {}
        try:
            return dict(json.loads(self.vault.get(str(sealed))))
        except Exception:  # noqa: BLE001 - an expired (purged) token: the connection's token is used
            return {}

    # catch-up ---------------------------------------------------------------------------------

    def catch_up(self, now: datetime | None = None) -> int:
        """List each connected account's recent recordings and enqueue any missed one; how many."""
        now = now or utcnow()
        self._purge_sealed(now)
        since = now - timedelta(hours=self.settings.source_catch_up_lookback_hours)
        queued = 0
        for key in self.keys():
            for conn in self.connected(key):
                queued += self.catch_up_connection(key, conn, since)
        return queued

    def catch_up_connection(self, key: str, conn: Connection, since: datetime) -> int:
        """Enqueue the connection's recordings since ``since`` that have no job yet; how many."""
        source, spec = self.source(key), self.spec(key)
        try:
            events = self.with_token(
                conn.id,
                lambda token, _: source.recordings(
                    self.session(token), spec, conn.external_account_id, since
                ),
            )
        except ConnectorError as exc:
            log.warning("%s catch-up of connection %s failed: %s", key, conn.id, exc)
            return 0
        queued = sum(self.enqueue(key, conn, event) == "accepted" for event in events)
        CAUGHT_UP.labels(key).inc(queued)
        if queued:
            log.info("%s catch-up: %d missed recording(s) queued for connection %s", key, queued, conn.id)
        return queued

    def _purge_sealed(self, now: datetime) -> None:
        with self.db.session() as s:
            s.execute(
                delete(VaultSecret).where(
                    VaultSecret.kind == _SEALED_KIND, VaultSecret.created_at < now - _SEALED_TTL
                )
            )
            s.commit()

    # tenant settings --------------------------------------------------------------------------

    def policy(self, tenant_id: str, key: str) -> MeetingPolicy:
        """The tenant's meeting policy for ``key`` (all meetings by default)."""
        with self.db.session() as s:
            row = s.get(SourceSetting, (tenant_id, key))
        return MeetingPolicy.model_validate(row.settings) if row is not None else MeetingPolicy()

    def set_policy(self, tenant_id: str, key: str, policy: MeetingPolicy) -> MeetingPolicy:
        """Store the tenant's meeting policy for ``key``."""
        self.source(key)
        with self.db.session() as s:
            row = s.get(SourceSetting, (tenant_id, key))
            if row is None:
                row = SourceSetting(tenant_id=tenant_id, provider=key)
                s.add(row)
            row.settings, row.updated_at = policy.model_dump(mode="json"), utcnow()
            s.commit()
        return policy
