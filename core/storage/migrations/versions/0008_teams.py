"""meeting sources: vendor change-notification subscriptions (Graph) and owner-summary SLA tracking

Revision ID: 0008_teams
Revises: 0007_sinks
"""

import sqlalchemy as sa
from alembic import op

revision = "0008_teams"
down_revision = "0007_sinks"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "source_subscriptions",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column(
            "tenant_id", sa.String(36), sa.ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column(
            "connection_id",
            sa.String(36),
            sa.ForeignKey("connections.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("source", sa.String(40), nullable=False),
        sa.Column("resource", sa.String(300), nullable=False),
        sa.Column("external_id", sa.String(200), nullable=True),
        sa.Column(
            "client_state_secret_id",
            sa.String(36),
            sa.ForeignKey("vault_secrets.id", ondelete="SET NULL"),
            nullable=True,
        ),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("action", sa.String(16), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("connection_id", "resource", name="uq_source_subscriptions_resource"),
    )
    op.create_index("ix_source_subscriptions_tenant_id", "source_subscriptions", ["tenant_id"])
    op.create_index("ix_source_subscriptions_external_id", "source_subscriptions", ["external_id"])
    op.create_table(
        "owner_summaries",
        sa.Column("job_id", sa.String(36), sa.ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True),
        sa.Column(
            "tenant_id", sa.String(36), sa.ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("source", sa.String(40), nullable=False),
        sa.Column("connection_id", sa.String(36), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("delivery_id", sa.String(36), nullable=True),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("alerted_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_owner_summaries_tenant_id", "owner_summaries", ["tenant_id"])
    op.create_index("ix_owner_summaries_status", "owner_summaries", ["status"])


def downgrade() -> None:
    op.drop_table("owner_summaries")
    op.drop_table("source_subscriptions")
