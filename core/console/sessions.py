"""Console sessions: a signed-in tenant user, kept server-side as a token row of the OAuth store.

A session is a token the console (a first-party client, ``CONSOLE_CLIENT``) holds for a user: its secret
lives only in an HttpOnly cookie, its SHA-256 in ``oauth_tokens`` with an expiry, so signing out revokes it
at once and deleting the user ends it. The secret's prefix is not an access token's, so the API refuses it
as a bearer credential: the cookie opens the console and nothing else.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta

from core.oauth.store import OAuthStore, digest
from core.storage.db import Database
from core.storage.models import utcnow
from core.storage.oauth_models import User
from core.storage.store import Credential, Store

__all__ = ["SESSION_COOKIE", "SESSION_TTL", "CONSOLE_CLIENT", "ConsoleUser", "Sessions"]

SESSION_COOKIE = "echodepth_console"
SESSION_TTL = timedelta(
    hours=8
)  # a working day; signing in again is cheap, a stolen cookie dies the same day
CONSOLE_CLIENT = "echodepth-console"
_PREFIX = "edsess_"


@dataclass(frozen=True)
class ConsoleUser:
    """Who is signed in: the user, their tenant, their scopes (read at every request) and the session."""

    id: str
    email: str
    tenant_id: str
    scopes: frozenset[str]
    session_hash: str
    rate_tier: str | None = None

    @property
    def actor(self) -> str:
        """How the audit log names this user."""
        return f"user:{self.email}"

    def can(self, scope: str) -> bool:
        """Whether the user holds ``scope``."""
        return scope in self.scopes

    def credential(self) -> Credential:
        """The user as the API's credential type (for rate tiers and quotas)."""
        return Credential(self.tenant_id, self.scopes, self.rate_tier, f"console:{self.id}", self.actor)


class Sessions:
    """Sign in, look up and sign out console sessions, on the home database (where the users are)."""

    def __init__(self, db: Database, directory: Store) -> None:
        self.store = OAuthStore(db)
        self.directory = directory  # the home store: tenants' rate tiers

    def check_password(self, email: str, password: str) -> User | None:
        """The user when the password matches (argon2, constant time whether or not the user exists)."""
        return self.store.check_password(email, password)

    def open(self, user: User) -> str:
        """A new session of ``user``; the secret for the cookie."""
        secret = _PREFIX + secrets.token_urlsafe(32)
        ttl = int(SESSION_TTL.total_seconds())
        self.store.save_issued(
            user.tenant_id, CONSOLE_CLIENT, user.id, " ".join(user.scopes), secret, None, ttl, 0, None
        )
        return secret

    def current(self, secret: str | None) -> ConsoleUser | None:
        """The signed-in user of a live session secret, or None (unknown, expired, revoked, user gone)."""
        if not secret or not secret.startswith(_PREFIX):
            return None
        row = self.store.find_token(secret)
        if row is None or row.client_id != CONSOLE_CLIENT or row.user_id is None:
            return None
        if row.revoked_at is not None or row.access_expires_at <= utcnow():
            return None
        user = self.store.get_user(row.user_id)
        if user is None:
            return None
        tier = self.directory.tenant_rate_tier(user.tenant_id)
        return ConsoleUser(user.id, user.email, user.tenant_id, frozenset(user.scopes), digest(secret), tier)

    def close(self, secret: str | None) -> None:
        """Revoke the session (signing out); nothing happens for an unknown secret."""
        if not secret or not secret.startswith(_PREFIX):
            return
        row = self.store.find_token(secret)
        if row is not None and row.client_id == CONSOLE_CLIENT:
            self.store.revoke(row.id)
