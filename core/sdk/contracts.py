"""What a connector is: a Source or a Sink, handed an authorised HTTP session and its provider spec.

A connector never touches the database, the vault or the queue: core decrypts the credentials, builds an
``HttpSession`` (which also applies the SSRF guard) and calls the connector with it. Vendor facts live in
``config/providers/<key>.yaml`` and arrive validated as a ``ProviderSpec``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, Literal, Protocol, runtime_checkable

import httpx
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

__all__ = [
    "EVENT_TYPES",
    "AdminStep",
    "Credentials",
    "HttpSession",
    "OAuthSpec",
    "UrlParam",
    "AccountLookup",
    "OAuthErrors",
    "TokenRejection",
    "ClientCredentialsSpec",
    "RateLimitSpec",
    "RateLimitBucket",
    "LearnedLimit",
    "ErrorRule",
    "ErrorMap",
    "ProviderSpec",
    "OutboundMessage",
    "DeliveryReceipt",
    "MediaItem",
    "SourceEvent",
    "HookReply",
    "Sink",
    "BatchSink",
    "BatchOutcome",
    "Source",
    "OwnerSummary",
    "OwnerNotifier",
    "ParticipantLister",
]

_PLACEHOLDER = re.compile(r"\{(\w+)\}")

# Event types a tenant can subscribe a webhook endpoint to.
EVENT_TYPES = frozenset(
    {"analysis.completed", "analysis.failed", "connection.needs_reauth", "analysis.sla_missed"}
)


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

    def download(
        self, url: str, dest: Path, *, headers: Mapping[str, str] | None = None, max_bytes: int | None = None
    ) -> int:
        """Stream ``url`` into ``dest`` (redirects followed and checked, headers dropped on a host change);
        returns the size. A vendor refusal raises ``AuthError`` (401/403) or ``PermanentError``."""
        ...


class UrlParam(BaseModel):
    """A ``{name}`` in the OAuth URLs, chosen per connection: a named value or one matching ``pattern``."""

    model_config = ConfigDict(extra="forbid")

    default: str
    choices: dict[str, str] = Field(default_factory=dict)
    pattern: str | None = None
    template: str = "{}"

    @model_validator(mode="after")
    def _check(self) -> UrlParam:
        if self.pattern is not None:
            re.compile(self.pattern)
        if self.default not in self.choices and not (
            self.pattern and re.fullmatch(self.pattern, self.default)
        ):
            raise ValueError(f"default {self.default!r} is neither a choice nor matches the pattern")
        return self

    def resolve(self, given: str | None) -> str | None:
        """The value to put in the URLs, or None when ``given`` is not acceptable."""
        value = self.default if given is None else given
        if value in self.choices:
            return self.choices[value]
        if self.pattern and re.fullmatch(self.pattern, value):
            return self.template.format(value)
        return None


class AccountLookup(BaseModel):
    """How to learn which vendor account connected; fields are dotted paths (``team.id``, ``value.0.id``)."""

    model_config = ConfigDict(extra="forbid")

    path: str | None = None  # GET {api_base_url}{path}; ``{access_token}`` is replaced (HubSpot)
    url_field: str | None = None  # or GET the URL the token response carries in this field (Salesforce)
    id_field: str  # in that answer, or in the token response when neither path nor url_field is set
    keep: dict[str, str] = Field(default_factory=dict)  # account detail name → dotted path in that answer
    from_token: list[str] = Field(
        default_factory=list
    )  # token-response fields kept too, refreshed on refresh

    @model_validator(mode="after")
    def _one_source(self) -> AccountLookup:
        if self.path and self.url_field:
            raise ValueError("give path or url_field, not both")
        return self


class OAuthErrors(BaseModel):
    """Where a vendor puts its error code, and which codes mean the grant is gone (re-authorise)."""

    model_config = ConfigDict(extra="forbid")

    code_field: str = "error"
    message_field: str = "error_description"
    ok_field: str | None = None  # Slack answers 200 with ``"ok": false`` on errors
    reauth: list[str] = Field(default_factory=lambda: ["invalid_grant"])


class TokenRejection(BaseModel):
    """How an API call says "this access token is no longer valid" (refresh, then retry once)."""

    model_config = ConfigDict(extra="forbid")

    status: list[int] = Field(default_factory=lambda: [401])
    code_field: str | None = None  # dotted path; ``0.errorCode`` for Salesforce's list bodies
    codes: list[str] = Field(default_factory=list)  # empty: any answer with one of the statuses


class ClientCredentialsSpec(BaseModel):
    """An app-only connection: an admin consents for the organisation, then client-credentials tokens."""

    model_config = ConfigDict(extra="forbid")

    consent_url: str
    scopes: list[str] = Field(default_factory=list)
    param: str  # the URL parameter the consent redirect fills in (Microsoft: ``tenant``)


class OAuthSpec(BaseModel):
    """A vendor's OAuth 2.0 endpoints and quirks."""

    model_config = ConfigDict(extra="forbid")

    authorize_url: str
    token_url: str
    revoke_url: str | None = None
    scopes: list[str] = Field(default_factory=list)
    scope_separator: str = " "
    authorize_params: dict[str, str] = Field(default_factory=dict)
    params: dict[str, UrlParam] = Field(default_factory=dict)
    pkce: bool = False
    client_auth: Literal["basic", "body"] = "body"
    rotates_refresh_token: bool = False
    sends_expires_in: bool = True
    revoke_method: Literal["POST", "DELETE"] = "POST"
    revoke_auth: Literal["basic", "bearer", "none"] = "basic"
    revoke_token: Literal["refresh", "access"] = "refresh"
    account: AccountLookup
    errors: OAuthErrors = Field(default_factory=OAuthErrors)
    token_rejected: TokenRejection = Field(default_factory=TokenRejection)
    client_credentials: ClientCredentialsSpec | None = None

    @model_validator(mode="after")
    def _placeholders_known(self) -> OAuthSpec:
        urls = [self.authorize_url, self.token_url, self.revoke_url or ""]
        if self.client_credentials is not None:
            urls.append(self.client_credentials.consent_url)
            if self.client_credentials.param not in self.params:
                raise ValueError(f"client_credentials.param {self.client_credentials.param!r} is not a param")
        for url in urls:
            unknown = set(_PLACEHOLDER.findall(url)) - set(self.params) - {"token"}
            if unknown:
                raise ValueError(f"{url}: no params for {sorted(unknown)}")
        return self


def _compiled(pattern: str) -> str:
    re.compile(pattern)
    return pattern


Pattern = Annotated[str, AfterValidator(_compiled)]  # a regular expression, checked when the spec loads


def _as_list(value: Any) -> Any:
    """A single value where a list is expected becomes a list of one (``status: 403``)."""
    return value if isinstance(value, list) else [value]


class ErrorRule(BaseModel):
    """One line of a vendor's error map: which answers it matches, and what we do about them."""

    model_config = ConfigDict(extra="forbid")

    status: Annotated[list[int], BeforeValidator(_as_list)] = Field(default_factory=list)  # empty: any
    code: list[str] = Field(default_factory=list)  # empty: any
    field: str | None = None  # where ``code`` is read (dotted path); the map's ``code_field`` when unset
    message: str | None = None  # the vendor's message contains this
    action: Literal["auth", "permanent", "retry", "rate_limited", "skip"]
    reason: str | None = None  # our error code; else the vendor's (``keep_code``) or one per action
    retry_after: float | None = Field(default=None, ge=0)  # the wait when the answer names none

    @field_validator("code", mode="before")
    @classmethod
    def _codes_are_text(cls, value: Any) -> Any:
        return [str(v) for v in _as_list(value)]


class ErrorMap(BaseModel):
    """How a vendor's refusals become our errors (``core.sdk.http.classify``): rules first, then defaults
    (401 auth, 429 rate_limited, 408 and 5xx retry, any other 4xx permanent)."""

    model_config = ConfigDict(extra="forbid")

    code_field: str | None = None  # dotted path of the vendor's error code in a JSON body (``0.errorCode``)
    message_field: str | None = None  # dotted path of the vendor's message
    keep_code: bool = False  # the vendor's code becomes our error code
    retry_after_ms_headers: list[str] = Field(
        default_factory=list
    )  # waits in milliseconds, after Retry-After
    max_retry_after: float = Field(default=3600, gt=0)  # a longer wait asked for is capped to this
    rules: list[ErrorRule] = Field(default_factory=list)


class RateLimitBucket(BaseModel):
    """A narrower budget some calls spend instead of the main one (their path matches ``path``)."""

    model_config = ConfigDict(extra="forbid")

    requests: int = Field(ge=1)
    per_seconds: float = Field(gt=0)
    path: Pattern  # searched in the URL path


class LearnedLimit(BaseModel):
    """Answer headers that state the current budget (they replace ``requests``/``per_seconds``)."""

    model_config = ConfigDict(extra="forbid")

    requests_header: str
    window_ms_header: str


class RateLimitSpec(BaseModel):
    """The vendor's documented request budget, kept by ``core.sdk.http.paced`` per account."""

    model_config = ConfigDict(extra="forbid")

    requests: int = Field(ge=1)
    per_seconds: float = Field(gt=0)
    paths: list[Pattern] = Field(default_factory=list)  # the paths it counts (searched); empty: all
    per_field: str | None = None  # a JSON body field whose every value has a budget of its own
    buckets: dict[str, RateLimitBucket] = Field(default_factory=dict)
    learn: LearnedLimit | None = None


class AdminStep(BaseModel):
    """One thing a vendor's admin must do before a connection works (printed by ``connectors setup``)."""

    model_config = ConfigDict(extra="forbid")

    title: str
    detail: str
    source: str  # the vendor page that documents it
    paid: bool = False  # the step enables a billed (metered or licensed) API


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
    errors: ErrorMap = Field(default_factory=ErrorMap)
    settings: dict[str, Any] = Field(default_factory=dict)
    admin_steps: list[AdminStep] = Field(default_factory=list)

    @model_validator(mode="after")
    def _oauth_given(self) -> ProviderSpec:
        if self.auth == "oauth2" and self.oauth is None:
            raise ValueError("auth: oauth2 needs an oauth section")
        return self


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


@dataclass(frozen=True)
class HookReply:
    """A Source's answer to a vendor handshake (Zoom ``endpoint.url_validation``, Graph validationToken)."""

    status_code: int
    body: bytes
    media_type: str = "application/json"


@dataclass(frozen=True)
class SourceEvent:
    """One verified vendor event: the media it announces, or an account leaving (``deauthorized``).

    ``id`` is the vendor's stable id of the event (retries of one delivery repeat it); ``account_id`` names
    the connected vendor account the event belongs to.
    """

    id: str
    type: str
    account_id: str
    items: tuple[MediaItem, ...] = ()
    metadata: Mapping[str, Any] = field(default_factory=dict)
    deauthorized: bool = False
    keep_data: bool = True
    # short-lived credentials the event carries for its media (Zoom's ``download_token``): core seals them
    # in the vault and hands them back in ``Credentials.extra`` when the worker downloads
    secrets: Mapping[str, str] = field(default_factory=dict, repr=False)


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


BatchOutcome = DeliveryReceipt | Exception  # a message's receipt, or the typed error it failed with


@runtime_checkable
class BatchSink(Protocol):
    """A Sink that can deliver many messages for one connection in few vendor calls.

    Core hands over up to ``max_batch`` messages of the same connection at once. The answer has one outcome
    per message, in order: a ``DeliveryReceipt``, or the ``ConnectorError`` that message failed with (one
    bad record must not fail the others). Raising means every message failed with that error.
    """

    max_batch: int

    def deliver_batch(
        self, session: HttpSession, spec: ProviderSpec, messages: Sequence[OutboundMessage]
    ) -> list[BatchOutcome]:
        """Deliver ``messages``; one outcome per message, in order."""
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

    def handshake(
        self, query: Mapping[str, str], headers: Mapping[str, str], body: bytes, secret: str
    ) -> HookReply | None:
        """The answer to a vendor's endpoint-validation request, or None when this is an event.

        The Source checks whatever the vendor signs first (an unsigned Zoom validation would turn the
        answer into a signing oracle)."""
        ...

    def event(self, headers: Mapping[str, str], body: bytes) -> SourceEvent | None:
        """The verified event ``body`` carries (None for events we ignore)."""
        ...

    def recordings(
        self, session: HttpSession, spec: ProviderSpec, account_id: str, since: datetime
    ) -> list[SourceEvent]:
        """Recordings made since ``since`` (catch-up of missed events), every page."""
        ...


@dataclass(frozen=True)
class OwnerSummary:
    """What a meeting's owner is told once its recording is analysed (Zoom chatbot message, Graph mail).

    ``text`` is already worded by core (scores with their quality flag, never a verdict); a Source only
    carries it to the owner in its vendor's format.
    """

    tenant_id: str
    job_id: str
    source: str
    account_id: str
    meeting_id: str
    topic: str
    owner: str  # the vendor's id or e-mail of the host / organiser
    trust_score: float | None
    quality: str
    text: str
    result_url: str
    metadata: Mapping[str, Any] = field(default_factory=dict)


@runtime_checkable
class OwnerNotifier(Protocol):
    """A Source that can tell a meeting's owner about its analysis.

    Core sends every completed analysis of such a Source to its owner through the delivery queue. A Source
    may also define ``wants_summary(settings: Mapping[str, Any]) -> bool``: it gets the tenant's stored
    settings for the Source (``PUT /v1/sources/{key}/settings``) and returning False skips the summary."""

    def send_summary(
        self, session: HttpSession, spec: ProviderSpec, summary: OwnerSummary
    ) -> DeliveryReceipt:
        """Send ``summary`` to its owner; raise TransientError, PermanentError or AuthError when it fails."""
        ...


@runtime_checkable
class ParticipantLister(Protocol):
    """A Source that can say who attended a recorded meeting (CRM sinks match them by e-mail)."""

    def participants(
        self, session: HttpSession, spec: ProviderSpec, meeting: Mapping[str, Any]
    ) -> list[dict[str, Any]]:
        """People in the meeting ``meeting`` (its ``SourceEvent.metadata``) describes: ``name``, ``email``…

        The worker stores them as the job's ``metadata.participants`` (read by ``core.sdk.participants``)."""
        ...


@dataclass(frozen=True)
class Subscription:
    """A change-notification subscription at the vendor (Microsoft Graph): its id, resource and expiry."""

    id: str
    resource: str
    expires_at: datetime


@dataclass(frozen=True)
class Notification:
    """One notification of a subscription-based webhook body; core checks ``client_state`` against the
    subscription's sealed secret before acting on it.

    ``lifecycle`` is ``reauthorizationRequired``, ``subscriptionRemoved`` or ``missed`` for lifecycle
    notifications; otherwise ``event`` is the recording it announces (None for ones we ignore)."""

    subscription_id: str
    client_state: str
    account_id: str
    lifecycle: str | None = None
    event: SourceEvent | None = None


@runtime_checkable
class Subscriber(Protocol):
    """A Source whose vendor pushes notifications to subscriptions core creates and renews (Graph).

    Its provider spec's ``settings.subscription_resources`` lists what to subscribe to and
    ``settings.subscription_minutes`` the lifetime to ask for."""

    def notifications(self, body: bytes) -> list[Notification] | None:
        """The notifications ``body`` carries; None when it is not a notification body at all."""
        ...

    def subscribe(
        self,
        session: HttpSession,
        spec: ProviderSpec,
        resource: str,
        notification_url: str,
        client_state: str,
        expires_at: datetime,
    ) -> Subscription:
        """Create a subscription (the vendor validates ``notification_url`` before answering)."""
        ...

    def renew(
        self, session: HttpSession, spec: ProviderSpec, subscription_id: str, expires_at: datetime
    ) -> Subscription:
        """Extend the subscription; ``SkipItem`` when the vendor no longer has it."""
        ...

    def unsubscribe(self, session: HttpSession, spec: ProviderSpec, subscription_id: str) -> None:
        """Delete the subscription at the vendor (gone already is fine)."""
        ...
