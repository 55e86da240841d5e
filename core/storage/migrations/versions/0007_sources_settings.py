"""meeting sources: a tenant's meeting policy per Source (Zoom, Teams)

Revision ID: 0007_sources
Revises: 0007_oauth
"""

import sqlalchemy as sa
from alembic import op

revision = "0007_sources"
down_revision = "0007_oauth"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "source_settings",
        sa.Column(
            "tenant_id", sa.String(36), sa.ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True
        ),
        sa.Column("provider", sa.String(40), primary_key=True),
        sa.Column("settings", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("source_settings")
