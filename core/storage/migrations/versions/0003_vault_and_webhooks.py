"""token vault, vendor connections, webhook endpoints and deliveries

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def _tz() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def _tenant_id() -> sa.Column[str]:
    return sa.Column(
        "tenant_id", sa.String(36), sa.ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False
    )


def _vault() -> None:
    op.create_table(
        "vault_secrets",
        sa.Column("id", sa.String(36), primary_key=True),
        _tenant_id(),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("key_id", sa.String(64), nullable=False),
        sa.Column("nonce", sa.LargeBinary(12), nullable=False),
        sa.Column("ciphertext", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", _tz(), nullable=False),
        sa.Column("updated_at", _tz(), nullable=False),
    )
    op.create_index("ix_vault_secrets_tenant_id", "vault_secrets", ["tenant_id"])
    op.create_index("ix_vault_secrets_key_id", "vault_secrets", ["key_id"])


def _endpoints() -> None:
    op.create_table(
        "webhook_endpoints",
        sa.Column("id", sa.String(36), primary_key=True),
        _tenant_id(),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("url", sa.String(2048), nullable=True),
        sa.Column("description", sa.String(500), nullable=True),
        sa.Column("events", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("disabled_reason", sa.String(64), nullable=True),
        sa.Column("secret_id", sa.String(36), sa.ForeignKey("vault_secrets.id"), nullable=False),
        sa.Column(
            "previous_secret_id",
            sa.String(36),
            sa.ForeignKey("vault_secrets.id", ondelete="SET NULL"),
            nullable=True,
        ),
        sa.Column("previous_secret_expires_at", _tz(), nullable=True),
        sa.Column("created_at", _tz(), nullable=False),
        sa.Column("updated_at", _tz(), nullable=False),
    )
    op.create_index("ix_webhook_endpoints_tenant_kind", "webhook_endpoints", ["tenant_id", "kind"])


def _deliveries() -> None:
    op.create_table(
        "webhook_deliveries",
        sa.Column("id", sa.String(36), primary_key=True),
        _tenant_id(),
        sa.Column(
            "endpoint_id",
            sa.String(36),
            sa.ForeignKey("webhook_endpoints.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("message_id", sa.String(64), nullable=False),
        sa.Column("event_type", sa.String(64), nullable=False),
        sa.Column("url", sa.String(2048), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", _tz(), nullable=False),
        sa.Column("enqueued_at", _tz(), nullable=False),
        sa.Column("lease_expires_at", _tz(), nullable=True),
        sa.Column("last_status_code", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("replay_of", sa.String(36), nullable=True),
        sa.Column("created_at", _tz(), nullable=False),
        sa.Column("delivered_at", _tz(), nullable=True),
    )
    op.create_index("ix_webhook_deliveries_status_next", "webhook_deliveries", ["status", "next_attempt_at"])
    op.create_index(
        "ix_webhook_deliveries_endpoint_created", "webhook_deliveries", ["endpoint_id", "created_at", "id"]
    )
    op.create_index("ix_webhook_deliveries_tenant_status", "webhook_deliveries", ["tenant_id", "status"])
    op.create_index("ix_webhook_deliveries_message_id", "webhook_deliveries", ["message_id"])


def _connections() -> None:
    op.create_table(
        "connections",
        sa.Column("id", sa.String(36), primary_key=True),
        _tenant_id(),
        sa.Column("provider", sa.String(40), nullable=False),
        sa.Column("external_account_id", sa.String(200), nullable=False),
        sa.Column("account", sa.JSON(), nullable=False),
        sa.Column("scopes", sa.JSON(), nullable=False),
        sa.Column("access_secret_id", sa.String(36), sa.ForeignKey("vault_secrets.id"), nullable=False),
        sa.Column("refresh_secret_id", sa.String(36), sa.ForeignKey("vault_secrets.id"), nullable=True),
        sa.Column("expires_at", _tz(), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("refresh_failures", sa.Integer(), nullable=False),
        sa.Column("last_used_at", _tz(), nullable=True),
        sa.Column("last_refreshed_at", _tz(), nullable=True),
        sa.Column("created_at", _tz(), nullable=False),
        sa.Column("updated_at", _tz(), nullable=False),
        sa.UniqueConstraint("tenant_id", "provider", "external_account_id", name="uq_connections_account"),
    )
    op.create_index("ix_connections_tenant_id", "connections", ["tenant_id"])
    op.create_table(
        "oauth_state_uses",
        sa.Column("nonce", sa.String(64), primary_key=True),
        sa.Column("used_at", _tz(), nullable=False),
    )


def upgrade() -> None:
    _vault()
    _endpoints()
    _deliveries()
    _connections()


def downgrade() -> None:
    op.drop_table("oauth_state_uses")
    op.drop_table("connections")
    op.drop_table("webhook_deliveries")
    op.drop_table("webhook_endpoints")
    op.drop_table("vault_secrets")
