"""A stateful Salesforce OAuth emulator: the web server flow with PKCE on several login hosts (production,
sandbox, My Domain, served here as path prefixes), refresh, revoke, the identity URL, and one REST call.

Wire format after the Salesforce help pages "OAuth 2.0 Web Server Flow", "OAuth 2.0 Refresh Token Flow" and
"Revoke OAuth Tokens": token answers carry ``access_token, refresh_token (code grant only), signature, scope,
instance_url, id, token_type, issued_at`` and no ``expires_in``; errors ``{"error": "invalid_grant",
"error_description": "expired access/refresh token"}``; an invalid session makes the REST API answer 401
``[{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]``.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.emulators.oauth import OAuthEmulator, bearer, form_of, running

CLIENT_ID = "3MVG9sf-consumer-key"
CLIENT_SECRET = "sf-consumer-secret-do-not-log"
ORG_ID = "00Dxx0000001gEREAY"
USER_ID = "005xx000001Sv6AAAS"
MY_DOMAIN = "acme.my.salesforce.com"


def _error(status: int, error: str, description: str) -> JSONResponse:
    return JSONResponse({"error": error, "error_description": description}, status_code=status)


class SalesforceEmulator(OAuthEmulator):
    """login/test/My Domain hosts (``/login``, ``/test``, ``/mydomain/<host>``) and one org instance."""

    key = "salesforce"
    client_id = CLIENT_ID
    client_secret = CLIENT_SECRET
    rotates = False
    access_prefix = f"{ORG_ID}!AR"
    refresh_prefix = "5Aep861"

    def __init__(self) -> None:
        super().__init__()
        self.state.expires_in = None  # sessions end server-side; the API then answers INVALID_SESSION_ID
        self.revoke_hosts: list[str] = []

    async def authorize(self, request: Request) -> Response:
        q = request.query_params
        if q.get("client_id") != CLIENT_ID or q.get("response_type") != "code":
            return _error(400, "invalid_client_id", "client identifier invalid")
        return self.redirect_back(q, code=self.new_code(q, host=request.path_params["host"]))

    def _body(self, access: str, refresh: str | None) -> dict[str, Any]:
        body: dict[str, Any] = {
            "access_token": access,
            "signature": secrets.token_urlsafe(32),
            "scope": "refresh_token api",
            "instance_url": f"{self.base}/instance",
            "id": f"{self.base}/id/{ORG_ID}/{USER_ID}",
            "token_type": "Bearer",
            "issued_at": str(int(time.time() * 1000)),
        }
        if refresh:
            body["refresh_token"] = refresh
        return body

    async def token(self, request: Request) -> Response:
        form = form_of(await request.form())
        if form.get("client_id") != CLIENT_ID or form.get("client_secret") != CLIENT_SECRET:
            return _error(400, "invalid_client", "invalid client credentials")
        if self.throttled():
            return JSONResponse(
                [{"message": "Too many requests", "errorCode": "REQUEST_LIMIT_EXCEEDED"}],
                status_code=503,
                headers={"Retry-After": "3"},
            )
        await self.delay()
        self.state.token_hosts.append(request.path_params["host"])
        if form.get("grant_type") == "authorization_code":
            grant = self.take_code(form)
            if grant is None or grant["host"] != request.path_params["host"]:
                return _error(400, "invalid_grant", "authentication failure")
            access, refresh = self.mint()
            return JSONResponse(self._body(access, refresh))
        if form.get("grant_type") == "refresh_token":
            with self.state.lock:
                token = form.get("refresh_token", "")
                if not self.use_refresh(token):
                    return _error(400, "invalid_grant", "expired access/refresh token")
                access, _ = self.mint(token)
                return JSONResponse(self._body(access, None))  # no refresh token on refresh
        return _error(400, "unsupported_grant_type", "grant type not supported")

    async def revoke(self, request: Request) -> Response:
        token = str((await request.form()).get("token", ""))
        self.revoke_hosts.append(request.path_params["host"])
        if token not in self.state.refresh and token not in self.state.access:
            return _error(400, "invalid_token", "invalid token")
        self.state.revoked.append(token)
        self.state.refresh.discard(token)
        self.expire_access()  # revoking the refresh token also revokes its access tokens
        return Response(status_code=200)

    async def identity(self, request: Request) -> Response:
        if not self.access_ok(bearer(request)):
            return Response("Bad_OAuth_Token", status_code=403)
        org, user = request.path_params["org"], request.path_params["user"]
        return JSONResponse(
            {
                "id": f"{self.base}/id/{org}/{user}",
                "organization_id": org,
                "user_id": user,
                "username": "admin@acme.example",
                "display_name": "Acme Admin",
                "urls": {"rest": f"{self.base}/instance/services/data/v{{version}}/"},
            }
        )

    async def limits(self, request: Request) -> Response:
        if not self.access_ok(bearer(request)):
            return JSONResponse(
                [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}],
                status_code=401,
            )
        body = {"DailyApiRequests": {"Max": 15000, "Remaining": 14998}}
        return JSONResponse(body, headers={"Sforce-Limit-Info": "api-usage=2/15000"})

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/{host:path}/services/oauth2/authorize", self.authorize),
                Route("/{host:path}/services/oauth2/token", self.token, methods=["POST"]),
                Route("/{host:path}/services/oauth2/revoke", self.revoke, methods=["POST"]),
                Route("/id/{org}/{user}", self.identity),
                Route("/instance/services/data/v62.0/limits", self.limits),
            ]
        )

    def spec_overrides(self) -> dict[str, Any]:
        return {
            "oauth": {
                "params": {
                    "host": {
                        "default": "login",
                        "choices": {"login": f"{self.base}/login", "test": f"{self.base}/test"},
                        "pattern": r"^[a-z0-9-]+\.my\.salesforce\.com$",
                        "template": f"{self.base}/mydomain/{{}}",
                    }
                }
            }
        }


@contextmanager
def salesforce_emulator() -> Iterator[SalesforceEmulator]:
    """A running Salesforce emulator."""
    with running(SalesforceEmulator()) as emulator:
        yield emulator
