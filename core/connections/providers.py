"""OAuth providers: vendor facts from ``config/providers/<key>.yaml``, client credentials from settings."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from core.registry import PROVIDERS_DIR, connector_settings, load_provider_spec
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

    def validate_all(self) -> list[ProviderSpec]:
        """Load every ``<key>.yaml`` in the providers directory; ConfigError on the first broken one."""
        specs = [
            load_provider_spec(path.stem, self.directory) for path in sorted(self.directory.glob("*.yaml"))
        ]
        for path, spec in zip(sorted(self.directory.glob("*.yaml")), specs, strict=True):
            if spec.key != path.stem:
                raise ConfigError(f"{path}: key {spec.key!r} differs from the file name")
        return specs

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
        """Client id and secret from ``ECHODEPTH_<PROVIDER>_CLIENT_ID`` / ``_CLIENT_SECRET`` (the connector's
        settings model, ``core.registry.connector_settings``)."""
        found = connector_settings(provider, self.settings.connectors)
        client_id, secret = found.value("client_id"), found.value("client_secret")
        if not client_id or not secret:
            raise InputError(
                "provider_not_configured",
                f"set ECHODEPTH_{provider.upper()}_CLIENT_ID and _CLIENT_SECRET",
                409,
            )
        return OAuthClient(client_id, secret)

    def params(self, provider: str, given: Mapping[str, str | None]) -> dict[str, str]:
        """The provider's URL params (``{host}``, ``{tenant}``) for a connection; else ``invalid_input``."""
        resolved: dict[str, str] = {}
        for name, param in self.oauth(provider).params.items():
            value = param.resolve(given.get(name))
            if value is None:
                raise InputError(
                    "invalid_input", f"{name}={given.get(name)!r} is not accepted for {provider}", 422
                )
            resolved[name] = value
        return resolved

    def redirect_uri(self, provider: str) -> str:
        """Where the vendor sends the browser back to."""
        return f"{self.settings.public_url.rstrip('/')}/v1/oauth/callback/{provider}"
