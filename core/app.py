"""The web application EchoDepth serves: the API (core.api) with the web console (core.console) in it.

The console builds on the API (its scopes, guard, media intake and rate tiers), so the two meet here, above
both, rather than in core.api.
"""

from __future__ import annotations

from fastapi import FastAPI

from core.api.app import create_app as create_api
from core.console import install_console
from core.runtime import Runtime
from core.settings import Settings

__all__ = ["create_app"]


def create_app(runtime: Runtime | None = None, settings: Settings | None = None) -> FastAPI:
    """The API and the console at ``/console``; without a runtime one is built (``core.api.app``)."""
    return create_api(runtime, settings, frontends=[install_console])
