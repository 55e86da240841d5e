"""Slack's deployment settings (the app) and what a tenant may set on a connection."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic_settings import SettingsConfigDict

from core.sdk.settings import OAuthAppSettings

__all__ = ["SlackSettings", "SlackConnectionSettings"]


class SlackSettings(OAuthAppSettings):
    """``ECHODEPTH_SLACK_CLIENT_ID`` / ``_CLIENT_SECRET``: the Slack app (OAuth v2)."""

    model_config = SettingsConfigDict(env_prefix="ECHODEPTH_SLACK_", extra="forbid")


class SlackConnectionSettings(BaseModel):
    """A Slack connection's tenant settings (absent: keep)."""

    model_config = ConfigDict(extra="forbid")

    rules: list[dict[str, Any]] | None = Field(default=None, description="alert and summary rules")
    result_url: str | None = None
    timezone: str | None = Field(default=None, description="IANA zone of quiet hours and summaries")

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str | None) -> str | None:
        try:
            return None if value is None else ZoneInfo(value).key
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
