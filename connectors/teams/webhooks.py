"""Graph notification bodies and the validation handshake: pure functions.

Validation: https://learn.microsoft.com/en-us/graph/change-notifications-delivery-webhooks#notificationurl-validation
(Graph POSTs ``?validationToken=…``; answer 200 ``text/plain`` with the URL-decoded token within 10 s).
Graph signs nothing: each notification carries the subscription's ``clientState``, which core compares.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from pydantic import ValidationError

from connectors.teams.models import NotificationCollection

__all__ = ["validation_token", "collection", "LIFECYCLE_EVENTS"]

LIFECYCLE_EVENTS = frozenset({"reauthorizationRequired", "subscriptionRemoved", "missed"})
_MAX_TOKEN = 1024  # Graph's tokens are opaque but short; an echo of anything longer is refused


def validation_token(query: Mapping[str, str]) -> str | None:
    """The decoded ``validationToken`` of a validation request (Starlette already URL-decodes it)."""
    token = query.get("validationToken")
    if token is None or len(token) > _MAX_TOKEN:
        return None
    return token


def collection(body: bytes) -> NotificationCollection | None:
    """The parsed notification body, or None when it is not one."""
    try:
        return NotificationCollection.model_validate(json.loads(body))
    except (ValueError, ValidationError):
        return None
