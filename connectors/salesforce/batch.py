"""Many analyses of one Salesforce connection in a handful of calls (sObject Collections, ≤ 200 records each).

One Contact query and one Lead query for every participant of the batch (as many as the 16,384-byte
request URI needs), one OpportunityContactRole query, the mapped fields of every matched record through
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
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any

from simple_salesforce import Salesforce

from connectors.salesforce import client, soql
from connectors.salesforce.models import SalesforceMapping, opportunity_id
from core.sdk import BatchOutcome, DeliveryReceipt, HttpSession, OutboundMessage, PermanentError, ProviderSpec
from core.sdk.batching import chunks
from core.sdk.participants import Attribution, PersonView, person_view

if TYPE_CHECKING:
    from connectors.salesforce.sink import SalesforceSink

__all__ = ["deliver_batch"]

log = logging.getLogger("echodepth.connectors.salesforce")
COLLECTION_SIZE = 200  # sObject Collections take at most 200 records per call
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
class _Item:
    """One analysis of the batch and what was matched for it."""

    message: OutboundMessage
    view: PersonView  # the meeting's figures, prospect speakers named
    attribution: Attribution
    people: dict[str, PersonView]  # each participant's own figures (else the meeting's), by e-mail
    data: Mapping[str, Any]
    record_views: dict[str, PersonView] = field(default_factory=dict)  # by matched record id
    contacts: list[str] = field(default_factory=list)
    leads: list[str] = field(default_factory=list)
    opportunity: str | None = None
    failed: PermanentError | None = None

    @property
    def who(self) -> str | None:
        """The Task's WhoId: the first matched Contact, else Lead."""
        return next(iter(self.contacts + self.leads), None)

    @property
    def what(self) -> str | None:
        """The Task's WhatId: the Opportunity, only with a Contact WhoId (a Lead's Task has none)."""
        return self.opportunity if self.contacts else None

    @property
    def emails(self) -> list[str]:
        """The participants to match (prospect speakers first)."""
        return self.attribution.emails

    def receipt(self) -> DeliveryReceipt:
        """What the delivery log records for this analysis."""
        matched = len(self.contacts) + len(self.leads)
        detail = f"{matched} of {len(self.emails)} participants matched; {self.attribution.note()}"
        return DeliveryReceipt(200, detail)


def _ids_by_email(sf: Salesforce, adapter: Any, template: str, emails: list[str]) -> dict[str, str]:
    return {str(r["Email"]).lower(): str(r["Id"]) for r in soql.rows(sf, adapter, template, emails)}


def _match(sf: Salesforce, adapter: Any, items: list[_Item]) -> None:
    wanted = list(dict.fromkeys(e for it in items for e in it.emails))
    contacts = _ids_by_email(sf, adapter, _CONTACTS, wanted)
    leads = _ids_by_email(sf, adapter, _LEADS, [e for e in wanted if e not in contacts])
    for it in items:
        it.contacts = [contacts[e] for e in it.emails if e in contacts]
        it.leads = [leads[e] for e in it.emails if e not in contacts and e in leads]
        for email in it.emails:
            if (record := contacts.get(email) or leads.get(email)) is not None:
                it.record_views[record] = it.people[email]
        for email in [e for e in it.emails if e not in contacts and e not in leads]:
            log.info(
                "salesforce: no contact or lead for a participant of %s (domain %s)",
                it.view.job_id,
                email.rsplit("@", 1)[-1],
            )


def _opportunities(sf: Salesforce, adapter: Any, items: list[_Item]) -> None:
    """The explicit Opportunity, else the newest open one of the analysis's contacts (one query for all)."""
    for it in items:
        it.opportunity = opportunity_id(it.data)
    ids = sorted({c for it in items if it.opportunity is None for c in it.contacts})
    roles = [(str(r["ContactId"]), str(r["OpportunityId"])) for r in soql.rows(sf, adapter, _ROLES, ids)]
    for it in [i for i in items if i.opportunity is None and i.contacts]:
        it.opportunity = next((opp for contact, opp in roles if contact in it.contacts), None)


def _fail(items: list[_Item], code: str, message: str) -> None:
    for it in items:
        it.failed = it.failed or PermanentError(client.VENDOR, code, message[:200])


def _collection(
    sf: Salesforce, adapter: Any, path: str, records: list[dict[str, Any]], refused: _Refused
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
                results = client.call(adapter, partial(sf.restful, path, method="PATCH", json=body)) or []
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


def _write_fields(
    sink: SalesforceSink, sf: Salesforce, adapter: Any, mapping: SalesforceMapping, items: list[_Item]
) -> None:
    """Every matched record once, with the newest analysis's values; a refused record fails its analyses."""
    owners: dict[tuple[str, str], list[_Item]] = {}
    for it in items:
        targets = [("Contact", c) for c in it.contacts] + [("Lead", c) for c in it.leads]
        for target in targets + ([("Opportunity", it.opportunity)] if it.opportunity else []):
            owners.setdefault(target, []).append(it)
    records = []
    for (sobject, record_id), mine in owners.items():
        newest = max(mine, key=lambda it: it.view.analysed_at or "")
        view = newest.record_views.get(record_id, newest.view)  # a person's own, an Opportunity the call's
        records += sink._records(mapping, view, [(sobject, record_id)])
    # one chunk per type: a request of mixed types runs as chunks of contiguous type, at most 10
    # https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_composite_sobjects_collections_update.htm
    records.sort(key=lambda r: str(r["attributes"]["type"]))

    def refused(rows: list[dict[str, Any]], exc: PermanentError) -> None:
        for row in rows:
            _fail(owners[(row["attributes"]["type"], row["Id"])], exc.code, str(exc))

    for record, result in _collection(sf, adapter, "composite/sobjects", records, refused):
        if not result.get("success"):
            _fail(owners[(record["attributes"]["type"], record["Id"])], *_error_of(result))


def _existing_tasks(sf: Salesforce, adapter: Any, key_field: str, keys: list[str]) -> set[str]:
    template = f"SELECT Id, {key_field} FROM Task WHERE {key_field} IN {{values}}"
    return {str(r[key_field]) for r in soql.rows(sf, adapter, template, keys)}


def _write_tasks(
    sink: SalesforceSink, sf: Salesforce, adapter: Any, key_field: str, items: list[_Item]
) -> None:
    """One Task per analysis, created only when no Task has its key (a replay finds the first one)."""
    by_key: dict[str, tuple[dict[str, Any], list[_Item]]] = {}
    for it in items:
        if it.failed is None and it.who is not None:
            task = sink._task(it.view, key_field, it.who, it.what, it.attribution)
            by_key.setdefault(task[key_field], (task, []))[1].append(it)
    if not by_key:
        return
    have = _existing_tasks(sf, adapter, key_field, sorted(by_key))
    missing = [task for key, (task, _) in by_key.items() if key not in have]
    raced: list[tuple[str, str, str]] = []

    def refused(rows: list[dict[str, Any]], exc: PermanentError) -> None:
        for row in rows:
            _fail(by_key[row[key_field]][1], exc.code, str(exc))

    for task, result in _collection(sf, adapter, f"composite/sobjects/Task/{key_field}", missing, refused):
        if not result.get("success"):
            raced.append((task[key_field], *_error_of(result)))
    # a concurrent attempt created the Task between our check and our upsert: the upsert became an update,
    # which refuses the create-only TaskSubtype; the Task exists, so that analysis is done
    made = _existing_tasks(sf, adapter, key_field, [k for k, *_ in raced]) if raced else set()
    for key, code, message in raced:
        if code != "INVALID_FIELD_FOR_INSERT_UPDATE" or key not in made:
            _fail(by_key[key][1], code, message)


def deliver_batch(
    sink: SalesforceSink,
    session: HttpSession,
    spec: ProviderSpec,
    mapping: SalesforceMapping,
    messages: Sequence[OutboundMessage],
) -> list[BatchOutcome]:
    """Fields and Tasks for every message in few calls; one outcome per message, in order."""
    link = str(spec.settings.get("result_url") or "")
    items = []
    for message in messages:
        data: Mapping[str, Any] = message.payload.get("data") or {}
        attribution = sink._attribution(spec, data)
        view = PersonView.of(data, link)
        meeting = person_view(view, None, prospects=attribution.speakers.values())
        people = sink._views(spec, view, attribution)
        items.append(_Item(message, meeting, attribution, people, data))
    if any(it.emails for it in items):
        sf, adapter = client.connect(
            session, spec.timeout_seconds, str(spec.settings.get("api_version", "62.0"))
        )
        _match(sf, adapter, items)
        matched = [it for it in items if it.who is not None]
        if matched:
            sink._check_usage(sf, spec)
            _opportunities(sf, adapter, matched)
            _write_fields(sink, sf, adapter, mapping, matched)
            key_field = mapping.task.get("external_id_field", "EchoDepth_Key__c")
            _write_tasks(sink, sf, adapter, key_field, matched)
    return [it.failed if it.failed is not None else it.receipt() for it in items]
