"""Many analyses of one Salesforce connection in a handful of calls (sObject Collections, ≤ 200 records each).

One Contact query and one Lead query for every participant of the batch (as many as the 16,384-byte
request URI needs), with ``create_unmatched`` one ``POST composite/sobjects`` per 200 participants no record
has (Leads), one OpportunityContactRole query, the mapped fields of every matched record through
``PATCH composite/sobjects`` grouped by type (a request of mixed types runs as chunks of contiguous type, at
most 10; a record several analyses touch gets the newest one's values), one query for the Tasks that already
exist and one upsert on the External ID for the others. A Task whose WhoId is a Lead carries no WhatId
(Salesforce refuses it: FIELD_INTEGRITY_EXCEPTION). Each record's result says which analyses it fails: the
others are delivered. A Contact or Lead gets its own person's figures when the analysis names speakers
(the same calls: sObject Collections carry each record's own values).
https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_composite_sobjects_collections.htm
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from simple_salesforce import Salesforce

from connectors.salesforce import client, soql
from connectors.salesforce.models import SalesforceMapping, field_value, opportunity_id
from core.sdk import PermanentError
from core.sdk.batching import chunks
from core.sdk.crm import CrmItem
from core.sdk.participants import Attribution, PersonView, Speaker, new_person

__all__ = ["Item", "match", "create_leads", "opportunities", "write_fields", "write_tasks", "COLLECTION_SIZE"]

log = logging.getLogger("echodepth.connectors.salesforce")
COLLECTION_SIZE = 200  # sObject Collections take at most 200 records per call
LEAD_SOURCE = "EchoDepth"  # the LeadSource of Leads created for unmatched participants
_CONTACTS = "SELECT Id, Email FROM Contact WHERE Email IN {values}"
_LEADS = "SELECT Id, Email FROM Lead WHERE IsConverted = false AND Email IN {values}"
_ROLES = (
    "SELECT ContactId, OpportunityId FROM OpportunityContactRole WHERE ContactId IN {values} "
    "AND Opportunity.IsClosed = false ORDER BY CreatedDate DESC"
)
_Refused = Callable[[list[dict[str, Any]], PermanentError], None]  # fails the analyses of refused records
# a request-level INVALID_FIELD names the one sObject type whose field the org lacks
_NO_SUCH_COLUMN = re.compile(r"No such column '[^']*' on sobject of type (\w+)")


@dataclass
class Item(CrmItem):
    """One analysis of the batch and the records matched for it."""

    contacts: list[str] = field(default_factory=list)
    leads: list[str] = field(default_factory=list)
    opportunity: str | None = None

    @property
    def who(self) -> str | None:
        """The Task's WhoId: the first matched Contact, else Lead."""
        return next(iter(self.contacts + self.leads), None)

    @property
    def what(self) -> str | None:
        """The Task's WhatId: the Opportunity, only with a Contact WhoId (a Lead's Task has none)."""
        return self.opportunity if self.contacts else None


def _ids_by_email(
    sf: Salesforce, conn: client.Connection, template: str, emails: list[str]
) -> dict[str, str]:
    return {str(r["Email"]).lower(): str(r["Id"]) for r in soql.rows(sf, conn, template, emails)}


def match(
    sf: Salesforce, conn: client.Connection, items: list[Item], log_unmatched: bool = True
) -> list[str]:
    """Each item's Contacts, else unconverted Leads, by email; the emails no record has."""
    wanted = list(dict.fromkeys(e for it in items for e in it.emails))
    contacts = _ids_by_email(sf, conn, _CONTACTS, wanted)
    leads = _ids_by_email(sf, conn, _LEADS, [e for e in wanted if e not in contacts])
    for it in items:
        it.contacts = [contacts[e] for e in it.emails if e in contacts]
        it.leads = [leads[e] for e in it.emails if e not in contacts and e in leads]
        for email in it.emails:
            if (record := contacts.get(email) or leads.get(email)) is not None:
                it.record_views[record] = it.people[email]
    for it in items if log_unmatched else []:
        for email in [e for e in it.emails if e not in contacts and e not in leads]:
            log.info(
                "salesforce: no contact or lead for a participant of %s (domain %s)",
                it.view.job_id,
                email.rsplit("@", 1)[-1],
            )
    return [e for e in wanted if e not in contacts and e not in leads]


def _fail(items: list[Item], code: str, message: str) -> None:
    for it in items:
        it.fail(PermanentError(client.VENDOR, code, message[:200]))


def _collection(
    sf: Salesforce,
    conn: client.Connection,
    path: str,
    records: list[dict[str, Any]],
    refused: _Refused,
    method: str = "PATCH",
) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """Send ``records`` 200 a call (``allOrNone`` false); each record with its result.

    A request Salesforce refuses because the org lacks a field of one sObject type (400 INVALID_FIELD "No
    such column … on sobject of type T") goes again without that type's records, which ``refused`` fails."""
    answered: list[tuple[dict[str, Any], dict[str, Any]]] = []
    for part in chunks(records, COLLECTION_SIZE):
        pending = list(part)
        while pending:
            try:
                body = {"allOrNone": False, "records": pending}
                results = client.call(conn, partial(sf.restful, path, method=method, json=body)) or []
            except PermanentError as exc:
                lacking = _NO_SUCH_COLUMN.search(str(exc)) if exc.code == "INVALID_FIELD" else None
                if lacking is None:
                    raise
                refused([r for r in pending if r["attributes"]["type"] == lacking[1]], exc)
                pending = [r for r in pending if r["attributes"]["type"] != lacking[1]]
                continue
            answered += list(zip(pending, results, strict=False))
            pending = []
    return answered


def _error_of(result: Mapping[str, Any]) -> tuple[str, str]:
    err = (result.get("errors") or [{}])[0]
    return str(err.get("statusCode", "write_failed")), str(err.get("message", ""))


def create_leads(sf: Salesforce, conn: client.Connection, items: list[Item], emails: list[str]) -> None:
    """A Lead per unmatched participant (``create_unmatched``: LastName, Email, Company from the domain,
    LeadSource ``EchoDepth``); a refused one fails the analyses that named it.

    Only emails no Contact or open Lead has reach here, so a replay finds the Lead made the first time."""
    owners = {e: [it for it in items if e in it.emails] for e in emails}
    records: list[dict[str, Any]] = []
    for email in emails:
        p = new_person(owners[email][0].data, email)
        lead: dict[str, Any] = {
            "attributes": {"type": "Lead"},
            "Email": p.email,
            "FirstName": p.first_name or None,
            "LastName": p.last_name,
            "Company": p.company,
            "LeadSource": LEAD_SOURCE,
        }
        records.append({k: v for k, v in lead.items() if v is not None})

    def refused(rows: list[dict[str, Any]], exc: PermanentError) -> None:
        for row in rows:
            _fail(owners[row["Email"]], exc.code, str(exc))

    for record, result in _collection(sf, conn, "composite/sobjects", records, refused, method="POST"):
        if not result.get("success"):
            _fail(owners[record["Email"]], *_error_of(result))
            continue
        for it in owners[record["Email"]]:
            it.leads.append(str(result.get("id")))
            it.record_views[str(result.get("id"))] = it.people[record["Email"]]


def opportunities(sf: Salesforce, conn: client.Connection, items: list[Item]) -> None:
    """The explicit Opportunity, else the newest open one of the analysis's contacts (one query for all)."""
    for it in items:
        it.opportunity = opportunity_id(it.data)
    ids = sorted({c for it in items if it.opportunity is None for c in it.contacts})
    roles = [(str(r["ContactId"]), str(r["OpportunityId"])) for r in soql.rows(sf, conn, _ROLES, ids)]
    for it in [i for i in items if i.opportunity is None and i.contacts]:
        it.opportunity = next((opp for contact, opp in roles if contact in it.contacts), None)


def _record(mapping: SalesforceMapping, view: PersonView, sobject: str, record_id: str) -> dict[str, Any]:
    fields = {
        name: v
        for name, rule in mapping.fields(sobject).items()
        if (v := field_value(view, rule)) is not None
    }
    return {"attributes": {"type": sobject}, "Id": record_id, **fields}


def write_fields(
    sf: Salesforce, conn: client.Connection, mapping: SalesforceMapping, items: list[Item]
) -> None:
    """Every matched record once, with the newest analysis's values; a refused record fails its analyses."""
    owners: dict[tuple[str, str], list[Item]] = {}
    for it in items:
        targets = [("Contact", c) for c in it.contacts] + [("Lead", c) for c in it.leads]
        for target in targets + ([("Opportunity", it.opportunity)] if it.opportunity else []):
            owners.setdefault(target, []).append(it)
    records = []
    for (sobject, record_id), mine in owners.items():
        newest = max(mine, key=lambda it: it.view.analysed_at or "")
        view = newest.record_views.get(record_id, newest.view)  # a person's own, an Opportunity the call's
        records.append(_record(mapping, view, sobject, record_id))
    # one chunk per type: a request of mixed types runs as chunks of contiguous type, at most 10
    # https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_composite_sobjects_collections_update.htm
    records.sort(key=lambda r: str(r["attributes"]["type"]))

    def refused(rows: list[dict[str, Any]], exc: PermanentError) -> None:
        for row in rows:
            _fail(owners[(row["attributes"]["type"], row["Id"])], exc.code, str(exc))

    for record, result in _collection(sf, conn, "composite/sobjects", records, refused):
        if not result.get("success"):
            _fail(owners[(record["attributes"]["type"], record["Id"])], *_error_of(result))


def _subject(meeting_score: str, prospects: list[Speaker]) -> str:
    """``EchoDepth call analysis: Jane Buyer Trust Score 64`` (the meeting's score without prospects)."""
    if not prospects:
        return f"EchoDepth call analysis: Trust Score {meeting_score}"
    named = ", ".join(
        f"{p.label} Trust Score {'n/a' if p.trust_score is None else f'{p.trust_score:.0f}'}"
        for p in prospects
    )
    return f"EchoDepth call analysis: {named}"[:255]  # Task.Subject holds 255 characters


def _task(
    view: PersonView, key_field: str, who: str, what: str | None, attribution: Attribution
) -> dict[str, Any]:
    """The call's Task: the meeting's score and, when speakers are named, the prospects' own."""
    score = "n/a" if view.trust_score is None else f"{view.trust_score:.0f}"
    prospects = list(attribution.speakers.values())
    lines = [
        view.title,
        f"Trust Score {score} ({view.modality}{', whole meeting' if prospects else ''})",
        f"Prospect speakers: {view.speakers}" if view.speakers else "",
        f"Figures on the records: {attribution.note()}",
        view.link or "",
    ]
    task: dict[str, Any] = {
        "attributes": {"type": "Task"},
        key_field: f"echodepth-{view.job_id}",
        "Subject": _subject(score, prospects),
        "Description": "\n".join(line for line in lines if line),
        "TaskSubtype": "Call",
        "Status": "Completed",
        "WhoId": who,
        "WhatId": what,
        "ActivityDate": (view.analysed_at or "")[:10] or None,
        "CallDurationInSeconds": view.duration_seconds,
    }
    return {k: v for k, v in task.items() if v is not None}


def _existing_tasks(sf: Salesforce, conn: client.Connection, key_field: str, keys: list[str]) -> set[str]:
    template = f"SELECT Id, {key_field} FROM Task WHERE {key_field} IN {{values}}"
    return {str(r[key_field]) for r in soql.rows(sf, conn, template, keys)}


def write_tasks(sf: Salesforce, conn: client.Connection, key_field: str, items: list[Item]) -> None:
    """One Task per analysis, created only when no Task has its key (a replay finds the first one)."""
    by_key: dict[str, tuple[dict[str, Any], list[Item]]] = {}
    for it in items:
        if it.failed is None and it.who is not None:
            task = _task(it.view, key_field, it.who, it.what, it.attribution)
            by_key.setdefault(task[key_field], (task, []))[1].append(it)
    if not by_key:
        return
    have = _existing_tasks(sf, conn, key_field, sorted(by_key))
    missing = [task for key, (task, _) in by_key.items() if key not in have]
    raced: list[tuple[str, str, str]] = []

    def refused(rows: list[dict[str, Any]], exc: PermanentError) -> None:
        for row in rows:
            _fail(by_key[row[key_field]][1], exc.code, str(exc))

    for task, result in _collection(sf, conn, f"composite/sobjects/Task/{key_field}", missing, refused):
        if not result.get("success"):
            raced.append((task[key_field], *_error_of(result)))
    # a concurrent attempt created the Task between our check and our upsert: the upsert became an update,
    # which refuses the create-only TaskSubtype; the Task exists, so that analysis is done
    made = _existing_tasks(sf, conn, key_field, [k for k, *_ in raced]) if raced else set()
    for key, code, message in raced:
        if code != "INVALID_FIELD_FOR_INSERT_UPDATE" or key not in made:
            _fail(by_key[key][1], code, message)
