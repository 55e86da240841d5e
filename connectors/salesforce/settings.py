"""Salesforce's deployment settings (the connected app) and what a tenant may set on a connection."""

from __future__ import annotations

from typing import Any

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from core.sdk.crm import CrmConnectionSettings
from core.sdk.settings import OAuthAppSettings

__all__ = ["SalesforceSettings", "SalesforceConnectionSettings"]


class SalesforceSettings(OAuthAppSettings):
    """``ECHODEPTH_SALESFORCE_CLIENT_ID`` / ``_CLIENT_SECRET``: the connected app's key and secret."""

    model_config = SettingsConfigDict(env_prefix="ECHODEPTH_SALESFORCE_", extra="forbid")


class SalesforceConnectionSettings(CrmConnectionSettings):
    """A Salesforce connection's tenant settings."""

    field_permissions: dict[str, Any] | None = Field(
        default=None, description="setup: {permission_set, profiles} granted field-level security"
    )
