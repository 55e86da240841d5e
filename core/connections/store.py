"""Connections in the database; tokens only ever as vault ciphertext."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.connections.models import AUTHORIZATION_CODE, Connection, OAuthStateUse
from core.connections.oauth import TokenSet
from core.sdk.errors import InputError
from core.storage.db import Database
from core.storage.models import utcnow
from core.storage.outbox import record_event
from core.storage.residency import require_region
from core.vault import TokenVault, VaultSecret

__all__ = ["ConnectionStore"]


class ConnectionStore:
    """Connections and their sealed tokens on one Database."""

    def __init__(self, db: Database, vault: TokenVault) -> None:
        self.db = db
        self.vault = vault

    def spend_state(self, nonce: str) -> bool:
        """Mark a state nonce used; False when it was used before."""
        with self.db.session() as s:
            s.add(OAuthStateUse(nonce=nonce, used_at=utcnow()))
            try:
                s.commit()
            except IntegrityError:
                return False
            return True

    def _seal(self, s: Session, tenant_id: str, kind: str, value: str) -> str:
        row = self.vault.new_secret(tenant_id, kind, value)
        s.add(row)
        s.flush()
        return row.id

    def save(
        self,
        tenant_id: str,
        provider: str,
        external_id: str,
        account: dict[str, Any],
        tokens: TokenSet,
        grant_type: str = AUTHORIZATION_CODE,
    ) -> Connection:
        """Store a new connection, or give a reconnected account its new tokens."""
        with self.db.session() as s:
            require_region(s, self.db, tenant_id)  # the tokens live in the tenant's region only
            found = s.scalars(
                select(Connection).where(
                    Connection.tenant_id == tenant_id,
                    Connection.provider == provider,
                    Connection.external_account_id == external_id,
                    Connection.grant_type == grant_type,
                )
            ).first()
            if found is None:
                found = Connection(
                    id=str(uuid.uuid4()),
                    tenant_id=tenant_id,
                    provider=provider,
                    external_account_id=external_id,
                    grant_type=grant_type,
                    access_secret_id=self._seal(s, tenant_id, "access_token", tokens.access_token),
                    created_at=utcnow(),
                )
                s.add(found)
            else:
                self.vault.replace(s, found.access_secret_id, tokens.access_token)
            self._apply(s, found, tokens)
            found.account, found.scopes, found.status, found.refresh_failures = (
                account,
                tokens.scopes,
                "active",
                0,
            )
            s.commit()
            return found

    def _apply(self, s: Session, conn: Connection, tokens: TokenSet) -> None:
        """Put a token set on ``conn`` within ``s`` (the refresh token only when there is one)."""
        if tokens.refresh_token and conn.refresh_secret_id:
            self.vault.replace(s, conn.refresh_secret_id, tokens.refresh_token)
        elif tokens.refresh_token:
            conn.refresh_secret_id = self._seal(s, conn.tenant_id, "refresh_token", tokens.refresh_token)
        conn.expires_at = tokens.expires_at
        conn.updated_at = utcnow()

    def refreshed(self, s: Session, conn: Connection, tokens: TokenSet, from_token: list[str]) -> None:
        """Store a refresh's tokens atomically (access and rotated refresh token in one transaction), with
        the account details the vendor sends again on refresh (Salesforce ``instance_url``)."""
        self.vault.replace(s, conn.access_secret_id, tokens.access_token)
        self._apply(s, conn, tokens)
        changed = {k: tokens.extra[k] for k in from_token if k in tokens.extra}
        if changed:
            conn.account = {**(conn.account or {}), **changed}
        conn.last_refreshed_at, conn.refresh_failures, conn.status = utcnow(), 0, "active"
        s.commit()

    def get(self, tenant_id: str, connection_id: str) -> Connection:
        """The tenant's connection; ``not_found`` otherwise."""
        with self.db.session() as s:
            require_region(s, self.db, tenant_id)
            found = s.scalars(
                select(Connection).where(Connection.id == connection_id, Connection.tenant_id == tenant_id)
            ).first()
        if found is None:
            raise InputError("not_found", "no such connection", 404)
        return found

    def has_active(self, tenant_id: str, provider: str, external_id: str, grant_type: str) -> bool:
        """Whether the tenant has an active connection to that vendor account with that grant."""
        q = select(Connection.id).where(
            Connection.tenant_id == tenant_id,
            Connection.provider == provider,
            Connection.external_account_id == external_id,
            Connection.grant_type == grant_type,
            Connection.status == "active",
        )
        with self.db.session() as s:
            return s.scalar(q) is not None

    def by_id(self, connection_id: str) -> Connection | None:
        """Any connection by id (worker side)."""
        with self.db.session() as s:
            return s.get(Connection, connection_id)

    def list(self, tenant_id: str) -> list[Connection]:
        """The tenant's connections, oldest first."""
        with self.db.session() as s:
            require_region(s, self.db, tenant_id)
            q = select(Connection).where(Connection.tenant_id == tenant_id)
            return list(s.scalars(q.order_by(Connection.created_at, Connection.id)))

    def tokens(self, s: Session, conn: Connection) -> tuple[str, str | None]:
        """The connection's access and refresh tokens, opened."""
        refresh = self.vault.read(s, conn.refresh_secret_id) if conn.refresh_secret_id else None
        return self.vault.read(s, conn.access_secret_id), refresh

    def set_status(self, connection_id: str, status: str, failed: bool = False) -> None:
        """Change a connection's status, counting a refresh failure if ``failed``."""
        values: dict[str, Any] = {"status": status, "updated_at": utcnow()}
        if failed:
            values["refresh_failures"] = Connection.refresh_failures + 1
        with self.db.session() as s:
            s.execute(update(Connection).where(Connection.id == connection_id).values(**values))
            s.commit()

    def mark_needs_reauth(self, conn: Connection, event_type: str, payload: dict[str, Any]) -> str:
        """Mark the connection ``needs_reauth`` (a refresh failure counted) and put ``event_type`` in the
        outbox in the same transaction, so neither is ever written without the other; the outbox row id."""
        values = {
            "status": "needs_reauth",
            "updated_at": utcnow(),
            "refresh_failures": Connection.refresh_failures + 1,
        }
        with self.db.session() as s:
            s.execute(update(Connection).where(Connection.id == conn.id).values(**values))
            row = record_event(s, conn.tenant_id, event_type, payload)
            s.commit()
            return row.id

    def touch(self, connection_id: str) -> None:
        """Record a use of the connection."""
        with self.db.session() as s:
            s.execute(update(Connection).where(Connection.id == connection_id).values(last_used_at=utcnow()))
            s.commit()

    def delete(self, conn: Connection) -> None:
        """Delete the connection and its tokens."""
        with self.db.session() as s:
            s.execute(delete(Connection).where(Connection.id == conn.id))
            ids = [i for i in (conn.access_secret_id, conn.refresh_secret_id) if i]
            s.execute(delete(VaultSecret).where(VaultSecret.id.in_(ids)))
            s.commit()
