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

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.emulators.oauth import OAuthEmulator, bearer, form_of, no_content, running

CLIENT_ID = "5fd8b2e0-hubspot-client"
CLIENT_SECRET = "hubspot-client-secret-do-not-log"
HUB_ID = 62515


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
        return None

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
            if _matches({**p, "hs_object_id": i}, body.get("filterGroups") or [])
        ]
        limit = int(body.get("limit") or 10)
        return JSONResponse({"total": len(found), "results": [self._object(kind, i) for i in found[:limit]]})

    async def batch_update(self, request: Request) -> Response:
        """POST /crm/v3/objects/{type}/batch/update (at most 100 inputs)."""
        if (refused := self._crm_refusal(request)) is not None:
            return refused
        kind, inputs = request.path_params["kind"], (await request.json()).get("inputs") or []
        if len(inputs) > 100:
            return _error(400, "error", "Batch size must be at most 100", category="VALIDATION_ERROR")
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

    async def associations_read(self, request: Request) -> Response:
        """POST /crm/v4/associations/contacts/deals/batch/read (contact → deal, type 4)."""
        if (refused := self._crm_refusal(request)) is not None:
            return refused
        results = []
        for item in (await request.json())["inputs"]:
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
        return JSONResponse(event)

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
            routes=[
                Route("/oauth/authorize", self.authorize),
                Route("/oauth/v1/token", self.token, methods=["POST"]),
                Route("/oauth/v1/access-tokens/{token}", self.token_info),
                Route("/oauth/v1/refresh-tokens/{token}", self.revoke, methods=["DELETE"]),
                Route("/crm/v3/objects/contacts", self.contacts),
                Route("/crm/v3/objects/{kind:str}/search", self.search, methods=["POST"]),
                Route("/crm/v3/objects/{kind:str}/batch/update", self.batch_update, methods=["POST"]),
                Route("/integrators/timeline/v3/events", self.timeline_event, methods=["POST"]),
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


def _matches(props: dict[str, str], groups: list[dict[str, Any]]) -> bool:
    """HubSpot search semantics: filters AND within a group, groups OR; EQ and IN only."""
    for group in groups:
        ok = True
        for f in group.get("filters") or []:
            have = props.get(f["propertyName"], "").lower()
            values = [str(v).lower() for v in f.get("values") or [f.get("value", "")]]
            ok = ok and have in values
        if ok:
            return True
    return not groups


@contextmanager
def hubspot_emulator() -> Iterator[HubSpotEmulator]:
    """A running HubSpot emulator."""
    with running(HubSpotEmulator()) as emulator:
        yield emulator
