"""Salesforce: analysis results as Contact, Lead and Opportunity fields, and a call Task per analysis.

Files: ``client.py`` the calls (simple-salesforce on ``core.sdk.http``); ``models.py`` the mapping;
``soql.py`` IN lists cut to the URI limit; ``batch.py`` the batched lookups and writes; ``setup.py`` and
``permissions.py`` custom fields and field-level security (``connectors setup``); ``settings.py`` the
connected app's settings and what a tenant may set; ``sink.py`` the plugin (``core.sdk.crm``).
Facts: config/providers/salesforce.yaml, config/mappings/salesforce.yaml.
"""

from connectors.salesforce.sink import SalesforceSink

CONNECTOR = SalesforceSink()

__all__ = ["CONNECTOR"]
