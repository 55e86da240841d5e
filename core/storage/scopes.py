"""The scopes an API key or OAuth access token can hold (which route needs which: core.api.scopes)."""

from __future__ import annotations

from core.sdk.errors import InputError

__all__ = [
    "SCOPES",
    "ANALYSE_WRITE",
    "RESULTS_READ",
    "RESULTS_DELETE",
    "STREAM",
    "WEBHOOKS_MANAGE",
    "CONNECTIONS_MANAGE",
    "ADMIN",
    "parse_scopes",
]

ANALYSE_WRITE = "analyse:write"
RESULTS_READ = "results:read"
RESULTS_DELETE = "results:delete"
STREAM = "stream"
WEBHOOKS_MANAGE = "webhooks:manage"
CONNECTIONS_MANAGE = "connections:manage"
ADMIN = "admin"
SCOPES: tuple[str, ...] = (
    ANALYSE_WRITE,
    RESULTS_READ,
    RESULTS_DELETE,
    STREAM,
    WEBHOOKS_MANAGE,
    CONNECTIONS_MANAGE,
    ADMIN,
)


def parse_scopes(text: str | list[str] | None) -> list[str]:
    """Validate a space-separated scope string or list; ``InputError`` naming an unknown scope."""
    items = text.split() if isinstance(text, str) else list(text or [])
    unknown = sorted(set(items) - set(SCOPES))
    if unknown:
        raise InputError("invalid_scope", f"unknown scope(s): {', '.join(unknown)}", 422)
    return [s for s in SCOPES if s in items]
