"""Microsoft Graph through the official ``msgraph-sdk``, sent over the hub's guarded session: the one place
where Graph's answers become our typed errors.

The SDK is built as the vendor facts say (VENDORS.md): ``GraphRequestAdapter`` with a bearer provider that
hands out the connection's token (from the vault, via the session) and allows only the spec's API host,
``base_url`` set to the spec's ``api_base_url``; its ``httpx.AsyncClient`` sends through ``HttpSession``
(``core.sdk.http.AsyncTransport``, paced by the spec's ``rate_limit``), so every Graph call passes the SSRF
guard. Recording and transcript *content* are streamed with
``HttpSession.download`` to the URL the SDK's request builder makes (the SDK would hold the whole file in
memory): into the spool, under the size cap, redirects checked.

What Graph's refusals mean is data: ``errors`` in config/providers/teams.yaml (with the pages behind them).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar, cast
from urllib.parse import urlsplit

import httpx
from kiota_abstractions.api_error import APIError
from kiota_abstractions.authentication import (
    AccessTokenProvider,
    AllowedHostsValidator,
    BaseBearerTokenAuthenticationProvider,
)
from kiota_abstractions.base_request_configuration import RequestConfiguration
from kiota_abstractions.request_information import RequestInformation
from msgraph.generated.models.body_type import BodyType
from msgraph.generated.models.email_address import EmailAddress
from msgraph.generated.models.item_body import ItemBody
from msgraph.generated.models.message import Message
from msgraph.generated.models.recipient import Recipient
from msgraph.generated.models.subscription import Subscription as GraphSubscription
from msgraph.generated.users.item.send_mail.send_mail_post_request_body import SendMailPostRequestBody
from msgraph.generated.users.item.user_item_request_builder import UserItemRequestBuilder
from msgraph.graph_request_adapter import GraphRequestAdapter
from msgraph.graph_service_client import GraphServiceClient

from core.sdk import HttpSession, PermanentError, ProviderSpec, SkipItem, Subscription
from core.sdk.http import Answer, AsyncTransport, paced
from core.sdk.http import call as sdk_call

__all__ = ["call", "content_url", "download", "subscription_of", "subscribe", "renew", "unsubscribe", "mail"]

VENDOR = "teams"
T = TypeVar("T")


class _ConnectionToken(AccessTokenProvider):
    """The connection's access token, for the Graph host only (an unlisted host gets no header)."""

    def __init__(self, token: str, host: str) -> None:
        self._token, self._hosts = token, AllowedHostsValidator([host])

    async def get_authorization_token(
        self, uri: str, additional_authentication_context: dict[str, Any] | None = None
    ) -> str:
        return self._token

    def get_allowed_hosts_validator(self) -> AllowedHostsValidator:
        return self._hosts


def _adapter(session: HttpSession, spec: ProviderSpec) -> tuple[GraphRequestAdapter, httpx.AsyncClient]:
    base = str(spec.api_base_url)
    host = urlsplit(base).netloc
    auth = BaseBearerTokenAuthenticationProvider(
        _ConnectionToken(session.credentials.access_token or "", host)
    )
    http = httpx.AsyncClient(transport=AsyncTransport(paced(session, spec), spec.timeout_seconds))
    adapter = GraphRequestAdapter(auth, client=http)
    adapter.base_url = base
    return adapter, http


def _answer(exc: APIError) -> Answer:
    """What Graph answered, as the SDK's error carries it."""
    return Answer(exc.response_status_code or 0, dict(exc.response_headers or {}), str(exc)[:200])


def call(session: HttpSession, spec: ProviderSpec, act: Callable[[GraphServiceClient], Awaitable[T]]) -> T:
    """Run ``act`` with a Graph client on ``session``; Graph and transport errors become typed errors."""
    adapter, http = _adapter(session, spec)

    async def run() -> T:
        try:
            return await act(GraphServiceClient(request_adapter=adapter))
        finally:
            await http.aclose()

    return cast(T, sdk_call(spec, lambda: asyncio.run(run()), (APIError,), read=_answer))


def content_url(spec: ProviderSpec, info: RequestInformation) -> str:
    """The absolute URL of a request the SDK's builder describes."""
    info.path_parameters["baseurl"] = str(spec.api_base_url)
    return str(info.url)


def download(session: HttpSession, url: str, dest: Path) -> None:
    """Stream ``url`` (recording or transcript content) to ``dest`` with the connection's token."""
    session.download(url, dest, headers={"Authorization": f"Bearer {session.credentials.access_token}"})


def subscription_of(found: GraphSubscription | None, resource: str) -> Subscription:
    """Our record of a subscription Graph answered with."""
    if found is None or not found.id or found.expiration_date_time is None:
        raise PermanentError(VENDOR, "bad_answer", "Graph answered without a subscription id or expiry")
    return Subscription(found.id, found.resource or resource, found.expiration_date_time)


def subscribe(
    session: HttpSession, spec: ProviderSpec, body: GraphSubscription, resource: str
) -> Subscription:
    """``POST /subscriptions`` (Graph validates the notification URLs before it answers)."""
    return subscription_of(call(session, spec, lambda g: g.subscriptions.post(body)), resource)


def renew(
    session: HttpSession, spec: ProviderSpec, subscription_id: str, expires_at: datetime
) -> Subscription:
    """``PATCH /subscriptions/{id}`` with a new ``expirationDateTime``."""
    patch = GraphSubscription(expiration_date_time=expires_at)
    found = call(session, spec, lambda g: g.subscriptions.by_subscription_id(subscription_id).patch(patch))
    return subscription_of(found, "")


def unsubscribe(session: HttpSession, spec: ProviderSpec, subscription_id: str) -> None:
    """``DELETE /subscriptions/{id}``; one Graph no longer has is fine."""
    try:
        call(session, spec, lambda g: g.subscriptions.by_subscription_id(subscription_id).delete())
    except SkipItem:
        return


def mail(sender: str, to: str, subject: str, text: str) -> SendMailPostRequestBody:
    """A plain-text ``sendMail`` body to ``to`` (not kept in the sender's Sent Items)."""
    message = Message(
        subject=subject,
        body=ItemBody(content_type=BodyType.Text, content=text),
        to_recipients=[Recipient(email_address=EmailAddress(address=to))],
    )
    return SendMailPostRequestBody(message=message, save_to_sent_items=False)


def user_select() -> RequestConfiguration[UserItemRequestBuilder.UserItemRequestBuilderGetQueryParameters]:
    """``$select=id,mail,userPrincipalName,displayName`` for a user lookup."""
    return RequestConfiguration(
        query_parameters=UserItemRequestBuilder.UserItemRequestBuilderGetQueryParameters(
            select=["id", "mail", "userPrincipalName", "displayName"]
        )
    )
