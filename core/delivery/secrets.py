"""Webhook signing secrets: ``whsec_`` + base64 of 32 random bytes (the Standard Webhooks format)."""

from __future__ import annotations

import base64
import secrets

__all__ = ["new_webhook_secret", "SECRET_PREFIX"]

SECRET_PREFIX = "whsec_"
_SECRET_BYTES = 32  # the spec asks for 24-64 random bytes


def new_webhook_secret() -> str:
    """A fresh signing secret."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(_SECRET_BYTES)).decode()
