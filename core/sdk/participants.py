"""Who an analysis is about, as CRM sinks match them: participant emails from a result's metadata."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["participant_emails", "matchable_emails", "NewPerson", "new_person"]


def participant_emails(data: Mapping[str, Any]) -> list[str]:
    """Emails from ``metadata.crm.emails`` and ``metadata.participants[].email``, lower-cased, in order."""
    metadata: Mapping[str, Any] = data.get("metadata") or {}
    crm: Mapping[str, Any] = metadata.get("crm") or {}
    found = [str(e) for e in crm.get("emails") or []]
    found += [str(p.get("email")) for p in metadata.get("participants") or [] if p.get("email")]
    return list(dict.fromkeys(e.strip().lower() for e in found if "@" in e))


def matchable_emails(data: Mapping[str, Any], skip_domains: Iterable[str], limit: int) -> list[str]:
    """Participant emails outside ``skip_domains`` (consumer mail, the tenant's own), at most ``limit``."""
    skip = {d.lower() for d in skip_domains}
    return [e for e in participant_emails(data) if e.rsplit("@", 1)[-1] not in skip][:limit]


@dataclass(frozen=True)
class NewPerson:
    """What a CRM record for an unmatched participant is created with."""

    email: str
    first_name: str
    last_name: str
    company: str


def _names(data: Mapping[str, Any]) -> dict[str, str]:
    metadata: Mapping[str, Any] = data.get("metadata") or {}
    people = metadata.get("participants") or []
    return {str(p["email"]).strip().lower(): str(p.get("name") or "") for p in people if p.get("email")}


def new_person(data: Mapping[str, Any], email: str) -> NewPerson:
    """The participant's name (from ``metadata.participants``, else the address) and company (its domain)."""
    local, _, domain = email.partition("@")
    name = _names(data).get(email, "").strip() or " ".join(
        w.capitalize() for w in re.split(r"[._+-]+", local) if w
    )
    first, _, last = name.rpartition(" ")
    company = domain.split(".")[0].capitalize() if domain else ""
    return NewPerson(email, first, last or local, company or domain)
