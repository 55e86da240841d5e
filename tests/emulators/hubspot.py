"""A stateful HubSpot OAuth emulator: authorize, token (code and refresh; the refresh token is kept), token
info, refresh-token revocation, and one CRM call.

Wire format after https://developers.hubspot.com/docs/api/oauth-quickstart-guide and the OAuth API reference:
token answers ``{"token_type": "bearer", "refresh_token", "access_token", "expires_in": 1800}``; errors
``{"status": "BAD_REFRESH_TOKEN" | "BAD_AUTH_CODE" | "BAD_CLIENT_ID", "message", "correlationId"}``; 429
``{"status": "error", "errorType": "RATE_LIMIT", ...}``; an expired token makes the API answer 401
``{"status": "error", "message": "The OAuth token used to make this call expired ...", "category":
"EXPIRED_AUTHENTICATION"}``; ``DELETE /oauth/v1/refresh-tokens/{token}`` answers 204.
"""

from __future__ import annotations

import time
import uuid
from collections import Counter, deque
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.emulators.oauth import OAuthEmulator, bearer, form_of, no_content, running

CLIENT_ID = "5fd8b2e0-hubspot-client"
CLIENT_SECRET = "hubspot-client-secret-do-not-log"
HUB_ID = 62515
APP_ID = 456
DEVELOPER_API_KEY = "dev-hapikey-do-not-log"


def _error(status: int, code: str, message: str, **extra: str) -> JSONResponse:
    body = {"status": code, "message": message, "correlationId": str(uuid.uuid4()), **extra}
    return JSONResponse(body, status_code=status)


class HubSpotEmulator(OAuthEmulator):
    """app.hubspot.com and api.hubapi.com in one server."""

    key = "hubspot"
    client_id = CLIENT_ID
    client_secret = CLIENT_SECRET
    rotates = False
    access_prefix = "CN2zlYnmLBICAQIY"
    refresh_prefix = "6f18f21e-"

    def __init__(self) -> None:
        super().__init__()
        self.state.expires_in = 1800
        self.objects: dict[str, dict[str, dict[str, str]]] = {"contacts": {}, "deals": {}}
        self.timeline: dict[str, dict[str, Any]] = {}
        self.api_throttle_next = (
            0  # answer this many CRM calls 429 (no Retry-After, like HubSpot's 10 s window)
        )
        self.api_calls: list[str] = []
        self.properties: dict[str, dict[str, dict[str, Any]]] = {
            "contacts": {"email": _prop("email", "Email", "string", "contactinformation")},
            "deals": {"dealname": _prop("dealname", "Deal name", "string", "dealinformation")},
        }
        self.groups: dict[str, dict[str, dict[str, Any]]] = {"contacts": {}, "deals": {}}
        self.associations: set[tuple[str, str]] = set()  # (contact id, deal id)
        self.rate_max, self.rate_window, self.search_rate_max = 100, 10.0, 5  # documented limits
        self.call_times: deque[float] = deque()
        self.search_times: deque[float] = deque()
        self.remaining = 100
        self.limited: Counter[str] = Counter()  # 429s by policy (TEN_SECONDLY_ROLLING, SECONDLY)
        self.templates: dict[str, dict[str, Any]] = {}  # timeline event templates of APP_ID, by id
        self.after_next_search: dict[str, dict[str, str]] = {}  # {type: properties} added after a search

    def add(self, kind: str, **properties: str) -> str:
        """Store a CRM object; returns its id."""
        object_id = str(1000 + sum(len(v) for v in self.objects.values()))
        self.objects[kind][object_id] = dict(properties)
        return object_id

    def _crm_refusal(self, request: Request) -> JSONResponse | None:
        """401 for an expired token, 429 while throttled (https://developers.hubspot.com/docs/api/usage-details)."""
        self.api_calls.append(f"{request.method} {request.url.path}")
        if not self.access_ok(bearer(request)):
            return _error(
                401,
                "error",
                "The OAuth token used to make this call expired.",
                category="EXPIRED_AUTHENTICATION",
            )
        with self.state.lock:
            limited = self.api_throttle_next > 0
            self.api_throttle_next -= int(limited)
        if limited:
            answer = _error(
                429, "error", "You have reached your ten_secondly_rolling limit.", errorType="RATE_LIMIT"
            )
            answer.headers["X-HubSpot-RateLimit-Interval-Milliseconds"] = "10000"
            answer.headers["X-HubSpot-RateLimit-Remaining"] = "0"
            return answer
        return self._over_limit(request)

    def _over_limit(self, request: Request) -> JSONResponse | None:
        """HubSpot's documented limits (https://developers.hubspot.com/docs/api/usage-details): ``rate_max``
        requests per ``rate_window`` seconds per app and account (100 / 10 s for OAuth apps, 190 for some
        tiers), and the search endpoints 5 requests per second (their answers carry no rate-limit headers)."""
        search = request.url.path.endswith("/search")
        window, limit = (1.0, self.search_rate_max) if search else (self.rate_window, self.rate_max)
        calls = self.search_times if search else self.call_times
        now = time.monotonic()
        with self.state.lock:
            while calls and calls[0] <= now - window:
                calls.popleft()
            if len(calls) < limit:
                calls.append(now)
                self.remaining = limit - len(calls) if not search else self.remaining
                return None
        policy = "SECONDLY" if search else "TEN_SECONDLY_ROLLING"
        self.limited[policy] += 1
        message = "You have reached your secondly limit." if search else (
            "You have reached your ten_secondly_rolling limit."
        )
        answer = _error(429, "error", message, errorType="RATE_LIMIT", policyName=policy)
        if not search:
            answer.headers.update(self.rate_headers(0))
        return answer

    def rate_headers(self, remaining: int) -> dict[str, str]:
        """The X-HubSpot-RateLimit-* headers of a (non-search) CRM answer."""
        return {
            "X-HubSpot-RateLimit-Interval-Milliseconds": str(int(self.rate_window * 1000)),
            "X-HubSpot-RateLimit-Max": str(self.rate_max),
            "X-HubSpot-RateLimit-Remaining": str(max(0, remaining)),
        }

    def _object(self, kind: str, object_id: str) -> dict[str, Any]:
        props = self.objects[kind][object_id]
        now = "2026-01-01T00:00:00Z"
        return {"id": object_id, "properties": props, "createdAt": now, "updatedAt": now, "archived": False}

    async def search(self, request: Request) -> Response:
        """POST /crm/v3/objects/{type}/search with EQ / IN filters, OR across filter groups."""
        if (refused := self._crm_refusal(request)) is not None:
            return refused
        kind, body = request.path_params["kind"], await request.json()
        found = [
            i
            for i, p in self.objects[kind].items()
            if _matches({**p, "hs_object_id": i}, _prepared(body.get("filterGroups") or []))
        ]
        limit = int(body.get("limit") or 10)
        answer = JSONResponse(
            {"total": len(found), "results": [self._object(kind, i) for i in found[:limit]]}
        )
        if kind in self.after_next_search:
            self.add(kind, **self.after_next_search.pop(kind))
        return answer

    async def batch_update(self, request: Request) -> Response:
        """POST /crm/v3/objects/{type}/batch/update (at most 100 inputs)."""
        if (refused := self._crm_refusal(request)) is not None:
            return refused
        kind, inputs = request.path_params["kind"], (await request.json()).get("inputs") or []
        if len(inputs) > 100:
            return _error(400, "error", "Batch size must be at most 100", category="VALIDATION_ERROR")
        ids = [str(i["id"]) for i in inputs]
        if len(set(ids)) < len(ids):
            dupes = sorted({i for i in ids if ids.count(i) > 1})
            message = f"Duplicate IDs found in batch input: {dupes}. IDs must be unique"
            return _error(400, "error", message, category="VALIDATION_ERROR")
        missing = [str(i["id"]) for i in inputs if str(i["id"]) not in self.objects[kind]]
        if missing:
            return _error(404, "error", f"Could not find objects {missing}", category="OBJECT_NOT_FOUND")
        for item in inputs:
            self.objects[kind][str(item["id"])].update({k: str(v) for k, v in item["properties"].items()})
        results = [self._object(kind, str(i["id"])) for i in inputs]
        return JSONResponse(
            {
                "status": "COMPLETE",
                "results": results,
                "startedAt": "2026-01-01T00:00:00Z",
                "completedAt": "2026-01-01T00:00:01Z",
            }
        )

    async def batch_create(self, request: Request) -> Response:
        """POST /crm/v3/objects/{type}/batch/create; a contact email already taken fails the batch with 409
        ``Contact already exists. Existing ID: …`` (HubSpot dedupes contacts on email)."""
        if (refused := self._crm_refusal(request)) is not None:
            return refused
        kind, inputs = request.path_params["kind"], (await request.json()).get("inputs") or []
        if len(inputs) > 100:
            return _error(400, "error", "Batch size must be at most 100", category="VALIDATION_ERROR")
        taken = {p.get("email", "").lower(): i for i, p in self.objects[kind].items() if p.get("email")}
        for item in inputs:
            email = str(item["properties"].get("email", "")).lower()
            if kind == "contacts" and email in taken:
                message = f"Contact already exists. Existing ID: {taken[email]}"
                return _error(409, "error", message, category="CONFLICT")
        made = [self.add(kind, **{k: str(v) for k, v in i["properties"].items()}) for i in inputs]
        now = "2026-01-01T00:00:00Z"
        results = [self._object(kind, i) for i in made]
        return JSONResponse(
            {"status": "COMPLETE", "results": results, "startedAt": now, "completedAt": now}, 201
        )

    async def associations_read(self, request: Request) -> Response:
        """POST /crm/v4/associations/contacts/deals/batch/read (contact → deal, type 4); at most 1,000 ids
        (https://developers.hubspot.com/changelog/bug-fix-batch-read-limit-for-hubspot-associations-api)."""
        if (refused := self._crm_refusal(request)) is not None:
            return refused
        inputs = (await request.json())["inputs"]
        if len(inputs) > 1000:
            return _error(400, "error", "Batch size must be at most 1000", category="VALIDATION_ERROR")
        results = []
        for item in inputs:
            to = [
                {
                    "toObjectId": int(d),
                    "associationTypes": [{"category": "HUBSPOT_DEFINED", "typeId": 4, "label": None}],
                }
                for c, d in sorted(self.associations)
                if c == str(item["id"])
            ]
            if to:
                results.append({"from": {"id": str(item["id"])}, "to": to})
        now = "2026-01-01T00:00:00Z"
        return JSONResponse({"status": "COMPLETE", "results": results, "startedAt": now, "completedAt": now})

    async def timeline_event(self, request: Request) -> Response:
        """POST /integrators/timeline/v3/events; an id the app already used is a 409 Conflict."""
        if (refused := self._crm_refusal(request)) is not None:
            return refused
        body = await request.json()
        event_id = str(body.get("id") or uuid.uuid4())
        if event_id in self.timeline:
            return _error(409, "error", f"Event with id {event_id} already exists", category="CONFLICT")
        event = {**body, "id": event_id, "objectType": "contacts", "timestamp": "2026-01-01T00:00:00Z"}
        self.timeline[event_id] = event
        await self.held()
        return JSONResponse(event)

    async def event_templates(self, request: Request) -> Response:
        """GET / POST /integrators/timeline/v3/{appId}/event-templates, authorised by the app's developer API
        key in ``?hapikey=`` (https://developers.hubspot.com/docs/api-reference/crm-timeline-v3/templates)."""
        self.api_calls.append(f"{request.method} {request.url.path}")
        if request.query_params.get("hapikey") != DEVELOPER_API_KEY:
            message = "The API key provided is invalid."
            return _error(401, "error", message, category="INVALID_AUTHENTICATION")
        if request.path_params["app"] != str(APP_ID):
            return _error(404, "error", "app not found", category="OBJECT_NOT_FOUND")
        if request.method == "GET":
            return JSONResponse({"results": list(self.templates.values())})
        body = await request.json()
        lacking = [k for k in ("name", "headerTemplate", "detailTemplate", "objectType") if not body.get(k)]
        bad = [
            t
            for t in body.get("tokens") or []
            if t.get("type") not in ("date", "enumeration", "number", "string")
        ]
        if lacking or bad:
            return _error(400, "error", f"invalid template: {lacking or bad}", category="VALIDATION_ERROR")
        template_id = str(1_000_000 + len(self.templates) + 1)
        now = "2026-01-01T00:00:00Z"
        self.templates[template_id] = {**body, "id": template_id, "createdAt": now, "updatedAt": now}
        return JSONResponse(self.templates[template_id], 201)

    async def timeline_batch(self, request: Request) -> Response:
        """POST /integrators/timeline/v3/events/batch/create. Emulator assumption (HubSpot documents the
        endpoint, not its partial failures): an id the app already used is refused on its own, the others
        are created, and the answer is 207 Multi-Status with ``errors[].context.id``."""
        if (refused := self._crm_refusal(request)) is not None:
            return refused
        inputs = (await request.json()).get("inputs") or []
        if len(inputs) > 500:
            return _error(400, "error", "Batch size must be at most 500", category="VALIDATION_ERROR")
        results, errors = [], []
        for body in inputs:
            event_id = str(body.get("id") or uuid.uuid4())
            if event_id in self.timeline:
                message = f"Event with id {event_id} already exists"
                error = {"status": "error", "category": "CONFLICT", "message": message}
                errors.append({**error, "context": {"id": [event_id]}})
                continue
            event = {**body, "id": event_id, "objectType": "contacts", "timestamp": "2026-01-01T00:00:00Z"}
            self.timeline[event_id] = event
            results.append(event)
        now = "2026-01-01T00:00:00Z"
        answer: dict[str, Any] = {"status": "COMPLETE", "results": results}
        answer |= {"startedAt": now, "completedAt": now}
        if errors:
            answer |= {"numErrors": len(errors), "errors": errors}
        await self.held()
        return JSONResponse(answer, 207 if errors else 201)

    async def authorize(self, request: Request) -> Response:
        q = request.query_params
        if q.get("client_id") != CLIENT_ID:
            return _error(400, "BAD_CLIENT_ID", "missing or unknown client id")
        return self.redirect_back(q, code=self.new_code(q))

    def _tokens(self, access: str, refresh: str | None) -> JSONResponse:
        body = {"token_type": "bearer", "refresh_token": refresh, "access_token": access}
        return JSONResponse({**body, "expires_in": self.state.expires_in})

    async def token(self, request: Request) -> Response:
        form = form_of(await request.form())
        if form.get("client_id") != CLIENT_ID or form.get("client_secret") != CLIENT_SECRET:
            return _error(400, "BAD_CLIENT_ID", "missing or unknown client id")
        if self.throttled():
            answer = _error(429, "error", "You have reached your secondly limit.", errorType="RATE_LIMIT")
            answer.headers["Retry-After"] = "1"
            return answer
        await self.delay()
        if form.get("grant_type") == "authorization_code":
            if self.take_code(form) is None:
                return _error(400, "BAD_AUTH_CODE", "missing or unknown auth code")
            return self._tokens(*self.mint())
        if form.get("grant_type") == "refresh_token":
            with self.state.lock:
                token = form.get("refresh_token", "")
                if not self.use_refresh(token):
                    return _error(400, "BAD_REFRESH_TOKEN", "missing or invalid refresh token")
                return self._tokens(*self.mint(token))
        return _error(400, "BAD_GRANT_TYPE", "missing or unknown grant type")

    async def token_info(self, request: Request) -> Response:
        token = request.path_params["token"]
        if not self.access_ok(token):
            return _error(404, "error", "access token not found")
        return JSONResponse(
            {
                "token": token,
                "user": "owner@acme.example",
                "hub_domain": "acme.example",
                "scopes": ["oauth", "crm.objects.contacts.read"],
                "hub_id": HUB_ID,
                "app_id": 456,
                "expires_in": 1754,
                "user_id": 123,
                "token_type": "access",
            }
        )

    async def revoke(self, request: Request) -> Response:
        token = request.path_params["token"]
        if token not in self.state.refresh:
            return _error(404, "error", "refresh token not found")
        self.state.revoked.append(token)
        self.state.refresh.discard(token)
        return no_content()

    async def contacts(self, request: Request) -> Response:
        if not self.access_ok(bearer(request)):
            return JSONResponse(
                {
                    "status": "error",
                    "message": "The OAuth token used to make this call expired 5 minute(s) ago.",
                    "correlationId": str(uuid.uuid4()),
                    "category": "EXPIRED_AUTHENTICATION",
                },
                status_code=401,
            )
        return JSONResponse({"results": []})

    async def list_properties(self, request: Request) -> Response:
        """GET /crm/v3/properties/{objectType} (https://developers.hubspot.com/docs/api/crm/properties)."""
        if (refused := self._crm_refusal(request)) is not None:
            return refused
        return JSONResponse({"results": list(self.properties[request.path_params["kind"]].values())})

    async def create_properties(self, request: Request) -> Response:
        """POST /crm/v3/properties/{objectType}/batch/create; the group must exist."""
        if (refused := self._crm_refusal(request)) is not None:
            return refused
        kind, made = request.path_params["kind"], []
        for item in (await request.json())["inputs"]:
            if item["groupName"] not in self.groups[kind]:
                return _error(
                    400, "error", f"group {item['groupName']} does not exist", category="VALIDATION_ERROR"
                )
            prop = _prop(
                item["name"], item["label"], item["type"], item["groupName"], item.get("options") or []
            )
            prop["fieldType"] = item["fieldType"]
            self.properties[kind][item["name"]] = prop
            made.append(prop)
        now = "2026-01-01T00:00:00Z"
        return JSONResponse(
            {"status": "COMPLETE", "results": made, "startedAt": now, "completedAt": now}, 201
        )

    async def groups_route(self, request: Request) -> Response:
        """GET / POST /crm/v3/properties/{objectType}/groups."""
        if (refused := self._crm_refusal(request)) is not None:
            return refused
        kind = request.path_params["kind"]
        if request.method == "GET":
            return JSONResponse({"results": list(self.groups[kind].values())})
        body = await request.json()
        group = {"name": body["name"], "label": body["label"], "displayOrder": -1, "archived": False}
        self.groups[kind][body["name"]] = group
        return JSONResponse(group, 201)

    def app(self) -> Starlette:
        return Starlette(
            middleware=[Middleware(_RateLimitHeaders, emulator=self)],
            routes=[
                Route("/oauth/authorize", self.authorize),
                Route("/oauth/v1/token", self.token, methods=["POST"]),
                Route("/oauth/v1/access-tokens/{token}", self.token_info),
                Route("/oauth/v1/refresh-tokens/{token}", self.revoke, methods=["DELETE"]),
                Route("/crm/v3/objects/contacts", self.contacts),
                Route("/crm/v3/objects/{kind:str}/search", self.search, methods=["POST"]),
                Route("/crm/v3/objects/{kind:str}/batch/update", self.batch_update, methods=["POST"]),
                Route("/crm/v3/objects/{kind:str}/batch/create", self.batch_create, methods=["POST"]),
                Route("/integrators/timeline/v3/events", self.timeline_event, methods=["POST"]),
                Route("/integrators/timeline/v3/events/batch/create", self.timeline_batch, methods=["POST"]),
                Route(
                    "/integrators/timeline/v3/{app:str}/event-templates",
                    self.event_templates,
                    methods=["GET", "POST"],
                ),
                Route(
                    "/crm/v4/associations/contacts/deals/batch/read", self.associations_read, methods=["POST"]
                ),
                Route("/crm/v3/properties/{kind:str}", self.list_properties),
                Route("/crm/v3/properties/{kind:str}/batch/create", self.create_properties, methods=["POST"]),
                Route("/crm/v3/properties/{kind:str}/groups", self.groups_route, methods=["GET", "POST"]),
            ]
        )

    def spec_overrides(self) -> dict[str, Any]:
        return {
            "oauth": {
                "authorize_url": f"{self.base}/oauth/authorize",
                "token_url": f"{self.base}/oauth/v1/token",
                "revoke_url": f"{self.base}/oauth/v1/refresh-tokens/{{token}}",
            },
            "api_base_url": self.base,
        }


def _prop(name: str, label: str, kind: str, group: str, options: list[Any] | None = None) -> dict[str, Any]:
    """A property as the properties API returns it."""
    return {
        "name": name,
        "label": label,
        "type": kind,
        "fieldType": "text",
        "description": "",
        "groupName": group,
        "options": options or [],
        "hidden": False,
        "formField": True,
        "displayOrder": -1,
        "archived": False,
    }


def _prepared(groups: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The filter groups with each filter's wanted values as a lower-cased set (once per search)."""
    for group in groups:
        for f in group.get("filters") or []:
            if "_wanted" not in f:
                f["_wanted"] = {str(v).lower() for v in f.get("values") or [f.get("value", "")]}
    return groups


class _RateLimitHeaders(BaseHTTPMiddleware):
    """Every non-search CRM answer carries the X-HubSpot-RateLimit-* headers."""

    def __init__(self, app: Any, emulator: HubSpotEmulator) -> None:
        super().__init__(app)
        self.emulator = emulator

    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        response = await call_next(request)
        path = request.url.path
        crm = path.startswith(("/crm/", "/integrators/")) and not path.endswith("/search")
        if crm and response.status_code != 429:
            response.headers.update(self.emulator.rate_headers(self.emulator.remaining))
        return response


def _matches(props: dict[str, str], groups: list[dict[str, Any]]) -> bool:
    """HubSpot search semantics: filters AND within a group, groups OR; EQ and IN only."""
    for group in groups:
        ok = True
        for f in group.get("filters") or []:
            have = props.get(f["propertyName"], "").lower()
            values = f.get("_wanted") or {str(v).lower() for v in f.get("values") or [f.get("value", "")]}
            ok = ok and have in values
        if ok:
            return True
    return not groups


@contextmanager
def hubspot_emulator() -> Iterator[HubSpotEmulator]:
    """A running HubSpot emulator."""
    with running(HubSpotEmulator()) as emulator:
        yield emulator
