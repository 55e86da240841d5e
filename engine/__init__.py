"""EchoDepth analysis engine: media in, report out. Imports nothing from core or connectors."""

__version__ = "0.1.0"
