"""Vendor change-notification subscriptions (Microsoft Graph) for Sources that implement ``Subscriber``.

Each active connection of such a Source gets one subscription per resource in its spec's
``settings.subscription_resources``, created with a fresh random ``clientState`` (sealed in the vault) and
renewed ``source_subscription_renew_ahead_hours`` before it expires by the periodic ``maintain``. Every
notification must name a subscription we hold and carry its ``clientState`` (compared in constant time);
anything else is refused, counted, and enqueues nothing. Lifecycle notifications set a pending action on
the subscription's row (``renew`` for ``reauthorizationRequired``, ``recreate`` for
``subscriptionRemoved``, ``catch_up`` for ``missed``) and start ``maintain`` at once in the background; a
process that dies first leaves the action for the next periodic run.
"""

from __future__ import annotations

import hmac
import logging
import secrets
import threading
import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from core.connections.models import Connection
from core.sdk.contracts import Notification, ProviderSpec, Subscriber
from core.sdk.errors import ConnectorError, SkipItem
from core.sources.intake import SourceIntake
from core.sources.records import SourceSubscription
from core.storage.models import utcnow
from core.storage.queries import changed
from core.vault import VaultSecret

__all__ = ["SourceSubscriptions", "CLIENT_STATE_KIND"]

log = logging.getLogger("echodepth.sources.subscriptions")
CLIENT_STATE_KIND = "source_client_state"
_CREATING_STALE = timedelta(minutes=5)  # a "creating" row this old was left by a process that died
_ACTIONS = {"reauthorizationRequired": "renew", "subscriptionRemoved": "recreate", "missed": "catch_up"}


class SourceSubscriptions:
    """Creates, renews and checks the subscriptions of every ``Subscriber`` Source."""

    def __init__(self, sources: SourceIntake) -> None:
        self.sources = sources
        self.settings, self.db, self.vault = sources.settings, sources.db, sources.vault
        self._lock = threading.Lock()

    def subscribers(self) -> list[tuple[str, Subscriber]]:
        """Every installed Source that takes subscriptions."""
        found = [(key, self.sources.source(key)) for key in self.sources.keys()]  # noqa: SIM118
        return [(key, s) for key, s in found if isinstance(s, Subscriber)]

    def notification_url(self, key: str) -> str:
        """Where the vendor posts notifications (and lifecycle notifications) for ``key``."""
        return f"{self.settings.public_url.rstrip('/')}/v1/hooks/{key}"

    # notifications ----------------------------------------------------------------------------

    def notified(self, key: str, n: Notification) -> str:
        """Act on a notification naming one of this region's subscriptions with its clientState: its
        outcome (``refused`` for any other, which may be another region's)."""
        row, conn = self._checked(key, n)
        if row is None or conn is None:
            return "refused"
        if n.lifecycle is not None:
            self._request(row.id, _ACTIONS.get(n.lifecycle, "renew"))
            return n.lifecycle
        if n.event is None:
            return "ignored"
        return self.sources.enqueue(key, conn, n.event)

    def _checked(self, key: str, n: Notification) -> tuple[SourceSubscription | None, Connection | None]:
        """The subscription and its connection when ``n`` names one of ours and carries its clientState."""
        with self.db.session() as s:
            row = s.scalars(
                select(SourceSubscription).where(
                    SourceSubscription.source == key, SourceSubscription.external_id == n.subscription_id
                )
            ).first()
            if row is None or row.client_state_secret_id is None:
                return None, None
            expected = self.vault.read(s, row.client_state_secret_id)
            conn = s.get(Connection, row.connection_id)
        if not hmac.compare_digest(expected.encode(), n.client_state.encode()):
            return None, None
        if (
            conn is None
            or conn.status != "active"
            or (n.account_id and n.account_id != conn.external_account_id)
        ):
            return None, None
        return row, conn

    def _request(self, row_id: str, action: str) -> None:
        """Record a lifecycle task on the row and run ``maintain`` now, off the request's thread."""
        with self.db.session() as s:
            s.execute(update(SourceSubscription).where(SourceSubscription.id == row_id).values(action=action))
            s.commit()
        threading.Thread(target=self._maintain_quietly, name="source-subscriptions", daemon=True).start()

    def _maintain_quietly(self) -> None:
        try:
            self.maintain()
        except Exception:  # noqa: BLE001 - a background run: the periodic one retries
            log.exception("subscription maintenance failed")

    # maintenance ------------------------------------------------------------------------------

    def maintain(self, now: datetime | None = None) -> int:
        """Create missing subscriptions, renew expiring ones, run lifecycle tasks; how many changed."""
        now = now or utcnow()
        done = 0
        with self._lock:
            for key, source in self.subscribers():
                spec = self.sources.spec(key)
                for conn in self.sources.connected(key):
                    for resource in spec.settings.get("subscription_resources", []):
                        done += self._keep(key, source, spec, conn, str(resource), now)
        return done

    def _row(self, connection_id: str, resource: str) -> SourceSubscription | None:
        with self.db.session() as s:
            return s.scalars(
                select(SourceSubscription).where(
                    SourceSubscription.connection_id == connection_id, SourceSubscription.resource == resource
                )
            ).first()

    def _keep(
        self, key: str, source: Subscriber, spec: ProviderSpec, conn: Connection, resource: str, now: datetime
    ) -> int:
        row = self._row(conn.id, resource) or self._claim_new(key, conn, resource)
        if row is None:
            return 0  # another process is creating it
        try:
            if row.action == "catch_up":
                self._clear(row.id, "catch_up")
                since = now - timedelta(hours=self.settings.source_catch_up_lookback_hours)
                self.sources.catch_up_connection(key, conn, since)
            if row.status != "active" or row.action == "recreate":
                return self._create(key, source, spec, conn, row, now)
            ahead = timedelta(hours=self.settings.source_subscription_renew_ahead_hours)
            if row.action == "renew" or row.expires_at is None or row.expires_at - ahead <= now:
                return self._renew(key, source, spec, conn, row, now)
        except ConnectorError as exc:
            log.warning("%s subscription %s of connection %s: %s", key, resource, conn.id, exc)
        return 0

    def _claim_new(self, key: str, conn: Connection, resource: str) -> SourceSubscription | None:
        """Insert the (connection, resource) row as ``creating``; None when another process won."""
        now = utcnow()
        row = SourceSubscription(
            id=str(uuid.uuid4()),
            tenant_id=conn.tenant_id,
            connection_id=conn.id,
            source=key,
            resource=resource,
            status="creating",
            created_at=now,
            updated_at=now - 2 * _CREATING_STALE,  # claimable by _create at once
        )
        with self.db.session() as s:
            s.add(row)
            try:
                s.commit()
            except IntegrityError:
                return None
        return row

    def _claim(self, row: SourceSubscription, now: datetime) -> bool:
        """Take the row for a vendor call (conditional on ``updated_at``), so one process acts at a time."""
        if row.status == "creating" and row.updated_at > now - _CREATING_STALE:
            return False
        with self.db.session() as s:
            won = changed(
                s,
                update(SourceSubscription)
                .where(SourceSubscription.id == row.id, SourceSubscription.updated_at == row.updated_at)
                .values(updated_at=utcnow(), status="creating" if row.status != "active" else row.status),
            )
            s.commit()
        return bool(won)

    def _clear(self, row_id: str, action: str) -> None:
        with self.db.session() as s:
            s.execute(
                update(SourceSubscription)
                .where(SourceSubscription.id == row_id, SourceSubscription.action == action)
                .values(action=None)
            )
            s.commit()

    def _expiry(self, spec: ProviderSpec, now: datetime) -> datetime:
        # the vendor's clock: ``now`` only decides what is due (tests move it), the lifetime starts today
        return utcnow() + timedelta(minutes=float(spec.settings.get("subscription_minutes", 60)))

    def _create(
        self,
        key: str,
        source: Subscriber,
        spec: ProviderSpec,
        conn: Connection,
        row: SourceSubscription,
        now: datetime,
    ) -> int:
        if not self._claim(row, now):
            return 0
        if row.external_id:
            self.sources.with_token(
                conn.id, lambda t, _: source.unsubscribe(self.sources.session(t), spec, str(row.external_id))
            )
        client_state = secrets.token_urlsafe(48)  # 64 characters; Graph allows 128
        url = self.notification_url(key)
        made = self.sources.with_token(
            conn.id,
            lambda t, _: source.subscribe(
                self.sources.session(t), spec, row.resource, url, client_state, self._expiry(spec, now)
            ),
        )
        sealed = self.vault.put(conn.tenant_id, CLIENT_STATE_KIND, client_state)
        self._update(
            row,
            external_id=made.id,
            client_state_secret_id=sealed,
            expires_at=made.expires_at,
            status="active",
        )
        log.info("%s subscription %s created for connection %s (%s)", key, made.id, conn.id, row.resource)
        return 1

    def _renew(
        self,
        key: str,
        source: Subscriber,
        spec: ProviderSpec,
        conn: Connection,
        row: SourceSubscription,
        now: datetime,
    ) -> int:
        if not self._claim(row, now):
            return 0
        external = str(row.external_id)
        try:
            made = self.sources.with_token(
                conn.id,
                lambda t, _: source.renew(self.sources.session(t), spec, external, self._expiry(spec, now)),
            )
        except SkipItem:  # the vendor no longer has it: make a new one
            self._update(row, status="removed", action="recreate")
            return self._create(key, source, spec, conn, self._row(conn.id, row.resource) or row, now)
        self._update(row, expires_at=made.expires_at, status="active")
        log.info("%s subscription %s renewed until %s", key, external, made.expires_at)
        return 1

    def _update(self, row: SourceSubscription, **values: Any) -> None:
        old_secret = row.client_state_secret_id if "client_state_secret_id" in values else None
        values.setdefault("action", None)
        with self.db.session() as s:
            s.execute(
                update(SourceSubscription)
                .where(SourceSubscription.id == row.id)
                .values(**values, updated_at=utcnow())
            )
            if old_secret:
                s.execute(delete(VaultSecret).where(VaultSecret.id == old_secret))
            s.commit()

    def listed(self, tenant_id: str, key: str) -> list[SourceSubscription]:
        """The tenant's subscriptions for ``key``."""
        with self.db.session() as s:
            return list(
                s.scalars(
                    select(SourceSubscription).where(
                        SourceSubscription.tenant_id == tenant_id, SourceSubscription.source == key
                    )
                )
            )
