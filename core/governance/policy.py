"""Tenant policy: region, declared purposes, lawful basis, retention, own mail domains; and the EU AI Act
Art. 5(1)(f) guard.

Since 2 February 2025 the EU AI Act prohibits inferring the emotions of a natural person in the areas of
workplace and education institutions, except where the system is meant for medical or safety reasons
(Regulation (EU) 2024/1689, Art. 5(1)(f)). The guard acts on what a tenant declares: an ``eu`` tenant that
declares a workplace or education purpose is refused every analysis (``403 purpose_not_permitted``).
See docs/compliance.md for what it does not do.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from core.governance.audit import record
from core.sdk.errors import InputError
from core.storage.db import Database
from core.storage.models import Tenant

__all__ = [
    "PURPOSES",
    "REGIONS",
    "CONSENT_BASES",
    "PROHIBITED_IN_EU",
    "COMPLIANCE_DOCS",
    "TenantPolicy",
    "PolicyStore",
    "refusal",
]

PURPOSES = (
    "sales_calls",
    "customer_support",
    "market_research",
    "recruitment",
    "workplace_monitoring",
    "education",
    "medical",
    "safety",
)
REGIONS = ("uk", "eu")
# UK GDPR / GDPR Art. 6(1)(a)-(f): the lawful basis the tenant (the controller) relies on.
CONSENT_BASES = (
    "consent",
    "contract",
    "legal_obligation",
    "vital_interests",
    "public_task",
    "legitimate_interests",
)
# Purposes in "the areas of workplace and education institutions" (Art. 5(1)(f)).
PROHIBITED_IN_EU = frozenset({"recruitment", "workplace_monitoring", "education"})
COMPLIANCE_DOCS = "https://echodepth.dev/docs/compliance.md"
_DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
MAX_OWN_DOMAINS = 50


@dataclass(frozen=True)
class TenantPolicy:
    """What a tenant has declared, and the retention that applies to it."""

    tenant_id: str
    name: str
    region: str
    purposes: tuple[str, ...]
    consent_basis: str | None
    retention_days: int | None
    own_domains: tuple[str, ...] = ()  # the organisation's own mail domains: a speaker at one is internal

    def effective_retention_days(self, default: int) -> int:
        """The tenant's own retention, or the deployment's default."""
        return self.retention_days or default


def refusal(region: str, purposes: tuple[str, ...] | list[str]) -> str | None:
    """Why the guard refuses analyses for these declarations, or None when it does not.

    Declaring ``medical`` or ``safety`` beside a workplace or education purpose does not lift the refusal:
    the exception is for systems meant for medical or safety reasons, which a tenant declaring only
    ``medical``/``safety`` says it is.
    """
    if region != "eu":
        return None
    hit = sorted(PROHIBITED_IN_EU.intersection(purposes))
    if not hit:
        return None
    return (
        f"emotion inference for {', '.join(hit)} is prohibited in the EU since 2 February 2025 "
        "(EU AI Act Art. 5(1)(f)) except for medical or safety reasons; this tenant is in region 'eu' "
        f"and declares {', '.join(hit)}. See {COMPLIANCE_DOCS}"
    )


def _policy(t: Tenant) -> TenantPolicy:
    return TenantPolicy(
        tenant_id=t.id,
        name=t.name,
        region=t.region or "uk",
        purposes=tuple(t.purposes or ()),
        consent_basis=t.consent_basis,
        retention_days=t.retention_days,
        own_domains=tuple(t.own_domains or ()),
    )


def _check(value: str, allowed: tuple[str, ...], what: str) -> None:
    if value not in allowed:
        raise InputError("invalid_input", f"{what} must be one of {', '.join(allowed)}, not {value!r}", 422)


class PolicyStore:
    """Reads and changes tenant policy; every change is audited in the same transaction."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def get(self, tenant_id: str) -> TenantPolicy:
        """The tenant's policy (the tenant must exist)."""
        with self.db.session() as s:
            tenant = s.get(Tenant, tenant_id)
            if tenant is None:
                raise InputError("not_found", "no such tenant", 404)
            return _policy(tenant)

    def tenant_id(self, name: str) -> str:
        """The id of the tenant called ``name``; 404 when there is none."""
        with self.db.session() as s:
            found = s.scalar(select(Tenant.id).where(Tenant.name == name))
        if found is None:
            raise InputError("not_found", f"no tenant called {name!r}", 404)
        return found

    def all_policies(self) -> list[TenantPolicy]:
        """Every tenant's policy (for the purge)."""
        with self.db.session() as s:
            return [_policy(t) for t in s.scalars(select(Tenant))]

    def set_purposes(
        self, tenant_id: str, purposes: list[str], consent_basis: str | None, actor: str
    ) -> TenantPolicy:
        """Replace the declared purposes and the lawful basis."""
        for purpose in purposes:
            _check(purpose, PURPOSES, "purposes")
        if consent_basis is not None:
            _check(consent_basis, CONSENT_BASES, "consent_basis")
        unique = sorted(set(purposes), key=PURPOSES.index)
        detail = {"purposes": unique, "consent_basis": consent_basis}
        return self._update(
            tenant_id, actor, "tenant.purposes.set", detail, purposes=unique, consent_basis=consent_basis
        )

    def set_retention(self, tenant_id: str, days: int | None, actor: str) -> TenantPolicy:
        """Set the result retention in days (None: back to the deployment default)."""
        if days is not None and not 1 <= days <= 3650:
            raise InputError("invalid_input", "retention days must be between 1 and 3650", 422)
        return self._update(tenant_id, actor, "tenant.retention.set", {"days": days}, retention_days=days)

    def set_own_domains(self, tenant_id: str, domains: list[str], actor: str) -> TenantPolicy:
        """Replace the tenant's own mail domains (``[]`` clears them); each must be a domain name."""
        unique = list(dict.fromkeys(d.strip().lower() for d in domains if d.strip()))
        bad = [d for d in unique if not _DOMAIN.match(d)]
        if bad or len(unique) > MAX_OWN_DOMAINS:
            why = f"not domain names: {', '.join(bad)}" if bad else f"at most {MAX_OWN_DOMAINS} domains"
            raise InputError("invalid_input", f"own domains: {why}", 422)
        detail = {"own_domains": unique}
        return self._update(tenant_id, actor, "tenant.own_domains.set", detail, own_domains=unique or None)

    def set_region(self, tenant_id: str, region: str, actor: str) -> TenantPolicy:
        """Set the tenant's region (an operator action: residency will move data with it)."""
        _check(region, REGIONS, "region")
        return self._update(tenant_id, actor, "tenant.region.set", {"region": region}, region=region)

    def _update(
        self, tenant_id: str, actor: str, action: str, detail: dict[str, Any], **values: Any
    ) -> TenantPolicy:
        with self.db.session() as s:
            tenant = s.get(Tenant, tenant_id, with_for_update=True)
            if tenant is None:
                raise InputError("not_found", "no such tenant", 404)
            for name, value in values.items():
                setattr(tenant, name, value)
            record(s, tenant_id, actor, action, None, detail)
            s.commit()
            return _policy(tenant)
