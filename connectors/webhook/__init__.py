"""Outgoing webhooks (Standard Webhooks), the first Sink.

Files: ``client.py`` the call and what the receiver's answers mean; ``webhooks.py`` signing (pure);
``sink.py`` the plugin. Facts: config/providers/webhook.yaml.
"""

from connectors.webhook.sink import WebhookSink

CONNECTOR = WebhookSink()

__all__ = ["CONNECTOR"]
