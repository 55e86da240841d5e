"""Salesforce: analysis results as Contact, Lead and Opportunity fields, and a call Task per analysis."""

from connectors.salesforce.sink import SalesforceSink

CONNECTOR = SalesforceSink()

__all__ = ["CONNECTOR"]
