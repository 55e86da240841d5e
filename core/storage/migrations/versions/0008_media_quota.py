"""media quota: seconds of audio/video charged per job item and UTC day (a tier's media_minutes_per_day)

Revision ID: 0008_media_quota
Revises: 0008_teams
"""

import sqlalchemy as sa
from alembic import op

revision = "0008_media_quota"
down_revision = "0008_teams"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "media_charges",
        sa.Column("job_id", sa.String(36), primary_key=True),
        sa.Column("item", sa.Integer(), primary_key=True),
        sa.Column(
            "tenant_id", sa.String(36), sa.ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("day", sa.String(10), nullable=False),
        sa.Column("seconds", sa.Float(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_media_charges_tenant_day", "media_charges", ["tenant_id", "day"])


def downgrade() -> None:
    op.drop_index("ix_media_charges_tenant_day", table_name="media_charges")
    op.drop_table("media_charges")
