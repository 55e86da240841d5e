"""Connect, refresh and revoke vendor accounts: what the API and the workers call."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final, Literal

from core.broker import Messages
from core.connections import oauth
from core.connections.models import (
    AUTHORIZATION_CODE,
    CLIENT_CREDENTIALS,
    OAUTH_PARAMS,
    Connection,
    url_params,
)
from core.connections.providers import ProviderCatalog
from core.connections.state import (
    OAuthState,
    encode_state,
    issue_state,
    pkce_challenge,
    pkce_verifier,
    read_state,
)
from core.connections.store import ConnectionStore
from core.connections.tokens import TokenManager
from core.sdk.errors import ConnectorError, InputError, PermanentError
from core.settings import Settings
from core.storage.db import Database
from core.storage.outbox import envelope
from core.vault import TokenVault

__all__ = ["Connections", "Authorize", "Disconnected", "FLOWS"]

FLOWS = ("code", "admin_consent")

log = logging.getLogger("echodepth.connections")


class Authorize:
    """Where to send the browser, and the nonce its cookie must carry back."""

    def __init__(self, url: str, nonce: str) -> None:
        self.url = url
        self.nonce = nonce


Revocation = Literal["revoked", "not_supported", "failed"]
REVOKED: Final = "revoked"
NOT_SUPPORTED: Final = "not_supported"
FAILED: Final = "failed"


@dataclass(frozen=True)
class Disconnected:
    """What ``DELETE /v1/connections/{id}`` did: tokens deleted here; ``vendor_revocation`` says whether the
    vendor revoked the grant (``revoked``), has no way to (``not_supported``) or refused (``failed``)."""

    connection_id: str
    provider: str
    vendor_revocation: Revocation

    @property
    def vendor_revoked(self) -> bool:
        """Whether the vendor confirmed the grant is revoked."""
        return self.vendor_revocation == REVOKED


class Connections:
    """The tenant-facing side of vendor connections."""

    def __init__(self, settings: Settings, db: Database, vault: TokenVault, messages: Messages) -> None:
        self.catalog = ProviderCatalog(settings)
        self.catalog.validate_all()  # a broken provider file stops start-up (ConfigError), not a request
        self.store = ConnectionStore(db, vault)
        self.vault = vault
        self.messages = messages
        self.tokens = TokenManager(settings, self.store, self.catalog, self._needs_reauth)

    def authorize(
        self, tenant_id: str, provider: str, given: Mapping[str, str | None] | None = None, flow: str = "code"
    ) -> Authorize:
        """The vendor's consent URL with a signed, single-use state and (where supported) PKCE.

        ``given`` chooses the provider's URL params (Salesforce ``host``, Microsoft ``tenant``); ``flow`` is
        ``code`` (a user's delegated grant) or ``admin_consent`` (organisation-wide, app-only tokens)."""
        if flow not in FLOWS:
            raise InputError("invalid_input", f"flow must be one of {', '.join(FLOWS)}", 422)
        spec, client = self.catalog.spec(provider), self.catalog.client(provider)
        params = self.catalog.params(provider, given or {})
        state = issue_state(self.vault.ring, tenant_id, provider, params, flow)
        token, redirect = encode_state(self.vault.ring, state), self.catalog.redirect_uri(provider)
        if flow == "admin_consent":
            url = oauth.admin_consent_url(spec, client, redirect, token, params)
        else:
            challenge = pkce_challenge(pkce_verifier(self.vault.ring, state))
            url = oauth.authorization_url(spec, client, redirect, token, challenge, params)
        return Authorize(url, state.nonce)

    def _spend(self, provider: str, state_token: str, cookie_nonce: str | None, flow: str) -> OAuthState:
        """The callback's state, checked (signature, provider, expiry, browser, flow) and spent."""
        state = read_state(self.vault.ring, state_token, provider)
        if cookie_nonce != state.nonce:
            raise InputError("invalid_state", "this browser did not start the authorization", 400)
        if state.flow != flow:
            raise InputError("invalid_state", f"the state was issued for the {state.flow} flow", 400)
        if not self.store.spend_state(state.nonce):
            raise InputError("invalid_state", "the authorization was already completed", 400)
        return state

    def callback(self, provider: str, code: str, state_token: str, cookie_nonce: str | None) -> Connection:
        """Check the state, exchange the code and store the connection."""
        state = self._spend(provider, state_token, cookie_nonce, "code")
        spec, client = self.catalog.spec(provider), self.catalog.client(provider)
        verifier = pkce_verifier(self.vault.ring, state)
        redirect = self.catalog.redirect_uri(provider)
        tokens = oauth.exchange_code(spec, client, redirect, code, verifier, state.params)
        external_id, account = oauth.account_of(spec, tokens)
        account = {**account, OAUTH_PARAMS: state.params} if state.params else account
        return self.store.save(state.tenant_id, provider, external_id, account, tokens)

    def admin_consented(
        self, provider: str, organisation: str, state_token: str, cookie_nonce: str | None
    ) -> Connection:
        """An admin consented for ``organisation``: fetch its first app-only token, store the connection."""
        state = self._spend(provider, state_token, cookie_nonce, "admin_consent")
        spec, client = self.catalog.spec(provider), self.catalog.client(provider)
        found = self.catalog.oauth(provider).client_credentials
        assert found is not None  # authorize() built the consent URL from it
        params = self.catalog.params(provider, {found.param: organisation})
        asked = state.params.get(found.param)
        if asked not in (self.catalog.params(provider, {})[found.param], params[found.param]):
            raise InputError("invalid_state", "the consent came back for another organisation", 400)
        # The redirect's organisation id is not signed: only trust one a user of this tenant proved they
        # belong to by connecting delegated (the admin-consent docs recommend signing the user in first).
        if not self.store.has_active(state.tenant_id, provider, organisation, AUTHORIZATION_CODE):
            raise PermanentError(
                provider,
                "organisation_not_verified",
                "connect a user of this organisation first, then consent",
            )
        tokens = oauth.client_credentials(spec, client, params)
        account = {found.param: organisation, OAUTH_PARAMS: params}
        return self.store.save(state.tenant_id, provider, organisation, account, tokens, CLIENT_CREDENTIALS)

    def disconnect(self, tenant_id: str, connection_id: str) -> Disconnected:
        """Mark the connection ``revoked`` (workers stop using it), revoke its grant at the vendor where the
        vendor has a revocation endpoint, then delete the connection and its tokens whatever it answered."""
        conn = self.store.get(tenant_id, connection_id)
        self.store.set_status(conn.id, "revoked")
        outcome = self._revoke(conn)
        self.store.delete(conn)
        return Disconnected(conn.id, conn.provider, outcome)

    def _revoke(self, conn: Connection) -> Revocation:
        if not self.catalog.oauth(conn.provider).revoke_url:
            # Microsoft's identity platform has no endpoint to revoke an app's tokens: the refresh token
            # lives on until it expires or an admin removes the app (README, Vendor connections)
            log.info("connection %s: %s has no token revocation; tokens deleted here", conn.id, conn.provider)
            return NOT_SUPPORTED
        with self.store.db.session() as s:
            access, refresh = self.store.tokens(s, conn)
        try:
            spec, client = self.catalog.spec(conn.provider), self.catalog.client(conn.provider)
            oauth.revoke(spec, client, access, refresh, url_params(conn))
            return REVOKED
        except (ConnectorError, InputError) as exc:
            log.warning(
                "connection %s: revoke at %s failed (%s); deleting tokens anyway", conn.id, conn.provider, exc
            )
            return FAILED

    def _needs_reauth(self, conn: Connection) -> None:
        data = {
            "connection_id": conn.id,
            "provider": conn.provider,
            "external_account_id": conn.external_account_id,
            "status": "needs_reauth",
        }
        event_type = "connection.needs_reauth"
        # status and outbox row in one transaction; the fan_out message after it (or the sweep) delivers it
        outbox_id = self.store.mark_needs_reauth(conn, event_type, envelope(event_type, data))
        self.messages.fan_out(outbox_id)
