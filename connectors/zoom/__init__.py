"""Zoom cloud recordings, a Source."""

from connectors.zoom.source import ZoomSource

CONNECTOR = ZoomSource()

__all__ = ["CONNECTOR"]
