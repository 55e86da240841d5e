"""The result fields the HubSpot mapping reads, and the participants an analysis names."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from core.sdk.results import MappedField, ResultView

__all__ = ["PropertyRule", "Mapping_", "property_value", "deal_ids"]


class PropertyRule(MappedField):
    """One HubSpot property filled from one result field."""

    type: str = "string"
    options: list[str] = Field(default_factory=list)  # the values of an enumeration


class Mapping_(BaseModel):
    """config/mappings/hubspot.yaml, with a connection's overrides applied."""

    model_config = ConfigDict(extra="forbid")

    group: dict[str, str] = Field(default_factory=dict)
    contacts: dict[str, PropertyRule] = Field(default_factory=dict)
    deals: dict[str, PropertyRule] = Field(default_factory=dict)
    timeline_tokens: list[str] = Field(default_factory=list)
    app_events: dict[str, str] = Field(default_factory=dict)  # object type -> app event type name (v4)


def property_value(view: ResultView, rule: PropertyRule) -> str | None:
    """The property value HubSpot stores (strings on the wire), rounded as the rule says."""
    raw = view.raw(rule.source)
    if raw is None:
        return None
    if rule.type == "number" and isinstance(raw, int | float):
        return str(round(float(raw), rule.round)) if rule.round else str(round(float(raw)))
    return str(raw)


def deal_ids(data: Mapping[str, Any]) -> list[str]:
    """Deals named explicitly in ``metadata.crm`` (``deal_id`` or ``deal_ids``)."""
    crm: Mapping[str, Any] = (data.get("metadata") or {}).get("crm") or {}
    ids = list(crm.get("deal_ids") or []) + ([crm["deal_id"]] if crm.get("deal_id") else [])
    return [str(i) for i in dict.fromkeys(ids)]
