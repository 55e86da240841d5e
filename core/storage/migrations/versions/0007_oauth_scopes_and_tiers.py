"""API-key scopes and rate tiers; the OAuth 2.0 authorization server's users, clients, codes and tokens

Revision ID: 0007_oauth
Revises: 0006_governance
"""

import sqlalchemy as sa
from alembic import op

revision = "0007_oauth"
down_revision = "0006_governance"
branch_labels = None
depends_on = None

ALL_SCOPES = [
    "analyse:write",
    "results:read",
    "results:delete",
    "stream",
    "webhooks:manage",
    "connections:manage",
    "admin",
]


def _tenant_fk() -> sa.Column:
    return sa.Column(
        "tenant_id",
        sa.String(36),
        sa.ForeignKey("tenants.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    )


def upgrade() -> None:
    op.add_column("api_keys", sa.Column("scopes", sa.JSON(), nullable=True))
    keys = sa.table("api_keys", sa.column("scopes", sa.JSON()))
    op.execute(keys.update().values(scopes=ALL_SCOPES))  # existing keys keep what they could do: everything
    op.add_column("api_keys", sa.Column("rate_tier", sa.String(40), nullable=True))
    op.add_column("tenants", sa.Column("rate_tier", sa.String(40), nullable=True))
    op.create_table(
        "users",
        sa.Column("id", sa.String(36), primary_key=True),
        _tenant_fk(),
        sa.Column("email", sa.String(320), nullable=False, unique=True),
        sa.Column("password_hash", sa.String(200), nullable=False),
        sa.Column("scopes", sa.JSON(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "oauth_clients",
        sa.Column("id", sa.String(36), primary_key=True),
        _tenant_fk(),
        sa.Column("client_id", sa.String(64), nullable=False, unique=True),
        sa.Column("secret_hash", sa.String(64), nullable=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("redirect_uris", sa.JSON(), nullable=True),
        sa.Column("scopes", sa.JSON(), nullable=True),
        sa.Column("public", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "oauth_codes",
        sa.Column("code_hash", sa.String(64), primary_key=True),
        sa.Column("client_id", sa.String(64), nullable=False, index=True),
        sa.Column("user_id", sa.String(36), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
        sa.Column("redirect_uri", sa.Text(), nullable=False),
        sa.Column("scope", sa.Text(), nullable=False),
        sa.Column("code_challenge", sa.String(128), nullable=True),
        sa.Column("code_challenge_method", sa.String(10), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "oauth_tokens",
        sa.Column("id", sa.String(36), primary_key=True),
        _tenant_fk(),
        sa.Column("client_id", sa.String(64), nullable=False, index=True),
        sa.Column("user_id", sa.String(36), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=True),
        sa.Column("family", sa.String(36), nullable=False, index=True),
        sa.Column("scope", sa.Text(), nullable=False),
        sa.Column("access_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("refresh_hash", sa.String(64), nullable=True, unique=True),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("access_expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("refresh_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("rotated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
    )


def downgrade() -> None:
    for table in ("oauth_tokens", "oauth_codes", "oauth_clients", "users"):
        op.drop_table(table)
    op.drop_column("tenants", "rate_tier")
    op.drop_column("api_keys", "rate_tier")
    op.drop_column("api_keys", "scopes")
