"""Result schema v1: the job fields around the engine's report. Keys are added, never renamed."""

from __future__ import annotations

import json
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from engine.report import Analysis, EngineInfo

__all__ = ["SCHEMA_VERSION", "JobStatus", "ErrorInfo", "ComplianceInfo", "ResultV1", "write_json_schema"]

SCHEMA_VERSION = "1"


class JobStatus(StrEnum):
    """Where a job is in its life."""

    queued = "queued"
    processing = "processing"
    completed = "completed"
    failed = "failed"


class ErrorInfo(BaseModel):
    """Why a job failed: a stable code and a human message."""

    code: str
    message: str


class ComplianceInfo(BaseModel):
    """What the tenant had declared when the result was stored (docs/compliance.md)."""

    region: str = Field(description="the tenant's region: uk or eu")
    purposes: list[str] = Field(default_factory=list, description="the tenant's declared purposes")
    consent_basis: str | None = Field(
        default=None, description="the lawful basis the tenant declared (GDPR Art. 6(1)), if any"
    )
    eu_ai_act_guard: str = Field(
        description="passed (region eu, no workplace or education purpose) or not_applicable (region uk)"
    )


class ResultV1(Analysis):
    """GET /v1/result/{job_id}: the job, and when completed the full analysis."""

    model_config = ConfigDict(extra="forbid")

    schema_version: str = SCHEMA_VERSION
    job_id: str
    status: JobStatus
    modality: str
    created_at: datetime
    completed_at: datetime | None = None
    error: ErrorInfo | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)
    engine: EngineInfo | None = None
    compliance: ComplianceInfo | None = None


def write_json_schema(path: Path) -> None:
    """Write the JSON Schema of ResultV1 to ``path`` (docs/schema/result.v1.json)."""
    schema = ResultV1.model_json_schema()
    schema["$id"] = "https://echodepth.dev/schema/result.v1.json"
    path.write_text(json.dumps(schema, indent=2, sort_keys=True) + "\n")
