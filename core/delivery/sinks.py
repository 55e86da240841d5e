"""Vendor Sinks (CRMs, chat) delivered like webhooks: same rows, retries, dead-letter, replay.

Each active connection to a Sink provider is a delivery destination: an endpoint row of kind ``sink`` whose
id is the connection id (so concurrent fan-outs agree on one row) and whose URL is ``connection:<id>``.
The delivery worker hands those claims here: the connection's token comes from the vault (refreshed ahead
of expiry, and once more when the vendor rejects it), its settings (rules, mapping overrides) are merged into
the provider spec, and the registered Sink writes. Sinks are idempotent at the vendor (external ids, event
ids, message metadata), so a retry or replay never writes a second Task, timeline event or message.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError
from sqlalchemy import JSON, ForeignKey
from sqlalchemy.orm import Mapped, mapped_column

from core.connections.models import Connection
from core.connections.tokens import TokenManager
from core.delivery.session import GuardedSession
from core.delivery.store import DeliveryClaim, DeliveryStore, ensure_endpoint
from core.registry import ConnectorRegistry, connection_settings_model, connector_settings, get_registry
from core.sdk.contracts import (
    BatchOutcome,
    BatchSink,
    Credentials,
    DeliveryReceipt,
    OutboundMessage,
    ProviderSpec,
    Sink,
)
from core.sdk.errors import AuthError, InputError
from core.settings import Settings
from core.storage.models import Base, utcnow

__all__ = ["SINK", "SINK_URL_PREFIX", "ConnectionSettings", "SinkSettingsIn", "SinkDeliveries"]

log = logging.getLogger("echodepth.delivery.sinks")
SINK = "sink"
SINK_URL_PREFIX = "connection:"
T = TypeVar("T")


class ConnectionSettings(Base):
    """A Sink connection's tenant settings: alert rules, field-mapping overrides, template ids."""

    __tablename__ = "connection_settings"
    connection_id: Mapped[str] = mapped_column(
        ForeignKey("connections.id", ondelete="CASCADE"), primary_key=True
    )
    settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class SinkSettingsIn(BaseModel):
    """``PUT /v1/connections/{id}/mapping``: what a tenant sets on a Sink connection (absent: keep). Any
    JSON object: the Sink's own ``connection_settings`` model decides what it accepts."""

    model_config = ConfigDict(extra="allow")


class SinkDeliveries:
    """Finds a tenant's Sink connections for fan-out and sends their claimed deliveries."""

    def __init__(
        self,
        settings: Settings,
        store: DeliveryStore,
        tokens: TokenManager,
        registry: ConnectorRegistry | None = None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.tokens = tokens
        self._registry = registry

    @property
    def registry(self) -> ConnectorRegistry:
        """The connector registry (the process-wide one unless given)."""
        return self._registry or get_registry()

    def _sink_of(self, provider: str) -> Sink | None:
        if provider not in set(self.registry.keys()) or provider == "webhook":
            return None
        found = self.registry.get(provider).connector
        return found if isinstance(found, Sink) else None

    # fan-out ----------------------------------------------------------------------------------

    def targets(self, tenant_id: str, event_type: str) -> list[tuple[str, str]]:
        """(endpoint id, url) of each active Sink connection of the tenant subscribed to ``event_type``."""
        found: list[tuple[str, str]] = []
        for conn in self.tokens.store.list(tenant_id):
            sink = self._sink_of(conn.provider)
            if conn.status != "active" or sink is None or event_type not in sink.events:
                continue
            self._ensure_endpoint(conn)
            found.append((conn.id, SINK_URL_PREFIX + conn.id))
        return found

    def _ensure_endpoint(self, conn: Connection) -> None:
        """The connection's endpoint row (id = connection id), created once even under a race."""
        ensure_endpoint(
            self.store.db,
            self.store.vault,
            endpoint_id=conn.id,
            tenant_id=conn.tenant_id,
            kind=SINK,
            url=SINK_URL_PREFIX + conn.id,
            description=f"{conn.provider} connection",
        )

    # delivery ---------------------------------------------------------------------------------

    @staticmethod
    def owns(claim: DeliveryClaim) -> bool:
        """Whether the claim is a Sink connection's delivery."""
        return claim.url.startswith(SINK_URL_PREFIX)

    def spec_for(self, conn: Connection) -> ProviderSpec:
        """The provider spec with the connection's own settings merged over its defaults."""
        spec = self.tokens.catalog.spec(conn.provider)
        settings = {**spec.settings, **self.read(conn.id)}
        settings.setdefault("result_url", "")
        if not settings["result_url"]:
            settings["result_url"] = self.settings.public_url.rstrip("/") + "/v1/result/{job_id}"
        return spec.model_copy(update={"settings": settings})

    def _session(
        self, conn: Connection, token: str, timeout: float, app: Mapping[str, str] | None = None
    ) -> GuardedSession:
        extra = {k: str(v) for k, v in (conn.account or {}).items() if k == "instance_url" and v}
        creds = Credentials(access_token=token, extra={**extra, **(app or {})})
        return GuardedSession(creds, allow_private=self.settings.allow_private_urls, timeout=timeout)

    def _app_credentials(self, provider: str) -> dict[str, str]:
        """The vendor app's own credentials setup may need (its settings model's ``for_setup``); never
        handed to deliveries."""
        return connector_settings(provider, self.settings.connectors, self.registry).for_setup()

    def _with_token(
        self,
        conn: Connection,
        act: Callable[[GuardedSession, ProviderSpec], T],
        app: Mapping[str, str] | None = None,
    ) -> T:
        """``act`` with a session on the connection's token; refreshed once when the vendor rejects it
        (``TokenManager.with_token``, the one place that decides)."""
        spec = self.spec_for(conn)
        return self.tokens.with_token(
            conn.id, lambda token, _: act(self._session(conn, token, spec.timeout_seconds, app), spec)
        )

    def send(self, claim: DeliveryClaim) -> DeliveryReceipt:
        """Deliver one claimed message through the connection's Sink; typed errors for the queue."""
        conn = self.tokens.store.by_id(claim.endpoint_id)
        sink = self._sink_of(conn.provider) if conn is not None else None
        if conn is None or sink is None:
            raise AuthError("sink", "connection_gone", "the connection was removed")
        message = OutboundMessage(claim.message_id, claim.event_type, utcnow(), claim.url, claim.payload)
        return self._with_token(conn, lambda session, spec: sink.deliver(session, spec, message))

    def batch_size(self, claim: DeliveryClaim) -> int:
        """How many deliveries of the claim's connection may go together (1 unless its Sink batches)."""
        conn = self.tokens.store.by_id(claim.endpoint_id)
        sink = self._sink_of(conn.provider) if conn is not None else None
        if not isinstance(sink, BatchSink):
            return 1
        return max(1, min(sink.max_batch, self.settings.sink_batch_max))

    def send_batch(self, claims: list[DeliveryClaim]) -> list[BatchOutcome]:
        """Deliver claims of one connection through its BatchSink; one outcome per claim, in order."""
        conn = self.tokens.store.by_id(claims[0].endpoint_id)
        sink = self._sink_of(conn.provider) if conn is not None else None
        if conn is None or not isinstance(sink, BatchSink):
            raise AuthError("sink", "connection_gone", "the connection was removed")
        messages = [OutboundMessage(c.message_id, c.event_type, utcnow(), c.url, c.payload) for c in claims]
        return self._with_token(conn, lambda session, spec: sink.deliver_batch(session, spec, messages))

    def setup(self, connection_id: str, create: bool, tenant_id: str | None = None) -> dict[str, list[str]]:
        """Check (and create where the vendor allows) the fields the connection's mapping writes."""
        conn = (
            self.tokens.store.get(tenant_id, connection_id)
            if tenant_id
            else self.tokens.store.by_id(connection_id)
        )
        if conn is None:
            raise InputError("not_found", "no such connection", 404)
        sink = self._sink_of(conn.provider)
        run = getattr(sink, "setup", None)
        if run is None:
            raise InputError("no_setup", f"{conn.provider} connections need no setup", 422)
        report: dict[str, list[str]] = self._with_token(
            conn, lambda session, spec: run(session, spec, create), self._app_credentials(conn.provider)
        )
        # "settings": what setup made that deliveries need (a template id), as name=value
        keep = dict(line.split("=", 1) for line in report.pop("settings", []) if "=" in line)
        if keep:
            self._merge(conn.id, keep)
        return report

    # settings ---------------------------------------------------------------------------------

    def read(self, connection_id: str) -> dict[str, Any]:
        """The connection's stored settings ({} when none)."""
        with self.store.db.session() as s:
            row = s.get(ConnectionSettings, connection_id)
            return dict(row.settings) if row is not None else {}

    def write(self, tenant_id: str, connection_id: str, changes: SinkSettingsIn) -> dict[str, Any]:
        """Merge ``changes`` into the tenant's Sink connection settings; ``not_found`` otherwise."""
        conn = self.tokens.store.get(tenant_id, connection_id)
        sink = self._sink_of(conn.provider)
        if sink is None:
            raise InputError("not_a_sink", f"{conn.provider} connections take no mapping", 422)
        try:
            checked = connection_settings_model(sink).model_validate(changes.model_dump())
        except ValidationError as exc:
            raise InputError("invalid_input", f"{conn.provider} connection settings: {exc}", 422) from exc
        return self._merge(connection_id, checked.model_dump(exclude_none=True, exclude_unset=True))

    def _merge(self, connection_id: str, changes: Mapping[str, Any]) -> dict[str, Any]:
        """Merge ``changes`` into the connection's stored settings; the result."""
        merged = {**self.read(connection_id), **changes}
        with self.store.db.session() as s:
            row = s.get(ConnectionSettings, connection_id)
            if row is None:
                s.add(ConnectionSettings(connection_id=connection_id, settings=merged, updated_at=utcnow()))
            else:
                row.settings, row.updated_at = merged, utcnow()
            s.commit()
        return merged
