"""Connect, refresh and revoke vendor accounts: what the API and the workers call."""

from __future__ import annotations

import logging

from core.connections import oauth
from core.connections.models import Connection
from core.connections.providers import ProviderCatalog
from core.connections.state import encode_state, issue_state, pkce_challenge, pkce_verifier, read_state
from core.connections.store import ConnectionStore
from core.connections.tokens import TokenManager
from core.delivery.events import envelope
from core.delivery.queue import DeliveryQueue
from core.delivery.store import NewEvent
from core.sdk.errors import ConnectorError, InputError
from core.settings import Settings
from core.storage.db import Database
from core.vault import TokenVault

__all__ = ["Connections", "Authorize"]

log = logging.getLogger("echodepth.connections")


class Authorize:
    """Where to send the browser, and the nonce its cookie must carry back."""

    def __init__(self, url: str, nonce: str) -> None:
        self.url = url
        self.nonce = nonce


class Connections:
    """The tenant-facing side of vendor connections."""

    def __init__(
        self, settings: Settings, db: Database, vault: TokenVault, deliveries: DeliveryQueue
    ) -> None:
        self.catalog = ProviderCatalog(settings)
        self.store = ConnectionStore(db, vault)
        self.vault = vault
        self.deliveries = deliveries
        self.tokens = TokenManager(settings, self.store, self.catalog, self._needs_reauth)

    def authorize(self, tenant_id: str, provider: str) -> Authorize:
        """The vendor's consent URL with a signed, single-use state and (where supported) PKCE."""
        spec, client = self.catalog.spec(provider), self.catalog.client(provider)
        state = issue_state(self.vault.ring, tenant_id, provider)
        challenge = pkce_challenge(pkce_verifier(self.vault.ring, state))
        url = oauth.authorization_url(
            spec, client, self.catalog.redirect_uri(provider), encode_state(self.vault.ring, state), challenge
        )
        return Authorize(url, state.nonce)

    def callback(self, provider: str, code: str, state_token: str, cookie_nonce: str | None) -> Connection:
        """Check the state, exchange the code and store the connection."""
        state = read_state(self.vault.ring, state_token, provider)
        if cookie_nonce != state.nonce:
            raise InputError("invalid_state", "this browser did not start the authorization", 400)
        if not self.store.spend_state(state.nonce):
            raise InputError("invalid_state", "the authorization was already completed", 400)
        spec, client = self.catalog.spec(provider), self.catalog.client(provider)
        verifier = pkce_verifier(self.vault.ring, state)
        tokens = oauth.exchange_code(spec, client, self.catalog.redirect_uri(provider), code, verifier)
        external_id, account = oauth.account_of(spec, tokens)
        return self.store.save(state.tenant_id, provider, external_id, account, tokens)

    def disconnect(self, tenant_id: str, connection_id: str) -> bool:
        """Revoke at the vendor where it can, then delete the tokens; False if the vendor refused."""
        conn = self.store.get(tenant_id, connection_id)
        revoked = self._revoke(conn)
        self.store.delete(conn)
        return revoked

    def _revoke(self, conn: Connection) -> bool:
        with self.store.db.session() as s:
            access, refresh = self.store.tokens(s, conn)
        try:
            oauth.revoke(
                self.catalog.spec(conn.provider), self.catalog.client(conn.provider), refresh or access
            )
            return True
        except (ConnectorError, InputError) as exc:
            log.warning(
                "connection %s: revoke at %s failed (%s); deleting tokens anyway", conn.id, conn.provider, exc
            )
            return False

    def _needs_reauth(self, conn: Connection) -> None:
        data = {
            "connection_id": conn.id,
            "provider": conn.provider,
            "external_account_id": conn.external_account_id,
            "status": "needs_reauth",
        }
        event_type = "connection.needs_reauth"
        self.deliveries.emit(NewEvent(conn.tenant_id, event_type, envelope(event_type, data)))
