"""Meeting Sources (Zoom, Teams): vendor webhooks → one analysis job per recording, and catch-up."""

from core.sources.service import Sources

__all__ = ["Sources"]
