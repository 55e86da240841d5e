"""Outgoing webhooks, the first Sink."""

from connectors.webhook.sink import WebhookSink

CONNECTOR = WebhookSink()

__all__ = ["CONNECTOR"]
