"""The generic webhook Sink: a signed JSON POST per event, per the Standard Webhooks spec."""

from __future__ import annotations

import json
from typing import Literal

from connectors.webhook import client
from connectors.webhook.webhooks import signature_header
from core.sdk import EVENT_TYPES, AuthError, DeliveryReceipt, HttpSession, OutboundMessage, ProviderSpec

__all__ = ["WebhookSink", "encode"]


def encode(message: OutboundMessage) -> bytes:
    """The exact bytes that are signed and sent."""
    return json.dumps(message.payload, separators=(",", ":"), ensure_ascii=False).encode()


class WebhookSink:
    """POSTs each event to the destination URL, signed with the session's secrets."""

    key = "webhook"
    kind: Literal["sink"] = "sink"
    display_name = "Webhook (Standard Webhooks)"
    events = EVENT_TYPES

    def headers(
        self, session: HttpSession, spec: ProviderSpec, message: OutboundMessage, body: bytes
    ) -> dict[str, str]:
        """The Standard Webhooks headers for ``body``."""
        secrets = session.credentials.signing_secrets
        if not secrets:
            raise AuthError(self.key, "no_signing_secret", "the endpoint has no signing secret")
        ts = int(message.timestamp.timestamp())
        return {
            "content-type": "application/json",
            "user-agent": str(spec.settings.get("user_agent", "EchoDepth-Webhooks")),
            "webhook-id": message.id,
            "webhook-timestamp": str(ts),
            "webhook-signature": signature_header(secrets, message.id, ts, body),
        }

    def deliver(self, session: HttpSession, spec: ProviderSpec, message: OutboundMessage) -> DeliveryReceipt:
        """POST the signed event; TransientError to retry, PermanentError (410) to stop."""
        body = encode(message)
        headers = self.headers(session, spec, message, body)
        return client.post(session, spec, message.destination, headers, body)
