"""Users, clients, codes and tokens of the OAuth 2.0 server; secrets kept as SHA-256, passwords as argon2."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from core.sdk.errors import InputError
from core.storage.db import Database
from core.storage.models import Tenant, utcnow
from core.storage.oauth_models import OAuthClient, OAuthCode, OAuthToken, User
from core.storage.queries import changed
from core.storage.scopes import SCOPES
from core.storage.store import Credential

__all__ = ["OAuthStore", "NewClient", "digest", "ACCESS_PREFIX", "REFRESH_PREFIX"]

ACCESS_PREFIX = "eda_"
REFRESH_PREFIX = "edr_"
_hasher = PasswordHasher()


def digest(secret: str) -> str:
    """SHA-256 hex of a secret (codes, tokens and client secrets are looked up by it)."""
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(frozen=True)
class NewClient:
    """A registered client; ``client_secret`` is shown once (None for public clients)."""

    client: OAuthClient
    client_secret: str | None


class OAuthStore:
    """Every OAuth query, on one Database."""

    def __init__(self, db: Database) -> None:
        self.db = db

    # users ------------------------------------------------------------------------------------

    def create_user(self, tenant_id: str, email: str, password: str, scopes: list[str] | None = None) -> User:
        """A tenant user who may grant ``scopes`` (all but ``admin`` unless given) to applications."""
        if len(password) < 8:
            raise InputError("invalid_input", "the password must have at least 8 characters", 422)
        user = User(
            id=str(uuid.uuid4()),
            tenant_id=tenant_id,
            email=email.strip().lower(),
            password_hash=_hasher.hash(password),
            scopes=list(scopes if scopes is not None else [s for s in SCOPES if s != "admin"]),
        )
        with self.db.session() as s:
            s.add(user)
            try:
                s.commit()
            except IntegrityError as exc:
                raise InputError("conflict", "a user with this email exists", 409) from exc
            s.refresh(user)
            s.expunge(user)
        return user

    def check_password(self, email: str, password: str) -> User | None:
        """The user when the password matches, else None (argon2, constant time)."""
        with self.db.session() as s:
            user = s.scalars(select(User).where(User.email == email.strip().lower())).first()
            if user is None:
                _hasher.hash(password)  # as slow as a real check: no user enumeration by timing
                return None
            try:
                _hasher.verify(user.password_hash, password)
            except (VerificationError, InvalidHashError):
                return None
            s.expunge(user)
            return user

    def set_password(self, email: str, password: str) -> User | None:
        """Give the user with this email a new password (argon2); None when there is no such user."""
        if len(password) < 8:
            raise InputError("invalid_input", "the password must have at least 8 characters", 422)
        with self.db.session() as s:
            user = s.scalars(select(User).where(User.email == email.strip().lower())).first()
            if user is None:
                return None
            user.password_hash = _hasher.hash(password)
            s.commit()
            s.refresh(user)
            s.expunge(user)
            return user

    def get_user(self, user_id: str) -> User | None:
        """The user with this id."""
        with self.db.session() as s:
            user = s.get(User, user_id)
            if user is not None:
                s.expunge(user)
            return user

    # clients ----------------------------------------------------------------------------------

    def register_client(
        self, tenant_id: str, name: str, redirect_uris: list[str], public: bool, scopes: list[str]
    ) -> NewClient:
        """Register an application of the tenant."""
        secret = None if public else "edcs_" + secrets.token_urlsafe(32)
        client = OAuthClient(
            id=str(uuid.uuid4()),
            tenant_id=tenant_id,
            client_id="edc_" + secrets.token_urlsafe(16),
            secret_hash=digest(secret) if secret else None,
            name=name,
            redirect_uris=redirect_uris,
            scopes=scopes,
            public=public,
        )
        with self.db.session() as s:
            s.add(client)
            s.commit()
            s.refresh(client)
            s.expunge(client)
        return NewClient(client, secret)

    def get_client(self, client_id: str) -> OAuthClient | None:
        """The client with this public id."""
        with self.db.session() as s:
            client = s.scalars(select(OAuthClient).where(OAuthClient.client_id == client_id)).first()
            if client is not None:
                s.expunge(client)
            return client

    # codes ------------------------------------------------------------------------------------

    def save_code(self, row: OAuthCode) -> None:
        """Store an authorization code (by hash)."""
        with self.db.session() as s:
            s.add(row)
            s.commit()

    def take_code(self, code: str, client_id: str) -> OAuthCode | None:
        """The unexpired code of this client, or None; a code can be looked up until it is deleted."""
        with self.db.session() as s:
            row = s.get(OAuthCode, digest(code))
            if row is None or row.client_id != client_id or row.expires_at < utcnow():
                return None
            s.expunge(row)
            return row

    def delete_code(self, code_hash: str) -> bool:
        """Delete a used code; False when another request used it first."""
        with self.db.session() as s:
            row = s.get(OAuthCode, code_hash)
            if row is None:
                return False
            s.delete(row)
            s.commit()
            return True

    # tokens -----------------------------------------------------------------------------------

    def save_issued(
        self,
        tenant_id: str,
        client_id: str,
        user_id: str | None,
        scope: str,
        access_token: str,
        refresh_token: str | None,
        access_ttl: int,
        refresh_ttl: int,
        family: str | None,
    ) -> None:
        """Store a token pair authlib generated (by hash); a refresh keeps the grant's ``family``."""
        now = utcnow()
        row = OAuthToken(
            id=str(uuid.uuid4()),
            tenant_id=tenant_id,
            client_id=client_id,
            user_id=user_id,
            family=family or str(uuid.uuid4()),
            scope=scope,
            access_hash=digest(access_token),
            refresh_hash=digest(refresh_token) if refresh_token else None,
            issued_at=now,
            access_expires_at=now + timedelta(seconds=access_ttl),
            refresh_expires_at=now + timedelta(seconds=refresh_ttl) if refresh_token else None,
        )
        with self.db.session() as s:
            s.add(row)
            s.commit()

    def find_token(self, secret: str) -> OAuthToken | None:
        """The token row of an access or refresh token, whatever its state."""
        h = digest(secret)
        column = OAuthToken.refresh_hash if secret.startswith(REFRESH_PREFIX) else OAuthToken.access_hash
        with self.db.session() as s:
            row = s.scalars(select(OAuthToken).where(column == h)).first()
            if row is not None:
                s.expunge(row)
            return row

    def rotate(self, token_id: str) -> bool:
        """Mark a refresh token used (it may not be used again); False if it already was."""
        with self.db.session() as s:
            n = changed(
                s,
                update(OAuthToken)
                .where(OAuthToken.id == token_id, OAuthToken.rotated_at.is_(None))
                .values(rotated_at=utcnow(), access_expires_at=utcnow()),
            )
            s.commit()
            return bool(n)

    def revoke_family(self, family: str) -> None:
        """Revoke every token descended from one grant (refresh-token reuse, or RFC 7009 revocation)."""
        with self.db.session() as s:
            s.execute(
                update(OAuthToken)
                .where(OAuthToken.family == family, OAuthToken.revoked_at.is_(None))
                .values(revoked_at=utcnow())
            )
            s.commit()

    def revoke(self, token_id: str) -> None:
        """Revoke one token row (an access token alone)."""
        with self.db.session() as s:
            s.execute(update(OAuthToken).where(OAuthToken.id == token_id).values(revoked_at=utcnow()))
            s.commit()

    def authenticate_access_token(self, secret: str) -> Credential | None:
        """The credential of a live access token, or None."""
        if not secret.startswith(ACCESS_PREFIX):
            return None
        with self.db.session() as s:
            found = s.execute(
                select(OAuthToken, Tenant.rate_tier)
                .join(Tenant, Tenant.id == OAuthToken.tenant_id)
                .where(OAuthToken.access_hash == digest(secret))
            ).first()
        if found is None:
            return None
        row, tier = found
        if row.revoked_at is not None or row.access_expires_at <= utcnow():
            return None
        return Credential(
            tenant_id=row.tenant_id,
            scopes=frozenset(row.scope.split()),
            rate_tier=tier,
            ident=f"oauth:{row.family}",
            actor=f"oauth:{row.client_id}",
        )
