"""Zoom's deployment settings: the OAuth app, its webhook Secret Token and the chatbot's Bot JID."""

from __future__ import annotations

from pydantic import SecretStr
from pydantic_settings import SettingsConfigDict

from core.sdk.settings import OAuthAppSettings

__all__ = ["ZoomSettings"]


class ZoomSettings(OAuthAppSettings):
    """``ECHODEPTH_ZOOM_*``: client id and secret, ``WEBHOOK_SECRET_TOKEN`` (signs events, answers
    ``endpoint.url_validation``) and ``CHATBOT_JID`` (owner summaries through the Team Chat chatbot)."""

    model_config = SettingsConfigDict(
        env_prefix="ECHODEPTH_ZOOM_", extra="forbid", use_attribute_docstrings=True
    )

    webhook_secret_token: SecretStr | None = None
    """The Zoom app's webhook Secret Token: `POST /v1/hooks/zoom` checks `x-zm-signature` with it and answers
    `endpoint.url_validation` (`503 source_not_configured` without it)."""
    chatbot_jid: str | None = None
    """The Zoom app's Bot JID (Features → Team Chat Subscription): with it, tenants whose Zoom settings say
    `post_summary: true` get the summary as a chatbot message to the host (token by `client_credentials`
    with the Zoom client id and secret); see [sources.md](sources.md)."""
