"""The per-tenant alert rules (``settings.rules`` of the Slack connection) and the result fields we read."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, time, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator

from core.sdk.participants import speakers_of

__all__ = ["AlertRule", "QuietHours", "ResultView", "SpeakerRow", "period_of", "zone"]


def zone(name: str) -> ZoneInfo:
    """The IANA time zone ``name``; ValueError when unknown."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {name!r}") from exc


class QuietHours(BaseModel):
    """Local hours in which a rule's messages are held (``start`` > ``end`` spans midnight)."""

    model_config = ConfigDict(extra="forbid")

    start: time
    end: time
    timezone: str | None = None  # absent: the connection's ``timezone`` setting

    @field_validator("timezone")
    @classmethod
    def _known(cls, value: str | None) -> str | None:
        if value is not None:
            zone(value)
        return value

    def held_for(self, now: datetime, default_tz: str) -> float:
        """Seconds until the quiet hours around ``now`` end (0 when ``now`` is outside them)."""
        local = now.astimezone(zone(self.timezone or default_tz))
        start = local.replace(hour=self.start.hour, minute=self.start.minute, second=0, microsecond=0)
        end = local.replace(hour=self.end.hour, minute=self.end.minute, second=0, microsecond=0)
        if self.start == self.end:
            return 0.0
        if self.start < self.end:
            inside = start <= local < end
        else:  # over midnight: inside after start today, or before end today
            inside = local >= start or local < end
            end = end + timedelta(days=1) if local >= start else end
        # aware datetimes in one zone subtract as wall clock: compare in UTC so a DST night counts right
        return (end.astimezone(UTC) - now.astimezone(UTC)).total_seconds() if inside else 0.0


def period_of(kind: str, now: datetime, tz: str) -> tuple[datetime, datetime]:
    """The last complete local day (``daily``) or Monday-to-Monday week (``weekly``) before ``now``."""
    local = now.astimezone(zone(tz))
    today = datetime.combine(local.date(), time(0), tzinfo=local.tzinfo)
    if kind == "daily":
        return today - timedelta(days=1), today
    monday = today - timedelta(days=today.weekday())
    return monday - timedelta(days=7), monday


class SpeakerRow(BaseModel):
    """One person who spoke, as an alert names them (``internal``: one of the tenant's own domains)."""

    label: str  # the name, else the voice id (S1)
    named: bool = False  # the result names this voice
    internal: bool | None = None
    trust_score: float | None = None
    valence: float | None = None
    arousal: float | None = None
    dominance: float | None = None
    talk_share: float = 0.0


class AlertRule(BaseModel):
    """Post to ``channel`` when an analysis matches every condition given (absent: any).

    ``speaker``: ``any`` (default) tests the meeting's Trust Score; ``external`` (another organisation's
    speakers, the prospect) or ``internal`` (the tenant's own) tests each such named speaker's own Trust
    Score, and the rule matches when one of them passes (no such speaker: no match)."""

    model_config = ConfigDict(extra="forbid")

    channel: str = Field(min_length=1)
    events: list[str] = Field(default_factory=lambda: ["analysis.completed"])
    modalities: list[str] = Field(default_factory=list)
    sources: list[str] = Field(default_factory=list)
    trust_below: float | None = Field(default=None, ge=0, le=100)
    trust_above: float | None = Field(default=None, ge=0, le=100)
    alerts: bool = True  # false: this rule only posts its summaries
    quiet_hours: QuietHours | None = None
    summary: Literal["daily", "weekly"] | None = None
    summary_lowest: int = Field(default=5, ge=0, le=20)  # how many lowest Trust Scores a summary lists
    speaker: Literal["any", "external", "internal"] = "any"

    def matches(self, event_type: str, view: ResultView) -> bool:
        """Whether an event of ``event_type`` about ``view`` is alerted by this rule."""
        if not self.alerts or event_type not in self.events:
            return False
        if self.modalities and view.modality not in self.modalities:
            return False
        if self.sources and view.source not in self.sources:
            return False
        if self.speaker == "any":
            return self._trust_ok(view.trust_score)
        return bool(self.targets(view))

    def targets(self, view: ResultView) -> list[SpeakerRow]:
        """The speakers a speaker rule is about that pass its Trust Score conditions ([] for ``any``)."""
        if self.speaker == "any":
            return []
        wanted = self.speaker == "internal"
        return [s for s in view.speakers if s.internal is wanted and self._trust_ok(s.trust_score)]

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
    speakers: list[SpeakerRow] = Field(default_factory=list)  # named or not, most talk first

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
            source=_source(metadata.get("source")),
            trust_score=data.get("trust_score"),
            trust_band=trust.get("band"),
            vad=dict(data.get("vad") or {}),
            dominant_emotion=max(emotions, key=lambda k: emotions[k]) if emotions else None,
            evidence=_evidence(trust),
            link=link_template.format(job_id=job_id) if link_template else None,
            speakers=[
                SpeakerRow(
                    label=s.label,
                    named=s.name is not None,
                    internal=s.internal,
                    trust_score=s.trust_score,
                    valence=s.valence,
                    arousal=s.arousal,
                    dominance=s.dominance,
                    talk_share=s.talk_share,
                )
                for s in speakers_of(data)
            ],
        )


def _source(value: Any) -> str:
    """The source's key: a string, or the ``provider`` of a meeting source's ``metadata.source``."""
    if isinstance(value, Mapping):
        return str(value.get("provider") or "api")
    return str(value or "api")


def _evidence(trust: Mapping[str, Any]) -> list[str]:
    """Component details with their evidence, strongest first."""
    found: list[tuple[float, str]] = []
    for comp in trust.get("components") or []:
        for ev in comp.get("evidence") or []:
            found.append((abs(float(ev.get("value") or 0)), str(ev.get("detail", ""))))
    return [detail for _, detail in sorted(found, reverse=True) if detail]
