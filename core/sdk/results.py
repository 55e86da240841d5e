"""A result schema v1 document flattened to the names CRM field mappings use (``from:`` in config/mappings).

Connectors may not import each other, so the view the Salesforce and HubSpot Sinks share lives here; each
Sink only adds how a value is written (Salesforce keeps numbers, HubSpot sends strings).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["ResultView", "MappedField", "LOW_CREDIBILITY"]

LOW_CREDIBILITY = 0.4  # a second whose credibility is below this counts as low-credibility


class ResultView(BaseModel):
    """The result fields a CRM mapping can name, read from an event's ``data``."""

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
    def of(
        cls, data: Mapping[str, Any], link_template: str, low_threshold: float = LOW_CREDIBILITY
    ) -> ResultView:
        """Read an event's ``data`` (a result schema v1 document)."""
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

    def raw(self, source: str) -> Any:
        """The value of the field a mapping rule names in ``from`` (None when unknown or absent)."""
        return getattr(self, source, None)


class MappedField(BaseModel):
    """One vendor field filled from one result field (``from``), with its vendor type and rounding."""

    model_config = ConfigDict(extra="forbid")

    source: str = Field(alias="from")
    type: str
    round: int | None = None  # decimals kept for numbers
    label: str = ""
