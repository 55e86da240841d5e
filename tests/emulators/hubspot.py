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

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/oauth/authorize", self.authorize),
                Route("/oauth/v1/token", self.token, methods=["POST"]),
                Route("/oauth/v1/access-tokens/{token}", self.token_info),
                Route("/oauth/v1/refresh-tokens/{token}", self.revoke, methods=["DELETE"]),
                Route("/crm/v3/objects/contacts", self.contacts),
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


@contextmanager
def hubspot_emulator() -> Iterator[HubSpotEmulator]:
    """A running HubSpot emulator."""
    with running(HubSpotEmulator()) as emulator:
        yield emulator
