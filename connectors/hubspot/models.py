"""The result fields the HubSpot mapping reads, and the participants an analysis names."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["PropertyRule", "Mapping_", "ResultView", "deal_ids"]


class PropertyRule(BaseModel):
    """One HubSpot property filled from one result field."""

    model_config = ConfigDict(extra="forbid")

    source: str = Field(alias="from")
    type: str = "string"
    round: int | None = None
    label: str = ""
    options: list[str] = Field(default_factory=list)  # the values of an enumeration


class Mapping_(BaseModel):
    """config/mappings/hubspot.yaml, with a connection's overrides applied."""

    model_config = ConfigDict(extra="forbid")

    group: dict[str, str] = Field(default_factory=dict)
    contacts: dict[str, PropertyRule] = Field(default_factory=dict)
    deals: dict[str, PropertyRule] = Field(default_factory=dict)
    timeline_tokens: list[str] = Field(default_factory=list)


class ResultView(BaseModel):
    """A result schema v1 document flattened to the names the mapping uses."""

    job_id: str
    trust_score: float | None = None
    valence: float | None = None
    arousal: float | None = None
    dominance: float | None = None
    dominant_emotion: str | None = None
    low_credibility_seconds: float | None = None
    analysed_at: str | None = None
    link: str | None = None
    summary: str = ""

    @classmethod
    def of(cls, data: Mapping[str, Any], link_template: str, low_threshold: float = 0.4) -> ResultView:
        """Read an event's ``data``."""
        vad: Mapping[str, float] = data.get("vad") or {}
        emotions: Mapping[str, float] = data.get("emotions") or {}
        credibility: list[float] = list(data.get("credibility") or [])
        job_id = str(data.get("job_id", "unknown"))
        return cls(
            job_id=job_id,
            trust_score=data.get("trust_score"),
            valence=vad.get("valence"),
            arousal=vad.get("arousal"),
            dominance=vad.get("dominance"),
            dominant_emotion=max(emotions, key=lambda k: emotions[k]) if emotions else None,
            low_credibility_seconds=float(sum(1 for c in credibility if c < low_threshold))
            if credibility
            else None,
            analysed_at=data.get("completed_at") or data.get("created_at"),
            link=link_template.format(job_id=job_id) if link_template else None,
            summary=str((data.get("metadata") or {}).get("title", "")),
        )

    def value(self, rule: PropertyRule) -> str | None:
        """The property value HubSpot stores (strings on the wire), rounded as the rule says."""
        raw = getattr(self, rule.source, None)
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
