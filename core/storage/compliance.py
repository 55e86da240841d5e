"""The ``compliance`` key stored with every result: the tenant's declarations when the job ended."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.storage.models import Job, Tenant

__all__ = ["compliance_record"]


def compliance_record(s: Session, job_id: str) -> dict[str, Any] | None:
    """Region, purposes and lawful basis of the job's tenant now (core.governance.policy's guard passed)."""
    tenant = s.scalar(select(Tenant).join(Job, Job.tenant_id == Tenant.id).where(Job.id == job_id))
    if tenant is None:
        return None
    region = tenant.region or "uk"
    return {
        "region": region,
        "purposes": list(tenant.purposes or ()),
        "consent_basis": tenant.consent_basis,
        "eu_ai_act_guard": "passed" if region == "eu" else "not_applicable",
    }
