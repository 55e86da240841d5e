"""The Teams Source: Graph change notifications for meeting recordings → the recording to analyse, the
meeting's transcript in place of ASR, and the owner's summary by ``sendMail``.

Graph signs nothing; every notification carries its subscription's ``clientState``, which core compares
(constant time) with the sealed secret it gave that subscription. Connections are the tenant admin's
app-only (client-credentials) Microsoft connections; ``account_id`` is the Entra tenant id.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urljoin

from kiota_abstractions.api_error import APIError
from kiota_abstractions.authentication import AnonymousAuthenticationProvider
from kiota_abstractions.base_request_configuration import RequestConfiguration
from msgraph.generated.models.call_recording import CallRecording
from msgraph.generated.models.subscription import Subscription as GraphSubscription
from msgraph.generated.users.item.online_meetings.get_all_recordingsmeeting_organizer_user_id_meeting_organizer_user_id_with_start_date_time_with_end_date_time.get_all_recordingsmeeting_organizer_user_id_meeting_organizer_user_id_with_start_date_time_with_end_date_time_request_builder import (  # noqa: E501
    GetAllRecordingsmeetingOrganizerUserIdMeetingOrganizerUserIdWithStartDateTimeWithEndDateTimeRequestBuilder as AllRecordings,  # noqa: E501
)
from msgraph.generated.users.item.online_meetings.item.online_meeting_item_request_builder import (
    OnlineMeetingItemRequestBuilder,
)
from msgraph.graph_request_adapter import GraphRequestAdapter
from msgraph.graph_service_client import GraphServiceClient

from connectors.teams import client, webhooks
from connectors.teams.models import MeetingResource, meeting_resource
from connectors.teams.settings import MicrosoftSettings
from core.sdk import (
    DeliveryReceipt,
    HookReply,
    HttpSession,
    MediaItem,
    Notification,
    OwnerSummary,
    PermanentError,
    ProviderSpec,
    SourceEvent,
    Subscription,
)

__all__ = ["TeamsSource", "recording_event"]


def recording_event(tenant_id: str, found: MeetingResource, event_type: str) -> SourceEvent:
    """The SourceEvent of one recording: its content, and the meeting's transcript (if any) for ASR.

    A tenant-wide notification names no organiser: ``user_id`` is then left out and the worker looks the
    recording's ``meetingOrganizer`` up before it downloads (the content path needs the organiser)."""
    ids = {"meeting_id": found.meeting_id, "recording_id": found.item_id}
    if found.user_id:
        ids["user_id"] = found.user_id
    path = f"communications/onlineMeetings/{found.meeting_id}"
    items = (
        MediaItem(
            f"{found.meeting_id}:{found.item_id}", f"{path}/recordings/{found.item_id}", "video", None, ids
        ),
        MediaItem(f"{found.meeting_id}:transcript", f"{path}/transcripts", "transcript", None, ids),
    )
    metadata = {
        "provider": "teams",
        "account_id": tenant_id,
        "meeting_id": found.meeting_id,
        "recording_id": found.item_id,
        "host_id": found.user_id or "",
        "organizer_id": found.user_id or "",
        "topic": "",
    }
    # Graph repeats the recording id on every retry of a notification and in getAllRecordings: one job
    return SourceEvent(f"{found.meeting_id}:{found.item_id}", event_type, tenant_id, items, metadata)


def _urls(spec: ProviderSpec) -> GraphServiceClient:
    """A Graph client used only to build URLs (it sends nothing)."""
    adapter = GraphRequestAdapter(AnonymousAuthenticationProvider())
    adapter.base_url = str(spec.api_base_url)
    return GraphServiceClient(request_adapter=adapter)


def _meeting(g: GraphServiceClient, ids: Mapping[str, Any]) -> OnlineMeetingItemRequestBuilder:
    return g.users.by_user_id(str(ids["user_id"])).online_meetings.by_online_meeting_id(
        str(ids["meeting_id"])
    )


async def _organizer(g: GraphServiceClient, meeting_id: str, recording_id: str) -> str:
    """The recording's ``meetingOrganizer`` user id: ``GET`` of the notification's own resource, as the
    notifications page says (``communications/onlineMeetings/{id}/recordings/{id}``)."""
    found = (
        await g.communications.online_meetings.by_online_meeting_id(meeting_id)
        .recordings.by_call_recording_id(recording_id)
        .get()
    )
    user = found.meeting_organizer.user if found and found.meeting_organizer else None
    if user is None or not user.id:
        raise PermanentError("teams", "no_organizer", "Graph named no organiser for the recording")
    return str(user.id)


def _with_organizer(session: HttpSession, spec: ProviderSpec, ids: Mapping[str, Any]) -> dict[str, Any]:
    """``ids`` with the organiser's ``user_id``, looked up when the notification did not name it."""
    if ids.get("user_id"):
        return dict(ids)
    mid, rid = str(ids["meeting_id"]), str(ids["recording_id"])
    return {**ids, "user_id": client.call(session, spec, lambda g: _organizer(g, mid, rid))}


class TeamsSource:
    """Teams meeting recordings (Graph subscriptions to ``getAllRecordings`` and ``getAllTranscripts``)."""

    key = "teams"
    kind: Literal["source"] = "source"
    display_name = "Microsoft Teams"
    connection_provider = "microsoft"  # the tenant admin's Microsoft connection…
    connection_grant = "client_credentials"  # …made by admin consent (app-only)
    settings_model = MicrosoftSettings  # the microsoft provider's app

    # webhook side ------------------------------------------------------------------------------

    def verify(self, headers: Mapping[str, str], body: bytes, secret: str) -> bool:
        """Graph signs no request: a body is never trusted as a whole (core checks each ``clientState``)."""
        return False

    def handshake(
        self, query: Mapping[str, str], headers: Mapping[str, str], body: bytes, secret: str
    ) -> HookReply | None:
        """The validation answer: 200 ``text/plain`` with the decoded ``validationToken``."""
        token = webhooks.validation_token(query)
        return None if token is None else HookReply(200, token.encode(), "text/plain")

    def notifications(self, body: bytes) -> list[Notification] | None:
        """Each notification of the body: lifecycle events, recordings created (transcripts are fetched
        with their recording, so a transcript's own notification announces nothing)."""
        found = webhooks.collection(body)
        if found is None:
            return None
        out: list[Notification] = []
        for n in found.value:
            lifecycle = n.lifecycle_event if n.lifecycle_event in webhooks.LIFECYCLE_EVENTS else None
            where = meeting_resource(n.resource or str(n.resource_data.get("@odata.id", "")))
            event = None
            if lifecycle is None and where is not None and where.kind == "recordings":
                event = recording_event(n.tenant_id, where, "recording.created")
            out.append(Notification(n.subscription_id, n.client_state, n.tenant_id, lifecycle, event))
        return out

    def event(self, headers: Mapping[str, str], body: bytes) -> SourceEvent | None:
        """The first recording the body announces (unchecked: core uses ``notifications``)."""
        return next((n.event for n in self.notifications(body) or [] if n.event is not None), None)

    def parse(self, headers: Mapping[str, str], body: bytes) -> list[MediaItem]:
        """The media the body's first recording notification announces."""
        found = self.event(headers, body)
        return list(found.items) if found is not None else []

    # subscriptions ----------------------------------------------------------------------------

    def subscribe(
        self,
        session: HttpSession,
        spec: ProviderSpec,
        resource: str,
        notification_url: str,
        client_state: str,
        expires_at: datetime,
    ) -> Subscription:
        """``POST /subscriptions`` for ``created`` changes, lifecycle notifications to the same URL."""
        body = GraphSubscription(
            change_type="created",
            notification_url=notification_url,
            lifecycle_notification_url=notification_url,
            resource=resource,
            client_state=client_state,
            expiration_date_time=expires_at,
        )
        return client.subscribe(session, spec, body, resource)

    def renew(
        self, session: HttpSession, spec: ProviderSpec, subscription_id: str, expires_at: datetime
    ) -> Subscription:
        """``PATCH /subscriptions/{id}``: a later expiry (also answers ``reauthorizationRequired``)."""
        return client.renew(session, spec, subscription_id, expires_at)

    def unsubscribe(self, session: HttpSession, spec: ProviderSpec, subscription_id: str) -> None:
        """``DELETE /subscriptions/{id}``."""
        client.unsubscribe(session, spec, subscription_id)

    # worker side ------------------------------------------------------------------------------

    def download(self, session: HttpSession, spec: ProviderSpec, item: MediaItem, dest: Path) -> Path:
        """Stream the recording's content, or the meeting's newest transcript (VTT; an empty file when the
        meeting has none, and then ASR runs)."""
        if not {"meeting_id", "recording_id"} <= set(item.metadata):
            # not an item this Source announced: its URL, relative to the Graph base or absolute
            client.download(session, urljoin(f"{spec.api_base_url}/", item.download_url), dest)
            return dest
        # app-only content is read under /users/{organiser}/ (the application access policy is per user)
        ids = _with_organizer(session, spec, item.metadata)
        meeting = _meeting(_urls(spec), ids)
        if item.kind != "transcript":
            rid = str(ids["recording_id"])
            info = meeting.recordings.by_call_recording_id(rid).content.to_get_request_information()
            client.download(session, client.content_url(spec, info), dest)
            return dest
        listed = client.call(session, spec, lambda g: _meeting(g, ids).transcripts.get())
        found = sorted(
            (t for t in (listed.value if listed else None) or [] if t.id),
            key=lambda t: t.created_date_time or datetime.min.replace(tzinfo=UTC),
        )
        if not found:
            dest.write_bytes(b"")
            return dest
        info = meeting.transcripts.by_call_transcript_id(
            str(found[-1].id)
        ).content.to_get_request_information()
        client.download(session, client.content_url(spec, info), dest)
        return dest

    def recordings(
        self, session: HttpSession, spec: ProviderSpec, account_id: str, since: datetime
    ) -> list[SourceEvent]:
        """Catch-up: every user's recordings since ``since`` (``getAllRecordings``), every page."""
        until = datetime.now(UTC)

        async def listing(g: GraphServiceClient) -> list[CallRecording]:
            found: list[CallRecording] = []
            page = await g.users.get()
            while page is not None:
                for user in page.value or []:
                    if user.id:
                        found += await _user_recordings(g, user.id, since, until)
                page = await g.users.with_url(page.odata_next_link).get() if page.odata_next_link else None
            return found

        events: list[SourceEvent] = []
        for rec in client.call(session, spec, listing):
            organizer = (
                rec.meeting_organizer.user.id
                if rec.meeting_organizer and rec.meeting_organizer.user
                else None
            )
            if rec.id and rec.meeting_id and organizer:
                where = MeetingResource(
                    user_id=organizer, meeting_id=rec.meeting_id, kind="recordings", item_id=rec.id
                )
                events.append(recording_event(account_id, where, "catch_up"))
        return events

    # the owner's summary ----------------------------------------------------------------------

    def send_summary(
        self, session: HttpSession, spec: ProviderSpec, summary: OwnerSummary
    ) -> DeliveryReceipt:
        """Mail ``summary.text`` to the organiser (``POST /users/{sender}/sendMail``; the sender is
        ``settings.summary_sender`` or, without one, the organiser's own mailbox; a tenant-wide
        notification named no organiser, so it is looked up from the recording first)."""
        meeting = {**summary.metadata, "user_id": summary.owner, "meeting_id": summary.meeting_id}
        ids = _with_organizer(session, spec, meeting)
        owner = str(ids["user_id"])

        async def send(g: GraphServiceClient) -> str:
            user = await g.users.by_user_id(owner).get(client.user_select())
            to = (user.mail or user.user_principal_name) if user else None
            if not to:
                raise PermanentError(self.key, "no_mailbox", "the organiser has no mail address")
            topic = (
                summary.topic or ((await _meeting(g, ids).get()) or _NoMeeting()).subject or "your meeting"
            )
            sender = str(spec.settings.get("summary_sender") or owner)
            body = client.mail(sender, to, f"EchoDepth analysis: {topic}", summary.text)
            await g.users.by_user_id(sender).send_mail.post(body)
            return to

        to = client.call(session, spec, send)
        return DeliveryReceipt(202, f"sendMail to {to}")


class _NoMeeting:
    subject: str | None = None


async def _user_recordings(
    g: GraphServiceClient, user_id: str, since: datetime, until: datetime
) -> list[CallRecording]:
    builder = g.users.by_user_id(
        user_id
    ).online_meetings.get_all_recordingsmeeting_organizer_user_id_meeting_organizer_user_id_with_start_date_time_with_end_date_time
    query = AllRecordings.GetAllRecordingsmeetingOrganizerUserIdMeetingOrganizerUserIdWithStartDateTimeWithEndDateTimeRequestBuilderGetQueryParameters(  # noqa: E501
        meeting_organizer_user_id=user_id, start_date_time=since, end_date_time=until
    )
    found: list[CallRecording] = []
    try:
        page = await builder.get(RequestConfiguration(query_parameters=query))
    except APIError as exc:
        if exc.response_status_code == 404:  # a user without a Teams licence or meetings
            return found
        raise
    while page is not None:
        found += page.value or []
        page = await builder.with_url(page.odata_next_link).get() if page.odata_next_link else None
    return found
