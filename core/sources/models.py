"""A tenant's choices per meeting Source: which meetings are analysed, and whether the owner is told."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import JSON, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from core.storage.models import Base, utcnow

__all__ = ["SourceSetting", "MeetingPolicy"]


class SourceSetting(Base):
    """One tenant's ``MeetingPolicy`` for one Source."""

    __tablename__ = "source_settings"
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True)
    provider: Mapped[str] = mapped_column(String(40), primary_key=True)
    settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class MeetingPolicy(BaseModel):
    """Which recorded meetings a tenant wants analysed (PUT /v1/sources/{provider}/settings)."""

    model_config = ConfigDict(extra="forbid")

    meetings: Literal["all", "topic_pattern", "hosts", "opt_in_keyword"] = "all"
    topic_pattern: str | None = None  # a regular expression searched in the topic
    hosts: list[str] = Field(default_factory=list)  # host emails or host ids
    opt_in_keyword: str | None = None  # e.g. "#echodepth" in the topic
    min_duration_minutes: int = Field(default=0, ge=0)
    consent_required: bool = False  # then only meetings whose topic carries ``consent_marker``
    consent_marker: str = "#consent"
    summary_sla_hours: float | None = Field(default=None, gt=0)  # owner summary SLA; None = the setting
    # send the meeting's owner a summary through the Source (Zoom: a Team Chat chatbot message to the host);
    # None: the Source's default (its ``wants_summary``; Zoom: off, so results only reach the sinks)
    post_summary: bool | None = None

    @field_validator("topic_pattern")
    @classmethod
    def _compiles(cls, value: str | None) -> str | None:
        if value is not None:
            re.compile(value)
        return value

    def refusal(self, meeting: dict[str, Any]) -> str | None:
        """Why the meeting is not analysed, or None when it is."""
        topic = str(meeting.get("topic") or "")
        if int(meeting.get("duration_minutes") or 0) < self.min_duration_minutes:
            return "too_short"
        if self.consent_required and self.consent_marker.lower() not in topic.lower():
            return "no_consent"
        hosts = {h.lower() for h in self.hosts}
        chosen = {
            "all": True,
            "topic_pattern": bool(self.topic_pattern and re.search(self.topic_pattern, topic)),
            "hosts": bool(
                {str(meeting.get("host_email") or "").lower(), str(meeting.get("host_id") or "").lower()}
                & hosts
            ),
            "opt_in_keyword": bool(self.opt_in_keyword and self.opt_in_keyword.lower() in topic.lower()),
        }[self.meetings]
        return None if chosen else "not_selected"
