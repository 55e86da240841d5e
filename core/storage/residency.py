"""Data residency at the storage layer: a database knows which regions' tenants it may hold.

A ``Database`` whose ``regions`` is set (``core.runtime`` sets it for every database it opens) refuses any
tenant-scoped read or write for a tenant whose region it does not host: ``421 wrong_region``. A tenant that
has no row in this database (it lives in another region's database) is refused the same way.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.sdk.errors import InputError
from core.storage.db import Database
from core.storage.models import Tenant

__all__ = ["WrongRegion", "require_region"]


class WrongRegion(InputError):
    """A tenant's data was asked of a database, store or worker that does not serve its region."""

    def __init__(self, region: str | None, served: frozenset[str]) -> None:
        where = f"region '{region}'" if region else "another region"
        message = f"this tenant's data lives in {where}; this server holds {', '.join(sorted(served))}"
        # 421 Misdirected Request (RFC 9110 §15.5.20): this server cannot answer for that tenant's region.
        super().__init__("wrong_region", message, 421)
        self.region = region


def require_region(s: Session, db: Database, tenant_id: str) -> None:
    """Raise ``WrongRegion`` unless ``db`` hosts the region of ``tenant_id`` (no-op when unrestricted)."""
    if db.regions is None:
        return
    region = s.scalar(select(Tenant.region).where(Tenant.id == tenant_id))
    if region not in db.regions:
        raise WrongRegion(region, db.regions)
