"""Who an analysis is about, as CRM sinks match them: participant emails from a result's metadata, and the
recovery of e-mails a meeting vendor withheld (``fill_emails``)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = [
    "participant_emails",
    "matchable_emails",
    "NewPerson",
    "new_person",
    "Registrant",
    "domain_hints",
    "fill_emails",
    "unmatched_participants",
]


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


# Filling in hidden e-mails -------------------------------------------------------------------------------
# Meeting vendors may withhold guests' e-mails (participants then carry ``email: None``). ``fill_emails``
# recovers what it can from what the meeting's host gave the vendor (registrants, calendar invitees, the
# display name itself) and says, per person, how each e-mail was found (``matched_by``) or why not
# (``unmatched_reason``), so CRM sinks match more people and the job records the rest.

_PHONE = re.compile(r"^[+\d][\d\s().-]{5,}$")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_DOMAIN = re.compile(r"\b[a-z0-9-]+(?:\.[a-z0-9-]+)*\.[a-z]{2,}\b")


@dataclass(frozen=True)
class Registrant:
    """Someone who registered for the meeting: the vendor's registrant id, e-mail and name."""

    id: str
    email: str
    name: str


def _tokens(text: str) -> tuple[str, ...]:
    return tuple(t for t in re.split(r"[^a-z0-9]+", text.lower()) if t)


def _local_forms(name: str) -> set[str]:
    """The usual local parts of ``name``'s address: jane.buyer, janebuyer, jbuyer, j.buyer, jane_buyer…"""
    words = _tokens(_DOMAIN.sub(" ", re.sub(r"\(.*?\)", " ", name)))
    if len(words) < 2:
        return set()
    first, last = words[0], words[-1]
    return {f"{first}{s}{last}" for s in ("", ".", "_", "-")} | {f"{first[0]}{last}", f"{first[0]}.{last}"}


def _same_name(a: str, b: str) -> bool:
    return bool(_tokens(a)) and _tokens(a) == _tokens(b)


def _one(found: list[str]) -> str | None | bool:
    """The single candidate, None when there is none, False when several are equally good."""
    unique = list(dict.fromkeys(found))
    return unique[0] if len(unique) == 1 else (None if not unique else False)


def domain_hints(name: str) -> list[str]:
    """Domains named in a display name, e.g. ``Jane Buyer (buyer-corp.example)``."""
    return list(dict.fromkeys(_DOMAIN.findall(name.lower())))


def _by_invitee(name: str, invitees: list[str]) -> str | None | bool:
    forms, hints = _local_forms(name), set(domain_hints(name))
    found = [e for e in invitees if e.partition("@")[0] in forms]
    if len(set(found)) > 1 and hints:  # the display name's domain settles it
        found = [e for e in found if e.rpartition("@")[2] in hints]
    return _one(found)


def _recover(
    person: dict[str, Any], registrants: list[Registrant], invitees: list[str]
) -> tuple[str | None, str]:
    """(e-mail, how) for one person without an e-mail; (None, reason) when it cannot be told."""
    name = str(person.get("name") or "")
    rid = str(person.get("registrant_id") or "")
    by_id = next((r.email for r in registrants if rid and r.id == rid and r.email), None)
    if by_id:
        return by_id, "registrant_id"
    if (typed := _EMAIL.fullmatch(name.strip())) is not None:
        return typed[0], "display_name"
    candidates = [
        ("registrant_name", _one([r.email for r in registrants if r.email and _same_name(r.name, name)])),
        ("invitee_name", _by_invitee(name, invitees)),
    ]
    for how, found in candidates:
        if found is False:
            return None, "ambiguous_name"
        if found:
            return str(found), how
    return None, "dial_in" if _PHONE.match(name.strip()) else "email_hidden"


def fill_emails(
    people: list[dict[str, Any]], registrants: Iterable[Registrant], invitees: Iterable[str]
) -> list[dict[str, Any]]:
    """``people`` with hidden e-mails recovered where the meeting's registrants or invitees tell them.

    Each person gets ``matched_by`` (``vendor``, ``registrant_id``, ``display_name``, ``registrant_name``,
    ``invitee_name``, or None); one left without an e-mail gets ``unmatched_reason`` (``email_hidden``,
    ``ambiguous_name``, ``dial_in``) and the ``domain_hints`` its display name gives."""
    regs = list(registrants)
    taken = {str(p["email"]).lower() for p in people if p.get("email")}
    free = [e.strip().lower() for e in invitees if "@" in e]
    out = []
    for person in people:
        if person.get("email"):
            out.append({**person, "matched_by": person.get("matched_by") or "vendor"})
            continue
        available = [r for r in regs if r.email.lower() not in taken]
        email, how = _recover(person, available, [e for e in free if e not in taken])
        if email is None:
            hints = domain_hints(str(person.get("name") or ""))
            out.append({**person, "matched_by": None, "unmatched_reason": how, "domain_hints": hints})
            continue
        taken.add(email.lower())
        out.append({**person, "email": email.lower(), "matched_by": how})
    return out


def unmatched_participants(data: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Participants a result names without an e-mail: ``name``, ``reason`` and ``domain_hints``."""
    metadata: Mapping[str, Any] = data.get("metadata") or {}
    return [
        {
            "name": str(p.get("name") or ""),
            "reason": str(p.get("unmatched_reason") or "email_hidden"),
            "domain_hints": list(p.get("domain_hints") or []),
        }
        for p in metadata.get("participants") or []
        if not p.get("email")
    ]
