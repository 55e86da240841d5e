"""Jinja2 pages of the console: one environment, the navigation, asset URLs and the page context."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from core.api.scopes import ADMIN, ANALYSE_WRITE, CONNECTIONS_MANAGE, RESULTS_READ, STREAM, WEBHOOKS_MANAGE
from core.console.csrf import csrf_token
from core.console.deps import home_runtime
from core.console.sessions import ConsoleUser

__all__ = ["STATIC_DIR", "NavItem", "NAV", "render", "asset", "templates"]

HERE = Path(__file__).resolve().parent
STATIC_DIR = HERE / "static"


@dataclass(frozen=True)
class NavItem:
    """A top-level page: shown to users who hold its scope."""

    label: str
    href: str
    scope: str


# The pages of the console, in menu order.
NAV: tuple[NavItem, ...] = (
    NavItem("Analyse", "/console/analyse", ANALYSE_WRITE),
    NavItem("Jobs", "/console/jobs", RESULTS_READ),
    NavItem("Live", "/console/live", STREAM),
    NavItem("Integrations", "/console/integrations", CONNECTIONS_MANAGE),
    NavItem("Webhooks", "/console/webhooks", WEBHOOKS_MANAGE),
    NavItem("Settings", "/console/settings", ADMIN),
)


@lru_cache(maxsize=64)
def asset(path: str) -> str:
    """The URL of a static file, with a digest of its content so a new release is never served stale."""
    digest = hashlib.sha256((STATIC_DIR / path).read_bytes()).hexdigest()[:12]
    return f"/console/static/{path}?v={digest}"


templates = Jinja2Templates(directory=str(HERE / "templates"))
templates.env.globals["asset"] = asset
templates.env.trim_blocks = True
templates.env.lstrip_blocks = True


def render(
    request: Request, name: str, user: ConsoleUser | None, status: int = 200, **context: Any
) -> HTMLResponse:
    """A page (or fragment) with the signed-in user, their menu and their CSRF token."""
    ring = home_runtime(request).vault.ring
    base: dict[str, Any] = {
        "user": user,
        "nav": [item for item in NAV if user is not None and user.can(item.scope)],
        "path": request.url.path,
    }
    if user is not None:
        base["csrf"] = csrf_token(ring, f"session:{user.session_hash}")
    return templates.TemplateResponse(request, name, {**base, **context}, status_code=status)
