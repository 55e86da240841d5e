"""Meeting Sources in the hub: verified vendor webhooks become analysis jobs, workers download through the
Source, a periodic catch-up enqueues recordings whose webhook was missed.

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
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from prometheus_client import Counter
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from core import metrics
from core.connections import Connections
from core.connections.models import AUTHORIZATION_CODE, Connection
from core.delivery.session import GuardedSession
from core.governance.policy import PolicyStore, refusal
from core.jobs.queue import JobQueue
from core.media.spool import Spool
from core.registry import ConnectorRegistry, connector_settings, get_registry, load_provider_spec
from core.sdk.contracts import (
    Credentials,
    HookReply,
    HttpSession,
    MediaItem,
    ParticipantLister,
    ProviderSpec,
    Source,
    SourceEvent,
    Subscriber,
)
from core.sdk.errors import ConnectorError, EngineError, InputError, TransientError
from core.settings import Settings
from core.sources.models import MeetingPolicy, SourceSetting
from core.storage.db import Database
from core.storage.models import Job, utcnow
from core.storage.store import MediaItem as JobItem
from core.storage.store import NewInput, Store
from core.vault import TokenVault, VaultSecret

__all__ = ["Sources", "HOOKS", "job_id_for"]

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
T = TypeVar("T")


def job_id_for(tenant_id: str, source: str, event_id: str) -> str:
    """The one job id of a recording for a tenant (idempotency key)."""
    return str(uuid.uuid5(_JOB_NAMESPACE, f"{tenant_id}:{source}:{event_id}"))


def _reply(status: int, outcome: str) -> HookReply:
    return HookReply(status, json.dumps({"status": outcome}).encode())


class Sources:
    """Webhooks in, jobs out, downloads for the worker, catch-up and per-tenant meeting policies."""

    def __init__(
        self,
        settings: Settings,
        db: Database,
        store: Store,
        vault: TokenVault,
        connections: Connections,
        queue: JobQueue,
        spool: Spool,
        registry: ConnectorRegistry | None = None,
    ) -> None:
        self.settings, self.db, self.store, self.vault = settings, db, store, vault
        self.connections, self.queue, self.spool = connections, queue, spool
        self._registry = registry
        self.policies = PolicyStore(db)
        self._last_catch_up: float | None = None
        self._catch_up_lock = threading.Lock()
        from core.sources.subscriptions import SourceSubscriptions  # they call back into this class
        from core.sources.summaries import OwnerSummaries

        self.subscriptions = SourceSubscriptions(self)
        self.summaries = OwnerSummaries(self)

    # sources and secrets ----------------------------------------------------------------------

    @property
    def registry(self) -> ConnectorRegistry:
        """The connector registry (the process-wide one unless injected)."""
        return self._registry or get_registry()

    def source(self, key: str) -> Source:
        """The Source called ``key``; 404 ``not_found`` when there is none."""
        found = self.registry.all()
        connector = next((r.connector for r in found if r.key == key and r.kind == "source"), None)
        if not isinstance(connector, Source):
            raise InputError("not_found", f"no meeting source {key!r}", 404)
        return connector

    def spec(self, key: str) -> ProviderSpec:
        """The Source's provider spec (from the configured providers directory)."""
        return load_provider_spec(key, self.connections.catalog.directory)

    @staticmethod
    def _connection_kind(source: Source, key: str) -> tuple[str, str]:
        """(provider, grant type) of the connections a Source reads through: its own key and a user's
        grant unless it says otherwise (Teams: the tenant admin's app-only Microsoft connection)."""
        return (
            str(getattr(source, "connection_provider", key)),
            str(getattr(source, "connection_grant", AUTHORIZATION_CODE)),
        )

    def keys(self) -> list[str]:
        """Every installed Source's key."""
        return [r.key for r in self.registry.all() if r.kind == "source"]

    def _signing_secret(self, key: str) -> str:
        value = connector_settings(key, self.settings.connectors, self.registry).value("webhook_secret_token")
        if value is None:
            raise InputError(
                "source_not_configured", f"ECHODEPTH_{key.upper()}_WEBHOOK_SECRET_TOKEN is unset", 503
            )
        return value

    # webhooks ---------------------------------------------------------------------------------

    def hook(self, key: str, query: Mapping[str, str], headers: Mapping[str, str], body: bytes) -> HookReply:
        """Answer one vendor webhook request: handshake, refusal (401) or the event queued."""
        source = self.source(key)
        if isinstance(source, Subscriber):  # Graph: a per-subscription clientState instead of a signature
            return self.subscriptions.hook(key, source, dict(query), dict(headers), body)
        secret = self._signing_secret(key)
        answer = source.handshake(query, headers, body, secret)
        if answer is not None:
            HOOKS.labels(key, "handshake").inc()
            return answer
        if not source.verify(headers, body, secret):
            HOOKS.labels(key, "refused").inc()
            log.warning("%s webhook refused: bad signature or stale timestamp", key)
            raise InputError("invalid_signature", "the webhook signature is missing, wrong or stale", 401)
        event = source.event(headers, body)
        if event is None:
            HOOKS.labels(key, "ignored").inc()
            return _reply(200, "ignored")
        outcome = self.ingest(key, event)
        HOOKS.labels(key, outcome).inc()
        return _reply(200, outcome)

    def _accounts(self, key: str, account_id: str, active_only: bool = True) -> list[Connection]:
        provider, _ = self._connection_kind(self.source(key), key)
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
        self.queue.enqueue(job_id)
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

    def session(self, token: str, extra: Mapping[str, str] | None = None) -> HttpSession:
        """A guarded session carrying ``token`` (and an event's short-lived credentials)."""
        return GuardedSession(
            Credentials(access_token=token, extra=dict(extra or {})),
            allow_private=self.settings.allow_private_urls,
            timeout=self.settings.url_fetch_timeout_seconds,
            max_download_bytes=self.settings.max_upload_bytes,
            download_seconds=self.settings.url_fetch_max_seconds,
        )

    def with_token(self, connection_id: str, call: Callable[[str, bool], T]) -> T:
        """``call(token, first)``; when the vendor rejects the token, refresh once and call again
        (``TokenManager.with_token``, shared with the Sinks)."""
        return self.connections.tokens.with_token(connection_id, call)

    def fetch(self, item: JobItem, path: Path) -> None:
        """Download a Source item into the spool (``JobQueue.use_source_fetch``) or raise EngineError."""
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

    def catch_up_if_due(self) -> None:
        """Run ``catch_up`` when ``source_catch_up_interval_seconds`` have passed (called by the sweep)."""
        with self._catch_up_lock:
            now = time.monotonic()
            interval = self.settings.source_catch_up_interval_seconds
            if self._last_catch_up is not None and now - self._last_catch_up < interval:
                return
            self._last_catch_up = now
        self.catch_up()

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

    def connected(self, key: str) -> list[Connection]:
        """The active connections ``key`` reads recordings through."""
        provider, grant = self._connection_kind(self.source(key), key)
        q = select(Connection).where(
            Connection.provider == provider,
            Connection.status == "active",
            Connection.grant_type == grant,
        )
        with self.db.session() as s:
            return list(s.scalars(q))

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

    # owner summaries --------------------------------------------------------------------------

    def summary_session(self, key: str, token: str) -> HttpSession:
        """The session to call ``send_summary`` with: the connection's ``token``, plus the app-level values
        the provider's ``settings.summary_credentials`` names (``ECHODEPTH_<KEY>_<NAME>``) in ``extra``."""
        names = self.spec(key).settings.get("summary_credentials") or []
        extra: dict[str, str] = {}
        found = connector_settings(key, self.settings.connectors, self.registry)
        for name in names:
            if (value := found.value(name)) is not None:
                extra[name] = value
        return self.session(token, extra)

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
