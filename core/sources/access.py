"""What every part of the Sources hub reads through: the installed Sources, their provider specs, the
connections they read with, and guarded HTTP sessions carrying a connection's (refreshed) token."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TypeVar

from sqlalchemy import select

from core.connections import Connections
from core.connections.models import AUTHORIZATION_CODE, Connection
from core.delivery.session import GuardedSession
from core.registry import ConnectorRegistry, connector_settings, get_registry, load_provider_spec
from core.sdk.contracts import Credentials, HttpSession, ProviderSpec, Source
from core.sdk.errors import InputError
from core.settings import Settings
from core.storage.db import Database
from core.vault import TokenVault

__all__ = ["SourceAccess"]

T = TypeVar("T")


class SourceAccess:
    """The region's Sources, specs, connections and sessions (shared by intake, subscriptions, summaries)."""

    def __init__(
        self,
        settings: Settings,
        db: Database,
        vault: TokenVault,
        connections: Connections,
        registry: ConnectorRegistry | None = None,
    ) -> None:
        self.settings, self.db, self.vault, self.connections = settings, db, vault, connections
        self._registry = registry

    @property
    def registry(self) -> ConnectorRegistry:
        """The connector registry (the process-wide one unless injected)."""
        return self._registry or get_registry()

    def source(self, key: str) -> Source:
        """The Source called ``key``; 404 ``not_found`` when there is none."""
        found = self.registry.all()
        connector = next((r.connector for r in found if r.key == key and r.kind == "source"), None)
        if not isinstance(connector, Source):
            raise InputError("not_found", f"no meeting source {key!r}", 404)
        return connector

    def spec(self, key: str) -> ProviderSpec:
        """The Source's provider spec (from the configured providers directory)."""
        return load_provider_spec(key, self.connections.catalog.directory)

    @staticmethod
    def connection_kind(source: Source, key: str) -> tuple[str, str]:
        """(provider, grant type) of the connections a Source reads through: its own key and a user's
        grant unless it says otherwise (Teams: the tenant admin's app-only Microsoft connection)."""
        return (
            str(getattr(source, "connection_provider", key)),
            str(getattr(source, "connection_grant", AUTHORIZATION_CODE)),
        )

    def keys(self) -> list[str]:
        """Every installed Source's key."""
        return [r.key for r in self.registry.all() if r.kind == "source"]

    def connected(self, key: str) -> list[Connection]:
        """The active connections ``key`` reads recordings through."""
        provider, grant = self.connection_kind(self.source(key), key)
        q = select(Connection).where(
            Connection.provider == provider,
            Connection.status == "active",
            Connection.grant_type == grant,
        )
        with self.db.session() as s:
            return list(s.scalars(q))

    def session(self, token: str, extra: Mapping[str, str] | None = None) -> HttpSession:
        """A guarded session carrying ``token`` (and an event's short-lived credentials)."""
        return GuardedSession(
            Credentials(access_token=token, extra=dict(extra or {})),
            allow_private=self.settings.allow_private_urls,
            timeout=self.settings.url_fetch_timeout_seconds,
            max_download_bytes=self.settings.max_upload_bytes,
            download_seconds=self.settings.url_fetch_max_seconds,
        )

    def with_token(self, connection_id: str, call: Callable[[str, bool], T]) -> T:
        """``call(token, first)``; when the vendor rejects the token, refresh once and call again
        (``TokenManager.with_token``, shared with the Sinks)."""
        return self.connections.tokens.with_token(connection_id, call)

    def summary_session(self, key: str, token: str) -> HttpSession:
        """The session to call ``send_summary`` with: the connection's ``token``, plus the app-level values
        the provider's ``settings.summary_credentials`` names (``ECHODEPTH_<KEY>_<NAME>``) in ``extra``."""
        names = self.spec(key).settings.get("summary_credentials") or []
        extra: dict[str, str] = {}
        found = connector_settings(key, self.settings.connectors, self.registry)
        for name in names:
            if (value := found.value(name)) is not None:
                extra[name] = value
        return self.session(token, extra)
