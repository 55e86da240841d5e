"""What a connector is: a Source or a Sink, handed an authorised HTTP session and its provider spec.

A connector never touches the database, the vault or the queue: core decrypts the credentials, builds an
``HttpSession`` (which also applies the SSRF guard) and calls the connector with it. Vendor facts live in
``config/providers/<key>.yaml`` and arrive validated as a ``ProviderSpec``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Literal, Protocol, runtime_checkable

import httpx
from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "EVENT_TYPES",
    "Credentials",
    "HttpSession",
    "OAuthSpec",
    "RateLimitSpec",
    "ProviderSpec",
    "OutboundMessage",
    "DeliveryReceipt",
    "MediaItem",
    "Sink",
    "Source",
]

# Event types a tenant can subscribe a webhook endpoint to.
EVENT_TYPES = frozenset({"analysis.completed", "analysis.failed", "connection.needs_reauth"})


@dataclass(frozen=True)
class Credentials:
    """What authorises a session: an OAuth access token, or webhook signing secrets (newest first)."""

    access_token: str | None = None
    signing_secrets: tuple[str, ...] = ()
    extra: Mapping[str, str] = field(default_factory=dict)

    def __repr__(self) -> str:
        return "Credentials(<redacted>)"


class HttpSession(Protocol):
    """An authorised, SSRF-guarded HTTP session; refused targets raise ``PermanentError``."""

    credentials: Credentials

    def request(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        content: bytes | None = None,
        timeout: float | None = None,
    ) -> httpx.Response:
        """Send one request (no redirects followed); transport failures raise ``httpx.HTTPError``."""
        ...


class OAuthSpec(BaseModel):
    """A vendor's OAuth 2.0 endpoints and quirks."""

    model_config = ConfigDict(extra="forbid")

    authorize_url: str
    token_url: str
    revoke_url: str | None = None
    scopes: list[str] = Field(default_factory=list)
    pkce: bool = False
    client_auth: Literal["basic", "body"] = "body"
    rotates_refresh_token: bool = False
    sends_expires_in: bool = True


class RateLimitSpec(BaseModel):
    """The vendor's documented request budget."""

    model_config = ConfigDict(extra="forbid")

    requests: int = Field(ge=1)
    per_seconds: float = Field(gt=0)


class ProviderSpec(BaseModel):
    """``config/providers/<key>.yaml``: vendor facts as data, validated at start-up; no secrets."""

    model_config = ConfigDict(extra="forbid")

    key: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    display_name: str
    kind: Literal["source", "sink"]
    docs_url: str | None = None
    auth: Literal["none", "oauth2", "signing_secret"]
    oauth: OAuthSpec | None = None
    api_base_url: str | None = None
    timeout_seconds: float = Field(default=30, gt=0)
    rate_limit: RateLimitSpec | None = None
    settings: dict[str, Any] = Field(default_factory=dict)


@dataclass(frozen=True)
class OutboundMessage:
    """One event for a Sink: ``id`` stays the same across retries and replays (receivers dedupe on it)."""

    id: str
    type: str
    timestamp: datetime
    destination: str
    payload: Mapping[str, Any]


@dataclass(frozen=True)
class DeliveryReceipt:
    """What the destination answered to an accepted delivery."""

    status_code: int
    detail: str = ""


@dataclass(frozen=True)
class MediaItem:
    """A recording (or transcript) a Source found for analysis."""

    external_id: str
    download_url: str
    kind: str
    size: int | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict)


@runtime_checkable
class Sink(Protocol):
    """Turns a finished event into writes at a destination; errors are ``core.sdk.errors`` types."""

    key: str
    kind: Literal["sink"]
    display_name: str
    events: frozenset[str]

    def deliver(self, session: HttpSession, spec: ProviderSpec, message: OutboundMessage) -> DeliveryReceipt:
        """Deliver ``message``; raise TransientError, PermanentError or AuthError when it fails."""
        ...


@runtime_checkable
class Source(Protocol):
    """Turns vendor events into media to analyse."""

    key: str
    kind: Literal["source"]
    display_name: str

    def verify(self, headers: Mapping[str, str], body: bytes, secret: str) -> bool:
        """True when the vendor's signature on ``body`` is valid."""
        ...

    def parse(self, headers: Mapping[str, str], body: bytes) -> list[MediaItem]:
        """The media a vendor event announces (empty for events we ignore)."""
        ...

    def download(self, session: HttpSession, spec: ProviderSpec, item: MediaItem, dest: Path) -> Path:
        """Fetch ``item`` into ``dest``."""
        ...
