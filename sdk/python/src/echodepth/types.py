"""Response types (result schema v1 and the job, webhook and stream routes).

Every model keeps keys it does not know (schema v1 only ever adds keys), readable as attributes and in
``model_extra``; ``to_dict()`` gives the JSON exactly as the server sent it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "Model",
    "JobStatus",
    "VAD",
    "ErrorInfo",
    "TrustComponent",
    "Trust",
    "Quality",
    "EngineInfo",
    "Segment",
    "Result",
    "JobSummary",
    "JobAccepted",
    "WebhookEndpoint",
    "WebhookEndpointCreated",
    "SecretRotated",
    "WebhookDelivery",
    "ReplayAccepted",
    "StreamMessage",
]

JobStatus = Literal["queued", "processing", "completed", "failed"]
StreamMessage = dict[str, Any]
"""One server message of a stream: ``{"type": "frame" | "second" | "dropped" | "summary" | "error", ...}``."""


class Model(BaseModel):
    """Base of every response type: unknown keys are kept."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    def to_dict(self) -> dict[str, Any]:
        """The object as JSON-compatible data, with the server's key names."""
        return self.model_dump(mode="json", by_alias=True)


class VAD(Model):
    """Valence, arousal and dominance, each 0–1."""

    valence: float | None = None
    arousal: float | None = None
    dominance: float | None = None


class ErrorInfo(Model):
    """Why a job failed: a stable ``code`` and a message."""

    code: str
    message: str = ""


class TrustComponent(Model):
    """One documented component of the Trust Score, with its evidence."""

    name: str
    value: float | None = None
    weight: float | None = None
    evidence: list[Any] = Field(default_factory=list)


class Trust(Model):
    """The Trust Score with its band, confidence and components (it is not a lie detector)."""

    score: float | None = None
    band: str | None = None
    confidence: float | None = None
    components: list[TrustComponent] = Field(default_factory=list)
    note: str | None = None


class Quality(Model):
    """Signal-quality flags."""

    flags: list[str] = Field(default_factory=list)


class EngineInfo(Model):
    """Which engine version and models produced the result."""

    version: str | None = None
    models: dict[str, Any] = Field(default_factory=dict)


class Segment(Model):
    """A sentence (text, with character offsets) or a second (media) of the result."""

    start: float | None = None
    end: float | None = None
    text: str | None = None
    vad: VAD | None = None
    credibility: float | None = None
    emotions: dict[str, float] = Field(default_factory=dict)


class Result(Model):
    """A job and, once ``status == "completed"``, its full analysis (result schema v1)."""

    schema_version: str = "1"
    job_id: str
    status: JobStatus
    modality: str
    created_at: datetime
    completed_at: datetime | None = None
    error: ErrorInfo | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)
    vad: VAD | None = None
    trust_score: float | None = None
    """0–100, or ``None`` when the input cannot support one."""
    trust: Trust | None = None
    segments: list[Segment] = Field(default_factory=list)
    credibility: list[float] = Field(default_factory=list)
    emotions: dict[str, float] = Field(default_factory=dict)
    au_map: dict[str, Any] = Field(default_factory=dict)
    """Facial action units by name, e.g. ``au_map["AU12"]`` (empty for text)."""
    linguistic: dict[str, Any] = Field(default_factory=dict)
    quality: Quality = Field(default_factory=Quality)
    engine: EngineInfo | None = None
    transcript: list[dict[str, Any]] = Field(default_factory=list)
    speakers: list[dict[str, Any]] = Field(default_factory=list)
    voice: dict[str, Any] = Field(default_factory=dict)
    face: dict[str, Any] = Field(default_factory=dict)
    faces: list[dict[str, Any]] = Field(default_factory=list)
    images: list[dict[str, Any]] = Field(default_factory=list)
    modalities: dict[str, Any] = Field(default_factory=dict)

    @property
    def done(self) -> bool:
        """True once the job has ended (completed or failed)."""
        return self.status in ("completed", "failed")


class _Links(Model):
    result: str


class JobAccepted(Model):
    """The 202 answer of an analyse call."""

    job_id: str
    status: JobStatus
    links: _Links


class JobSummary(Model):
    """One job of ``jobs.list()``."""

    job_id: str
    status: JobStatus
    modality: str
    created_at: datetime
    completed_at: datetime | None = None
    error: ErrorInfo | None = None


class WebhookEndpoint(Model):
    """A webhook endpoint (its secret is only in the answers of create and rotate)."""

    id: str
    url: str
    events: list[str]
    description: str | None = None
    status: str
    disabled_reason: str | None = None
    created_at: datetime
    updated_at: datetime


class WebhookEndpointCreated(WebhookEndpoint):
    """A new endpoint and its signing secret (``whsec_…``), shown this once."""

    secret: str


class SecretRotated(Model):
    """A new signing secret; the previous one also signs until ``previous_secret_expires_at``."""

    secret: str
    previous_secret_expires_at: datetime | None = None


class WebhookDelivery(Model):
    """One entry of a delivery log."""

    id: str
    endpoint_id: str
    message_id: str
    event_type: str
    url: str
    status: str
    attempts: int
    next_attempt_at: datetime | None = None
    last_status_code: int | None = None
    last_error: str | None = None
    replay_of: str | None = None
    created_at: datetime
    delivered_at: datetime | None = None


class ReplayAccepted(Model):
    """The new delivery of a replayed message (same ``message_id``)."""

    delivery_id: str
    message_id: str
