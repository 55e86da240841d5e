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
Errors ``{"error": {"code", "message", "innerError"}}``.

Contract (``tests/contracts/graph/``): every request passes the guard of ``calls.yaml`` (its application
permission in the token's roles), request bodies and JSON answers are checked against Graph's published CSDL
(``v1.0-trimmed.csdl.xml``: an unknown property or a wrong type is Graph's 400 ``BadRequest``), calls under
``/users/{id}/onlineMeetings`` need the organiser to be covered by the Teams application access policy
(``policy_users``; else Graph's 403), and the notifications sent are the documented samples
(``samples/recording-created.json``) with this emulator's ids in them: a tenant-wide resource
``communications/onlineMeetings('{id}')/recordings('{id}')`` that names no user.
"""

from __future__ import annotations

import base64
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
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from config import CONFIG_DIR
from tests.contracts.graph import csdl
from tests.emulators.microsoft import MicrosoftEmulator, graph_error
from tests.emulators.oauth import bearer, running

ORGANIZER_ID = "b935e675-5e67-48b9-8d45-249d5f88e964"
ORGANIZER_MAIL = "organiser@contoso.example"
TENANT_OF_SAMPLES = "2432b57b-0abd-43db-aa7b-16eadd115d34"
MAX_MINUTES = 4230  # Graph's longest lifetime for onlineMeeting recording/transcript subscriptions
RESOURCES = (
    "communications/onlineMeetings/getAllRecordings",
    "communications/onlineMeetings/getAllTranscripts",
)
# the application permission each subscription resource needs (teams-changenotifications-… page)
RESOURCE_PERMISSION = dict(
    zip(RESOURCES, ("OnlineMeetingRecording.Read.All", "OnlineMeetingTranscript.Read.All"), strict=True)
)
SAMPLES = Path(__file__).resolve().parent.parent / "contracts" / "graph" / "samples"


def sample(name: str) -> Any:
    """A documented sample payload (tests/contracts/graph/samples/, see its SOURCES.md)."""
    return json.loads((SAMPLES / name).read_text())


def _error(status: int, code: str, message: str) -> JSONResponse:
    return graph_error(status, code, message)


def _answer(type_name: str, body: dict[str, Any], status: int = 200) -> JSONResponse:
    """A JSON answer, checked against Graph's CSDL first (an emulator bug fails loudly)."""
    values = body.get("value", [body])
    wrong = [p for v in values for p in csdl.problems(type_name, v)]
    assert not wrong, f"the emulator's {type_name} does not fit Graph's schema: {wrong}"
    return JSONResponse(body, status_code=status)


def _refused(problems: list[str]) -> JSONResponse | None:
    """Graph's 400 for a body that does not fit the schema."""
    return _error(400, "BadRequest", problems[0]) if problems else None


def _meeting_id(organizer: str) -> str:
    """A Teams meeting id as Graph makes them (base64 of ``1*{organizer}*0**{thread id}``)."""
    thread = f"19:meeting_{secrets.token_urlsafe(24)}@thread.v2"
    return base64.b64encode(f"1*{organizer}*0**{thread}".encode()).decode().rstrip("=")


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
        """The tenant-wide notification's resource (no user segment)."""
        return f"communications/onlineMeetings('{self.meeting_id}')/recordings('{self.recording_id}')"

    def as_graph(self, base: str) -> dict[str, Any]:
        """The callRecording Graph answers (shape of the documented decrypted sample)."""
        found = sample("recording-decrypted.json")
        found.update(
            id=self.recording_id,
            meetingId=self.meeting_id,
            createdDateTime=_iso(self.created),
            recordingContentUrl=f"{base}/v1.0/users/{self.user_id}/onlineMeetings/{self.meeting_id}"
            f"/recordings/{self.recording_id}/content",
        )
        found["meetingOrganizer"]["user"].update(id=self.user_id, tenantId=TENANT_OF_SAMPLES)
        return dict(found)


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
    policy_users: set[str] | None = (
        None  # users the application access policy covers (None = granted globally)
    )
    organizer_lookups: list[str] = field(default_factory=list)  # recording ids read for their organiser
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
            _meeting_id(ORGANIZER_ID),
            "VjIjIz" + secrets.token_urlsafe(48),
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
        """A ``created`` change notification for ``rec``: the documented sample with our ids in it."""
        item = sample("recording-created.json")
        item.update(
            subscriptionId=sub["id"],
            subscriptionExpirationDateTime=sub["expirationDateTime"],
            resource=rec.resource,
            clientState=sub["clientState"] if client_state is None else client_state,
            tenantId=self.admin_tenant,
        )
        item["resourceData"].update({"id": rec.recording_id, "@odata.id": rec.resource})
        return json.dumps({"value": [item]}).encode()

    def lifecycle_body(self, sub: dict[str, Any], event: str) -> bytes:
        """A lifecycle notification: the documented ``reauthorizationRequired`` sample, ``event`` in it."""
        body = sample("reauthorization-required.json")
        body["value"][0].update(
            lifecycleEvent=event,
            subscriptionId=sub["id"],
            subscriptionExpirationDateTime=sub["expirationDateTime"],
            clientState=sub["clientState"],
            tenantId=self.admin_tenant,
        )
        return json.dumps(body).encode()

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

    def _denied(self, request: Request, permission: str | None = None) -> Response | None:
        token = bearer(request)
        if not self.access_ok(token):
            return _error(401, "InvalidAuthenticationToken", "Access token has expired or is not yet valid.")
        if permission is not None and permission not in (self.scopes_of_token(token) or frozenset()):
            return _error(
                403,
                "Forbidden",
                f"Missing role permissions on the request. API requires one of '{permission}'.",
            )
        return None

    def _policy(self, uid: str) -> Response | None:
        """Graph's 403 when no application access policy covers ``uid`` (app-only meeting calls)."""
        covered = self.graph.policy_users is None or uid in self.graph.policy_users
        if covered:
            return None
        return _error(
            403,
            "Forbidden",
            f"Application is not allowed to perform operations on the user '{uid}', neither is allowed "
            "access through RSC permission evaluation.",
        )

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
        if (bad := _refused(csdl.problems("subscription", body))) is not None:
            return bad
        if (denied := self._denied(request, RESOURCE_PERMISSION.get(body.get("resource", "")))) is not None:
            return denied
        if body.get("resource") not in RESOURCES or body.get("changeType") != "created":
            return _error(400, "ExtensionError", "Operation: Create; Exception: [Status Code: BadRequest]")
        if len(body.get("clientState") or "") > 128:
            return _error(400, "InvalidRequest", "clientState must be at most 128 characters.")
        expiry = datetime.fromisoformat(str(body["expirationDateTime"]).replace("Z", "+00:00"))
        if expiry > datetime.now(UTC) + timedelta(minutes=MAX_MINUTES):
            return _error(
                400, "InvalidRequest", "Subscription expiration can only be 4230 minutes in the future."
            )
        if expiry > datetime.now(UTC) + timedelta(hours=1) and not body.get("lifecycleNotificationUrl"):
            return _error(
                400,
                "ValidationError",
                "lifecycleNotificationUrl is required for subscription creation on this resource when the "
                "expirationDateTime value exceeds 1 hour",
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
        return _answer("subscription", sub, 201)

    async def subscription(self, request: Request) -> Response:
        if (denied := self._denied(request)) is not None:
            return denied
        sub_id = request.path_params["sub_id"]
        sub = self.graph.subscriptions.get(sub_id)
        if sub is None:
            return _error(404, "ResourceNotFound", f"The object was not found. Subscription Id '{sub_id}'.")
        if (denied := self._denied(request, RESOURCE_PERMISSION[sub["resource"]])) is not None:
            return denied
        if request.method == "DELETE":
            with self.graph.lock:
                del self.graph.subscriptions[sub_id]
                self.graph.deleted.append(sub_id)
            return Response(status_code=204)
        body = await request.json()
        if (bad := _refused(csdl.problems("subscription", body))) is not None:
            return bad
        expiry = datetime.fromisoformat(str(body["expirationDateTime"]).replace("Z", "+00:00"))
        if expiry > datetime.now(UTC) + timedelta(minutes=MAX_MINUTES):
            return _error(
                400, "InvalidRequest", "Subscription expiration can only be 4230 minutes in the future."
            )
        with self.graph.lock:
            sub["expirationDateTime"] = _iso(expiry)
            self.graph.patched.append(sub_id)
        return _answer("subscription", sub)

    # users, meetings, recordings --------------------------------------------------------------

    async def users(self, request: Request) -> Response:
        if (denied := self._denied(request)) is not None:
            return denied
        return _answer("user", {"value": list(self.graph.users.values())})

    async def user(self, request: Request) -> Response:
        if (denied := self._denied(request)) is not None:
            return denied
        found = self.graph.users.get(request.path_params["uid"])
        if found is None:
            return _error(404, "Request_ResourceNotFound", "Resource does not exist.")
        selected = request.query_params.get("$select")
        keep = set(selected.split(",")) if selected else set(found)
        return _answer("user", {k: v for k, v in found.items() if k in keep})

    async def send_mail(self, request: Request) -> Response:
        if (denied := self._denied(request)) is not None:
            return denied
        if request.path_params["uid"] not in self.graph.users:
            return _error(404, "ErrorInvalidUser", "The requested user is invalid.")
        if self.graph.mail_status != 202:
            return _error(self.graph.mail_status, "ServiceUnavailable", "Try again later.")
        raw = await request.json()
        if (bad := _refused(csdl.action_problems("sendMail", raw))) is not None:
            return bad
        # action parameters are case-insensitive (msgraph-sdk sends "Message", the docs show "message")
        body = {k[:1].lower() + k[1:]: v for k, v in raw.items()}
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
        if (refused := self._policy(uid)) is not None:
            return refused
        if parts[0].startswith("getAllRecordings("):
            return self._all_recordings(uid, request)
        found = self._recording(uid, parts[0])
        if not found:
            return _error(404, "NotFound", "The meeting was not found.")
        rec = found[0]
        if len(parts) == 1:
            return _answer(
                "onlineMeeting",
                {
                    "id": rec.meeting_id,
                    "subject": rec.subject,
                    "startDateTime": _iso(rec.created - timedelta(minutes=30)),
                    "endDateTime": _iso(rec.created),
                    "participants": {"organizer": {"identity": {"user": {"id": uid}}}},
                },
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
            return _answer("callTranscript", {"value": listed})
        if len(parts) == 4 and parts[2] == tid and parts[3] == "content" and rec.transcript is not None:
            return PlainTextResponse(rec.transcript, media_type="text/vtt")
        return _error(404, "NotFound", "The transcript was not found.")

    def _all_recordings(self, uid: str, request: Request) -> Response:
        organizer = request.query_params.get("meetingOrganizerUserId") or uid
        value = [r.as_graph(self.base) for r in self.graph.recordings if r.user_id == organizer.strip("'")]
        return _answer(
            "callRecording",
            {
                "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#Collection(callRecording)",
                "value": value,
            },
        )

    async def communications_recording(self, request: Request) -> Response:
        """``GET /communications/onlineMeetings/{id}/recordings/{id}``: the notification's own resource."""
        if (denied := self._denied(request)) is not None:
            return denied
        mid, rid = request.path_params["mid"], request.path_params["rid"]
        found = [r for r in self.graph.recordings if r.meeting_id == mid and r.recording_id == rid]
        if not found:
            return _error(404, "NotFound", "The recording was not found.")
        self.graph.organizer_lookups.append(rid)
        return _answer("callRecording", found[0].as_graph(self.base))

    # wiring -----------------------------------------------------------------------------------

    def graph_routes(self) -> list[Route]:
        """The Graph routes under ``/v1.0`` (with the identity emulator's ``/organization``)."""
        return [
            *super().graph_routes(),
            Route("/subscriptions", self.create_subscription, methods=["POST"]),
            Route("/subscriptions/{sub_id}", self.subscription, methods=["PATCH", "DELETE"]),
            Route("/users", self.users),
            Route("/users/{uid}", self.user),
            Route("/users/{uid}/sendMail", self.send_mail, methods=["POST"]),
            Route("/users/{uid}/onlineMeetings/{rest:path}", self.meetings),
            Route("/communications/onlineMeetings/{mid}/recordings/{rid}", self.communications_recording),
        ]

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
