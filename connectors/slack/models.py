"""The per-tenant alert rules (``settings.rules`` of the Slack connection) and the result fields we read."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["AlertRule", "ResultView"]


class AlertRule(BaseModel):
    """Post to ``channel`` when an analysis matches every condition given (absent: any)."""

    model_config = ConfigDict(extra="forbid")

    channel: str = Field(min_length=1)
    events: list[str] = Field(default_factory=lambda: ["analysis.completed"])
    modalities: list[str] = Field(default_factory=list)
    sources: list[str] = Field(default_factory=list)
    trust_below: float | None = Field(default=None, ge=0, le=100)
    trust_above: float | None = Field(default=None, ge=0, le=100)

    def matches(self, event_type: str, view: ResultView) -> bool:
        """Whether an event of ``event_type`` about ``view`` is alerted by this rule."""
        if event_type not in self.events:
            return False
        if self.modalities and view.modality not in self.modalities:
            return False
        if self.sources and view.source not in self.sources:
            return False
        return self._trust_ok(view.trust_score)

    def _trust_ok(self, score: float | None) -> bool:
        if self.trust_below is None and self.trust_above is None:
            return True
        if score is None:
            return False
        below = self.trust_below is None or score < self.trust_below
        above = self.trust_above is None or score > self.trust_above
        return below and above


class ResultView(BaseModel):
    """The few result schema v1 fields a Slack alert shows."""

    job_id: str = "unknown"
    status: str = "completed"
    modality: str = "unknown"
    source: str = "api"
    trust_score: float | None = None
    trust_band: str | None = None
    vad: dict[str, float] = Field(default_factory=dict)
    dominant_emotion: str | None = None
    evidence: list[str] = Field(default_factory=list)
    link: str | None = None

    @classmethod
    def of(cls, data: Mapping[str, Any], link_template: str) -> ResultView:
        """Read an event's ``data`` (a result schema v1 document)."""
        trust = data.get("trust") or {}
        emotions: Mapping[str, float] = data.get("emotions") or {}
        metadata: Mapping[str, Any] = data.get("metadata") or {}
        job_id = str(data.get("job_id", "unknown"))
        return cls(
            job_id=job_id,
            status=str(data.get("status", "completed")),
            modality=str(data.get("modality", "unknown")),
            source=str(metadata.get("source", "api")),
            trust_score=data.get("trust_score"),
            trust_band=trust.get("band"),
            vad=dict(data.get("vad") or {}),
            dominant_emotion=max(emotions, key=lambda k: emotions[k]) if emotions else None,
            evidence=_evidence(trust),
            link=link_template.format(job_id=job_id) if link_template else None,
        )


def _evidence(trust: Mapping[str, Any]) -> list[str]:
    """Component details with their evidence, strongest first."""
    found: list[tuple[float, str]] = []
    for comp in trust.get("components") or []:
        for ev in comp.get("evidence") or []:
            found.append((abs(float(ev.get("value") or 0)), str(ev.get("detail", ""))))
    return [detail for _, detail in sorted(found, reverse=True) if detail]
