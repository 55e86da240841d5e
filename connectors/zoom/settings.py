"""Zoom's deployment settings: the OAuth app, its webhook Secret Token and the chatbot's Bot JID."""

from __future__ import annotations

from pydantic import SecretStr
from pydantic_settings import SettingsConfigDict

from core.sdk.settings import OAuthAppSettings

__all__ = ["ZoomSettings"]


class ZoomSettings(OAuthAppSettings):
    """``ECHODEPTH_ZOOM_*``: client id and secret, ``WEBHOOK_SECRET_TOKEN`` (signs events, answers
    ``endpoint.url_validation``) and ``CHATBOT_JID`` (owner summaries through the Team Chat chatbot)."""

    model_config = SettingsConfigDict(env_prefix="ECHODEPTH_ZOOM_", extra="forbid")

    webhook_secret_token: SecretStr | None = None
    chatbot_jid: str | None = None
