"""The HubSpot Sink: contact and deal properties through batch update, one timeline activity per analysis on
each matched contact and deal.

Deals: the ones named in ``metadata.crm``, else the matched contacts' open deals (associations).
Timeline: app events (v4) for new apps, the legacy v3 timeline API only for apps that already have v3
events (HubSpot closed it to the others); ``connectors.hubspot.events`` has the sources. Properties are
written either way.
Idempotency: property writes set the same values again; each activity has the id ``<event id>-<contact id>``
(or ``<event id>-deal-<deal id>``) and an id HubSpot already has counts as done.
With the connection setting ``create_unmatched``, a participant no contact has gets one (email, name,
company from the mail domain) through batch create; consumer and own domains are still skipped.
Who said what: when the result names speakers with e-mails, each prospect's contact gets that person's own
figures (``speaker_fields`` of the mapping) in its properties and its timeline event, internal speakers
(the tenant's own domains) are never written, and every event names the prospect speakers with their
scores (token ``speakers``); with none named, every participant gets the meeting's figures and the
receipt says so (``core.sdk.participants.attribute``). The same calls either way: batch update carries each
contact's own values.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from functools import partial
from typing import Any, Literal

import yaml
from hubspot import HubSpot
from hubspot.crm.contacts import (
    BatchInputSimplePublicObjectBatchInput,
    BatchInputSimplePublicObjectBatchInputForCreate,
    PublicObjectSearchRequest,
)
from hubspot.crm.deals import BatchInputSimplePublicObjectBatchInput as DealBatch
from pydantic import ValidationError

from config import CONFIG_DIR
from connectors.hubspot import batch as hubspot_batch
from connectors.hubspot import client, events
from connectors.hubspot import setup as hubspot_setup
from connectors.hubspot.batch import BATCH_SIZE
from connectors.hubspot.models import Mapping_, PropertyRule, deal_ids, property_value
from core.sdk import (
    BatchOutcome,
    ConfigError,
    DeliveryReceipt,
    HttpSession,
    OutboundMessage,
    ProviderSpec,
)
from core.sdk.batching import chunks, deliver_each
from core.sdk.participants import (
    Attribution,
    PersonView,
    attribution_for,
    new_person,
    person_view,
    person_views,
    speaker_fields,
)
from core.sdk.results import ResultView

__all__ = ["HubSpotSink", "mapping_of", "speaker_paths_of", "BATCH_SIZE"]

log = logging.getLogger("echodepth.connectors.hubspot")
MAPPING_FILE = CONFIG_DIR / "mappings" / "hubspot.yaml"


def _mapping_data(spec: ProviderSpec) -> dict[str, Any]:
    """The default mapping file with the connection's ``mapping`` overrides applied (per section, per key)."""
    base: dict[str, Any] = yaml.safe_load(MAPPING_FILE.read_text())
    for section, value in (spec.settings.get("mapping") or {}).items():
        base[section] = {**base.get(section, {}), **value} if isinstance(value, dict) else value
    return base


def mapping_of(spec: ProviderSpec) -> Mapping_:
    """The default mapping with the connection's ``mapping`` overrides (per object, per field)."""
    base = _mapping_data(spec)
    base.pop("speaker_fields", None)  # read by ``speaker_paths_of``
    try:
        return Mapping_.model_validate(base)
    except ValidationError as exc:
        raise ConfigError(f"hubspot mapping is invalid: {exc}") from exc


def speaker_paths_of(spec: ProviderSpec) -> dict[str, str]:
    """The mapping's ``speaker_fields``: which view fields a named speaker's own figures replace."""
    try:
        return speaker_fields(_mapping_data(spec).get("speaker_fields"))
    except ValueError as exc:
        raise ConfigError(f"hubspot mapping is invalid: {exc}") from exc


def _props(rules: Mapping[str, PropertyRule], view: ResultView) -> dict[str, str]:
    """The properties ``rules`` fill from ``view`` (absent values left out)."""
    return {k: v for k, r in rules.items() if (v := property_value(view, r)) is not None}


class HubSpotSink:
    """Writes analysis results to matched HubSpot contacts and deals."""

    key = "hubspot"
    kind: Literal["sink"] = "sink"
    display_name = "HubSpot"
    events = frozenset({"analysis.completed"})
    max_batch = hubspot_batch.DELIVERIES_PER_BATCH  # deliveries handed over together (core.sdk.BatchSink)

    def _attribution(self, spec: ProviderSpec, data: Mapping[str, Any]) -> Attribution:
        """The participants to match and whose figures each gets (prospect speakers first)."""
        return attribution_for(spec.settings, data, BATCH_SIZE)

    def _views(self, spec: ProviderSpec, view: ResultView, who: Attribution) -> dict[str, PersonView]:
        """Each participant's view: a prospect speaker's own figures, else the meeting's."""
        return person_views(view, who, speaker_paths_of(spec))

    def _contacts(self, api: HubSpot, emails: list[str]) -> dict[str, str]:
        """Contact id by email, found with one search (``IN`` takes up to 100 values)."""
        if not emails:
            return {}
        query = PublicObjectSearchRequest(
            filter_groups=[{"filters": [{"propertyName": "email", "operator": "IN", "values": emails}]}],
            properties=["email"],
            limit=BATCH_SIZE,
        )
        page = client.call(
            lambda: api.crm.contacts.search_api.do_search(public_object_search_request=query),
            patience=hubspot_batch.RATE_LIMIT_PATIENCE,
        )
        results = getattr(page, "results", None) or []
        return {str(r.properties.get("email", "")).lower(): str(r.id) for r in results}

    def _create_contacts(self, api: HubSpot, data: Mapping[str, Any], emails: list[str]) -> dict[str, str]:
        """A contact per unmatched participant (``create_unmatched``); its id by email.

        Only emails the search did not find reach here, so a replay finds the contact made the first time.
        HubSpot refuses a second contact with one email (409): then another attempt made it, search again."""
        people = [new_person(data, e) for e in emails]
        inputs = [
            {
                "properties": {
                    "email": p.email,
                    "firstname": p.first_name,
                    "lastname": p.last_name,
                    "company": p.company,
                }
            }
            for p in people
        ]
        body = BatchInputSimplePublicObjectBatchInputForCreate(inputs=inputs)
        made = client.call(
            partial(
                api.crm.contacts.batch_api.create,
                batch_input_simple_public_object_batch_input_for_create=body,
            ),
            accept=frozenset({client.ALREADY_EXISTS}),
        )
        if made is None:
            return self._contacts(api, emails)
        return {str(r.properties.get("email", "")).lower(): str(r.id) for r in made.results or []}

    def _open_deals(self, api: HubSpot, contacts: list[str]) -> list[str]:
        """The matched contacts' associated deals that are still open (the batch path's two lookups)."""
        if not contacts:
            return []
        associated = hubspot_batch.associated_deals(api, contacts)
        return sorted(hubspot_batch.open_deals(api, sorted({d for ds in associated.values() for d in ds})))

    def _update(self, api: HubSpot, kind: str, props: Mapping[str, dict[str, str]]) -> int:
        """Set each object's ``props`` (by id) through batch update, 100 per call; returns the calls made."""
        batch_api = api.crm.contacts.batch_api if kind == "contacts" else api.crm.deals.batch_api
        model = BatchInputSimplePublicObjectBatchInput if kind == "contacts" else DealBatch
        calls = 0
        for chunk in chunks(sorted(props), BATCH_SIZE):
            body = model(inputs=[{"id": i, "properties": props[i]} for i in chunk])
            client.call(partial(batch_api.update, batch_input_simple_public_object_batch_input=body))
            calls += 1
        return calls

    def _activities(
        self,
        api: HubSpot,
        session: HttpSession,
        spec: ProviderSpec,
        mapping: Mapping_,
        message: OutboundMessage,
        view: ResultView,
        contacts: list[str],
        deals: list[str],
        views: Mapping[str, ResultView],
    ) -> None:
        """The analysis's timeline activities; a refused one fails the delivery (a retry skips the others)."""
        kinds = events.configured(spec, mapping)
        if not kinds:
            if contacts:
                log.warning("hubspot: no app event types or timeline templates configured; properties only")
            return
        planned = events.occurrences(message.id, view, 0, contacts, deals, kinds, views)
        for exc in events.send(api, session, spec, mapping, planned).values():
            raise exc

    def deliver_batch(
        self, session: HttpSession, spec: ProviderSpec, messages: Sequence[OutboundMessage]
    ) -> list[BatchOutcome]:
        """Properties and timeline events of many analyses in a few batch calls; one outcome per message."""
        if spec.settings.get("create_unmatched"):  # contact creation goes one analysis at a time
            return deliver_each(partial(self.deliver, session, spec), messages)
        return hubspot_batch.deliver_batch(self, session, spec, mapping_of(spec), messages)

    def setup(self, session: HttpSession, spec: ProviderSpec, create: bool = True) -> dict[str, list[str]]:
        """Check the mapped properties exist; create the missing ones (and their group) when ``create``."""
        return hubspot_setup.setup(session, spec, mapping_of(spec), create)

    def deliver(self, session: HttpSession, spec: ProviderSpec, message: OutboundMessage) -> DeliveryReceipt:
        """Match participants to contacts, set each one's (and the deals') properties, add timeline events."""
        data: Mapping[str, Any] = message.payload.get("data") or {}
        mapping = mapping_of(spec)
        view = PersonView.of(data, str(spec.settings.get("result_url") or ""))
        api = client.connect(session, spec.api_base_url or "https://api.hubapi.com", spec.timeout_seconds)
        attribution = self._attribution(spec, data)
        emails = attribution.emails
        contacts = self._contacts(api, emails)
        unmatched = [e for e in emails if e not in contacts]
        if unmatched and spec.settings.get("create_unmatched"):
            contacts.update(self._create_contacts(api, data, unmatched))
        for email in sorted(set(emails) - set(contacts)):
            log.info(
                "hubspot: no contact for a participant of %s (domain %s)",
                view.job_id,
                email.rsplit("@", 1)[-1],
            )
        people = self._views(spec, view, attribution)
        own = {contacts[e]: people[e] for e in emails if e in contacts}
        self._update(api, "contacts", {c: _props(mapping.contacts, v) for c, v in own.items()})
        meeting = person_view(view, None, prospects=attribution.speakers.values())
        deals = deal_ids(data) or self._open_deals(api, sorted(contacts.values()))
        self._update(api, "deals", dict.fromkeys(deals, _props(mapping.deals, meeting)))
        ids = sorted(contacts.values())
        self._activities(api, session, spec, mapping, message, meeting, ids, deals, dict(own))
        note = attribution.note()
        return DeliveryReceipt(200, f"{len(contacts)} of {len(emails)} participants matched; {note}")
