"""The engine's output: one report per analysed input, shared by every modality.

Core wraps it with job fields to make result schema v1 (``core.sdk.schema.ResultV1``).
Later modalities add fields here; none is renamed.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "VAD",
    "Evidence",
    "TrustComponent",
    "Trust",
    "Segment",
    "Word",
    "TranscriptSegment",
    "SpeakerSummary",
    "Quality",
    "EngineInfo",
    "Analysis",
    "Report",
]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class VAD(_Model):
    """Valence, arousal and dominance, each on 0–1 (0.5 is neutral)."""

    valence: float = Field(ge=0.0, le=1.0)
    arousal: float = Field(ge=0.0, le=1.0)
    dominance: float = Field(ge=0.0, le=1.0)


class Evidence(_Model):
    """One observation behind a score: what was seen, where, and how strongly."""

    kind: str
    detail: str
    start: float | None = None
    end: float | None = None
    text: str | None = None
    value: float | None = None


class TrustComponent(_Model):
    """One named input to the Trust Score, with its 0–1 value, weight and evidence."""

    name: str
    value: float = Field(ge=0.0, le=1.0)
    weight: float = Field(ge=0.0, le=1.0)
    evidence: list[Evidence] = Field(default_factory=list)


class Trust(_Model):
    """The explainable composite behind ``trust_score``; never a verdict on honesty."""

    score: float | None = Field(default=None, ge=0.0, le=100.0)
    band: Literal["low", "moderate", "high"] | None = None
    confidence: float = Field(ge=0.0, le=1.0)
    components: list[TrustComponent] = Field(default_factory=list)
    note: str = (
        "A composite of signal congruence, stress markers and signal quality. "
        "It is not a lie detector and must not be used as a verdict on honesty."
    )


class Segment(_Model):
    """A sentence (text: start/end are character offsets) or a second (media: seconds)."""

    start: float
    end: float
    text: str | None = None
    vad: VAD | None = None
    credibility: float | None = Field(default=None, ge=0.0, le=100.0)
    emotions: dict[str, float] = Field(default_factory=dict)
    evidence: list[Evidence] = Field(default_factory=list)
    # Media seconds (voice): the per-second measures; None where they do not apply.
    f0_hz: float | None = None
    intensity_db: float | None = None
    speech: bool | None = None
    pause: bool | None = None
    speech_rate: float | None = None
    speaker: str | None = None
    # Media seconds (face/video): primary face's mean AU intensities, presence, pose, gaze and blinks.
    au: dict[str, float] = Field(default_factory=dict)
    face_present: bool | None = None
    face_id: str | None = None
    head_pose: dict[str, float] | None = None
    gaze: dict[str, float] | None = None
    blinks: int | None = None
    # Media seconds (video/multimodal): each modality's V/A/D beside the fused ``vad``.
    face_vad: VAD | None = None
    voice_vad: VAD | None = None
    text_vad: VAD | None = None


class Word(_Model):
    """A recognised word with its times (seconds) and the recogniser's posterior probability."""

    text: str
    start: float
    end: float
    confidence: float | None = Field(default=None, ge=0.0, le=1.0)
    filler: bool = False


class TranscriptSegment(_Model):
    """A stretch of recognised speech (seconds) with its lexical VAD from the text engine."""

    start: float
    end: float
    text: str
    speaker: str | None = None
    words: list[Word] = Field(default_factory=list)
    vad: VAD | None = None


class Quality(_Model):
    """Flags that qualify the result (e.g. ``too_short``, ``low_signal``)."""

    flags: list[str] = Field(default_factory=list)


class SpeakerSummary(_Model):
    """One voice found in the recording: talk time, turns, its vocal summary and, where the source names
    people, who it is (``name``, ``email``, ``internal``) and the evidence for that naming."""

    id: str
    talk_time: float = Field(ge=0.0)
    talk_share: float = Field(ge=0.0, le=1.0)
    turns: int = Field(ge=0)
    f0_mean_hz: float | None = None
    speech_rate: float | None = None
    vad: VAD | None = None
    # Who: the name the meeting's transcript (or its participant list) gives this voice; null when unnamed.
    name: str | None = None
    email: str | None = None
    internal: bool | None = None  # the e-mail's domain is one of the tenant's own; null without an e-mail
    named_by: Literal["transcript", "participants"] | None = None
    naming: list[Evidence] = Field(default_factory=list)  # overlap seconds per name, participant match
    # The speaker's own figures: lexical V/A/D of their words, Trust Score over their speech, flags.
    text_vad: VAD | None = None
    trust_score: float | None = Field(default=None, ge=0.0, le=100.0)
    trust: Trust | None = None
    quality: Quality = Field(default_factory=Quality)


class EngineInfo(_Model):
    """The engine version and the models (name → version or file digest) that produced the report."""

    version: str
    models: dict[str, str] = Field(default_factory=dict)


class Analysis(_Model):
    """The analysis keys shared by the engine's report and result schema v1 (added to, never renamed)."""

    vad: VAD | None = None
    trust_score: float | None = Field(default=None, ge=0.0, le=100.0)
    trust: Trust | None = None
    segments: list[Segment] = Field(default_factory=list)
    credibility: list[float] = Field(default_factory=list)
    emotions: dict[str, float] = Field(default_factory=dict)
    au_map: dict[str, Any] = Field(default_factory=dict)
    linguistic: dict[str, Any] = Field(default_factory=dict)
    quality: Quality = Field(default_factory=Quality)
    voice: dict[str, Any] = Field(default_factory=dict)
    transcript: list[TranscriptSegment] = Field(default_factory=list)
    speakers: list[SpeakerSummary] = Field(default_factory=list)
    # Face, image, video and multimodal results (engine/face, engine/video, engine/fusion).
    face: dict[str, Any] = Field(default_factory=dict)
    faces: list[dict[str, Any]] = Field(default_factory=list)
    images: list[dict[str, Any]] = Field(default_factory=list)
    modalities: dict[str, Any] = Field(default_factory=dict)


class Report(Analysis):
    """Everything the engine says about one input."""

    modality: str
    engine: EngineInfo
