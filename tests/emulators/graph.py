"""Microsoft Graph for Teams recordings on top of the Microsoft identity emulator: subscriptions (POST with
the notification-URL validation handshake, PATCH, DELETE), users, online meetings, recordings and transcripts
(content streamed), ``getAllRecordings`` and ``sendMail``; and change/lifecycle notifications sent to us.

Wire formats after learn.microsoft.com/en-us/graph: api/subscription-post-subscriptions (201 with the
subscription; validation ``POST {notificationUrl}?validationToken=…`` answered 200 text/plain within 10 s,
else 400 ``ValidationError``), api/subscription-update (PATCH ``expirationDateTime``),
api/subscription-delete (204), teams-changenotifications-callrecording-and-calltranscript (notification
``value[]`` with ``resource`` ``users('{id}')/onlineMeetings('{id}')/recordings('{id}')``),
change-notifications-lifecycle-events (``lifecycleEvent``), api/callrecording-get (``/content``),
api/calltranscript-get, api/onlinemeeting-get, api/onlinemeeting-getallrecordings, api/user-sendmail (202).
Errors ``{"error": {"code", "message"}}``.
"""

from __future__ import annotations

import json
import secrets
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import yaml
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from config import CONFIG_DIR
from tests.emulators.microsoft import MicrosoftEmulator
from tests.emulators.oauth import bearer, running

ORGANIZER_ID = "b935e675-5e67-48b9-8d45-249d5f88e964"
ORGANIZER_MAIL = "organiser@contoso.example"
MAX_MINUTES = 4230  # Graph's longest lifetime for onlineMeeting recording/transcript subscriptions
RESOURCES = (
    "communications/onlineMeetings/getAllRecordings",
    "communications/onlineMeetings/getAllTranscripts",
)


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)


def _iso(when: datetime) -> str:
    return when.astimezone(UTC).isoformat().replace("+00:00", "Z")


@dataclass
class Recording:
    """One recorded meeting: its ids, the file, and the transcript VTT (if any)."""

    user_id: str
    meeting_id: str
    recording_id: str
    path: Path
    subject: str
    transcript: str | None = None
    created: datetime = field(default_factory=lambda: datetime.now(UTC))

    @property
    def resource(self) -> str:
        return (
            f"users('{self.user_id}')/onlineMeetings('{self.meeting_id}')/recordings('{self.recording_id}')"
        )


@dataclass
class GraphState:
    """What the Graph side remembers."""

    users: dict[str, dict[str, str]] = field(default_factory=dict)
    recordings: list[Recording] = field(default_factory=list)
    subscriptions: dict[str, dict[str, Any]] = field(default_factory=dict)
    created: list[str] = field(default_factory=list)  # subscription ids, in creation order
    patched: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    validations: list[tuple[str, int]] = field(default_factory=list)  # (url, status)
    content_auth: list[str] = field(default_factory=list)  # the Authorization of each content download
    mails: list[dict[str, Any]] = field(default_factory=list)  # (sender, message) of each sendMail
    mail_status: int = 202  # answer sendMail with this (503 to make summaries fail)
    lock: threading.Lock = field(default_factory=threading.Lock)


class GraphEmulator(MicrosoftEmulator):
    """login.microsoftonline.com + graph.microsoft.com/v1.0 for Teams recordings."""

    def __init__(self) -> None:
        super().__init__()
        self.graph = GraphState()
        self.graph.users[ORGANIZER_ID] = {
            "id": ORGANIZER_ID,
            "displayName": "Megan Bowen",
            "mail": ORGANIZER_MAIL,
            "userPrincipalName": ORGANIZER_MAIL,
        }

    # test helpers -----------------------------------------------------------------------------

    def add_recording(
        self, path: Path, subject: str = "Quarterly review", transcript: str | None = None
    ) -> Recording:
        """A new recorded meeting of the organiser (Graph ids are opaque base64-ish strings)."""
        rec = Recording(
            ORGANIZER_ID,
            "MSo" + secrets.token_urlsafe(18),
            "VjEj" + secrets.token_urlsafe(18),
            path,
            subject,
            transcript,
        )
        with self.graph.lock:
            self.graph.recordings.append(rec)
        return rec

    def subscription_for(self, resource: str) -> dict[str, Any]:
        """The live subscription to ``resource``."""
        return next(s for s in self.graph.subscriptions.values() if s["resource"] == resource)

    def notification_body(
        self, sub: dict[str, Any], rec: Recording, client_state: str | None = None
    ) -> bytes:
        """A ``created`` change notification for ``rec`` as Graph sends it."""
        item = {
            "subscriptionId": sub["id"],
            "subscriptionExpirationDateTime": sub["expirationDateTime"],
            "changeType": "created",
            "resource": rec.resource,
            "resourceData": {
                "id": rec.recording_id,
                "@odata.type": "#Microsoft.Graph.callRecording",
                "@odata.id": rec.resource,
            },
            "clientState": sub["clientState"] if client_state is None else client_state,
            "tenantId": self.admin_tenant,
        }
        return json.dumps({"value": [item]}).encode()

    def lifecycle_body(self, sub: dict[str, Any], event: str) -> bytes:
        """A lifecycle notification (``reauthorizationRequired``, ``subscriptionRemoved``, ``missed``)."""
        item = {
            "subscriptionId": sub["id"],
            "subscriptionExpirationDateTime": sub["expirationDateTime"],
            "tenantId": self.admin_tenant,
            "clientState": sub["clientState"],
            "lifecycleEvent": event,
        }
        return json.dumps({"value": [item]}).encode()

    def post(self, url: str, body: bytes) -> httpx.Response:
        """POST a notification body as Graph does."""
        return httpx.post(url, content=body, headers={"content-type": "application/json"}, timeout=10)

    def notify(self, rec: Recording, client_state: str | None = None) -> httpx.Response:
        """Send the recordings subscription's notification for ``rec`` to its notification URL."""
        sub = self.subscription_for(RESOURCES[0])
        return self.post(sub["notificationUrl"], self.notification_body(sub, rec, client_state))

    def lifecycle(self, resource: str, event: str) -> httpx.Response:
        """Send a lifecycle notification of the subscription to ``resource``."""
        sub = self.subscription_for(resource)
        return self.post(sub["lifecycleNotificationUrl"], self.lifecycle_body(sub, event))

    def remove(self, resource: str) -> dict[str, Any]:
        """Graph dropped the subscription (it must be recreated)."""
        sub = self.subscription_for(resource)
        with self.graph.lock:
            del self.graph.subscriptions[sub["id"]]
        return sub

    # auth -------------------------------------------------------------------------------------

    def _denied(self, request: Request) -> Response | None:
        if self.access_ok(bearer(request)):
            return None
        return _error(401, "InvalidAuthenticationToken", "Access token has expired or is not yet valid.")

    # subscriptions ----------------------------------------------------------------------------

    async def _validate(self, url: str) -> bool:
        token = (
            f"Validation: Testing client application reachability for subscription Request-Id: {uuid.uuid4()}"
        )
        async with httpx.AsyncClient(timeout=10) as client:
            try:
                answer = await client.post(url, params={"validationToken": token}, content=b"")
            except httpx.HTTPError:
                return False
        self.graph.validations.append((url, answer.status_code))
        plain = answer.headers.get("content-type", "").startswith("text/plain")
        return answer.status_code == 200 and plain and answer.text == token

    async def create_subscription(self, request: Request) -> Response:
        if (denied := self._denied(request)) is not None:
            return denied
        body = await request.json()
        if body.get("resource") not in RESOURCES or body.get("changeType") != "created":
            return _error(400, "ExtensionError", "Operation: Create; Exception: [Status Code: BadRequest]")
        if len(body.get("clientState") or "") > 128:
            return _error(400, "InvalidRequest", "clientState must be at most 128 characters.")
        expiry = datetime.fromisoformat(str(body["expirationDateTime"]).replace("Z", "+00:00"))
        if expiry > datetime.now(UTC) + timedelta(minutes=MAX_MINUTES):
            return _error(
                400, "InvalidRequest", "Subscription expiration can only be 4230 minutes in the future."
            )
        for url in {body["notificationUrl"], body.get("lifecycleNotificationUrl") or body["notificationUrl"]}:
            if not await self._validate(url):
                return _error(400, "ValidationError", "Subscription validation request failed.")
        sub = {
            "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#subscriptions/$entity",
            "id": str(uuid.uuid4()),
            "resource": body["resource"],
            "applicationId": self.client_id,
            "changeType": "created",
            "clientState": body.get("clientState"),
            "notificationUrl": body["notificationUrl"],
            "lifecycleNotificationUrl": body.get("lifecycleNotificationUrl"),
            "expirationDateTime": _iso(expiry),
            "creatorId": str(uuid.uuid4()),
            "latestSupportedTlsVersion": "v1_2",
        }
        with self.graph.lock:
            self.graph.subscriptions[sub["id"]] = sub
            self.graph.created.append(sub["id"])
        return JSONResponse(sub, status_code=201)

    async def subscription(self, request: Request) -> Response:
        if (denied := self._denied(request)) is not None:
            return denied
        sub_id = request.path_params["sub_id"]
        sub = self.graph.subscriptions.get(sub_id)
        if sub is None:
            return _error(404, "ResourceNotFound", f"The object was not found. Subscription Id '{sub_id}'.")
        if request.method == "DELETE":
            with self.graph.lock:
                del self.graph.subscriptions[sub_id]
                self.graph.deleted.append(sub_id)
            return Response(status_code=204)
        body = await request.json()
        expiry = datetime.fromisoformat(str(body["expirationDateTime"]).replace("Z", "+00:00"))
        if expiry > datetime.now(UTC) + timedelta(minutes=MAX_MINUTES):
            return _error(
                400, "InvalidRequest", "Subscription expiration can only be 4230 minutes in the future."
            )
        with self.graph.lock:
            sub["expirationDateTime"] = _iso(expiry)
            self.graph.patched.append(sub_id)
        return JSONResponse(sub)

    # users, meetings, recordings --------------------------------------------------------------

    async def users(self, request: Request) -> Response:
        if (denied := self._denied(request)) is not None:
            return denied
        return JSONResponse({"value": list(self.graph.users.values())})

    async def user(self, request: Request) -> Response:
        if (denied := self._denied(request)) is not None:
            return denied
        found = self.graph.users.get(request.path_params["uid"])
        if found is None:
            return _error(404, "Request_ResourceNotFound", "Resource does not exist.")
        return JSONResponse(found)

    async def send_mail(self, request: Request) -> Response:
        if (denied := self._denied(request)) is not None:
            return denied
        if request.path_params["uid"] not in self.graph.users:
            return _error(404, "ErrorInvalidUser", "The requested user is invalid.")
        if self.graph.mail_status != 202:
            return _error(self.graph.mail_status, "ServiceUnavailable", "Try again later.")
        # action parameters are case-insensitive (msgraph-sdk sends "Message", the docs show "message")
        body = {k[:1].lower() + k[1:]: v for k, v in (await request.json()).items()}
        if not (body.get("message") or {}).get("toRecipients"):
            return _error(400, "ErrorInvalidRecipients", "At least one recipient is not valid.")
        with self.graph.lock:
            self.graph.mails.append({"sender": request.path_params["uid"], **body})
        return Response(status_code=202)

    def _recording(self, uid: str, mid: str) -> list[Recording]:
        return [r for r in self.graph.recordings if r.user_id == uid and r.meeting_id == mid]

    async def meetings(self, request: Request) -> Response:
        """Everything under ``/users/{uid}/onlineMeetings/``."""
        if (denied := self._denied(request)) is not None:
            return denied
        uid, parts = request.path_params["uid"], request.path_params["rest"].split("/")
        if parts[0].startswith("getAllRecordings("):
            return self._all_recordings(uid, request)
        found = self._recording(uid, parts[0])
        if not found:
            return _error(404, "NotFound", "The meeting was not found.")
        rec = found[0]
        if len(parts) == 1:
            return JSONResponse(
                {
                    "id": rec.meeting_id,
                    "subject": rec.subject,
                    "startDateTime": _iso(rec.created - timedelta(minutes=30)),
                    "endDateTime": _iso(rec.created),
                    "participants": {"organizer": {"identity": {"user": {"id": uid}}}},
                }
            )
        if parts[1] == "recordings" and len(parts) == 4 and parts[3] == "content":
            match = [r for r in found if r.recording_id == parts[2]]
            if not match:
                return _error(404, "NotFound", "The recording was not found.")
            self.graph.content_auth.append(request.headers.get("authorization", ""))
            return FileResponse(match[0].path, media_type="video/mp4")
        if parts[1] == "transcripts":
            return self._transcripts(rec, parts)
        return _error(400, "BadRequest", "Unsupported segment.")

    def _transcripts(self, rec: Recording, parts: list[str]) -> Response:
        tid = f"{rec.meeting_id}-transcript"
        if len(parts) == 2:
            listed = (
                []
                if rec.transcript is None
                else [{"id": tid, "meetingId": rec.meeting_id, "createdDateTime": _iso(rec.created)}]
            )
            return JSONResponse({"value": listed})
        if len(parts) == 4 and parts[2] == tid and parts[3] == "content" and rec.transcript is not None:
            return PlainTextResponse(rec.transcript, media_type="text/vtt")
        return _error(404, "NotFound", "The transcript was not found.")

    def _all_recordings(self, uid: str, request: Request) -> Response:
        organizer = request.query_params.get("meetingOrganizerUserId") or uid
        value = [
            {
                "id": r.recording_id,
                "meetingId": r.meeting_id,
                "meetingOrganizer": {"user": {"id": r.user_id}},
                "createdDateTime": _iso(r.created),
                "recordingContentUrl": f"{self.base}/v1.0/users/{r.user_id}/onlineMeetings/{r.meeting_id}"
                f"/recordings/{r.recording_id}/content",
            }
            for r in self.graph.recordings
            if r.user_id == organizer.strip("'")
        ]
        return JSONResponse(
            {
                "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#Collection(callRecording)",
                "value": value,
            }
        )

    # wiring -----------------------------------------------------------------------------------

    def app(self) -> Starlette:
        app = super().app()
        app.router.routes.extend(
            [
                Route("/v1.0/subscriptions", self.create_subscription, methods=["POST"]),
                Route("/v1.0/subscriptions/{sub_id}", self.subscription, methods=["PATCH", "DELETE"]),
                Route("/v1.0/users", self.users),
                Route("/v1.0/users/{uid}", self.user),
                Route("/v1.0/users/{uid}/sendMail", self.send_mail, methods=["POST"]),
                Route("/v1.0/users/{uid}/onlineMeetings/{rest:path}", self.meetings),
            ]
        )
        return app

    def write_spec(self, directory: Path) -> Path:
        """microsoft.yaml and teams.yaml pointed at this emulator."""
        super().write_spec(directory)
        spec = yaml.safe_load((CONFIG_DIR / "providers" / "teams.yaml").read_text())
        spec["api_base_url"] = f"{self.base}/v1.0"
        (directory / "teams.yaml").write_text(yaml.safe_dump(spec))
        return directory


@contextmanager
def graph_emulator() -> Iterator[GraphEmulator]:
    """A running Microsoft identity + Graph emulator."""
    with running(GraphEmulator()) as emulator:
        yield emulator
