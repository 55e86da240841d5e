"""Microsoft Teams meeting recordings through Microsoft Graph, a Source.

Files: ``client.py`` the calls (msgraph-sdk on ``core.sdk.http``); ``models.py`` the payloads we read;
``webhooks.py`` change-notification parsing (pure); ``settings.py`` the Entra app's settings (the
``microsoft`` provider); ``source.py`` the plugin. Facts: config/providers/teams.yaml and microsoft.yaml.
"""

from connectors.teams.source import TeamsSource

CONNECTOR = TeamsSource()

__all__ = ["CONNECTOR"]
