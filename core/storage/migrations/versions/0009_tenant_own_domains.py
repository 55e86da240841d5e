"""tenant own domains: the organisation's own mail domains (a named speaker at one is internal, the rep)

Revision ID: 0009_tenant_own_domains
Revises: 0008_media_quota
"""

import sqlalchemy as sa
from alembic import op

revision = "0009_tenant_own_domains"
down_revision = "0008_media_quota"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("tenants") as batch:
        batch.add_column(sa.Column("own_domains", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("tenants") as batch:
        batch.drop_column("own_domains")
