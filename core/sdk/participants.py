"""Who an analysis is about, as CRM sinks match them: participant emails from a result's metadata."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

__all__ = ["participant_emails", "matchable_emails"]


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
