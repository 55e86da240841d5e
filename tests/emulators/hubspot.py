"""A stateful HubSpot OAuth emulator: authorize, token (code and refresh; the refresh token is kept), token
info, refresh-token revocation, and one CRM call.

Wire format after https://developers.hubspot.com/docs/api/oauth-quickstart-guide and the OAuth API reference:
token answers ``{"token_type": "bearer", "refresh_token", "access_token", "expires_in": 1800}``; errors
``{"status": "BAD_REFRESH_TOKEN" | "BAD_AUTH_CODE" | "BAD_CLIENT_ID", "message", "correlationId"}``; 429
``{"status": "error", "errorType": "RATE_LIMIT", ...}``; an expired token makes the API answer 401
``{"status": "error", "message": "The OAuth token used to make this call expired ...", "category":
"EXPIRED_AUTHENTICATION"}``; ``DELETE /oauth/v1/refresh-tokens/{token}`` answers 204.

Contract (tests/contracts/hubspot/): every request must be a row of ``calls.yaml`` (``contract.guard``), its
token must hold one of the row's scopes (else the documented 403 MISSING_SCOPES), and every request and
response body must be an exact instance of hubspot-api-client's generated model for it
(``tests/contracts/hubspot/sdk_models.py``: unknown fields, wrong types, missing required fields are refused
400 VALIDATION_ERROR, a response that fails its model is an emulator bug and fails the test). Error bodies are
the fixtures of ``tests/contracts/hubspot/samples/``. v4 app events have no SDK model: their check is ours,
from HubSpot's page (``_AppEvent``).
"""

from __future__ import annotations

import copy
import json
import time
import uuid
from collections import Counter, deque
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, StrictStr, ValidationError
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.contracts.hubspot.sdk_models import problems
from tests.emulators import contract
from tests.emulators.oauth import OAuthEmulator, bearer, form_of, no_content, running, scopes_in

CLIENT_ID = "5fd8b2e0-hubspot-client"
CLIENT_SECRET = "hubspot-client-secret-do-not-log"
HUB_ID = 62515
APP_ID = 456
DEVELOPER_API_KEY = "dev-hapikey-do-not-log"
DEAL_TEMPLATE_ID = "1001299"  # the legacy v3 deal template an app with v3 timeline events already has
SAMPLES = Path(__file__).resolve().parent.parent / "contracts" / "hubspot" / "samples"
# Search limits (https://developers.hubspot.com/docs/api/crm/search#limitations)
SEARCH_MAX_LIMIT, SEARCH_MAX_GROUPS, SEARCH_MAX_FILTERS, SEARCH_MAX_IN = 200, 5, 18, 100
SEARCH_MAX_FILTERS_PER_GROUP = 6
BATCH_MAX = 100  # objects batch create/update (https://developers.hubspot.com/docs/api/crm/contacts)
ASSOCIATIONS_MAX = 1000
EVENTS_MAX = 500  # per events batch call (emulator assumption; HubSpot's pages we could read state none)


def _error(status: int, code: str, message: str, **extra: str) -> JSONResponse:
    body = {"status": code, "message": message, "correlationId": str(uuid.uuid4()), **extra}
    return JSONResponse(body, status_code=status)


@cache
def _sample_file(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((SAMPLES / f"{name}.json").read_text())
    return loaded


def sample(name: str, **fill: Any) -> JSONResponse:
    """A documented answer of ``samples/<name>.json`` with a fresh correlationId and ``fill`` merged in."""
    raw = copy.deepcopy(_sample_file(name))
    body = {**raw["body"], "correlationId": str(uuid.uuid4()), **fill}
    return JSONResponse(body, status_code=raw["status"], headers=raw.get("headers") or {})


def invalid(message: str) -> JSONResponse:
    """400 VALIDATION_ERROR (samples/validation_error_400.json) with ``message``."""
    return sample("validation_error_400", message=message)


def missing_scopes(scopes: list[str]) -> JSONResponse:
    """403 MISSING_SCOPES naming the scopes any one of which the call needs."""
    errors = [{"message": "One or more of the following scopes are required.",
               "context": {"requiredGranularScopes": sorted(scopes)}}]  # fmt: skip
    return sample("missing_scopes_403", errors=errors)


class _AppEvent(BaseModel):
    """One v4 app event occurrence (our check, after
    https://developers.hubspot.com/docs/apps/developer-platform/add-features/app-events/send-event-occurrences)."""

    model_config = ConfigDict(extra="forbid")

    eventTypeName: StrictStr
    objectId: StrictStr
    id: StrictStr | None = None
    timestamp: StrictStr | None = None
    properties: dict[str, StrictStr | int | float | bool] = {}


class _AppEventBatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    inputs: list[_AppEvent]


async def _json(request: Request) -> Any:
    try:
        return await request.json()
    except ValueError:
        return None


def _checked_answer(package: str, model: str, body: Any, status: int = 200) -> JSONResponse:
    """``body`` as the answer, after it deserializes into the SDK's response model (else an emulator bug)."""
    found = problems(package, model, body)
    if found:
        raise AssertionError(f"the emulator's answer is no {model}: {found[:3]}")
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
        # the app already defines v3 timeline events (so HubSpot still serves it the v3 API) and has these
        self.legacy_timeline_app = True
        self.template_kinds: dict[str, str] = {"1001298": "contacts", DEAL_TEMPLATE_ID: "deals"}
        self.app_event_types: dict[
            str, str
        ] = {}  # approved app event types: fullyQualifiedName → object type

    def add(self, kind: str, **properties: str) -> str:
        """Store a CRM object; returns its id."""
        object_id = str(1000 + sum(len(v) for v in self.objects.values()))
        self.objects[kind][object_id] = dict(properties)
        return object_id

    def _crm_refusal(self, request: Request) -> JSONResponse | None:
        """401 for an expired token, 429 while throttled (https://developers.hubspot.com/docs/api/usage-details)."""
        self.api_calls.append(f"{request.method} {request.url.path}")
        if not self.access_ok(bearer(request)):
            return sample("expired_authentication_401")
        with self.state.lock:
            limited = self.api_throttle_next > 0
            self.api_throttle_next -= int(limited)
        if limited:
            return sample("rate_limit_ten_secondly_429")
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
        if search:
            return sample("rate_limit_secondly_429")
        answer = sample("rate_limit_ten_secondly_429")
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

    async def _body(self, request: Request, package: str, model: str) -> tuple[Any, JSONResponse | None]:
        """The request's JSON if it is an exact ``model`` of hubspot-api-client, else HubSpot's 400."""
        if (refused := self._crm_refusal(request)) is not None:
            return None, refused
        body = await _json(request)
        if body is None:
            return None, invalid("Invalid input JSON: the body is not JSON")
        found = problems(package, model, body)
        if found:
            return None, invalid("Invalid input JSON: " + "; ".join(found[:5]))
        return body, None

    async def search(self, request: Request) -> Response:
        """POST /crm/v3/objects/{type}/search with EQ / IN filters, OR across filter groups."""
        kind = request.path_params["kind"]
        body, refused = await self._body(request, f"crm.{kind}", "PublicObjectSearchRequest")
        if refused is not None:
            return refused
        if (over := _search_limits(body)) is not None:
            return invalid(over)
        found = [
            i
            for i, p in self.objects[kind].items()
            if _matches({**p, "hs_object_id": i}, _prepared(body.get("filterGroups") or []))
        ]
        limit = int(body.get("limit") or 10)
        wanted = set(body.get("properties") or []) | {"hs_object_id"}
        results = [self._object(kind, i) for i in found[:limit]]
        for r in results:
            r["properties"] = {k: v for k, v in r["properties"].items() if k in wanted} | {
                "hs_object_id": r["id"]
            }
        if kind in self.after_next_search:
            self.add(kind, **self.after_next_search.pop(kind))
        answer = {"total": len(found), "results": results}
        return _checked_answer(
            f"crm.{kind}", "CollectionResponseWithTotalSimplePublicObjectForwardPaging", answer
        )

    async def batch_update(self, request: Request) -> Response:
        """POST /crm/v3/objects/{type}/batch/update (at most 100 inputs)."""
        kind = request.path_params["kind"]
        body, refused = await self._body(request, f"crm.{kind}", "BatchInputSimplePublicObjectBatchInput")
        if refused is not None:
            return refused
        inputs = body["inputs"]
        if len(inputs) > BATCH_MAX:
            return invalid(f"Batch size must be at most {BATCH_MAX}")
        ids = [str(i["id"]) for i in inputs]
        if len(set(ids)) < len(ids):
            dupes = sorted({i for i in ids if ids.count(i) > 1})
            return invalid(f"Duplicate IDs found in batch input: {dupes}. IDs must be unique")
        missing = [i for i in ids if i not in self.objects[kind]]
        if missing:
            return _error(404, "error", f"Could not find objects {missing}", category="OBJECT_NOT_FOUND")
        for item in inputs:
            self.objects[kind][str(item["id"])].update(item["properties"])
        return _checked_answer(
            f"crm.{kind}", "BatchResponseSimplePublicObject", _batch([self._object(kind, i) for i in ids])
        )

    async def batch_create(self, request: Request) -> Response:
        """POST /crm/v3/objects/{type}/batch/create; a contact email already taken fails the batch with 409
        ``Contact already exists. Existing ID: …`` (HubSpot dedupes contacts on email)."""
        kind = request.path_params["kind"]
        model = "BatchInputSimplePublicObjectBatchInputForCreate"
        body, refused = await self._body(request, f"crm.{kind}", model)
        if refused is not None:
            return refused
        inputs = body["inputs"]
        if len(inputs) > BATCH_MAX:
            return invalid(f"Batch size must be at most {BATCH_MAX}")
        taken = {p.get("email", "").lower(): i for i, p in self.objects[kind].items() if p.get("email")}
        for item in inputs:
            email = str(item["properties"].get("email", "")).lower()
            if kind == "contacts" and email in taken:
                message = f"Contact already exists. Existing ID: {taken[email]}"
                return _error(409, "error", message, category="CONFLICT")
        made = [self.add(kind, **i["properties"]) for i in inputs]
        answer = _batch([self._object(kind, i) for i in made])
        return _checked_answer(f"crm.{kind}", "BatchResponseSimplePublicObject", answer, 201)

    async def associations_read(self, request: Request) -> Response:
        """POST /crm/v4/associations/contacts/deals/batch/read (contact → deal, type 4); at most 1,000 ids
        (https://developers.hubspot.com/changelog/bug-fix-batch-read-limit-for-hubspot-associations-api)."""
        model = "BatchInputPublicFetchAssociationsBatchRequest"
        body, refused = await self._body(request, "crm.associations.v4", model)
        if refused is not None:
            return refused
        inputs = body["inputs"]
        if len(inputs) > ASSOCIATIONS_MAX:
            return invalid(f"Batch size must be at most {ASSOCIATIONS_MAX}")
        results = []
        for item in inputs:
            to = [
                {
                    "toObjectId": d,
                    "associationTypes": [{"category": "HUBSPOT_DEFINED", "typeId": 4, "label": None}],
                }
                for c, d in sorted(self.associations)
                if c == str(item["id"])
            ]
            if to:
                results.append({"from": {"id": str(item["id"])}, "to": to})
        return _checked_answer(
            "crm.associations.v4", "BatchResponsePublicAssociationMultiWithLabel", _batch(results)
        )

    async def event_templates(self, request: Request) -> Response:
        """GET / POST /integrators/timeline/v3/{appId}/event-templates, authorised by the app's developer API
        key in ``?hapikey=`` (https://developers.hubspot.com/docs/api-reference/crm-timeline-v3/templates).
        HubSpot serves it only to apps that already define v1/v3 timeline events ("requests to this endpoint
        will fail" otherwise): ``legacy_timeline_app`` False answers 403 (the status is our assumption)."""
        self.api_calls.append(f"{request.method} {request.url.path}")
        if request.query_params.get("hapikey") != DEVELOPER_API_KEY:
            message = "The API key provided is invalid."
            return _error(401, "error", message, category="INVALID_AUTHENTICATION")
        if request.path_params["app"] != str(APP_ID):
            return _error(404, "error", "app not found", category="OBJECT_NOT_FOUND")
        if not self.legacy_timeline_app:
            message = "This app has no timeline events: use app events"
            return _error(403, "error", message, category="FORBIDDEN")
        if request.method == "GET":
            answer = {"results": list(self.templates.values())}
            return _checked_answer("crm.timeline", "CollectionResponseTimelineEventTemplateNoPaging", answer)
        body = await _json(request)
        found = problems("crm.timeline", "TimelineEventTemplateCreateRequest", body)
        if found:
            return invalid("Invalid input JSON: " + "; ".join(found[:5]))
        template_id = str(1_000_000 + len(self.templates) + 1)
        now = "2026-01-01T00:00:00Z"
        self.templates[template_id] = {**body, "id": template_id, "createdAt": now, "updatedAt": now}
        self.template_kinds[template_id] = body["objectType"]
        return _checked_answer("crm.timeline", "TimelineEventTemplate", self.templates[template_id], 201)

    def _store_event(self, event_id: str, kind: str, body: dict[str, Any]) -> dict[str, Any]:
        event = {**body, "id": event_id, "objectType": kind, "timestamp": body.get("timestamp") or _NOW}
        self.timeline[event_id] = event
        return event

    async def timeline_batch(self, request: Request) -> Response:
        """POST /integrators/timeline/v3/events/batch/create. Emulator assumption (HubSpot documents the
        endpoint, not its partial failures): an id the app already used, or an unknown template, is refused on
        its own, the others are created, and the answer is 207 Multi-Status with ``errors[].context.id``."""
        body, refused = await self._body(request, "crm.timeline", "BatchInputTimelineEvent")
        if refused is not None:
            return refused
        inputs = body["inputs"]
        if len(inputs) > EVENTS_MAX:
            return invalid(f"Batch size must be at most {EVENTS_MAX}")
        results, errors = [], []
        for item in inputs:
            event_id = str(item.get("id") or uuid.uuid4())
            kind = self.template_kinds.get(str(item["eventTemplateId"]))
            if event_id in self.timeline or kind is None:
                errors.append(_event_error(event_id, kind is None))
                continue
            results.append(self._store_event(event_id, kind, item))
        answer = _batch(results) | ({"numErrors": len(errors), "errors": errors} if errors else {})
        await self.held()
        model = (
            "BatchResponseTimelineEventResponseWithErrors" if errors else "BatchResponseTimelineEventResponse"
        )
        return _checked_answer("crm.timeline", model, answer, 207 if errors else 201)

    async def app_events_batch(self, request: Request) -> Response:
        """POST /integrators/timeline/v4/events/batch: app event occurrences of the app's approved event types
        (``app_event_types``: fullyQualifiedName → object type). No SDK model: ``_AppEventBatch``; duplicates
        and unknown types answered as the v3 batch does (emulator assumption)."""
        if (refused := self._crm_refusal(request)) is not None:
            return refused
        try:
            inputs = _AppEventBatch.model_validate(await _json(request)).inputs
        except ValidationError as exc:
            return invalid(f"Invalid input JSON: {exc.errors()[:3]}")
        if len(inputs) > EVENTS_MAX:
            return invalid(f"Batch size must be at most {EVENTS_MAX}")
        results, errors = [], []
        for item in inputs:
            event_id = item.id or str(uuid.uuid4())
            kind = self.app_event_types.get(item.eventTypeName)
            if event_id in self.timeline or kind is None:
                errors.append(_event_error(event_id, kind is None))
                continue
            results.append(self._store_event(event_id, kind, item.model_dump(exclude_none=True)))
        answer = _batch(results) | ({"numErrors": len(errors), "errors": errors} if errors else {})
        await self.held()
        return JSONResponse(answer, 207 if errors else 201)

    def events_on(self, kind: str) -> list[dict[str, Any]]:
        """The timeline activities written on ``kind`` (contacts or deals) records."""
        return [e for e in self.timeline.values() if e["objectType"] == kind]

    async def authorize(self, request: Request) -> Response:
        q = request.query_params
        if q.get("client_id") != CLIENT_ID:
            return _error(400, "BAD_CLIENT_ID", "missing or unknown client id")
        return self.redirect_back(q, code=self.new_code(q))

    def _tokens(self, access: str, refresh: str | None) -> JSONResponse:
        body = {"token_type": "bearer", "refresh_token": refresh, "access_token": access}
        return _checked_answer("oauth", "TokenResponseIF", {**body, "expires_in": self.state.expires_in})

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
            grant = self.take_code(form)
            if grant is None:
                return _error(400, "BAD_AUTH_CODE", "missing or unknown auth code")
            return self._tokens(*self.mint(scopes=scopes_in(grant.get("scope", "")) or None))
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
        answer = {
            "token": token,
            "user": "owner@acme.example",
            "hub_domain": "acme.example",
            "scopes": sorted(self.scopes_of_token(token) or ()),
            "hub_id": HUB_ID,
            "app_id": APP_ID,
            "expires_in": 1754,
            "user_id": 123,
            "token_type": "access",
        }
        return _checked_answer("oauth", "AccessTokenInfoResponse", answer)

    async def revoke(self, request: Request) -> Response:
        token = request.path_params["token"]
        if token not in self.state.refresh:
            return _error(404, "error", "refresh token not found")
        self.state.revoked.append(token)
        self.state.refresh.discard(token)
        return no_content()

    async def contacts(self, request: Request) -> Response:
        """GET /crm/v3/objects/contacts (core's authorised-session tests)."""
        if not self.access_ok(bearer(request)):
            return sample("expired_authentication_401")
        return _checked_answer(
            "crm.contacts",
            "CollectionResponseSimplePublicObjectWithAssociationsForwardPaging",
            {"results": []},
        )

    async def list_properties(self, request: Request) -> Response:
        """GET /crm/v3/properties/{objectType} (https://developers.hubspot.com/docs/api/crm/properties)."""
        if (refused := self._crm_refusal(request)) is not None:
            return refused
        answer = {"results": list(self.properties[request.path_params["kind"]].values())}
        return _checked_answer("crm.properties", "CollectionResponsePropertyNoPaging", answer)

    async def create_properties(self, request: Request) -> Response:
        """POST /crm/v3/properties/{objectType}/batch/create; the group must exist."""
        body, refused = await self._body(request, "crm.properties", "BatchInputPropertyCreate")
        if refused is not None:
            return refused
        kind, made = request.path_params["kind"], []
        for item in body["inputs"]:
            if item["groupName"] not in self.groups[kind]:
                return invalid(f"group {item['groupName']} does not exist")
            prop = _prop(
                item["name"], item["label"], item["type"], item["groupName"], item.get("options") or []
            )
            prop["fieldType"] = item["fieldType"]
            self.properties[kind][item["name"]] = prop
            made.append(prop)
        return _checked_answer("crm.properties", "BatchResponseProperty", _batch(made), 201)

    async def groups_route(self, request: Request) -> Response:
        """GET / POST /crm/v3/properties/{objectType}/groups."""
        kind = request.path_params["kind"]
        if request.method == "GET":
            if (refused := self._crm_refusal(request)) is not None:
                return refused
            answer = {"results": list(self.groups[kind].values())}
            return _checked_answer("crm.properties", "CollectionResponsePropertyGroupNoPaging", answer)
        body, refused = await self._body(request, "crm.properties", "PropertyGroupCreate")
        if refused is not None:
            return refused
        group = {"name": body["name"], "label": body["label"], "displayOrder": -1, "archived": False}
        self.groups[kind][body["name"]] = group
        return _checked_answer("crm.properties", "PropertyGroup", group, 201)

    def _refuse(self, request: Request, call: contract.Call | None, why: str) -> Response:
        """The guard's answer: HubSpot's 403 MISSING_SCOPES for a token without the call's scope."""
        self.api_calls.append(f"{request.method} {request.url.path}")
        if call is None:
            return _error(404, "error", f"no HubSpot call {request.method} {request.url.path} is listed")
        return missing_scopes(list(call.scopes))

    def app(self) -> Starlette:
        app = Starlette(
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
                Route("/integrators/timeline/v3/events/batch/create", self.timeline_batch, methods=["POST"]),
                Route("/integrators/timeline/v4/events/batch", self.app_events_batch, methods=["POST"]),
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
            ],
        )
        return contract.guard(app, contract.load("hubspot"), scopes_of=self.scopes_of, refuse=self._refuse)

    def spec_overrides(self) -> dict[str, Any]:
        return {
            "oauth": {
                "authorize_url": f"{self.base}/oauth/authorize",
                "token_url": f"{self.base}/oauth/v1/token",
                "revoke_url": f"{self.base}/oauth/v1/refresh-tokens/{{token}}",
            },
            "api_base_url": self.base,
        }


_NOW = "2026-01-01T00:00:00Z"


def _batch(results: list[Any]) -> dict[str, Any]:
    """A batch answer around ``results``."""
    return {"status": "COMPLETE", "results": results, "startedAt": _NOW, "completedAt": _NOW}


def _event_error(event_id: str, unknown_type: bool) -> dict[str, Any]:
    """One refused occurrence of an events batch: an id already used (CONFLICT) or an unknown type."""
    if unknown_type:
        message, category = (
            f"Event {event_id} names no event template or type of this app",
            "VALIDATION_ERROR",
        )
    else:
        message, category = f"Event with id {event_id} already exists", "CONFLICT"
    context = {"id": [event_id]}
    return {
        "status": "error",
        "category": category,
        "message": message,
        "context": context,
        "links": {},
        "errors": [],
    }


def _search_limits(body: dict[str, Any]) -> str | None:
    """What of a search request is over HubSpot's documented limits (None when nothing)."""
    groups = body.get("filterGroups") or []
    filters = [f for g in groups for f in g.get("filters") or []]
    if int(body.get("limit") or 0) > SEARCH_MAX_LIMIT:
        return f"limit must be at most {SEARCH_MAX_LIMIT}"
    if len(groups) > SEARCH_MAX_GROUPS or len(filters) > SEARCH_MAX_FILTERS:
        return f"at most {SEARCH_MAX_GROUPS} filterGroups and {SEARCH_MAX_FILTERS} filters"
    if any(len(g.get("filters") or []) > SEARCH_MAX_FILTERS_PER_GROUP for g in groups):
        return f"at most {SEARCH_MAX_FILTERS_PER_GROUP} filters per filterGroup"
    if any(len(f.get("values") or []) > SEARCH_MAX_IN for f in filters):
        return f"an IN filter takes at most {SEARCH_MAX_IN} values"
    return None


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
