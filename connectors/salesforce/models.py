"""The result fields the Salesforce mapping reads, and the participants an analysis names."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from core.sdk.results import MappedField, ResultView

__all__ = ["FieldRule", "SalesforceMapping", "field_value", "opportunity_id"]


class FieldRule(MappedField):
    """One custom field filled from one result field."""

    type: str = "Text"


class SalesforceMapping(BaseModel):
    """config/mappings/salesforce.yaml, with a connection's overrides applied."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    contact: dict[str, FieldRule] = Field(default_factory=dict, alias="Contact")
    lead: dict[str, FieldRule] = Field(default_factory=dict, alias="Lead")
    opportunity: dict[str, FieldRule] = Field(default_factory=dict, alias="Opportunity")
    task: dict[str, str] = Field(default_factory=dict, alias="Task")

    def fields(self, sobject: str) -> dict[str, FieldRule]:
        """The rules of one object type."""
        return {"Contact": self.contact, "Lead": self.lead, "Opportunity": self.opportunity}[sobject]


def field_value(view: ResultView, rule: FieldRule) -> Any:
    """The field value, rounded as the rule says (None when the result has none)."""
    raw = view.raw(rule.source)
    if rule.type == "Number" and isinstance(raw, int | float):
        return round(float(raw), rule.round or 0)
    return raw


def opportunity_id(data: Mapping[str, Any]) -> str | None:
    """An Opportunity named explicitly in ``metadata.crm.opportunity_id``."""
    crm: Mapping[str, Any] = (data.get("metadata") or {}).get("crm") or {}
    value = crm.get("opportunity_id")
    return str(value) if value else None
