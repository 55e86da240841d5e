"""The Salesforce Sink: custom fields on the matched Contact or Lead (and Opportunity), one call Task (a
single delivery is a batch of one: ``core.sdk.crm.CrmSink``; ``connectors.salesforce.batch`` has the calls).

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

from simple_salesforce import Salesforce

from config import CONFIG_DIR
from connectors.salesforce import batch, client
from connectors.salesforce import setup as salesforce_setup
from connectors.salesforce.models import SalesforceMapping
from connectors.salesforce.settings import SalesforceConnectionSettings, SalesforceSettings
from core.sdk import HttpSession, ProviderSpec, TransientError
from core.sdk.crm import CrmSink

__all__ = ["SalesforceSink", "MAPPING_FILE", "COLLECTION_SIZE"]

COLLECTION_SIZE = batch.COLLECTION_SIZE
MAPPING_FILE = CONFIG_DIR / "mappings" / "salesforce.yaml"
_THROTTLE_WAIT = 3600.0  # near the daily limit: try again in an hour (the 24 h window rolls)


def _check_usage(sf: Salesforce, spec: ProviderSpec) -> None:
    """A TransientError (retry in an hour) when Sforce-Limit-Info shows the daily limit is near."""
    if client.usage_share(sf) >= float(spec.settings.get("throttle_at_usage", 0.9)):
        raise TransientError(
            client.VENDOR,
            "near_daily_limit",
            "Sforce-Limit-Info shows the daily limit is near",
            None,
            _THROTTLE_WAIT,
        )


class SalesforceSink(CrmSink[SalesforceMapping, batch.Item]):
    """Writes analysis results to matched Salesforce records and logs the call as a Task."""

    key = "salesforce"
    display_name = "Salesforce"
    max_batch = COLLECTION_SIZE
    participants_per_analysis = COLLECTION_SIZE
    mapping_model = SalesforceMapping
    item_type = batch.Item
    settings_model = SalesforceSettings
    connection_settings = SalesforceConnectionSettings

    def __init__(self) -> None:
        super().__init__(MAPPING_FILE)

    def write(
        self, session: HttpSession, spec: ProviderSpec, mapping: SalesforceMapping, items: list[batch.Item]
    ) -> None:
        """Match, create Leads when asked, then write the fields and one Task per analysis."""
        if not any(it.emails for it in items):
            return
        create = bool(spec.settings.get("create_unmatched"))
        sf, conn = client.connect(session, spec)
        unmatched = batch.match(sf, conn, items, log_unmatched=not create)
        if not any(it.who for it in items) and not (create and unmatched):
            return
        _check_usage(sf, spec)
        if create and unmatched:
            batch.create_leads(sf, conn, items, unmatched)
        matched = [it for it in items if it.who is not None and it.failed is None]
        batch.opportunities(sf, conn, matched)
        batch.write_fields(sf, conn, mapping, matched)
        key_field = mapping.task.get("external_id_field", "EchoDepth_Key__c")
        batch.write_tasks(sf, conn, key_field, matched)

    def setup(self, session: HttpSession, spec: ProviderSpec, create: bool = True) -> dict[str, list[str]]:
        """Check the mapped custom fields exist; create the missing ones through the Tooling API."""
        return salesforce_setup.setup(session, spec, self.mapping_of(spec), create)
