"""The result fields the Salesforce mapping reads, and the participants an analysis names."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["FieldRule", "SalesforceMapping", "ResultView", "opportunity_id"]


class FieldRule(BaseModel):
    """One custom field filled from one result field."""

    model_config = ConfigDict(extra="forbid")

    source: str = Field(alias="from")
    type: str = "Text"
    round: int | None = None
    label: str = ""


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


class ResultView(BaseModel):
    """A result schema v1 document flattened to the names the mapping uses."""

    job_id: str
    modality: str = "unknown"
    trust_score: float | None = None
    valence: float | None = None
    arousal: float | None = None
    dominance: float | None = None
    dominant_emotion: str | None = None
    low_credibility_seconds: float | None = None
    analysed_at: str | None = None
    duration_seconds: int | None = None
    link: str | None = None
    title: str = ""

    @classmethod
    def of(cls, data: Mapping[str, Any], link_template: str, low_threshold: float = 0.4) -> ResultView:
        """Read an event's ``data``."""
        vad: Mapping[str, float] = data.get("vad") or {}
        emotions: Mapping[str, float] = data.get("emotions") or {}
        credibility = list(data.get("credibility") or [])
        metadata: Mapping[str, Any] = data.get("metadata") or {}
        duration = metadata.get("duration_seconds")
        job_id = str(data.get("job_id", "unknown"))
        return cls(
            job_id=job_id,
            modality=str(data.get("modality", "unknown")),
            trust_score=data.get("trust_score"),
            valence=vad.get("valence"),
            arousal=vad.get("arousal"),
            dominance=vad.get("dominance"),
            dominant_emotion=max(emotions, key=lambda k: emotions[k]) if emotions else None,
            low_credibility_seconds=float(sum(1 for c in credibility if c < low_threshold))
            if credibility
            else None,
            analysed_at=data.get("completed_at") or data.get("created_at"),
            duration_seconds=int(duration) if isinstance(duration, int | float) else None,
            link=link_template.format(job_id=job_id) if link_template else None,
            title=str(metadata.get("title") or ""),
        )

    def value(self, rule: FieldRule) -> Any:
        """The field value, rounded as the rule says (None when the result has none)."""
        raw = getattr(self, rule.source, None)
        if rule.type == "Number" and isinstance(raw, int | float):
            return round(float(raw), rule.round or 0)
        return raw


def opportunity_id(data: Mapping[str, Any]) -> str | None:
    """An Opportunity named explicitly in ``metadata.crm.opportunity_id``."""
    crm: Mapping[str, Any] = (data.get("metadata") or {}).get("crm") or {}
    value = crm.get("opportunity_id")
    return str(value) if value else None
