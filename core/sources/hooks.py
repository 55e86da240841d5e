"""Vendor webhooks (``POST /v1/hooks/{source}``) for every region this process serves.

A vendor's webhook names an account, not a tenant, so it cannot be routed to a region up front: it is
verified once (signature, or the handshake), then each served region's intake queues the recording for the
tenants connected to that account in its own stores (``core.regions``). A Graph notification names a
subscription, which lives in the region of the tenant that owns it; each region checks it against its own.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence

from core.registry import connector_settings
from core.sdk.contracts import HookReply, Notification, Source, SourceEvent, Subscriber
from core.sdk.errors import InputError
from core.sources.intake import HOOKS
from core.sources.service import Sources

__all__ = ["SourceHooks"]

log = logging.getLogger("echodepth.sources")
_NO_TENANT = "unknown_account"


def _reply(status: int, outcome: str) -> HookReply:
    return HookReply(status, json.dumps({"status": outcome}).encode())


def _signing_secret(sources: Sources, key: str) -> str:
    found = connector_settings(key, sources.settings.connectors, sources.registry)
    value = found.value("webhook_secret_token")
    if value is None:
        unset = f"ECHODEPTH_{key.upper()}_WEBHOOK_SECRET_TOKEN is unset"
        raise InputError("source_not_configured", unset, 503)
    return value


class SourceHooks:
    """Answers vendor webhooks; ``regions`` are the Sources of every region served (the home one first)."""

    def __init__(self, regions: Sequence[Sources]) -> None:
        assert regions, "a process serves at least one region"
        self.regions = tuple(regions)
        self.home = self.regions[0]

    def hook(self, key: str, query: Mapping[str, str], headers: Mapping[str, str], body: bytes) -> HookReply:
        """Answer one vendor webhook request: handshake, refusal (401) or the event queued."""
        source = self.home.source(key)
        if isinstance(source, Subscriber):  # Graph: a per-subscription clientState instead of a signature
            return self._notifications(key, source, dict(query), dict(headers), body)
        secret = _signing_secret(self.home, key)
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

    def ingest(self, key: str, event: SourceEvent) -> str:
        """Queue the event in every region holding a tenant connected to its account; the outcome's name."""
        outcomes = [sources.ingest(key, event) for sources in self.regions]
        if "accepted" in outcomes:
            return "accepted"
        return next((o for o in outcomes if o != _NO_TENANT), _NO_TENANT)

    def _notifications(
        self, key: str, source: Source, query: dict[str, str], headers: dict[str, str], body: bytes
    ) -> HookReply:
        """Answer a validation request, or check and act on each notification of the body."""
        answer = source.handshake(query, headers, body, "")
        if answer is not None:
            HOOKS.labels(key, "handshake").inc()
            return answer
        assert isinstance(source, Subscriber)
        found = source.notifications(body)
        if found is None:
            HOOKS.labels(key, "refused").inc()
            raise InputError("invalid_notification", "the body is not a change-notification collection", 400)
        outcomes = [self._notified(key, n) for n in found]
        for outcome in outcomes:
            HOOKS.labels(key, outcome).inc()
        if found and all(o == "refused" for o in outcomes):
            raise InputError("invalid_client_state", "unknown subscription or wrong clientState", 401)
        return HookReply(202, json.dumps({"outcomes": outcomes}).encode())

    def _notified(self, key: str, n: Notification) -> str:
        """The outcome in the region holding the notification's subscription; ``refused`` in none."""
        for sources in self.regions:
            outcome = sources.subscriptions.notified(key, n)
            if outcome != "refused":
                return outcome
        log.warning("%s notification refused: unknown subscription or wrong clientState", key)
        return "refused"
