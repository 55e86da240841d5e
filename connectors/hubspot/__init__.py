"""HubSpot: analysis results as contact and deal properties, and a timeline event per analysis."""

from connectors.hubspot.sink import HubSpotSink

CONNECTOR = HubSpotSink()

__all__ = ["CONNECTOR"]
