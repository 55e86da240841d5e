"""The HubSpot Sink: contact and deal properties through batch update, one timeline activity per analysis on
each matched contact and deal (a single delivery is a batch of one: ``core.sdk.crm.CrmSink``).

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
receipt says so (``core.sdk.participants.attribute``).
"""

from __future__ import annotations

import logging

from config import CONFIG_DIR
from connectors.hubspot import batch, client, events
from connectors.hubspot import setup as hubspot_setup
from connectors.hubspot.models import Mapping_, deal_ids
from connectors.hubspot.settings import HubSpotConnectionSettings, HubSpotSettings
from core.sdk import HttpSession, ProviderSpec
from core.sdk.crm import CrmSink

__all__ = ["HubSpotSink", "MAPPING_FILE"]

log = logging.getLogger("echodepth.connectors.hubspot")
MAPPING_FILE = CONFIG_DIR / "mappings" / "hubspot.yaml"


class HubSpotSink(CrmSink[Mapping_, batch.Item]):
    """Writes analysis results to matched HubSpot contacts and deals."""

    key = "hubspot"
    display_name = "HubSpot"
    max_batch = batch.DELIVERIES_PER_BATCH
    participants_per_analysis = batch.BATCH_SIZE
    mapping_model = Mapping_
    item_type = batch.Item
    settings_model = HubSpotSettings
    connection_settings = HubSpotConnectionSettings

    def __init__(self) -> None:
        super().__init__(MAPPING_FILE)

    def write(
        self, session: HttpSession, spec: ProviderSpec, mapping: Mapping_, items: list[batch.Item]
    ) -> None:
        """Match, update properties, then add the timeline activities of the analyses not failed."""
        writing = [it for it in items if it.emails or deal_ids(it.data)]
        if not writing:
            return
        api = client.connect(session, spec)
        batch.match(api, spec, writing)
        batch.find_deals(api, spec, writing)
        batch.update(api, spec, "contacts", mapping.contacts, writing)
        batch.update(api, spec, "deals", mapping.deals, writing)
        if events.configured(spec, mapping):
            batch.write_events(api, session, spec, mapping, writing)
        elif any(it.contacts for it in writing):
            log.warning("hubspot: no app event types or timeline templates configured; properties only")

    def setup(self, session: HttpSession, spec: ProviderSpec, create: bool = True) -> dict[str, list[str]]:
        """Check the mapped properties exist; create the missing ones (and their group) when ``create``."""
        return hubspot_setup.setup(session, spec, self.mapping_of(spec), create)
