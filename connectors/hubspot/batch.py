"""Many analyses of one HubSpot connection in a handful of calls (batch endpoints, ≤ 100 inputs each).

Up to 200 analyses are handed over together (``DELIVERIES_PER_BATCH``), so the lookups and the deal writes,
which only some analyses need, are shared by more of them. One contact search per 100 participants (and,
with ``create_unmatched``, one batch create per 100 participants no contact has), one associations read per
1,000 contacts and one deal search per 100 of their deals for the open ones, one ``batch/update`` per 100
contacts and per 100 deals (an object several analyses touch gets the newest one's values; HubSpot refuses
duplicate ids in one batch), and one events batch call per 100 timeline activities (one per contact and per
deal; ``connectors.hubspot.events`` says which API). A refused object fails only the analyses that wrote
it; an event id HubSpot already has (an earlier attempt made it) counts as done, so a replay never makes a
second timeline event. A contact gets its own person's figures when the analysis names speakers (batch
update carries each input's own properties: no extra call).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from hubspot import HubSpot
from hubspot.crm.associations.v4 import BatchInputPublicFetchAssociationsBatchRequest
from hubspot.crm.contacts import (
    BatchInputSimplePublicObjectBatchInput,
    BatchInputSimplePublicObjectBatchInputForCreate,
    PublicObjectSearchRequest,
)
from hubspot.crm.deals import BatchInputSimplePublicObjectBatchInput as DealBatch
from hubspot.crm.deals import PublicObjectSearchRequest as DealSearch

from connectors.hubspot import client, events
from connectors.hubspot.models import Mapping_, deal_ids, property_value
from core.sdk import HttpSession, ProviderSpec
from core.sdk.batching import chunks, isolate_refusals
from core.sdk.crm import CrmItem
from core.sdk.participants import new_person

__all__ = [
    "Item",
    "match",
    "find_deals",
    "update",
    "write_events",
    "BATCH_SIZE",
    "DELIVERIES_PER_BATCH",
    "RATE_LIMIT_PATIENCE",
]

# A 429 inside a batch is waited out in place, up to one of HubSpot's 10 s windows per call, so a batch is not
# retried whole (re-running its lookups) for a momentary limit; a longer one still fails the batch.
RATE_LIMIT_PATIENCE = 10.0
log = logging.getLogger("echodepth.connectors.hubspot")
BATCH_SIZE = 100  # objects batch/update, batch create and search IN values: 100 per call
# associations batch read takes up to 1,000 ids (https://developers.hubspot.com/changelog/bug-fix-batch-read-limit-for-hubspot-associations-api)
ASSOCIATIONS_PER_READ = 1000
DELIVERIES_PER_BATCH = 200  # analyses handed over together (the sink's ``max_batch``)


@dataclass
class Item(CrmItem):
    """One analysis of the batch and the contacts and deals matched for it."""

    contacts: list[str] = field(default_factory=list)
    deals: list[str] = field(default_factory=list)


def _by_email(results: Any) -> dict[str, str]:
    return {str(r.properties.get("email", "")).lower(): str(r.id) for r in results or []}


def _search(api: HubSpot, spec: ProviderSpec, emails: Sequence[str]) -> dict[str, str]:
    """Contact id by email, one search per 100 emails (``IN`` takes up to 100 values)."""
    found: dict[str, str] = {}
    for part in chunks(list(emails), BATCH_SIZE):
        query = PublicObjectSearchRequest(
            filter_groups=[{"filters": [{"propertyName": "email", "operator": "IN", "values": list(part)}]}],
            properties=["email"],
            limit=BATCH_SIZE,
        )
        page = client.call(
            spec,
            partial(api.crm.contacts.search_api.do_search, public_object_search_request=query),
            patience=RATE_LIMIT_PATIENCE,
        )
        found.update(_by_email(getattr(page, "results", None)))
    return found


def _create(api: HubSpot, spec: ProviderSpec, items: list[Item], emails: list[str]) -> dict[str, str]:
    """A contact per unmatched participant (``create_unmatched``); its id by email.

    Only emails the search did not find reach here, so a replay finds the contact made the first time.
    HubSpot refuses a second contact with one email (409): then another attempt made it, search again."""
    data_of = {e: it.data for it in reversed(items) for e in it.emails}
    made: dict[str, str] = {}
    for part in chunks(emails, BATCH_SIZE):
        people = [new_person(data_of[e], e) for e in part]
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
        answer = client.call(
            spec,
            partial(
                api.crm.contacts.batch_api.create,
                batch_input_simple_public_object_batch_input_for_create=body,
            ),
            accept=frozenset({client.ALREADY_EXISTS}),
        )
        made.update(_search(api, spec, part) if answer is None else _by_email(answer.results))
    return made


def match(api: HubSpot, spec: ProviderSpec, items: list[Item]) -> None:
    """Each item's contacts (searched; created for the unmatched with ``create_unmatched``)."""
    wanted = list(dict.fromkeys(e for it in items for e in it.emails))
    contacts = _search(api, spec, wanted)
    unmatched = [e for e in wanted if e not in contacts]
    if unmatched and spec.settings.get("create_unmatched"):
        contacts.update(_create(api, spec, items, unmatched))
    for it in items:
        it.contacts = list(dict.fromkeys(contacts[e] for e in it.emails if e in contacts))
        it.record_views = {contacts[e]: it.people[e] for e in it.emails if e in contacts}
        for email in [e for e in it.emails if e not in contacts]:
            log.info(
                "hubspot: no contact for a participant of %s (domain %s)",
                it.view.job_id,
                email.rsplit("@", 1)[-1],
            )


def _associated_deals(api: HubSpot, spec: ProviderSpec, contacts: list[str]) -> dict[str, list[str]]:
    """Each contact's associated deal ids (associations v4 batch read)."""
    found: dict[str, list[str]] = {}
    reader = api.crm.associations.v4.batch_api
    for part in chunks(contacts, ASSOCIATIONS_PER_READ):
        body = BatchInputPublicFetchAssociationsBatchRequest(inputs=[{"id": c} for c in part])
        page = client.call(
            spec,
            partial(
                reader.get_page, "contacts", "deals", batch_input_public_fetch_associations_batch_request=body
            ),
            patience=RATE_LIMIT_PATIENCE,
        )
        for row in getattr(page, "results", None) or []:
            found[str(row._from.id)] = [str(t.to_object_id) for t in row.to or []]
    return found


def _open_deals(api: HubSpot, spec: ProviderSpec, deals: list[str]) -> set[str]:
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
            spec,
            partial(api.crm.deals.search_api.do_search, public_object_search_request=query),
            patience=RATE_LIMIT_PATIENCE,
        )
        found |= {str(d.id) for d in getattr(page, "results", None) or []}
    return found


def find_deals(api: HubSpot, spec: ProviderSpec, items: list[Item]) -> None:
    """The deals named in ``metadata.crm``, else the analysis's contacts' open deals."""
    for it in items:
        it.deals = deal_ids(it.data)
    asking = sorted({c for it in items if not it.deals for c in it.contacts})
    if not asking:
        return
    associated = _associated_deals(api, spec, asking)
    still_open = _open_deals(api, spec, sorted({d for ds in associated.values() for d in ds}))
    for it in [i for i in items if not i.deals]:
        it.deals = sorted({d for c in it.contacts for d in associated.get(c, []) if d in still_open})


def _owners(items: list[Item], attr: str) -> dict[str, list[Item]]:
    owners: dict[str, list[Item]] = {}
    for it in items:
        for object_id in getattr(it, attr):
            owners.setdefault(object_id, []).append(it)
    return owners


def update(api: HubSpot, spec: ProviderSpec, kind: str, rules: Mapping[str, Any], items: list[Item]) -> None:
    """Each object once with its newest analysis's properties; a refused object fails its analyses."""
    batch_api = api.crm.contacts.batch_api if kind == "contacts" else api.crm.deals.batch_api
    model = BatchInputSimplePublicObjectBatchInput if kind == "contacts" else DealBatch
    owners = _owners(items, kind)
    inputs: list[dict[str, Any]] = []
    for object_id, mine in owners.items():
        newest = max(mine, key=lambda it: it.view.analysed_at or "")
        view = newest.record_views.get(object_id, newest.view)  # a contact's own person, a deal the call's
        props = {k: v for k, r in rules.items() if (v := property_value(view, r)) is not None}
        inputs.append({"id": object_id, "properties": props})

    def send(part: Sequence[dict[str, Any]]) -> None:
        body = model(inputs=list(part))
        client.call(
            spec,
            partial(batch_api.update, batch_input_simple_public_object_batch_input=body),
            patience=RATE_LIMIT_PATIENCE,
        )

    for part in chunks(inputs, BATCH_SIZE):
        for index, exc in isolate_refusals(part, send).items():
            for it in owners[part[index]["id"]]:
                it.fail(exc)


def write_events(
    api: HubSpot, session: HttpSession, spec: ProviderSpec, mapping: Mapping_, items: list[Item]
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
        items[owner].fail(exc)
