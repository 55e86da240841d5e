"""data governance: tenant region, purposes, lawful basis and retention; the audit log

Revision ID: 0006_governance
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0006_governance"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("tenants", sa.Column("region", sa.String(8), nullable=False, server_default="uk"))
    op.add_column("tenants", sa.Column("retention_days", sa.Integer(), nullable=True))
    op.add_column("tenants", sa.Column("purposes", sa.JSON(), nullable=True))
    op.add_column("tenants", sa.Column("consent_basis", sa.String(40), nullable=True))
    op.create_table(
        "audit_log",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column(
            "tenant_id", sa.String(36), sa.ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(80), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("target", sa.String(200), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=True),
    )
    op.create_index("ix_audit_log_tenant_at", "audit_log", ["tenant_id", "at", "id"])


def downgrade() -> None:
    op.drop_index("ix_audit_log_tenant_at", table_name="audit_log")
    op.drop_table("audit_log")
    with op.batch_alter_table("tenants") as batch:
        for column in ("consent_basis", "purposes", "retention_days", "region"):
            batch.drop_column(column)
