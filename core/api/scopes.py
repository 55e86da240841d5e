"""OAuth 2.0 / API-key scopes and which one each route needs (403 ``insufficient_scope`` without it).

The rule is looked up by the matched route's path template, so a new route under a known prefix is covered
at once; an authenticated route that matches no rule needs ``admin`` (fail closed).
"""

from __future__ import annotations

from core.storage.scopes import (
    ADMIN,
    ANALYSE_WRITE,
    CONNECTIONS_MANAGE,
    RESULTS_DELETE,
    RESULTS_READ,
    SCOPES,
    STREAM,
    WEBHOOKS_MANAGE,
    parse_scopes,
)

__all__ = ["SCOPES", "ADMIN", "STREAM", "ANY_SCOPE", "required_scope", "parse_scopes"]

ANY_SCOPE = ""  # any valid credential will do (GET /v1/usage)

# (method or "*", path template prefix, scope); the first match wins.
_RULES: tuple[tuple[str, str, str], ...] = (
    ("POST", "/v1/analyse/", ANALYSE_WRITE),
    ("GET", "/v1/result/", RESULTS_READ),
    ("GET", "/v1/jobs", RESULTS_READ),
    ("DELETE", "/v1/result/", RESULTS_DELETE),
    ("*", "/v1/stream/", STREAM),
    ("*", "/v1/webhooks", WEBHOOKS_MANAGE),
    ("*", "/v1/connections", CONNECTIONS_MANAGE),
    ("*", "/v1/sources", CONNECTIONS_MANAGE),  # meeting-source settings of the tenant's connections
    ("*", "/v1/tenants/", ADMIN),
    ("*", "/v1/audit", ADMIN),
    ("*", "/v1/oauth/clients", ADMIN),
    ("*", "/v1/oauth/users", ADMIN),
    ("GET", "/v1/usage", ANY_SCOPE),
)


def required_scope(method: str, path_template: str) -> str:
    """The scope a request to this route needs; ``ANY_SCOPE`` for none, ``admin`` when no rule matches."""
    for rule_method, prefix, scope in _RULES:
        if rule_method in ("*", method.upper()) and path_template.startswith(prefix):
            return scope
    return ADMIN

