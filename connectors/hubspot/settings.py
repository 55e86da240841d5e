"""HubSpot's deployment settings (the app, its developer key) and what a tenant may set on a connection."""

from __future__ import annotations

from pydantic import SecretStr
from pydantic_settings import SettingsConfigDict

from core.sdk.crm import CrmConnectionSettings
from core.sdk.settings import OAuthAppSettings

__all__ = ["HubSpotSettings", "HubSpotConnectionSettings"]


class HubSpotSettings(OAuthAppSettings):
    """``ECHODEPTH_HUBSPOT_*``: client id and secret, ``APP_ID`` and ``DEVELOPER_API_KEY`` (``hapikey``:
    ``connectors setup hubspot`` creates the app's legacy timeline event templates with them)."""

    model_config = SettingsConfigDict(
        env_prefix="ECHODEPTH_HUBSPOT_", extra="forbid", use_attribute_docstrings=True
    )

    app_id: str | None = None
    """The HubSpot app's id: with `ECHODEPTH_HUBSPOT_DEVELOPER_API_KEY`, `connectors setup hubspot` creates
    the app's timeline event template and stores its id."""
    developer_api_key: SecretStr | None = None
    """The HubSpot app's developer API key (`hapikey`, a secret; environment only): with
    `ECHODEPTH_HUBSPOT_APP_ID`, `connectors setup hubspot` creates the app's timeline event template and
    stores its id."""

    def for_setup(self) -> dict[str, str]:
        """The app id and developer key, when set (setup only; deliveries never get them)."""
        found = {"app_id": self.app_id} if self.app_id else {}
        if self.developer_api_key is not None:
            found["developer_api_key"] = self.developer_api_key.get_secret_value()
        return found


class HubSpotConnectionSettings(CrmConnectionSettings):
    """A HubSpot connection's tenant settings."""

    event_template_id: str | None = None
