"""connections carry their grant type (Microsoft app-only beside delegated); the event outbox

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("connections") as batch:
        batch.add_column(
            sa.Column("grant_type", sa.String(32), nullable=False, server_default="authorization_code")
        )
        batch.drop_constraint("uq_connections_account", type_="unique")
        batch.create_unique_constraint(
            "uq_connections_account", ["tenant_id", "provider", "external_account_id", "grant_type"]
        )
    op.create_table(
        "event_outbox",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column(
            "tenant_id", sa.String(36), sa.ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("event_type", sa.String(64), nullable=False),
        sa.Column("job_id", sa.String(36), nullable=True),
        sa.Column("payload", sa.JSON(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_event_outbox_created_at", "event_outbox", ["created_at"])
    op.create_index("ix_event_outbox_job_id", "event_outbox", ["job_id"])


def downgrade() -> None:
    op.drop_table("event_outbox")
    with op.batch_alter_table("connections") as batch:
        batch.drop_constraint("uq_connections_account", type_="unique")
        batch.create_unique_constraint(
            "uq_connections_account", ["tenant_id", "provider", "external_account_id"]
        )
        batch.drop_column("grant_type")
