"""The Salesforce Sink: custom fields on the matched Contact or Lead (and Opportunity), one call Task.

Matching: a Contact by email, else an unconverted Lead; the Opportunity named in ``metadata.crm`` or the
contact's newest open one (OpportunityContactRole). Field writes go through sObject Collections (≤ 200
records per call). Idempotency: the Task carries an External ID (``EchoDepth_Key__c`` = the analysis id);
it is created only when no Task has that key, and created by upsert on that key, so a replay or a worker
killed mid-delivery never makes a second Task. ``TaskSubtype`` can be set on create only.
With the connection setting ``create_unmatched``, a participant with no Contact and no open Lead gets a
Lead (LastName, Email, Company from the mail domain, LeadSource ``EchoDepth``); consumer and own domains
are still skipped.
Who said what: when the result names speakers with e-mails, each prospect's Contact/Lead gets that
person's own figures (``speaker_fields`` of the mapping), internal speakers (the tenant's own domains) are
never written, and the Task names the prospect speakers with their scores; with none named, every
participant gets the meeting's figures and the receipt says so (``core.sdk.participants.attribute``).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping, Sequence
from functools import partial
from typing import Any, Literal

import yaml
from pydantic import ValidationError
from simple_salesforce import Salesforce, format_soql

from config import CONFIG_DIR
from connectors.salesforce import batch as salesforce_batch
from connectors.salesforce import client, soql
from connectors.salesforce import setup as salesforce_setup
from connectors.salesforce.models import SalesforceMapping, field_value, opportunity_id
from core.sdk import (
    BatchOutcome,
    ConfigError,
    DeliveryReceipt,
    HttpSession,
    OutboundMessage,
    PermanentError,
    ProviderSpec,
    TransientError,
)
from core.sdk.batching import deliver_each
from core.sdk.participants import (
    Attribution,
    PersonView,
    Speaker,
    attribution_for,
    new_person,
    person_view,
    person_views,
    speaker_fields,
)
from core.sdk.results import ResultView

__all__ = ["SalesforceSink", "mapping_of", "speaker_paths_of", "COLLECTION_SIZE"]

log = logging.getLogger("echodepth.connectors.salesforce")
COLLECTION_SIZE = 200  # sObject Collections take at most 200 records per call
MAPPING_FILE = CONFIG_DIR / "mappings" / "salesforce.yaml"
LEAD_SOURCE = "EchoDepth"  # the LeadSource of Leads created for unmatched participants
_THROTTLE_WAIT = 3600.0  # near the daily limit: try again in an hour (the 24 h window rolls)


def _mapping_data(spec: ProviderSpec) -> dict[str, Any]:
    """The default mapping file with the connection's ``mapping`` overrides applied (per section, per key)."""
    base: dict[str, Any] = yaml.safe_load(MAPPING_FILE.read_text())
    for section, value in (spec.settings.get("mapping") or {}).items():
        base[section] = {**base.get(section, {}), **value} if isinstance(value, dict) else value
    return base


def mapping_of(spec: ProviderSpec) -> SalesforceMapping:
    """The default mapping with the connection's ``mapping`` overrides (per object, per field)."""
    base = _mapping_data(spec)
    base.pop("speaker_fields", None)  # read by ``speaker_paths_of``
    try:
        return SalesforceMapping.model_validate(base)
    except ValidationError as exc:
        raise ConfigError(f"salesforce mapping is invalid: {exc}") from exc


def speaker_paths_of(spec: ProviderSpec) -> dict[str, str]:
    """The mapping's ``speaker_fields``: which view fields a named speaker's own figures replace."""
    try:
        return speaker_fields(_mapping_data(spec).get("speaker_fields"))
    except ValueError as exc:
        raise ConfigError(f"salesforce mapping is invalid: {exc}") from exc


def _subject(meeting_score: str, prospects: list[Speaker]) -> str:
    """``EchoDepth call analysis: Jane Buyer Trust Score 64`` (the meeting's score without prospects)."""
    if not prospects:
        return f"EchoDepth call analysis: Trust Score {meeting_score}"
    named = ", ".join(
        f"{p.label} Trust Score {'n/a' if p.trust_score is None else f'{p.trust_score:.0f}'}"
        for p in prospects
    )
    return f"EchoDepth call analysis: {named}"[:255]  # Task.Subject holds 255 characters


def _chunks(items: list[Any], size: int = COLLECTION_SIZE) -> Iterator[list[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


class SalesforceSink:
    """Writes analysis results to matched Salesforce records and logs the call as a Task."""

    key = "salesforce"
    kind: Literal["sink"] = "sink"
    display_name = "Salesforce"
    events = frozenset({"analysis.completed"})
    max_batch = COLLECTION_SIZE  # deliveries handed over together (core.sdk.BatchSink)

    def _attribution(self, spec: ProviderSpec, data: Mapping[str, Any]) -> Attribution:
        """The participants to match and whose figures each gets (prospect speakers first)."""
        return attribution_for(spec.settings, data, COLLECTION_SIZE)

    def _views(self, spec: ProviderSpec, view: ResultView, who: Attribution) -> dict[str, PersonView]:
        """Each participant's view: a prospect speaker's own figures, else the meeting's."""
        return person_views(view, who, speaker_paths_of(spec))

    def _ids_by_email(self, sf: Salesforce, adapter: Any, template: str, emails: list[str]) -> dict[str, str]:
        found = soql.rows(sf, adapter, template, emails)
        return {str(r["Email"]).lower(): str(r["Id"]) for r in found}

    def _opportunity(
        self, sf: Salesforce, adapter: Any, data: Mapping[str, Any], contacts: list[str]
    ) -> str | None:
        explicit = opportunity_id(data)
        if explicit or not contacts:
            return explicit
        query = format_soql(
            "SELECT OpportunityId FROM OpportunityContactRole WHERE ContactId IN {ids} "
            "AND Opportunity.IsClosed = false ORDER BY CreatedDate DESC LIMIT 1",
            ids=contacts,
        )
        rows = client.call(adapter, lambda: sf.query(query)).get("records", [])
        return str(rows[0]["OpportunityId"]) if rows else None

    def _records(
        self, mapping: SalesforceMapping, view: PersonView, targets: list[tuple[str, str]]
    ) -> list[dict[str, Any]]:
        records = []
        for sobject, record_id in targets:
            fields = {
                name: v
                for name, rule in mapping.fields(sobject).items()
                if (v := field_value(view, rule)) is not None
            }
            records.append({"attributes": {"type": sobject}, "Id": record_id, **fields})
        return records

    def _write(
        self, sf: Salesforce, adapter: Any, path: str, records: list[dict[str, Any]], method: str = "PATCH"
    ) -> list[str]:
        """sObject Collections, 200 records a call; the written ids; a refused record is a PermanentError."""
        ids: list[str] = []
        for chunk in _chunks(records):
            body = {"allOrNone": False, "records": chunk}
            results = client.call(adapter, partial(sf.restful, path, method=method, json=body))
            for result in results or []:
                if not result.get("success"):
                    err = (result.get("errors") or [{}])[0]
                    raise PermanentError(
                        client.VENDOR,
                        str(err.get("statusCode", "write_failed")),
                        str(err.get("message", ""))[:200],
                    )
                ids.append(str(result.get("id")))
        return ids

    def _create_leads(
        self, sf: Salesforce, adapter: Any, data: Mapping[str, Any], emails: list[str]
    ) -> dict[str, str]:
        """A Lead per unmatched participant (``create_unmatched``); its id by email.

        Only emails no Contact or open Lead has reach here, so a replay finds the Lead made the first time
        and does not create another."""
        people = [new_person(data, e) for e in emails]
        records = [
            {
                "attributes": {"type": "Lead"},
                "Email": p.email,
                "FirstName": p.first_name or None,
                "LastName": p.last_name,
                "Company": p.company,
                "LeadSource": LEAD_SOURCE,
            }
            for p in people
        ]
        records = [{k: v for k, v in r.items() if v is not None} for r in records]
        ids = self._write(sf, adapter, "composite/sobjects", records, method="POST")
        return dict(zip(emails, ids, strict=True))

    def _task(
        self, view: PersonView, key_field: str, who: str, what: str | None, attribution: Attribution
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
            "ActivityDate": (view.analysed_at or "")[:10] or None,
            "CallDurationInSeconds": view.duration_seconds,
        }
        if what:
            task["WhatId"] = what
        return {k: v for k, v in task.items() if v is not None}

    def _task_exists(self, sf: Salesforce, adapter: Any, key_field: str, key: str) -> bool:
        query = format_soql(f"SELECT Id FROM Task WHERE {key_field} = {{key}} LIMIT 1", key=key)
        return bool(client.call(adapter, lambda: sf.query(query)).get("records"))

    def _check_usage(self, sf: Salesforce, spec: ProviderSpec) -> None:
        """A TransientError (retry in an hour) when Sforce-Limit-Info shows the daily limit is near."""
        if client.usage_share(sf) >= float(spec.settings.get("throttle_at_usage", 0.9)):
            raise TransientError(
                client.VENDOR,
                "near_daily_limit",
                "Sforce-Limit-Info shows the daily limit is near",
                None,
                _THROTTLE_WAIT,
            )

    def deliver_batch(
        self, session: HttpSession, spec: ProviderSpec, messages: Sequence[OutboundMessage]
    ) -> list[BatchOutcome]:
        """Fields and Tasks of many analyses in a few sObject Collections calls; one outcome per message."""
        if spec.settings.get("create_unmatched"):  # Lead creation goes one analysis at a time
            return deliver_each(partial(self.deliver, session, spec), messages)
        return salesforce_batch.deliver_batch(self, session, spec, mapping_of(spec), messages)

    def setup(self, session: HttpSession, spec: ProviderSpec, create: bool = True) -> dict[str, list[str]]:
        """Check the mapped custom fields exist; create the missing ones through the Tooling API."""
        return salesforce_setup.setup(session, spec, mapping_of(spec), create)

    def deliver(self, session: HttpSession, spec: ProviderSpec, message: OutboundMessage) -> DeliveryReceipt:
        """Match participants, write each one's figures, and log one call Task per analysis."""
        data: Mapping[str, Any] = message.payload.get("data") or {}
        mapping = mapping_of(spec)
        view = PersonView.of(data, str(spec.settings.get("result_url") or ""))
        attribution = self._attribution(spec, data)
        emails = attribution.emails
        if not emails:
            return _receipt(0, 0, attribution)
        sf, adapter = client.connect(
            session, spec.timeout_seconds, str(spec.settings.get("api_version", "62.0"))
        )
        found = self._ids_by_email(
            sf, adapter, "SELECT Id, Email FROM Contact WHERE Email IN {values}", emails
        )
        contacts = {e: found[e] for e in emails if e in found}  # prospects (most talk) first
        rest = [e for e in emails if e not in contacts]
        found = self._ids_by_email(
            sf, adapter, "SELECT Id, Email FROM Lead WHERE IsConverted = false AND Email IN {values}", rest
        )
        leads = {e: found[e] for e in rest if e in found}
        unmatched = [e for e in rest if e not in leads]
        create = bool(unmatched and spec.settings.get("create_unmatched"))
        for email in [] if create else unmatched:
            log.info(
                "salesforce: no contact or lead for a participant of %s (domain %s)",
                view.job_id,
                email.rsplit("@", 1)[-1],
            )
        if not contacts and not leads and not create:
            return _receipt(0, len(emails), attribution)
        self._check_usage(sf, spec)
        if create:
            leads.update(self._create_leads(sf, adapter, data, unmatched))
        opp = self._opportunity(sf, adapter, data, sorted(contacts.values()))
        views = self._views(spec, view, attribution)
        records = [
            record
            for sobject, ids in (("Contact", contacts), ("Lead", leads))
            for email, record_id in ids.items()
            for record in self._records(mapping, views[email], [(sobject, record_id)])
        ]
        meeting = person_view(view, None, prospects=attribution.speakers.values())
        records += self._records(mapping, meeting, [("Opportunity", opp)]) if opp else []
        self._write(sf, adapter, "composite/sobjects", records)
        key_field = mapping.task.get("external_id_field", "EchoDepth_Key__c")
        who = next(iter(contacts.values()), None) or next(iter(leads.values()))
        task = self._task(meeting, key_field, who, opp if contacts else None, attribution)
        if not self._task_exists(sf, adapter, key_field, task[key_field]):  # a Lead's Task has no WhatId
            try:
                self._write(sf, adapter, f"composite/sobjects/Task/{key_field}", [task])
            except PermanentError as exc:
                # a concurrent attempt created it between our check and our upsert: the upsert became an
                # update, which refuses the create-only TaskSubtype
                if exc.code != "INVALID_FIELD_FOR_INSERT_UPDATE" or not self._task_exists(
                    sf, adapter, key_field, task[key_field]
                ):
                    raise
        return _receipt(len(contacts) + len(leads), len(emails), attribution)


def _receipt(matched: int, wanted: int, attribution: Attribution) -> DeliveryReceipt:
    """``1 of 1 participants matched; own figures for 1 prospect speaker(s), …`` for the delivery log."""
    return DeliveryReceipt(200, f"{matched} of {wanted} participants matched; {attribution.note()}")
