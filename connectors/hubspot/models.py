"""The result fields the HubSpot mapping reads, and the participants an analysis names."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from core.sdk.participants import DEFAULT_SPEAKER_FIELDS, SpeakerField, speaker_fields
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
    # view field -> path in a speakers[] entry: what a named speaker's own figures replace on their contact
    # view field -> path in a speakers[] entry: what a named speaker's own figures replace on their contact
    speaker_fields: dict[str, SpeakerField] = Field(
        default_factory=lambda: {k: SpeakerField(**{"from": v}) for k, v in DEFAULT_SPEAKER_FIELDS.items()}
    )

    @field_validator("speaker_fields")
    @classmethod
    def _known_fields(cls, value: dict[str, SpeakerField]) -> dict[str, SpeakerField]:
        speaker_fields(value)
        return value

    def speaker_paths(self) -> dict[str, str]:
        """View field -> the path in a speakers[] entry it takes a speaker's own value from."""
        return speaker_fields(self.speaker_fields)


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
