"""media items: a job may carry several media files (images, or a multimodal mix)

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_inputs = sa.table(
    "job_inputs",
    sa.column("job_id", sa.String),
    sa.column("spooled", sa.Boolean),
    sa.column("source_url", sa.String),
    sa.column("filename", sa.String),
    sa.column("items", sa.JSON),
)
_jobs = sa.table("jobs", sa.column("id", sa.String), sa.column("modality", sa.String))


def upgrade() -> None:
    with op.batch_alter_table("job_inputs") as batch:
        batch.add_column(sa.Column("items", sa.JSON(), nullable=True))
    conn = op.get_bind()
    rows = conn.execute(
        sa.select(
            _inputs.c.job_id, _inputs.c.spooled, _inputs.c.source_url, _inputs.c.filename, _jobs.c.modality
        )
        .join(_jobs, _jobs.c.id == _inputs.c.job_id)
        .where(sa.or_(_inputs.c.spooled.is_(True), _inputs.c.source_url.is_not(None)))
    ).all()
    for job_id, _spooled, url, filename, modality in rows:
        item = {"role": modality, "filename": filename, "url": url}
        conn.execute(sa.update(_inputs).where(_inputs.c.job_id == job_id).values(items=[item]))
    with op.batch_alter_table("job_inputs") as batch:
        batch.drop_column("filename")
        batch.drop_column("source_url")
        batch.drop_column("spooled")


def downgrade() -> None:
    with op.batch_alter_table("job_inputs") as batch:
        batch.add_column(sa.Column("spooled", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column("source_url", sa.String(length=2048), nullable=True))
        batch.add_column(sa.Column("filename", sa.String(length=512), nullable=True))
        batch.drop_column("items")
