"""Zoom cloud recordings, a Source.

Files: ``client.py`` the REST calls (no official SDK: httpx on ``core.sdk.http``); ``models.py`` the
payloads we read; ``webhooks.py`` signature checks and event parsing (pure); ``settings.py`` the app's
settings (OAuth app, webhook Secret Token, chatbot); ``source.py`` the plugin. Facts:
config/providers/zoom.yaml.
"""

from connectors.zoom.source import ZoomSource

CONNECTOR = ZoomSource()

__all__ = ["CONNECTOR"]
