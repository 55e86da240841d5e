"""HubSpot: analysis results as contact and deal properties, and a timeline event per analysis.

Files: ``client.py`` the calls (hubspot-api-client on ``core.sdk.http``); ``models.py`` the mapping and
the payload fields we read; ``batch.py`` the batched lookups and writes; ``events.py`` timeline
activities (v4 app events, legacy v3); ``setup.py`` properties and templates (``connectors setup``);
``settings.py`` the app's settings and what a tenant may set; ``sink.py`` the plugin (``core.sdk.crm``).
Facts: config/providers/hubspot.yaml, config/mappings/hubspot.yaml.
"""

from connectors.hubspot.sink import HubSpotSink

CONNECTOR = HubSpotSink()

__all__ = ["CONNECTOR"]
