"""Webhook delivery: the ``fan_out`` and ``deliver_webhook`` actors on the region's broker, the retry
schedule and the sweep.

Events start in the outbox (``core.storage.outbox``), written in the transaction of the change they report
(a job's end); whoever made the change sends ``fan_out(outbox_id)`` (core.broker.Messages). Fan-out replaces
the outbox row by its delivery rows in one transaction, so an event is fanned out exactly once even when a
worker dies in between (the sweep drains what is left).
An event is fanned out to one delivery row per destination (committed first), then one message per row
is sent. A worker claims the row, sends through the registered ``webhook`` Sink and records the outcome:
delivered; retried later with the Standard Webhooks schedule plus jitter (or the receiver's Retry-After);
dead-lettered when the schedule is spent or the receiver answered 410 (which also disables the endpoint).
The schedule is kept in the delivery row, not in dramatiq's retries (both actors declare ``max_retries=0``):
a row's next attempt survives a lost broker, is listed by the API and can be replayed from the dead letters.
The sweep re-sends messages of rows whose message was lost or whose worker died; a duplicate message finds
nothing to claim. Receivers deduplicate on ``webhook-id``, which stays the same across retries and replays.
A claim for a CRM connection whose Sink is a ``BatchSink`` also claims that connection's other due deliveries
(lingering ``sink_batch_linger_seconds`` for more, up to the vendor's batch size) and sends them together;
each row still gets its own outcome, retry schedule and dead-letter.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Protocol

import dramatiq
from prometheus_client import Counter

from core.broker import DELIVER_ACTOR, FAN_OUT_ACTOR, WEBHOOK_QUEUE, Consumer, Messages
from core.delivery.events import job_event
from core.delivery.models import JOB_URL, WebhookEndpoint
from core.delivery.secrets import new_webhook_secret
from core.delivery.session import GuardedSession
from core.delivery.sinks import SinkDeliveries
from core.delivery.store import DeliveryClaim, DeliveryStore, NewEvent
from core.registry import ConnectorRegistry, get_registry
from core.sdk.contracts import BatchOutcome, Credentials, DeliveryReceipt, OutboundMessage, ProviderSpec, Sink
from core.sdk.errors import ConnectorError, PermanentError, TransientError
from core.settings import Settings
from core.storage.models import utcnow

__all__ = ["DeliveryQueue", "DeliveryRoute", "WEBHOOK_QUEUE", "WEBHOOK_ACTOR"]

log = logging.getLogger("echodepth.delivery")
WEBHOOK_ACTOR = DELIVER_ACTOR
_MAX_RETRY_AFTER = 86_400.0  # a receiver's Retry-After is honoured up to the spec's longest gap, a day
_JITTER = 0.1  # ±10 % so that retries of many deliveries failing together spread out
_LINGER_POLL = 0.05  # how often a lingering Sink batch looks for more deliveries of its connection
ATTEMPTS = Counter("echodepth_webhook_attempts_total", "Webhook delivery attempts", ["outcome"])


class DeliveryRoute(Protocol):
    """A destination besides webhook endpoints and Sinks, found at fan-out (owner summaries: core.sources)."""

    def targets(self, event: NewEvent) -> list[tuple[str, str]]:
        """(endpoint id, url) rows the event adds for this route."""
        ...

    def owns(self, claim: DeliveryClaim) -> bool:
        """Whether a claimed delivery is this route's to send."""
        ...

    def send(self, claim: DeliveryClaim) -> DeliveryReceipt:
        """Send one claimed delivery; typed ConnectorErrors on failure."""
        ...


class DeliveryQueue(Consumer):
    """Fans events out to deliveries (webhook endpoints, Sinks, ``routes``) and sends them."""

    def __init__(
        self,
        settings: Settings,
        store: DeliveryStore,
        broker: dramatiq.Broker,
        messages: Messages,
        sinks: SinkDeliveries,
        routes: Sequence[DeliveryRoute] = (),
        registry: ConnectorRegistry | None = None,
    ) -> None:
        super().__init__(broker, WEBHOOK_QUEUE, settings.webhook_worker_threads)
        self.settings, self.store, self.messages = settings, store, messages
        self.sinks, self.routes = sinks, tuple(routes)
        self._registry = registry
        self.actor: dramatiq.Actor[[str], None] = dramatiq.actor(
            actor_name=WEBHOOK_ACTOR, queue_name=WEBHOOK_QUEUE, broker=broker, max_retries=0
        )(self._deliver)
        self.fan_out_actor: dramatiq.Actor[[str], None] = dramatiq.actor(
            actor_name=FAN_OUT_ACTOR, queue_name=WEBHOOK_QUEUE, broker=broker, max_retries=0
        )(self._fan_out_message)

    @property
    def lease_seconds(self) -> float:
        """How long a claimed attempt may take before another worker may take it over."""
        return self.settings.webhook_timeout_seconds + 5

    # producer side ----------------------------------------------------------------------------

    def emit(self, event: NewEvent) -> list[str]:
        """Put the event in the outbox, then fan it out: one delivery per subscribed endpoint (and the
        job's own URL), sent at once. Returns the delivery ids."""
        return self._fan_out(self.store.record(event), event)

    def fan_out(self, outbox_id: str) -> list[str]:
        """Fan out an event its caller already put in the outbox; the delivery ids."""
        return self._fan_out(outbox_id)

    def _fan_out_message(self, outbox_id: str) -> None:
        """The ``fan_out`` actor (a message's result is not kept)."""
        self._fan_out(outbox_id)

    def drain_outbox(self, older_than: float | None = None) -> list[str]:
        """Fan out outbox rows left behind (a worker died between ending a job and fanning out)."""
        ids: list[str] = []
        for outbox_id in self.store.outbox(older_than=older_than):
            log.info("sweep: fanning out outbox event %s", outbox_id)
            ids += self._fan_out(outbox_id)
        return ids

    def _event_of(self, outbox_id: str) -> NewEvent | None:
        row = self.store.outbox_row(outbox_id)
        if row is None:
            return None
        if row.job_id is None:
            return NewEvent(row.tenant_id, row.event_type, dict(row.payload or {}))
        return job_event(self.store.db, row.job_id)  # None when the job was erased meanwhile

    def _fan_out(self, outbox_id: str, event: NewEvent | None = None) -> list[str]:
        """Turn one outbox row into deliveries exactly once, then send them."""
        event = event or self._event_of(outbox_id)
        targets: list[tuple[str, str]] = []
        if event is not None:
            targets = [(e.id, e.url or "") for e in self.store.subscribed(event.tenant_id, event.type)]
            if event.job_webhook_url:
                targets.append((self._job_signer(event.tenant_id).id, event.job_webhook_url))
            targets += self.sinks.targets(event.tenant_id, event.type)
            for route in self.routes:
                targets += route.targets(event)
        ids = self.store.fan_out(outbox_id, event, targets)
        for delivery_id in ids:
            self.send(delivery_id)
        return ids

    def _job_signer(self, tenant_id: str) -> WebhookEndpoint:
        """The tenant's signer for per-job URLs, created (once, even under a race) when missing."""
        found = self.store.job_signer(tenant_id)
        if found is not None:
            return found
        mine = self.store.create_endpoint(
            tenant_id, None, [], "per-job webhook_url signer", new_webhook_secret(), JOB_URL
        )
        winner = self.store.job_signer(tenant_id)
        if winner is not None and winner.id != mine.id:
            self.store.delete_endpoint(tenant_id, mine.id, kind=JOB_URL)
            return winner
        return mine

    def rotate_job_secret(self, tenant_id: str) -> tuple[str, datetime | None]:
        """A new secret for per-job URL deliveries (shown once); the old one overlaps until the time given."""
        secret = new_webhook_secret()
        found = self.store.job_signer(tenant_id)
        if found is None:
            self.store.create_endpoint(tenant_id, None, [], "per-job webhook_url signer", secret, JOB_URL)
            return secret, None
        return secret, self.store.rotate_secret(found, secret, self.settings.webhook_secret_overlap_seconds)

    def send(self, delivery_id: str, delay_seconds: float = 0) -> bool:
        """Send the delivery's message; False if the broker is down (the sweep sends it later)."""
        return self.messages.deliver(delivery_id, delay_seconds)

    # consumer side ----------------------------------------------------------------------------

    def _sink(self) -> tuple[Sink, ProviderSpec]:
        found = (self._registry or get_registry()).get("webhook")
        spec = found.spec.model_copy(update={"timeout_seconds": self.settings.webhook_timeout_seconds})
        assert isinstance(found.connector, Sink)
        return found.connector, spec

    def _deliver(self, delivery_id: str) -> None:
        claim = self.store.claim(delivery_id, self.lease_seconds)
        if claim is None:
            log.info("delivery %s: nothing to claim (done, not due or sending elsewhere)", delivery_id)
            return
        if not claim.endpoint_active:
            self.store.dead(claim, None, "endpoint_disabled")
            ATTEMPTS.labels("endpoint_disabled").inc()
            return
        sink, spec = self._sink()
        session = GuardedSession(
            Credentials(signing_secrets=claim.secrets),
            allow_private=self.settings.allow_private_urls,
            timeout=self.settings.webhook_timeout_seconds,
        )
        message = OutboundMessage(claim.message_id, claim.event_type, utcnow(), claim.url, claim.payload)
        route = next((r for r in self.routes if r.owns(claim)), None)
        try:
            if route is not None:
                receipt = route.send(claim)
            elif self.sinks.owns(claim):
                size = self.sinks.batch_size(claim)
                if size > 1:
                    self._deliver_batch(claim, size)
                    return
                receipt = self.sinks.send(claim)
            else:
                receipt = sink.deliver(session, spec, message)
        except ConnectorError as exc:
            self._on_failure(claim, exc)
            return
        self.store.delivered(claim, receipt.status_code)
        ATTEMPTS.labels("delivered").inc()

    def _deliver_batch(self, first: DeliveryClaim, size: int) -> None:
        """Deliver ``first`` together with up to ``size - 1`` due deliveries of the same Sink connection;
        each keeps its own outcome, retries and dead-letter."""
        lease = self.settings.sink_batch_lease_seconds
        self.store.extend_lease(first, lease)
        claims = [first, *self._gather(first.endpoint_id, size - 1, lease)]
        try:
            outcomes = self.sinks.send_batch(claims)
        except ConnectorError as exc:
            outcomes = [exc] * len(claims)
        accepted: list[tuple[DeliveryClaim, int]] = []
        for claim, outcome in zip(claims, outcomes, strict=True):
            if isinstance(outcome, DeliveryReceipt):
                accepted.append((claim, outcome.status_code))
            else:
                self._on_failure(claim, _typed(outcome))
        self.store.delivered_all(accepted)
        ATTEMPTS.labels("delivered").inc(len(accepted))
        log.info("sink batch of %d for %s: %d delivered", len(claims), first.endpoint_id, len(accepted))

    def _gather(self, endpoint_id: str, room: int, lease: float) -> list[DeliveryClaim]:
        """Claim due deliveries of the endpoint until ``room`` are held or the linger window closes."""
        got: list[DeliveryClaim] = []
        deadline = time.monotonic() + self.settings.sink_batch_linger_seconds
        while len(got) < room:
            got += self.store.claim_due(endpoint_id, room - len(got), lease)
            left = deadline - time.monotonic()
            if len(got) >= room or left <= 0:
                break
            time.sleep(min(_LINGER_POLL, left))
        return got

    def _on_failure(self, claim: DeliveryClaim, exc: ConnectorError) -> None:
        error = f"{exc.code}: {exc}"
        ATTEMPTS.labels(exc.code).inc()
        log.info("delivery %s attempt %d failed: %s", claim.delivery_id, claim.attempt, error)
        if not isinstance(exc, TransientError):  # PermanentError, AuthError: retrying cannot help
            if exc.code == "endpoint_gone":
                self.store.disable_endpoint(claim.endpoint_id, "endpoint_gone")
            self.store.dead(claim, exc.status, error)
            return
        when = self._next_attempt(claim.attempt, exc.retry_after)
        if when is None:
            self.store.dead(claim, exc.status, error)
            return
        if self.store.retry_at(claim, when, exc.status, error):
            self.send(claim.delivery_id, max(0.0, (when - utcnow()).total_seconds()))

    def _next_attempt(self, attempt: int, retry_after: float | None) -> datetime | None:
        """When to try again after failed attempt number ``attempt`` (1-based); None when spent."""
        delays = self.settings.webhook_retry_delays
        if attempt > len(delays):
            return None
        delay = delays[attempt - 1] * random.uniform(1 - _JITTER, 1 + _JITTER)
        if retry_after is not None:
            delay = max(delay, min(retry_after, _MAX_RETRY_AFTER))
        return utcnow() + timedelta(seconds=delay)

    # sweep ------------------------------------------------------------------------------------

    def sweep_once(self) -> list[str]:
        """Fan out events left in the outbox; re-send messages of deliveries whose message was lost or whose
        worker died."""
        self.drain_outbox(older_than=self.settings.requeue_after_seconds)
        ids = self.store.due_for_resend(self.settings.requeue_after_seconds)
        for delivery_id in ids:
            log.info("sweep: re-enqueueing delivery %s", delivery_id)
            self.send(delivery_id)
        return ids

    def close(self) -> None:
        """Stop the worker."""
        self.stop_worker()


def _typed(outcome: BatchOutcome) -> ConnectorError:
    """A batch item's failure as a typed error (a Sink bug dead-letters the item rather than looping)."""
    if isinstance(outcome, ConnectorError):
        return outcome
    log.error("sink returned an untyped failure: %r", outcome)
    return PermanentError("sink", "unexpected_error", type(outcome).__name__)
