"""Vendor connections (tokens live in the vault) and spent OAuth states."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.storage.models import Base, utcnow

__all__ = [
    "Connection",
    "OAuthStateUse",
    "AUTHORIZATION_CODE",
    "CLIENT_CREDENTIALS",
    "OAUTH_PARAMS",
    "url_params",
]

AUTHORIZATION_CODE = "authorization_code"
CLIENT_CREDENTIALS = "client_credentials"
OAUTH_PARAMS = "oauth_params"  # the account detail holding the connection's OAuth URL params


class Connection(Base):
    """A tenant's authorised vendor account: ``active``, ``needs_reauth`` or ``revoked``."""

    __tablename__ = "connections"
    __table_args__ = (
        UniqueConstraint(
            "tenant_id", "provider", "external_account_id", "grant_type", name="uq_connections_account"
        ),
    )
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    provider: Mapped[str] = mapped_column(String(40))
    external_account_id: Mapped[str] = mapped_column(String(200))
    # ``authorization_code`` (a user's delegated grant) or ``client_credentials`` (app-only, organisation)
    grant_type: Mapped[str] = mapped_column(String(32), default=AUTHORIZATION_CODE)
    account: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    scopes: Mapped[list[str]] = mapped_column(JSON, default=list)
    access_secret_id: Mapped[str] = mapped_column(ForeignKey("vault_secrets.id"))
    refresh_secret_id: Mapped[str | None] = mapped_column(ForeignKey("vault_secrets.id"))
    expires_at: Mapped[datetime | None]
    status: Mapped[str] = mapped_column(String(16), default="active")
    refresh_failures: Mapped[int] = mapped_column(Integer, default=0)
    last_used_at: Mapped[datetime | None]
    last_refreshed_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class OAuthStateUse(Base):
    """A consumed ``state`` nonce: a second callback with the same state is refused."""

    __tablename__ = "oauth_state_uses"
    nonce: Mapped[str] = mapped_column(String(64), primary_key=True)
    used_at: Mapped[datetime] = mapped_column(default=utcnow)


def url_params(conn: Connection) -> dict[str, str]:
    """The OAuth URL params (Salesforce host, Microsoft tenant) the connection was made with."""
    return dict((conn.account or {}).get(OAUTH_PARAMS) or {})
