"""Many analyses of one HubSpot connection in a handful of calls (batch endpoints, ≤ 100 inputs each).

Up to 200 analyses are handed over together (``DELIVERIES_PER_BATCH``), so the lookups and the deal writes,
which only some analyses need, are shared by more of them. One contact search per 100 participants, one
associations read per 1,000 contacts and one deal search per 100 of their deals for the open ones, one
``batch/update`` per 100 contacts and per 100 deals (an object several analyses touch gets the
newest one's values; HubSpot refuses duplicate ids in one batch), and one events batch call per 100
timeline activities (one per contact and per deal; ``connectors.hubspot.events`` says which API). A refused
object fails only the analyses that wrote it; an event id HubSpot already has (an earlier attempt made it)
counts as done, so a replay never makes a second timeline event. A contact gets its own person's figures
when the analysis names speakers (batch update carries each input's own properties: no extra call).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any

from hubspot import HubSpot
from hubspot.crm.associations.v4 import BatchInputPublicFetchAssociationsBatchRequest
from hubspot.crm.contacts import BatchInputSimplePublicObjectBatchInput
from hubspot.crm.deals import BatchInputSimplePublicObjectBatchInput as DealBatch
from hubspot.crm.deals import PublicObjectSearchRequest as DealSearch

from connectors.hubspot import client, events
from connectors.hubspot.models import Mapping_, deal_ids, property_value
from core.sdk import BatchOutcome, DeliveryReceipt, HttpSession, OutboundMessage, PermanentError, ProviderSpec
from core.sdk.batching import chunks, isolate_refusals
from core.sdk.participants import Attribution, PersonView, person_view

if TYPE_CHECKING:
    from connectors.hubspot.sink import HubSpotSink

__all__ = [
    "deliver_batch",
    "associated_deals",
    "open_deals",
    "BATCH_SIZE",
    "DELIVERIES_PER_BATCH",
    "RATE_LIMIT_PATIENCE",
]

# A 429 inside a batch is waited out in place, up to one of HubSpot's 10 s windows per call, so a batch is not
# retried whole (re-running its lookups) for a momentary limit; a longer one still fails the batch.
RATE_LIMIT_PATIENCE = 10.0
log = logging.getLogger("echodepth.connectors.hubspot")
BATCH_SIZE = 100  # objects batch/update and search IN values: 100 per call
# associations batch read takes up to 1,000 ids (https://developers.hubspot.com/changelog/bug-fix-batch-read-limit-for-hubspot-associations-api)
ASSOCIATIONS_PER_READ = 1000
DELIVERIES_PER_BATCH = 200  # analyses handed over together (the sink's ``max_batch``)


@dataclass
class _Item:
    """One analysis of the batch and what was matched for it."""

    message: OutboundMessage
    view: PersonView  # the meeting's figures, prospect speakers named
    attribution: Attribution
    people: dict[str, PersonView]  # each participant's own figures (else the meeting's), by e-mail
    data: Mapping[str, Any]
    record_views: dict[str, PersonView] = field(default_factory=dict)  # by matched contact id
    contacts: list[str] = field(default_factory=list)
    deals: list[str] = field(default_factory=list)
    failed: PermanentError | None = None

    @property
    def emails(self) -> list[str]:
        """The participants to match (prospect speakers first)."""
        return self.attribution.emails

    def receipt(self) -> DeliveryReceipt:
        """What the delivery log records for this analysis."""
        matched = f"{len(self.contacts)} of {len(self.emails)} participants matched"
        return DeliveryReceipt(200, f"{matched}; {self.attribution.note()}")


def _match(sink: HubSpotSink, api: HubSpot, items: list[_Item]) -> None:
    wanted = list(dict.fromkeys(e for it in items for e in it.emails))
    contacts: dict[str, str] = {}
    for part in chunks(wanted, BATCH_SIZE):
        contacts.update(sink._contacts(api, list(part)))
    for it in items:
        it.contacts = list(dict.fromkeys(contacts[e] for e in it.emails if e in contacts))
        it.record_views = {contacts[e]: it.people[e] for e in it.emails if e in contacts}
        for email in [e for e in it.emails if e not in contacts]:
            log.info(
                "hubspot: no contact for a participant of %s (domain %s)",
                it.view.job_id,
                email.rsplit("@", 1)[-1],
            )


def associated_deals(api: HubSpot, contacts: list[str]) -> dict[str, list[str]]:
    """Each contact's associated deal ids (associations v4 batch read)."""
    found: dict[str, list[str]] = {}
    reader = api.crm.associations.v4.batch_api
    for part in chunks(contacts, ASSOCIATIONS_PER_READ):
        body = BatchInputPublicFetchAssociationsBatchRequest(inputs=[{"id": c} for c in part])
        page = client.call(
            partial(
                reader.get_page, "contacts", "deals", batch_input_public_fetch_associations_batch_request=body
            ),
            patience=RATE_LIMIT_PATIENCE,
        )
        for row in getattr(page, "results", None) or []:
            found[str(row._from.id)] = [str(t.to_object_id) for t in row.to or []]
    return found


def open_deals(api: HubSpot, deals: list[str]) -> set[str]:
    """Which of ``deals`` are still open (one deal search per 100 ids)."""
    found: set[str] = set()
    for part in chunks(deals, BATCH_SIZE):
        filters = [
            {"propertyName": "hs_object_id", "operator": "IN", "values": list(part)},
            {"propertyName": "hs_is_closed", "operator": "EQ", "value": "false"},
        ]
        query = DealSearch(
            filter_groups=[{"filters": filters}], properties=["hs_is_closed"], limit=BATCH_SIZE
        )
        page = client.call(
            partial(api.crm.deals.search_api.do_search, public_object_search_request=query),
            patience=RATE_LIMIT_PATIENCE,
        )
        found |= {str(d.id) for d in getattr(page, "results", None) or []}
    return found


def _deals(api: HubSpot, items: list[_Item]) -> None:
    """The deals named in ``metadata.crm``, else the analysis's contacts' open deals."""
    for it in items:
        it.deals = deal_ids(it.data)
    asking = sorted({c for it in items if not it.deals for c in it.contacts})
    if not asking:
        return
    associated = associated_deals(api, asking)
    still_open = open_deals(api, sorted({d for ds in associated.values() for d in ds}))
    for it in [i for i in items if not i.deals]:
        it.deals = sorted({d for c in it.contacts for d in associated.get(c, []) if d in still_open})


def _update(api: HubSpot, kind: str, rules: Mapping[str, Any], owners: dict[str, list[_Item]]) -> None:
    """Each object once with its newest analysis's properties; a refused object fails its analyses."""
    batch_api = api.crm.contacts.batch_api if kind == "contacts" else api.crm.deals.batch_api
    model = BatchInputSimplePublicObjectBatchInput if kind == "contacts" else DealBatch
    inputs: list[dict[str, Any]] = []
    for object_id, mine in owners.items():
        newest = max(mine, key=lambda it: it.view.analysed_at or "")
        view = newest.record_views.get(object_id, newest.view)  # a contact's own person, a deal the call's
        props = {k: v for k, r in rules.items() if (v := property_value(view, r)) is not None}
        inputs.append({"id": object_id, "properties": props})

    def send(part: Sequence[dict[str, Any]]) -> None:
        body = model(inputs=list(part))
        client.call(
            partial(batch_api.update, batch_input_simple_public_object_batch_input=body),
            patience=RATE_LIMIT_PATIENCE,
        )

    for part in chunks(inputs, BATCH_SIZE):
        for index, exc in isolate_refusals(part, send).items():
            for it in owners[part[index]["id"]]:
                it.failed = it.failed or exc


def _owners(items: list[_Item], attr: str) -> dict[str, list[_Item]]:
    owners: dict[str, list[_Item]] = {}
    for it in items:
        for object_id in getattr(it, attr):
            owners.setdefault(object_id, []).append(it)
    return owners


def _events(
    api: HubSpot, session: HttpSession, spec: ProviderSpec, mapping: Mapping_, items: list[_Item]
) -> None:
    """One activity per analysis on each of its contacts and deals (the configured kinds), 100 per call."""
    kinds = events.configured(spec, mapping)
    planned = [
        a
        for n, it in enumerate(items)
        if it.failed is None
        for a in events.occurrences(
            it.message.id, it.view, n, it.contacts, it.deals, kinds, dict(it.record_views)
        )
    ]
    for owner, exc in events.send(api, session, spec, mapping, planned).items():
        items[owner].failed = items[owner].failed or exc


def deliver_batch(
    sink: HubSpotSink,
    session: HttpSession,
    spec: ProviderSpec,
    mapping: Mapping_,
    messages: Sequence[OutboundMessage],
) -> list[BatchOutcome]:
    """Properties and timeline events for every message in few calls; one outcome per message, in order."""
    link = str(spec.settings.get("result_url") or "")
    items = []
    for message in messages:
        data: Mapping[str, Any] = message.payload.get("data") or {}
        attribution = sink._attribution(spec, data)
        view = PersonView.of(data, link)
        meeting = person_view(view, None, prospects=attribution.speakers.values())
        people = sink._views(spec, view, attribution)
        items.append(_Item(message, meeting, attribution, people, data))
    writing = [it for it in items if it.emails or deal_ids(it.data)]
    if writing:
        api = client.connect(session, spec.api_base_url or "https://api.hubapi.com", spec.timeout_seconds)
        _match(sink, api, writing)
        _deals(api, writing)
        _update(api, "contacts", mapping.contacts, _owners(writing, "contacts"))
        _update(api, "deals", mapping.deals, _owners(writing, "deals"))
        if events.configured(spec, mapping):
            _events(api, session, spec, mapping, writing)
        elif any(it.contacts for it in writing):
            log.warning("hubspot: no app event types or timeline templates configured; properties only")
    return [it.failed if it.failed is not None else it.receipt() for it in items]
