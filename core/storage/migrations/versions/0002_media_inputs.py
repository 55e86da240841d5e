"""media inputs: spooled uploads and source URLs

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("job_inputs") as batch:
        batch.add_column(sa.Column("spooled", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column("source_url", sa.String(length=2048), nullable=True))
        batch.add_column(sa.Column("filename", sa.String(length=512), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("job_inputs") as batch:
        batch.drop_column("filename")
        batch.drop_column("source_url")
        batch.drop_column("spooled")
