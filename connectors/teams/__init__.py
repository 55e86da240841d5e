"""Microsoft Teams meeting recordings through Microsoft Graph, a Source."""

from connectors.teams.source import TeamsSource

CONNECTOR = TeamsSource()

__all__ = ["CONNECTOR"]
