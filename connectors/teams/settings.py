"""The Microsoft Entra app Teams connections use (the ``microsoft`` OAuth provider)."""

from __future__ import annotations

from pydantic_settings import SettingsConfigDict

from core.sdk.settings import OAuthAppSettings

__all__ = ["MicrosoftSettings"]


class MicrosoftSettings(OAuthAppSettings):
    """``ECHODEPTH_MICROSOFT_CLIENT_ID`` / ``_CLIENT_SECRET``: delegated and admin-consent connections."""

    model_config = SettingsConfigDict(env_prefix="ECHODEPTH_MICROSOFT_", extra="forbid")
