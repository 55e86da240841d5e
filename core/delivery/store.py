"""Webhook endpoints and deliveries in the database; every tenant-facing query is scoped by tenant.

A delivery row moves ``pending`` → ``sending`` (a claim: attempts+1 and a lease, by conditional update) →
``delivered`` | ``pending`` (retry later) | ``dead`` (the dead-letter list). Every write after the claim is
conditional on the claim's attempt, so a worker that lost its lease cannot overwrite a newer outcome.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, delete, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.delivery.models import ENDPOINT, JOB_URL, WebhookDelivery, WebhookEndpoint
from core.delivery.secrets import new_webhook_secret
from core.sdk.errors import InputError
from core.storage.db import Database
from core.storage.models import utcnow
from core.storage.outbox import OutboxEvent, record_event
from core.storage.queries import changed
from core.vault import TokenVault, VaultSecret

__all__ = ["DeliveryStore", "DeliveryClaim", "NewEvent", "SECRET_KIND", "ensure_endpoint"]

SECRET_KIND = "webhook_secret"


def ensure_endpoint(
    db: Database,
    vault: TokenVault,
    *,
    endpoint_id: str,
    tenant_id: str,
    kind: str,
    url: str,
    description: str,
) -> None:
    """An internal destination's endpoint row (a Sink connection, meeting owners), created once even under a
    race between workers; its signing secret is sealed in the vault like any endpoint's."""
    with db.session() as s:
        if s.get(WebhookEndpoint, endpoint_id) is not None:
            return
        sealed = vault.new_secret(tenant_id, SECRET_KIND, new_webhook_secret())
        s.add(sealed)
        s.flush()
        s.add(
            WebhookEndpoint(
                id=endpoint_id,
                tenant_id=tenant_id,
                kind=kind,
                url=url,
                description=description,
                events=[],
                secret_id=sealed.id,
            )
        )
        try:
            s.commit()
        except IntegrityError:
            s.rollback()  # another worker created it first


_CLAIM_EARLY_SECONDS = 1.0  # a delayed broker message may arrive a little before next_attempt_at


@dataclass(frozen=True)
class NewEvent:
    """One event to fan out: its type, its envelope and (for analyses) the job's own ``webhook_url``."""

    tenant_id: str
    type: str
    payload: dict[str, Any]
    job_webhook_url: str | None = None


@dataclass(frozen=True)
class DeliveryClaim:
    """A worker's hold on one delivery attempt, with what it needs to send it."""

    delivery_id: str
    attempt: int
    endpoint_id: str
    endpoint_active: bool
    message_id: str
    event_type: str
    url: str
    payload: dict[str, Any]
    secrets: tuple[str, ...]


def new_message_id() -> str:
    """A Standard Webhooks message id; receivers dedupe on it."""
    return "msg_" + uuid.uuid4().hex


class DeliveryStore:
    """Endpoints, their sealed secrets and the delivery log on one Database."""

    def __init__(self, db: Database, vault: TokenVault) -> None:
        self.db = db
        self.vault = vault

    # endpoints --------------------------------------------------------------------------------

    def create_endpoint(
        self,
        tenant_id: str,
        url: str | None,
        events: list[str],
        description: str | None,
        secret: str,
        kind: str,
    ) -> WebhookEndpoint:
        """Store an endpoint and its sealed secret in one transaction."""
        sealed = self.vault.new_secret(tenant_id, SECRET_KIND, secret)
        endpoint = WebhookEndpoint(
            id=str(uuid.uuid4()),
            tenant_id=tenant_id,
            kind=kind,
            url=url,
            events=sorted(set(events)),
            description=description,
            status="active",
            secret_id=sealed.id,
            created_at=utcnow(),
            updated_at=utcnow(),
        )
        with self.db.session() as s:
            s.add(sealed)
            s.flush()
            s.add(endpoint)
            s.commit()
        return endpoint

    def list_endpoints(self, tenant_id: str) -> list[WebhookEndpoint]:
        """The tenant's registered endpoints, oldest first."""
        q = select(WebhookEndpoint).where(
            WebhookEndpoint.tenant_id == tenant_id, WebhookEndpoint.kind == ENDPOINT
        )
        with self.db.session() as s:
            return list(s.scalars(q.order_by(WebhookEndpoint.created_at, WebhookEndpoint.id)))

    def get_endpoint(self, tenant_id: str, endpoint_id: str, kind: str = ENDPOINT) -> WebhookEndpoint:
        """The tenant's endpoint; ``not_found`` for unknown ids and other tenants' endpoints alike."""
        with self.db.session() as s:
            found = s.scalars(
                select(WebhookEndpoint).where(
                    WebhookEndpoint.id == endpoint_id,
                    WebhookEndpoint.tenant_id == tenant_id,
                    WebhookEndpoint.kind == kind,
                )
            ).first()
        if found is None:
            raise InputError("not_found", "no such webhook endpoint", 404)
        return found

    def update_endpoint(self, tenant_id: str, endpoint_id: str, changes: dict[str, Any]) -> WebhookEndpoint:
        """Apply ``changes`` (url, events, description, status) to the tenant's endpoint."""
        self.get_endpoint(tenant_id, endpoint_id)
        if "events" in changes:
            changes["events"] = sorted(set(changes["events"]))
        if changes.get("status") == "active":
            changes["disabled_reason"] = None
        with self.db.session() as s:
            s.execute(
                update(WebhookEndpoint)
                .where(WebhookEndpoint.id == endpoint_id, WebhookEndpoint.tenant_id == tenant_id)
                .values(**changes, updated_at=utcnow())
            )
            s.commit()
        return self.get_endpoint(tenant_id, endpoint_id)

    def delete_endpoint(self, tenant_id: str, endpoint_id: str, kind: str = ENDPOINT) -> None:
        """Delete the endpoint, its delivery log and its secrets."""
        endpoint = self.get_endpoint(tenant_id, endpoint_id, kind)
        with self.db.session() as s:
            s.execute(delete(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint_id))
            s.execute(delete(WebhookEndpoint).where(WebhookEndpoint.id == endpoint_id))
            ids = [i for i in (endpoint.secret_id, endpoint.previous_secret_id) if i]
            s.execute(delete(VaultSecret).where(VaultSecret.id.in_(ids)))
            s.commit()

    def disable_endpoint(self, endpoint_id: str, reason: str) -> None:
        """Stop delivering to an endpoint (e.g. it answered 410 Gone)."""
        with self.db.session() as s:
            s.execute(
                update(WebhookEndpoint)
                .where(WebhookEndpoint.id == endpoint_id)
                .values(status="disabled", disabled_reason=reason, updated_at=utcnow())
            )
            s.commit()

    def rotate_secret(self, endpoint: WebhookEndpoint, secret: str, overlap_seconds: float) -> datetime:
        """Seal ``secret`` as the current one; the old one keeps signing until the returned time."""
        until = utcnow() + timedelta(seconds=overlap_seconds)
        sealed = self.vault.new_secret(endpoint.tenant_id, SECRET_KIND, secret)
        with self.db.session() as s:
            s.add(sealed)
            s.flush()
            s.execute(
                update(WebhookEndpoint)
                .where(WebhookEndpoint.id == endpoint.id)
                .values(
                    secret_id=sealed.id,
                    previous_secret_id=endpoint.secret_id,
                    previous_secret_expires_at=until,
                    updated_at=utcnow(),
                )
            )
            if endpoint.previous_secret_id:
                s.execute(delete(VaultSecret).where(VaultSecret.id == endpoint.previous_secret_id))
            s.commit()
        return until

    def job_signer(self, tenant_id: str) -> WebhookEndpoint | None:
        """The tenant's signer for per-job ``webhook_url`` deliveries, if it has one."""
        with self.db.session() as s:
            return s.scalars(
                select(WebhookEndpoint)
                .where(WebhookEndpoint.tenant_id == tenant_id, WebhookEndpoint.kind == JOB_URL)
                .order_by(WebhookEndpoint.created_at)
            ).first()

    def _secrets(self, s: Session, endpoint: WebhookEndpoint) -> tuple[str, ...]:
        found = [self.vault.read(s, endpoint.secret_id)]
        expires = endpoint.previous_secret_expires_at
        if endpoint.previous_secret_id and expires is not None and expires > utcnow():
            found.append(self.vault.read(s, endpoint.previous_secret_id))
        return tuple(found)

    # fan-out ----------------------------------------------------------------------------------

    def subscribed(self, tenant_id: str, event_type: str) -> list[WebhookEndpoint]:
        """The tenant's active endpoints that listen to ``event_type``."""
        return [
            e
            for e in self.list_endpoints(tenant_id)
            if e.status == "active" and event_type in (e.events or [])
        ]

    def add_deliveries(self, event: NewEvent, targets: list[tuple[str, str]]) -> list[str]:
        """One pending delivery per (endpoint id, url), all with the same message id; returns their ids."""
        rows = _delivery_rows(event, targets)
        with self.db.session() as s:
            s.add_all(rows)
            s.commit()
        return [r.id for r in rows]

    # outbox -----------------------------------------------------------------------------------

    def record(self, event: NewEvent) -> str:
        """Put an event (not about a job) in the outbox; returns the outbox row id."""
        with self.db.session() as s:
            row = record_event(s, event.tenant_id, event.type, event.payload)
            s.commit()
            return row.id

    def outbox(
        self, job_id: str | None = None, older_than: float | None = None, limit: int = 200
    ) -> list[str]:
        """Outbox rows waiting for fan-out: the job's, or those older than ``older_than`` seconds."""
        q = select(OutboxEvent.id)
        if job_id is not None:
            q = q.where(OutboxEvent.job_id == job_id)
        if older_than is not None:
            q = q.where(OutboxEvent.created_at < utcnow() - timedelta(seconds=older_than))
        with self.db.session() as s:
            return list(s.scalars(q.order_by(OutboxEvent.created_at).limit(limit)))

    def outbox_row(self, outbox_id: str) -> OutboxEvent | None:
        """One outbox row (None once another worker fanned it out)."""
        with self.db.session() as s:
            return s.get(OutboxEvent, outbox_id)

    def fan_out(self, outbox_id: str, event: NewEvent | None, targets: list[tuple[str, str]]) -> list[str]:
        """Replace the outbox row by its deliveries in one transaction; [] if another worker already did."""
        rows = _delivery_rows(event, targets) if event is not None else []
        with self.db.session() as s:
            if not changed(s, delete(OutboxEvent).where(OutboxEvent.id == outbox_id)):
                s.rollback()
                return []
            s.add_all(rows)
            s.commit()
        return [r.id for r in rows]

    # worker side ------------------------------------------------------------------------------

    def claim(self, delivery_id: str, lease_seconds: float) -> DeliveryClaim | None:
        """Take the delivery if it is due, or its last worker's lease ran out; None if not ours to send."""
        now = utcnow()
        with self.db.session() as s:
            row = s.get(WebhookDelivery, delivery_id)
            if row is None or not _claimable(row, now):
                return None
            attempt = row.attempts + 1
            won = changed(
                s,
                update(WebhookDelivery)
                .where(
                    WebhookDelivery.id == delivery_id,
                    WebhookDelivery.attempts == row.attempts,
                    WebhookDelivery.status == row.status,
                )
                .values(
                    status="sending",
                    attempts=attempt,
                    lease_expires_at=now + timedelta(seconds=lease_seconds),
                ),
            )
            if not won:
                s.rollback()
                return None
            claim = self._claim_of(s, row, attempt)
            s.commit()
            return claim

    def claim_due(self, endpoint_id: str, limit: int, lease_seconds: float) -> list[DeliveryClaim]:
        """Take up to ``limit`` due pending deliveries of one endpoint at once (a Sink batch)."""
        now = utcnow()
        due = and_(
            WebhookDelivery.endpoint_id == endpoint_id,
            WebhookDelivery.status == "pending",
            WebhookDelivery.next_attempt_at <= now + timedelta(seconds=_CLAIM_EARLY_SECONDS),
        )
        with self.db.session() as s:
            ids = list(
                s.scalars(
                    select(WebhookDelivery.id)
                    .where(due)
                    .order_by(WebhookDelivery.next_attempt_at)
                    .limit(limit)
                    .with_for_update(skip_locked=True)
                )
            )
            if not ids:
                return []
            # the status condition again: a worker that claimed a row meanwhile keeps it
            won = s.scalars(
                update(WebhookDelivery)
                .where(WebhookDelivery.id.in_(ids), WebhookDelivery.status == "pending")
                .values(
                    status="sending",
                    attempts=WebhookDelivery.attempts + 1,
                    lease_expires_at=now + timedelta(seconds=lease_seconds),
                )
                .returning(WebhookDelivery.id)
                .execution_options(synchronize_session=False)
            ).all()
            rows = s.scalars(
                select(WebhookDelivery)
                .where(WebhookDelivery.id.in_(won))
                .execution_options(populate_existing=True)
            ).all()
            claims = [self._claim_of(s, row, row.attempts) for row in rows]
            s.commit()
            return claims

    def _claim_of(self, s: Session, row: WebhookDelivery, attempt: int) -> DeliveryClaim:
        endpoint = s.get(WebhookEndpoint, row.endpoint_id)
        assert endpoint is not None  # the foreign key cascades deletes
        url = endpoint.url if endpoint.kind == ENDPOINT and endpoint.url else row.url
        return DeliveryClaim(
            delivery_id=row.id,
            attempt=attempt,
            endpoint_id=endpoint.id,
            endpoint_active=endpoint.status == "active",
            message_id=row.message_id,
            event_type=row.event_type,
            url=url,
            payload=dict(row.payload),
            secrets=self._secrets(s, endpoint),
        )

    def _finish(self, claim: DeliveryClaim, **values: Any) -> bool:
        return self._finish_values(claim, lease_expires_at=None, **values)

    def _finish_values(self, claim: DeliveryClaim, **values: Any) -> bool:
        """Write ``values`` if the claim is still the row's current attempt."""
        with self.db.session() as s:
            n = changed(
                s,
                update(WebhookDelivery)
                .where(
                    WebhookDelivery.id == claim.delivery_id,
                    WebhookDelivery.attempts == claim.attempt,
                    WebhookDelivery.status == "sending",
                )
                .values(**values),
            )
            s.commit()
            return bool(n)

    def extend_lease(self, claim: DeliveryClaim, lease_seconds: float) -> bool:
        """Hold the claimed delivery for ``lease_seconds`` from now (a Sink batch takes longer)."""
        return self._finish_values(claim, lease_expires_at=utcnow() + timedelta(seconds=lease_seconds))

    def delivered(self, claim: DeliveryClaim, status_code: int) -> bool:
        """Record an accepted delivery."""
        return self._finish(
            claim, status="delivered", delivered_at=utcnow(), last_status_code=status_code, last_error=None
        )

    def delivered_all(self, accepted: list[tuple[DeliveryClaim, int]]) -> int:
        """Record many accepted deliveries (a Sink batch) in one transaction; how many were still ours."""
        done = 0
        with self.db.session() as s:
            # rows are locked in id order, as the sweep locks them, so the two never deadlock
            for claim, status_code in sorted(accepted, key=lambda a: a[0].delivery_id):
                done += changed(
                    s,
                    update(WebhookDelivery)
                    .where(
                        WebhookDelivery.id == claim.delivery_id,
                        WebhookDelivery.attempts == claim.attempt,
                        WebhookDelivery.status == "sending",
                    )
                    .values(
                        status="delivered",
                        delivered_at=utcnow(),
                        last_status_code=status_code,
                        last_error=None,
                        lease_expires_at=None,
                    ),
                )
            s.commit()
        return done

    def retry_at(self, claim: DeliveryClaim, when: datetime, status_code: int | None, error: str) -> bool:
        """Put the delivery back as pending until ``when``."""
        return self._finish(
            claim,
            status="pending",
            next_attempt_at=when,
            enqueued_at=utcnow(),
            last_status_code=status_code,
            last_error=error,
        )

    def dead(self, claim: DeliveryClaim, status_code: int | None, error: str) -> bool:
        """Move the delivery to the dead-letter list."""
        return self._finish(claim, status="dead", last_status_code=status_code, last_error=error)

    def due_for_resend(self, requeue_after: float, limit: int = 500) -> list[str]:
        """Deliveries whose message looks lost or whose worker died; marks each re-enqueued now."""
        now = utcnow()
        stale = now - timedelta(seconds=requeue_after)
        due = and_(
            WebhookDelivery.enqueued_at < stale,
            or_(
                and_(WebhookDelivery.status == "pending", WebhookDelivery.next_attempt_at < stale),
                and_(WebhookDelivery.status == "sending", WebhookDelivery.lease_expires_at < now),
            ),
        )
        picked: list[str] = []
        with self.db.session() as s:
            rows = s.execute(  # in id order, as a Sink batch locks them (no deadlock between the two)
                select(WebhookDelivery.id, WebhookDelivery.enqueued_at)
                .where(due)
                .order_by(WebhookDelivery.id)
                .limit(limit)
            ).all()
            for delivery_id, enqueued_at in rows:
                n = changed(
                    s,
                    update(WebhookDelivery)
                    .where(WebhookDelivery.id == delivery_id, WebhookDelivery.enqueued_at == enqueued_at)
                    .values(enqueued_at=now),
                )
                if n:
                    picked.append(delivery_id)
            s.commit()
        return picked

    # log and replay ---------------------------------------------------------------------------

    def list_deliveries(
        self, tenant_id: str, endpoint_id: str | None, status: str | None, limit: int
    ) -> list[WebhookDelivery]:
        """The tenant's deliveries, newest first, optionally of one endpoint and one status."""
        q = select(WebhookDelivery).where(WebhookDelivery.tenant_id == tenant_id)
        if endpoint_id:
            q = q.where(WebhookDelivery.endpoint_id == endpoint_id)
        if status:
            q = q.where(WebhookDelivery.status == status)
        q = q.order_by(WebhookDelivery.created_at.desc(), WebhookDelivery.id.desc()).limit(limit)
        with self.db.session() as s:
            return list(s.scalars(q))

    def get_delivery(self, tenant_id: str, delivery_id: str) -> WebhookDelivery:
        """The tenant's delivery; ``not_found`` otherwise."""
        with self.db.session() as s:
            found = s.scalars(
                select(WebhookDelivery).where(
                    WebhookDelivery.id == delivery_id, WebhookDelivery.tenant_id == tenant_id
                )
            ).first()
        if found is None:
            raise InputError("not_found", "no such delivery", 404)
        return found

    def replay(self, tenant_id: str, delivery_id: str) -> str:
        """A new pending delivery of the same message (same webhook-id) to the same destination."""
        old = self.get_delivery(tenant_id, delivery_id)
        if old.status in ("pending", "sending"):
            raise InputError("delivery_in_progress", "the delivery is still being attempted", 409)
        now = utcnow()
        row = WebhookDelivery(
            id=str(uuid.uuid4()),
            tenant_id=tenant_id,
            endpoint_id=old.endpoint_id,
            message_id=old.message_id,
            event_type=old.event_type,
            url=old.url,
            payload=old.payload,
            status="pending",
            attempts=0,
            next_attempt_at=now,
            enqueued_at=now,
            created_at=now,
            replay_of=old.id,
        )
        with self.db.session() as s:
            s.add(row)
            s.commit()
        return row.id


def _claimable(row: WebhookDelivery, now: datetime) -> bool:
    if row.status == "pending":
        return row.next_attempt_at <= now + timedelta(seconds=_CLAIM_EARLY_SECONDS)
    return row.status == "sending" and row.lease_expires_at is not None and row.lease_expires_at < now


def _delivery_rows(event: NewEvent, targets: list[tuple[str, str]]) -> list[WebhookDelivery]:
    """One pending delivery per (endpoint id, url), all with the same message id."""
    message_id = new_message_id()
    now = utcnow()
    return [
        WebhookDelivery(
            id=str(uuid.uuid4()),
            tenant_id=event.tenant_id,
            endpoint_id=endpoint_id,
            message_id=message_id,
            event_type=event.type,
            url=url,
            payload=event.payload,
            status="pending",
            attempts=0,
            next_attempt_at=now,
            enqueued_at=now,
            created_at=now,
        )
        for endpoint_id, url in targets
    ]
