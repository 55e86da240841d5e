"""A connector's own deployment settings (its OAuth app, webhook secrets): declared by the connector, found
by core through the registry, so core holds no vendor's settings.

A connector sets ``settings_model`` to a ``ConnectorSettings`` subclass whose ``env_prefix`` is
``ECHODEPTH_<KEY>_`` (the key of the connection provider it uses): ``ECHODEPTH_<KEY>_CLIENT_ID`` and the
like are read from the environment; the core setting ``connectors`` (``{key: {name: value}}``) overrides
them (tests, embedded use). A connector may also declare ``connection_settings``: the pydantic model of what
a tenant may set on one of its connections (``PUT /v1/connections/{id}/mapping``).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["ConnectorSettings", "OAuthAppSettings", "NoConnectionSettings"]


class ConnectorSettings(BaseSettings):
    """Settings of one connector; subclasses set ``env_prefix`` and their fields."""

    model_config = SettingsConfigDict(extra="forbid", use_attribute_docstrings=True)

    def value(self, name: str) -> str | None:
        """The setting called ``name`` as text (a secret revealed), None when unset or unknown."""
        found = getattr(self, name, None)
        if isinstance(found, SecretStr):
            return found.get_secret_value()
        return None if found is None else str(found)

    def for_setup(self) -> dict[str, str]:
        """App-level values a Sink's ``setup`` gets in ``Credentials.extra`` (none by default; never handed
        to deliveries)."""
        return {}


class OAuthAppSettings(ConnectorSettings):
    """Our app's registration at an OAuth vendor: ``<PREFIX>CLIENT_ID`` and ``<PREFIX>CLIENT_SECRET``."""

    client_id: str | None = None
    """Our OAuth app's client id at the vendor (the connect flow answers `409 provider_not_configured`
    without it and the secret)."""
    client_secret: SecretStr | None = None
    """Our OAuth app's client secret at the vendor (a secret: environment only)."""


class NoConnectionSettings(BaseModel):
    """A connection that takes no tenant settings."""

    model_config = ConfigDict(extra="forbid")
