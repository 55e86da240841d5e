"""Alembic environment: runs migrations on the engine handed over by core.storage.db."""

from __future__ import annotations

from alembic import context
from sqlalchemy import text

from core.storage.models import Base

target_metadata = Base.metadata
# Several processes may start at once (API replicas, workers): PostgreSQL serialises them on this lock.
_PG_LOCK_ID = 0x3C40DE97


def run_migrations_online() -> None:
    """Run migrations on the configured engine, one process at a time."""
    engine = context.config.attributes["engine"]
    with engine.connect() as connection:
        is_pg = connection.dialect.name == "postgresql"
        if is_pg:
            connection.execute(text("SELECT pg_advisory_lock(:k)"), {"k": _PG_LOCK_ID})
            connection.commit()
        try:
            context.configure(
                connection=connection,
                target_metadata=target_metadata,
                render_as_batch=connection.dialect.name == "sqlite",
            )
            with context.begin_transaction():
                context.run_migrations()
        finally:
            if is_pg:
                connection.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _PG_LOCK_ID})
                connection.commit()


run_migrations_online()
