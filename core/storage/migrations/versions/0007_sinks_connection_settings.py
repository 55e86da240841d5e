"""sinks: a Sink connection's settings (alert rules, field-mapping overrides, template ids)

Revision ID: 0007_sinks
Revises: 0007_sources
"""

import sqlalchemy as sa
from alembic import op

revision = "0007_sinks"
down_revision = "0007_sources"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "connection_settings",
        sa.Column(
            "connection_id",
            sa.String(36),
            sa.ForeignKey("connections.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("settings", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("connection_settings")
