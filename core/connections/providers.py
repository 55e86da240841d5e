"""OAuth providers: vendor facts from ``config/providers/<key>.yaml``, client credentials from settings."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import SecretStr

from core.registry import PROVIDERS_DIR, load_provider_spec
from core.sdk.contracts import OAuthSpec, ProviderSpec
from core.sdk.errors import ConfigError, InputError
from core.settings import Settings

__all__ = ["OAuthClient", "ProviderCatalog"]


@dataclass(frozen=True)
class OAuthClient:
    """Our app's registration at the vendor."""

    client_id: str
    client_secret: str

    def __repr__(self) -> str:
        return f"OAuthClient({self.client_id!r}, <secret>)"


class ProviderCatalog:
    """Which vendors can be connected, and how."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.directory = settings.providers_dir or PROVIDERS_DIR

    def spec(self, provider: str) -> ProviderSpec:
        """The provider's spec; ``not_found`` unless it is an OAuth provider we know."""
        try:
            spec = load_provider_spec(provider, self.directory)
        except ConfigError as exc:
            raise InputError("not_found", f"no OAuth provider {provider!r}", 404) from exc
        if spec.auth != "oauth2" or spec.oauth is None:
            raise InputError("not_found", f"{provider!r} is not connected with OAuth", 404)
        return spec

    def oauth(self, provider: str) -> OAuthSpec:
        """The provider's OAuth endpoints and quirks."""
        found = self.spec(provider).oauth
        assert found is not None  # spec() checked it
        return found

    def client(self, provider: str) -> OAuthClient:
        """Client id and secret from ``ECHODEPTH_<PROVIDER>_CLIENT_ID`` / ``_CLIENT_SECRET``."""
        client_id = getattr(self.settings, f"{provider}_client_id", None)
        secret = getattr(self.settings, f"{provider}_client_secret", None)
        if not client_id or not isinstance(secret, SecretStr):
            raise InputError(
                "provider_not_configured",
                f"set ECHODEPTH_{provider.upper()}_CLIENT_ID and _CLIENT_SECRET",
                409,
            )
        return OAuthClient(client_id, secret.get_secret_value())

    def redirect_uri(self, provider: str) -> str:
        """Where the vendor sends the browser back to."""
        return f"{self.settings.public_url.rstrip('/')}/v1/oauth/callback/{provider}"
