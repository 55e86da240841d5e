"""A stateful Zoom emulator: OAuth (authorize, token with rotating refresh, revoke, /v2/users/me), cloud
recordings (``GET /v2/users/me/recordings`` cursor-paginated, file downloads that redirect to a CDN host and
accept a webhook's ``download_token`` or an OAuth token), past meeting participants (cursor-paginated, the
meeting UUID double-encoded when Zoom requires it), users with their Team Chat JID, the chatbot
(``client_credentials`` token, ``POST /v2/im/chat/messages``) and signed webhooks (``signed``).

Participants after https://developers.zoom.us/docs/api/meetings/#tag/meetings/GET/past_meetings/{meetingId}/participants
(fields ``id, name, user_id, user_email, join_time, leave_time, duration``; one row per join); chatbot after
https://developers.zoom.us/docs/chat/send-edit-and-delete-messages/ and .../docs/api/chatbot/ (token by
``POST /oauth/token?grant_type=client_credentials`` with HTTP Basic; body ``robot_jid, to_jid, account_id,
content {head, body}``; answer ``message_id, robot_jid, sent_time, to_jid``).

Recording payloads after https://developers.zoom.us/docs/api/rest/reference/zoom-api/events/#operation/recording.completed
and .../methods/#operation/recordingsList; signing after https://developers.zoom.us/docs/api/webhooks/.

Contract: every request must be a row of tests/contracts/zoom/calls.yaml (``contract.guard``); each token
carries the scopes granted at consent (the provider file's ``oauth.scopes``, read when the token is minted,
and given back as the token answer's ``scope``) and a call whose granular scope the token lacks is refused
``400 {"code": 4711, "message": "Invalid access token, does not contain scopes:[...]."}``. Query parameters
are checked against the documented types and limits (``page_size`` 1-300, ``from``/``to`` dates at most a
month apart) and the chatbot body against its documented fields (unknown ones refused), answering Zoom's
``{"code": 300, "message": ...}``. Guests' ``user_email`` is '' unless Zoom's e-mail display rules apply
(https://developers.zoom.us/changelog/platform/zoom-api-email-address-display-rules/): a participant's
``email_shown`` says whether they do; registrants (``GET /meetings/{id}/registrants``) and the meeting's
``settings.meeting_invitees`` (``GET /meetings/{id}``) keep the e-mails the host gave Zoom.

Behaviour and error bodies after https://developers.zoom.us/docs/integrations/oauth/ (token endpoint with
HTTP Basic client auth; refresh tokens rotate; ``{"reason": ..., "error": ...}`` error bodies; API 401
``{"code": 124, "message": "Invalid access token."}``).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import secrets
import threading
import time
from collections.abc import Collection, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlencode

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from config import CONFIG_DIR
from tests.emulators import contract
from tests.emulators.oauth import consented_scopes
from tests.emulators.server import serve

CLIENT_ID = "zoom-client-id"
CLIENT_SECRET = "zoom-client-secret-do-not-log"
ACCOUNT_ID = "acct_Zoom123"
WEBHOOK_SECRET = "zoom-webhook-secret-token"
ROBOT_JID = "v1echodepthbot@xmpp.zoom.us"
HOST_JID = "user_1_jid@xmpp.zoom.us"
USERS = {"user_1": {"id": "user_1", "email": "host@example.com", "jid": HOST_JID, "account_id": ACCOUNT_ID}}


def signed(body: bytes, secret: str = WEBHOOK_SECRET, timestamp: int | None = None) -> dict[str, str]:
    """The headers Zoom sends with ``body``: ``x-zm-request-timestamp`` and ``x-zm-signature``."""
    ts = str(int(time.time()) if timestamp is None else timestamp)
    digest = hmac.new(secret.encode(), f"v0:{ts}:".encode() + body, hashlib.sha256).hexdigest()
    return {
        "content-type": "application/json",
        "x-zm-request-timestamp": ts,
        "x-zm-signature": f"v0={digest}",
    }


def event_body(event: str, payload: dict[str, object], **top: object) -> bytes:
    """A webhook body as Zoom sends it."""
    return json.dumps(
        {"event": event, "event_ts": int(time.time() * 1000), "payload": payload, **top}
    ).encode()


@dataclass
class ZoomState:
    """Everything the emulator remembers."""

    expires_in: int = 3600
    token_delay: float = 0.0
    codes: dict[str, dict[str, str]] = field(default_factory=dict)
    access: dict[str, float] = field(default_factory=dict)  # token → expiry (epoch)
    refresh: set[str] = field(default_factory=set)
    refresh_calls: int = 0
    revoked: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    meetings: list[dict[str, object]] = field(default_factory=list)  # newest last
    files: dict[str, Path] = field(default_factory=dict)
    download_tokens: set[str] = field(default_factory=set)
    downloads: list[dict[str, str]] = field(default_factory=list)  # how each file was fetched
    cdn_saw_authorization: list[bool] = field(default_factory=list)
    list_calls: int = 0
    max_page_size: int = 300  # Zoom's own cap on page_size
    participants: dict[str, list[dict[str, object]]] = field(default_factory=dict)  # meeting uuid → joins
    participant_calls: int = 0
    max_participant_page_size: int = 300  # Zoom's cap on page_size
    participant_paths: list[str] = field(default_factory=list)  # raw request paths, as sent
    chatbot_tokens: set[str] = field(default_factory=set)
    chatbot_token_calls: int = 0
    chat_messages: list[dict[str, Any]] = field(default_factory=list)  # every accepted chatbot message
    chat_status: int | None = None  # answer POST /im/chat/messages with this status instead (429, 500…)
    scopes: dict[str, frozenset[str]] = field(default_factory=dict)  # any token → its scopes
    registrants: dict[str, list[dict[str, object]]] = field(default_factory=dict)  # meeting id → registrants
    invitees: dict[str, list[str]] = field(default_factory=dict)  # meeting id → calendar invitees' e-mails
    registrant_calls: int = 0
    chatbot_feature: bool = True  # the app's Team Chat chatbot is on (its tokens get imchat:bot)
    meeting_calls: int = 0


MAX_PAGE_SIZE = 300  # every list call: "maximum: 300"
APP_SCOPES = "zoom"  # the Marketplace app's scopes are the provider file's oauth.scopes


def zoom_error(status: int, code: int, message: str) -> JSONResponse:
    """Zoom's API error body: ``{"code": N, "message": "..."}``."""
    return JSONResponse({"code": code, "message": message}, status_code=status)


def _missing_scope(request: Request, call: contract.Call | None, why: str) -> Response:
    if call is None:
        return JSONResponse({"error": "not_in_contract_table", "path": request.url.path}, status_code=501)
    # https://developers.zoom.us/docs/api/rest/error-definitions/ (400, code 4711)
    return zoom_error(400, 4711, f"Invalid access token, does not contain scopes:[{', '.join(call.scopes)}].")


def _page_size(request: Request, default: int = 30) -> int | JSONResponse:
    raw = request.query_params.get("page_size", str(default))
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_PAGE_SIZE:
        return zoom_error(400, 300, f"Invalid field: page_size must be 1 to {MAX_PAGE_SIZE}.")
    return int(raw)


def _unknown_query(request: Request, allowed: Collection[str]) -> JSONResponse | None:
    extra = sorted(set(request.query_params) - set(allowed))
    return zoom_error(400, 300, f"Invalid field: {extra[0]}.") if extra else None


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _Text(_Strict):
    text: str = Field(min_length=1, max_length=128)


class _BodyItem(BaseModel):
    model_config = ConfigDict(extra="allow")  # message, fields, actions...: each type has its own keys

    type: str


class _Content(_Strict):
    head: _Text
    body: list[_BodyItem] = Field(default_factory=list)


class ChatbotMessage(_Strict):
    """POST /im/chat/messages: https://developers.zoom.us/docs/api/chatbot/#tag/chatbot-messages/POST/im/chat/messages"""

    robot_jid: str = Field(min_length=1)
    to_jid: str = Field(min_length=1)
    account_id: str = Field(min_length=1)
    user_jid: str | None = None
    content: _Content
    visible_to_user: str | None = None
    reply_main_message_id: str | None = None
    is_markdown_support: bool | None = None


def _error(status: int, error: str, reason: str) -> JSONResponse:
    return JSONResponse({"reason": reason, "error": error}, status_code=status)


def _client_ok(request: Request) -> bool:
    expected = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
    return request.headers.get("authorization", "") == f"Basic {expected}"


class ZoomEmulator:
    """The emulator's routes over its state."""

    def __init__(self) -> None:
        self.state = ZoomState()
        self.base = ""

    async def authorize(self, request: Request) -> Response:
        q = request.query_params
        if q.get("client_id") != CLIENT_ID or q.get("response_type") != "code":
            return _error(400, "invalid_request", "Invalid client_id or response_type")
        code = secrets.token_urlsafe(16)
        self.state.codes[code] = {"redirect_uri": q["redirect_uri"], "challenge": q.get("code_challenge", "")}
        return RedirectResponse(f"{q['redirect_uri']}?{urlencode({'code': code, 'state': q['state']})}", 302)

    def mint(self, scopes: Iterable[str] | None = None) -> dict[str, object]:
        """A user token answer; ``scopes`` default to what the app asks for (the provider file, read now)."""
        granted = consented_scopes(APP_SCOPES) if scopes is None else frozenset(scopes)
        access, refresh = "zat_" + secrets.token_urlsafe(24), "zrt_" + secrets.token_urlsafe(24)
        self.state.access[access] = time.time() + self.state.expires_in
        self.state.refresh.add(refresh)
        self.state.scopes[access] = self.state.scopes[refresh] = granted
        return {
            "access_token": access,
            "token_type": "bearer",
            "refresh_token": refresh,
            "expires_in": self.state.expires_in,
            "scope": " ".join(sorted(granted)),  # granular scopes, space-separated
        }

    def _issue(self, refresh: str | None = None) -> dict[str, object]:
        return self.mint(self.state.scopes.get(refresh) if refresh else None)

    def scopes_of(self, request: Request) -> frozenset[str] | None:
        """The scopes of the request's bearer token; None without a live one (the route answers 401)."""
        token = request.headers.get("authorization", "").removeprefix("Bearer ")
        live = self.state.access.get(token, 0) >= time.time() or token in self.state.chatbot_tokens
        return self.state.scopes.get(token, frozenset()) if live else None

    def _by_code(self, form: dict[str, str]) -> Response:
        grant = self.state.codes.pop(form.get("code", ""), None)
        if grant is None or grant["redirect_uri"] != form.get("redirect_uri"):
            return _error(400, "invalid_grant", "Invalid authorization code")
        verifier = form.get("code_verifier", "")
        digest = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")
        if grant["challenge"] and digest != grant["challenge"]:
            return _error(400, "invalid_request", "Invalid code_verifier")
        return JSONResponse(self._issue())

    def _by_refresh(self, form: dict[str, str]) -> Response:
        with self.state.lock:
            self.state.refresh_calls += 1
            token = form.get("refresh_token", "")
            if token not in self.state.refresh:
                return _error(400, "invalid_grant", "Invalid Token!")
            self.state.refresh.discard(token)  # Zoom rotates refresh tokens
            return JSONResponse(self._issue(token))

    async def token(self, request: Request) -> Response:
        if not _client_ok(request):
            return _error(401, "invalid_client", "Invalid client_id or client_secret")
        form = {k: str(v) for k, v in (await request.form()).items()}
        if self.state.token_delay:
            await asyncio.sleep(self.state.token_delay)  # a slow vendor widens the race window
        if form.get("grant_type") == "authorization_code":
            return self._by_code(form)
        if form.get("grant_type") == "refresh_token":
            return self._by_refresh(form)
        if (request.query_params.get("grant_type") or form.get("grant_type")) == "client_credentials":
            return self._chatbot_token()
        return _error(400, "unsupported_grant_type", "Unsupported grant type")

    def _chatbot_token(self) -> Response:
        token = "zcb_" + secrets.token_urlsafe(24)
        granted = consented_scopes(APP_SCOPES) & ({"imchat:bot"} if self.state.chatbot_feature else set())
        with self.state.lock:
            self.state.chatbot_token_calls += 1
            self.state.chatbot_tokens.add(token)
            self.state.scopes[token] = granted
        return JSONResponse(
            {"access_token": token, "token_type": "bearer", "expires_in": 3599, "scope": " ".join(granted)}
        )

    async def revoke(self, request: Request) -> Response:
        if not _client_ok(request):
            return _error(401, "invalid_client", "Invalid client_id or client_secret")
        token = str((await request.form()).get("token", ""))
        self.state.revoked.append(token)
        self.state.refresh.discard(token)
        self.state.access.pop(token, None)
        return JSONResponse({"status": "success"})

    async def me(self, request: Request) -> Response:
        token = request.headers.get("authorization", "").removeprefix("Bearer ")
        if self.state.access.get(token, 0) < time.time():
            return JSONResponse({"code": 124, "message": "Invalid access token."}, status_code=401)
        return JSONResponse({"id": "user_1", "account_id": ACCOUNT_ID, "email": "host@example.com"})

    async def user(self, request: Request) -> Response:
        if self._authorised(request) != "bearer":
            return JSONResponse({"code": 124, "message": "Invalid access token."}, status_code=401)
        wanted = request.path_params["user_id"].lower()
        found = next((u for u in USERS.values() if wanted in (u["id"].lower(), u["email"].lower())), None)
        if found is None:
            return JSONResponse({"code": 1001, "message": "User does not exist."}, status_code=404)
        return JSONResponse({**found, "type": 2, "status": "active"})

    # chatbot -----------------------------------------------------------------------------------

    async def chat_message(self, request: Request) -> Response:
        token = request.headers.get("authorization", "").removeprefix("Bearer ")
        if token not in self.state.chatbot_tokens:  # a user's OAuth token cannot send chatbot messages
            return JSONResponse({"code": 124, "message": "Invalid access token."}, status_code=401)
        if self.state.chat_status is not None:
            status = self.state.chat_status
            headers = {"Retry-After": "1"} if status == 429 else {}
            return JSONResponse(
                {"code": status, "message": "Try again later."}, status_code=status, headers=headers
            )
        body = await request.json()
        try:
            ChatbotMessage.model_validate(body)
        except ValidationError as exc:
            where = ".".join(str(p) for p in exc.errors()[0]["loc"])
            return zoom_error(400, 300, f"Invalid field: {where}.")
        if body["robot_jid"] != ROBOT_JID or body["account_id"] != ACCOUNT_ID:
            return JSONResponse(
                {"code": 7001, "message": "Invalid robot_jid or account_id."}, status_code=400
            )
        if body["to_jid"] not in {u["jid"] for u in USERS.values()}:
            return JSONResponse({"code": 7004, "message": "Invalid to_jid."}, status_code=400)
        self.state.chat_messages.append(body)
        sent = {
            "message_id": secrets.token_hex(16),
            "robot_jid": ROBOT_JID,
            "sent_time": time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime()),
            "to_jid": body["to_jid"],
        }
        return JSONResponse(sent, status_code=201)

    # past meeting participants -----------------------------------------------------------------

    async def past_participants(self, request: Request) -> Response:
        if self._authorised(request) != "bearer":
            return JSONResponse({"code": 124, "message": "Invalid access token."}, status_code=401)
        self.state.participant_calls += 1
        raw = request.scope["raw_path"].decode()
        if not raw.endswith("/participants"):
            return Response(status_code=404)
        self.state.participant_paths.append(raw)
        segment = raw.removeprefix("/v2/past_meetings/").removesuffix("/participants")
        once = unquote(segment)
        double = "%" in once  # Zoom decodes a double-encoded UUID twice
        uuid = unquote(once) if double else once
        # Zoom: a UUID that starts with "/" or contains "//" is found only when double-encoded
        lost = not double and (uuid.startswith("/") or "//" in uuid)
        joins = None if lost else self.state.participants.get(uuid)
        if joins is None:
            return JSONResponse(
                {"code": 3001, "message": f"Meeting does not exist: {uuid}."}, status_code=404
            )
        if (refused := _unknown_query(request, ("page_size", "next_page_token"))) is not None:
            return refused
        if isinstance(asked := _page_size(request), JSONResponse):
            return asked
        size = min(asked, self.state.max_participant_page_size)
        page, token = _page(joins, size, request.query_params.get("next_page_token") or "")
        return JSONResponse(
            {
                "page_count": -(-len(joins) // size),
                "page_size": size,
                "total_records": len(joins),
                "next_page_token": token,
                "participants": [_as_listed(j) for j in page],
            }
        )

    # registrants and the meeting itself ---------------------------------------------------------

    def _meeting_id(self, request: Request) -> str | None:
        raw = str(request.path_params["meeting_id"])
        known = {str(m["id"]) for m in self.state.meetings}
        return raw if raw.isdigit() and raw in known else None

    async def registrants(self, request: Request) -> Response:
        """GET /meetings/{meetingId}/registrants (approved ones by default)."""
        if self._authorised(request) != "bearer":
            return zoom_error(401, 124, "Invalid access token.")
        self.state.registrant_calls += 1
        if refused := _unknown_query(request, ("status", "page_size", "next_page_token", "occurrence_id")):
            return refused
        if request.query_params.get("status", "approved") not in ("pending", "approved", "denied"):
            return zoom_error(400, 300, "Invalid field: status.")
        if isinstance(size := _page_size(request), JSONResponse):
            return size
        meeting_id = self._meeting_id(request)
        if meeting_id is None:
            return zoom_error(404, 3001, "Meeting does not exist.")
        found = self.state.registrants.get(meeting_id)
        if found is None:  # registration is off for this meeting
            return zoom_error(400, 200, "Registration has not been enabled for this meeting.")
        wanted = request.query_params.get("status", "approved")
        chosen = [r for r in found if r.get("status", "approved") == wanted]
        page, token = _page(chosen, size, request.query_params.get("next_page_token") or "")
        return JSONResponse(
            {"page_size": size, "total_records": len(chosen), "next_page_token": token, "registrants": page}
        )

    async def get_meeting(self, request: Request) -> Response:
        """GET /meetings/{meetingId}: the scheduled meeting, with ``settings.meeting_invitees``."""
        if self._authorised(request) != "bearer":
            return zoom_error(401, 124, "Invalid access token.")
        self.state.meeting_calls += 1
        if (refused := _unknown_query(request, ("occurrence_id", "show_previous_occurrences"))) is not None:
            return refused
        meeting_id = self._meeting_id(request)
        found = next((m for m in self.state.meetings if str(m["id"]) == meeting_id), None)
        if found is None or meeting_id not in self.state.invitees:
            return zoom_error(404, 3001, f"Meeting does not exist: {request.path_params['meeting_id']}.")
        invitees = [{"email": e} for e in self.state.invitees[meeting_id]]
        keep = ("uuid", "id", "host_id", "host_email", "topic", "type", "start_time", "duration", "timezone")
        return JSONResponse({**{k: found[k] for k in keep}, "settings": {"meeting_invitees": invitees}})

    # cloud recordings --------------------------------------------------------------------------

    def add_recording(
        self,
        media: Path,
        *,
        file_type: str = "MP4",
        transcript: Path | None = None,
        topic: str = "Quarterly review",
        duration: int = 42,
        host_email: str = "host@example.com",
        uuid: str | None = None,
        participants: list[dict[str, object]] | None = None,
        registrants: list[dict[str, object]] | None = None,
        invitees: list[str] | None = None,
    ) -> dict[str, object]:
        """A finished cloud recording of ``media`` (and a VTT transcript); returns the meeting object.

        ``participants``: the past joins (default: the host, a guest who rejoined, a dial-in);
        ``registrants``: the meeting required registration; ``invitees``: its calendar invitees."""
        meeting_uuid = uuid or base64.b64encode(secrets.token_bytes(16)).decode()  # Zoom UUIDs are base64
        self.state.participants[meeting_uuid] = (
            participants if participants is not None else default_participants(host_email)
        )
        files = [(file_type, media, "shared_screen_with_speaker_view")]
        if transcript is not None:
            files.append(("TRANSCRIPT", transcript, "audio_transcript"))
        recording_files = []
        for kind, path, rtype in files:
            file_id = secrets.token_hex(8)
            self.state.files[file_id] = path
            recording_files.append(
                {
                    "id": file_id,
                    "meeting_id": meeting_uuid,
                    "recording_start": "2026-11-24T10:00:00Z",
                    "recording_end": "2026-11-24T10:42:00Z",
                    "file_type": kind,
                    "file_extension": kind,
                    "file_size": path.stat().st_size,
                    "play_url": f"{self.base}/rec/play/{file_id}",
                    "download_url": f"{self.base}/rec/download/{file_id}",
                    "status": "completed",
                    "recording_type": rtype,
                }
            )
        meeting: dict[str, object] = {
            "uuid": meeting_uuid,
            "id": 85_000_000_000 + len(self.state.meetings),
            "account_id": ACCOUNT_ID,
            "host_id": "user_1",
            "host_email": host_email,
            "topic": topic,
            "type": 2,
            "start_time": "2026-11-24T10:00:00Z",
            "timezone": "Europe/London",
            "duration": duration,
            "total_size": sum(int(str(f["file_size"])) for f in recording_files),
            "recording_count": len(recording_files),
            "share_url": f"{self.base}/rec/share/{meeting_uuid}",
            "recording_files": recording_files,
        }
        self.state.meetings.append(meeting)
        if registrants is not None:
            self.state.registrants[str(meeting["id"])] = registrants
        self.state.invitees[str(meeting["id"])] = list(invitees or [])
        return meeting

    def adopt_sample(self, sample: dict[str, Any], media: dict[str, Path]) -> bytes:
        """Zoom's documented ``recording.completed`` sample as this install would get it: our account, the
        files (``media`` by file type) served here, the sample's download token accepted; returns the body."""
        event = json.loads(json.dumps(sample))
        event["payload"]["account_id"] = ACCOUNT_ID
        meeting = event["payload"]["object"]
        for f in meeting["recording_files"]:
            self.state.files[f["id"]] = media[f["file_type"]]
            f["download_url"] = f"{self.base}/rec/download/{f['id']}"
        self.state.download_tokens.add(event["download_token"])
        self.state.participants[meeting["uuid"]] = default_participants(meeting["host_email"])
        self.state.meetings.append(meeting)
        return json.dumps(event).encode()

    def recording_completed(self, meeting: dict[str, object], download_token: bool = True) -> bytes:
        """The ``recording.completed`` body for ``meeting`` (with a fresh ``download_token``)."""
        top: dict[str, object] = {}
        if download_token:
            token = "zdt_" + secrets.token_urlsafe(24)
            self.state.download_tokens.add(token)
            top["download_token"] = token
        return event_body("recording.completed", {"account_id": ACCOUNT_ID, "object": meeting}, **top)

    def _authorised(self, request: Request) -> str | None:
        token = request.headers.get("authorization", "").removeprefix("Bearer ")
        if self.state.access.get(token, 0) >= time.time():
            return "bearer"
        if request.query_params.get("access_token", "") in self.state.download_tokens:
            return "download_token"
        return None

    async def list_recordings(self, request: Request) -> Response:
        if self._authorised(request) != "bearer":
            return JSONResponse({"code": 124, "message": "Invalid access token."}, status_code=401)
        self.state.list_calls += 1
        allowed = ("from", "to", "page_size", "next_page_token", "mc", "trash", "trash_type", "meeting_id")
        if (refused := _unknown_query(request, allowed) or _date_range(request)) is not None:
            return refused
        if isinstance(asked := _page_size(request), JSONResponse):
            return asked
        size = min(asked, self.state.max_page_size)
        start = int(request.query_params.get("next_page_token") or 0)
        page = list(reversed(self.state.meetings))[start : start + size]
        more = start + size < len(self.state.meetings)
        return JSONResponse(
            {
                "from": request.query_params.get("from"),
                "to": request.query_params.get("to"),
                "page_size": size,
                "total_records": len(self.state.meetings),
                "next_page_token": str(start + size) if more else "",
                "meetings": page,
            }
        )

    async def download(self, request: Request) -> Response:
        file_id = request.path_params["file_id"]
        how = self._authorised(request)
        if how is None:
            return JSONResponse({"code": 124, "message": "Invalid access token."}, status_code=401)
        if file_id not in self.state.files:
            return JSONResponse({"code": 3301, "message": "This recording does not exist."}, status_code=404)
        self.state.downloads.append({"file_id": file_id, "auth": how})
        cdn = self.base.replace("127.0.0.1", "localhost")  # another host: credentials must not follow
        return RedirectResponse(f"{cdn}/cdn/{file_id}?sig={secrets.token_hex(8)}", 302)

    async def cdn(self, request: Request) -> Response:
        self.state.cdn_saw_authorization.append("authorization" in request.headers)
        path = self.state.files.get(request.path_params["file_id"])
        if path is None or not request.query_params.get("sig"):
            return Response(status_code=403)
        return FileResponse(path, media_type="application/octet-stream")

    def app(self) -> Starlette:
        app = Starlette(
            routes=[
                Route("/oauth/authorize", self.authorize),
                Route("/oauth/token", self.token, methods=["POST"]),
                Route("/oauth/revoke", self.revoke, methods=["POST"]),
                Route("/v2/users/me", self.me),
                Route("/v2/users/me/recordings", self.list_recordings),
                Route("/v2/users/{user_id}", self.user),
                Route("/v2/im/chat/messages", self.chat_message, methods=["POST"]),
                Route("/v2/past_meetings/{meeting_uuid:path}", self.past_participants),
                Route("/v2/meetings/{meeting_id}/registrants", self.registrants),
                Route("/v2/meetings/{meeting_id}", self.get_meeting),
                Route("/rec/download/{file_id}", self.download),
                Route("/cdn/{file_id}", self.cdn),
            ]
        )
        # /oauth/authorize is the user's browser, /cdn/ the signed redirect target of a download
        return contract.guard(
            app,
            contract.load("zoom"),
            scopes_of=self.scopes_of,
            refuse=_missing_scope,
            prefix="/v2",
            open_paths=("/oauth/authorize", "/cdn/"),
        )

    def write_spec(self, directory: Path) -> Path:
        """config/providers/zoom.yaml with every URL pointed at this emulator."""
        spec = yaml.safe_load((CONFIG_DIR / "providers" / "zoom.yaml").read_text())
        spec["oauth"].update(
            authorize_url=f"{self.base}/oauth/authorize",
            token_url=f"{self.base}/oauth/token",
            revoke_url=f"{self.base}/oauth/revoke",
        )
        spec["api_base_url"] = f"{self.base}/v2"
        directory.mkdir(parents=True, exist_ok=True)
        (directory / "zoom.yaml").write_text(yaml.safe_dump(spec))
        return directory


def participant(
    name: str,
    email: str,
    minutes: int,
    joined: str = "10:00",
    left: str = "10:42",
    *,
    internal: bool = False,
    email_shown: bool = True,
    registrant_id: str = "",
) -> dict[str, object]:
    """One join as ``GET /past_meetings/{uuid}/participants`` keeps it: a guest (not ``internal``) whose
    e-mail no display rule shows (``email_shown=False``) is listed with ``user_email: ""``; a guest's
    ``id`` is '' (only signed-in Zoom users have one) and ``user_id`` is new for every join."""
    person_id = hashlib.sha256(email.lower().encode()).hexdigest()[:22] if internal else ""
    return {
        "id": person_id,
        "name": name,
        "user_id": str(secrets.randbelow(10**8)),
        "registrant_id": registrant_id,
        "user_email": email,
        "join_time": f"2026-11-24T{joined}:00Z",
        "leave_time": f"2026-11-24T{left}:00Z",
        "duration": minutes * 60,
        "failover": False,
        "status": "in_meeting",
        "internal_user": internal,
        "_email_shown": internal or email_shown,
    }


def registrant(first: str, last: str, email: str, status: str = "approved") -> dict[str, object]:
    """One registrant as ``GET /meetings/{meetingId}/registrants`` lists it."""
    return {
        "id": secrets.token_urlsafe(16),
        "email": email,
        "first_name": first,
        "last_name": last,
        "status": status,
        "create_time": "2026-11-20T09:00:00Z",
        "join_url": "https://zoom.us/w/85000000000?tk=x",
    }


def _as_listed(join: dict[str, object]) -> dict[str, object]:
    """The join as Zoom answers it: the e-mail withheld unless a display rule applies."""
    shown = {k: v for k, v in join.items() if not k.startswith("_")}
    return shown if join.get("_email_shown", True) else {**shown, "user_email": ""}


def _page(items: list[dict[str, object]], size: int, cursor: str) -> tuple[list[dict[str, object]], str]:
    start = int(base64.urlsafe_b64decode(cursor.encode()).decode()) if cursor else 0
    more = start + size < len(items)
    cursor = base64.urlsafe_b64encode(str(start + size).encode()).decode() if more else ""
    return items[start : start + size], cursor


def _date_range(request: Request) -> JSONResponse | None:
    """``from``/``to`` are yyyy-mm-dd and at most a month apart (List all recordings)."""
    try:
        since = date.fromisoformat(request.query_params.get("from") or date.today().isoformat())
        until = date.fromisoformat(request.query_params.get("to") or date.today().isoformat())
    except ValueError:
        return zoom_error(400, 300, "Invalid field: from/to must be yyyy-mm-dd.")
    if (until - since).days > 31 or until < since:
        return zoom_error(400, 300, "The date range must be within a month.")
    return None


def default_participants(host_email: str) -> list[dict[str, object]]:
    """The host, a guest who dropped and rejoined (two rows), and a phone dial-in without an e-mail."""
    return [
        participant("Hannah Host", host_email, 42, internal=True),
        participant("Jane Buyer", "Jane.Buyer@buyer-corp.example", 10, "10:01", "10:11"),
        participant("Jane Buyer", "jane.buyer@buyer-corp.example", 30, "10:12", "10:42"),
        participant("+44 20 7946 0000", "", 20, "10:05", "10:25"),
    ]


@contextmanager
def zoom_emulator() -> Iterator[ZoomEmulator]:
    """A running Zoom emulator."""
    emulator = ZoomEmulator()
    with serve(emulator.app()) as base:
        emulator.base = base
        yield emulator
