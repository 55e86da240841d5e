"""A stateful Microsoft identity platform + Graph emulator: delegated auth code with PKCE, admin consent,
client credentials, rotating refresh tokens, GET /v1.0/organization.

Wire format after learn.microsoft.com/en-us/entra/identity-platform: v2-oauth2-auth-code-flow (token answers
with ``ext_expires_in``; errors ``{"error", "error_description": "AADSTS…", "error_codes", "timestamp",
"trace_id", "correlation_id"}``), v2-admin-consent (redirect ``?admin_consent=True&tenant=…&state=…``),
v2-oauth2-client-creds-grant-flow (``scope=https://graph.microsoft.com/.default``, no refresh token); and
Graph's 401 ``{"error": {"code": "InvalidAuthenticationToken", …}}``. Refresh tokens are replaced on every
use; the docs let the old one live on a while, this emulator revokes it at once (the strictest reading).

Every token remembers what it grants: a delegated token the ``scope`` its authorize request asked for, an
app-only token the application permissions (``roles``) the admin consented to, read at mint time from
``config/providers/teams.yaml`` ``settings.permissions``. Both apps wear the contract guard:
``tests/contracts/microsoft/calls.yaml`` (identity platform) and ``tests/contracts/graph/calls.yaml`` (Graph
under ``/v1.0``), which refuses an unlisted call and a listed one whose token lacks its permission (403
``Forbidden``, Graph's error body).
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import yaml
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route

from config import CONFIG_DIR
from tests.emulators import contract
from tests.emulators.oauth import OAuthEmulator, bearer, form_of, running, scopes_in

CLIENT_ID = "00001111-aaaa-2222-bbbb-3333cccc4444"
CLIENT_SECRET = "ms-client-secret-do-not-log"
TENANT_ID = "aaaabbbb-0000-cccc-1111-dddd2222eeee"
GRAPH_DEFAULT = "https://graph.microsoft.com/.default"


def app_permissions() -> frozenset[str]:
    """The application permissions an admin consents to: teams.yaml ``settings.permissions``, read now."""
    spec = yaml.safe_load((CONFIG_DIR / "providers" / "teams.yaml").read_text())
    return frozenset(spec.get("settings", {}).get("permissions") or [])


def graph_error(status: int, code: str, message: str) -> JSONResponse:
    """Graph's error body (https://learn.microsoft.com/en-us/graph/errors)."""
    inner = {
        "date": "2026-01-01T00:00:00",
        "request-id": str(uuid.uuid4()),
        "client-request-id": str(uuid.uuid4()),
    }
    return JSONResponse(
        {"error": {"code": code, "message": message, "innerError": inner}}, status_code=status
    )


def _error(status: int, error: str, code: int, text: str) -> JSONResponse:
    return JSONResponse(
        {
            "error": error,
            "error_description": f"AADSTS{code}: {text}",
            "error_codes": [code],
            "timestamp": "2026-01-01 00:00:00Z",
            "trace_id": str(uuid.uuid4()),
            "correlation_id": str(uuid.uuid4()),
        },
        status_code=status,
    )


class MicrosoftEmulator(OAuthEmulator):
    """login.microsoftonline.com and graph.microsoft.com in one server."""

    key = "microsoft"
    client_id = CLIENT_ID
    client_secret = CLIENT_SECRET
    rotates = True
    access_prefix = "eyJ0eXAi."
    refresh_prefix = "0.AXoA."

    def __init__(self) -> None:
        super().__init__()
        self.admin_tenant = TENANT_ID  # the tenant of whoever signs in or consents
        self.consented: set[str] = set()
        self.tenants_seen: list[str] = []

    async def authorize(self, request: Request) -> Response:
        q = request.query_params
        if q.get("client_id") != CLIENT_ID or q.get("response_type") != "code":
            return _error(
                400, "unauthorized_client", 700016, f"Application with identifier '{q.get('client_id')}'"
            )
        self.tenants_seen.append(request.path_params["tenant"])
        return self.redirect_back(q, code=self.new_code(q, scope=q.get("scope", "")))

    async def adminconsent(self, request: Request) -> Response:
        q = request.query_params
        if q.get("client_id") != CLIENT_ID:
            return _error(400, "unauthorized_client", 700016, "Application not found")
        self.consented.add(self.admin_tenant)
        return self.redirect_back(q, admin_consent="True", tenant=self.admin_tenant, scope=q.get("scope", ""))

    def _body(self, access: str, refresh: str | None, scope: str) -> dict[str, Any]:
        body: dict[str, Any] = {
            "token_type": "Bearer",
            "scope": scope,
            "expires_in": self.state.expires_in,
            "ext_expires_in": self.state.expires_in,
            "access_token": access,
        }
        if refresh:
            body["refresh_token"] = refresh
        return body

    def _by_code(self, form: dict[str, str]) -> Response:
        grant = self.take_code(form)
        if grant is None:
            return _error(
                400, "invalid_grant", 70000, "The provided authorization code or refresh token is invalid"
            )
        access, refresh = self.mint(scopes=scopes_in(grant["scope"]))
        return JSONResponse(self._body(access, refresh, grant["scope"]))

    def _by_refresh(self, form: dict[str, str]) -> Response:
        with self.state.lock:
            token = form.get("refresh_token", "")
            if not self.use_refresh(token):
                return _error(
                    400, "invalid_grant", 700082, "The refresh token has expired due to inactivity."
                )
            access, refresh = self.mint(token)  # the grant's scopes again
            scope = " ".join(sorted(self.state.scopes.get(access, frozenset())))
            return JSONResponse(self._body(access, refresh, scope))

    def _by_client(self, tenant: str, form: dict[str, str]) -> Response:
        if form.get("scope") != GRAPH_DEFAULT:
            return _error(400, "invalid_scope", 1002012, "The provided value for scope is not valid.")
        if tenant not in self.consented:
            return _error(
                400, "unauthorized_client", 700016, f"Application was not found in the directory '{tenant}'"
            )
        with self.state.lock:
            self.state.refresh_calls += 1
            # an app-only token's ``roles``: the application permissions the admin consented to
            access, _ = self.mint(with_refresh=False, scopes=app_permissions())
        return JSONResponse(self._body(access, None, ""))

    async def token(self, request: Request) -> Response:
        form = form_of(await request.form())
        if form.get("client_id") != CLIENT_ID or form.get("client_secret") != CLIENT_SECRET:
            return _error(401, "invalid_client", 7000215, "Invalid client secret provided.")
        if self.throttled():
            return JSONResponse(
                {"error": "temporarily_unavailable"}, status_code=429, headers={"Retry-After": "7"}
            )
        await self.delay()
        grant = form.get("grant_type")
        if grant == "authorization_code":
            return self._by_code(form)
        if grant == "refresh_token":
            return self._by_refresh(form)
        if grant == "client_credentials":
            return self._by_client(request.path_params["tenant"], form)
        return _error(400, "unsupported_grant_type", 70003, "The app requested an unsupported grant type")

    async def organization(self, request: Request) -> Response:
        if not self.access_ok(bearer(request)):
            return graph_error(
                401, "InvalidAuthenticationToken", "Access token has expired or is not yet valid."
            )
        return JSONResponse({"value": [{"id": self.admin_tenant, "displayName": "Contoso"}]})

    async def user(self, request: Request) -> Response:
        """GET /users/{uid}: what an app-only connection may read (User.Read.All)."""
        if not self.access_ok(bearer(request)):
            return graph_error(
                401, "InvalidAuthenticationToken", "Access token has expired or is not yet valid."
            )
        return JSONResponse({"id": request.path_params["uid"], "displayName": "Adele Vance"})

    # contract guard ---------------------------------------------------------------------------

    def scopes_of(self, request: Request) -> frozenset[str] | None:
        """What the request's token grants (None: no live token, the route answers its own 401)."""
        token = bearer(request)
        return self.scopes_of_token(token) if self.access_ok(token) else None

    @staticmethod
    def refuse_graph(request: Request, call: contract.Call | None, why: str) -> Response:
        """Graph's 403 for a token without the call's permission; 400 for an unlisted call."""
        if call is None:
            return graph_error(400, "BadRequest", f"Resource not found for the segment '{request.url.path}'.")
        need = "', '".join(call.scopes)
        return graph_error(
            403, "Forbidden", f"Missing role permissions on the request. API requires one of '{need}'."
        )

    def graph_routes(self) -> list[Route]:
        """The Graph routes under ``/v1.0``."""
        return [Route("/organization", self.organization), Route("/users/{uid}", self.user)]

    def app(self) -> Starlette:
        graph = Starlette(routes=self.graph_routes())
        contract.guard(
            graph, contract.load("graph"), scopes_of=self.scopes_of, refuse=self.refuse_graph, prefix="/v1.0"
        )
        identity = Starlette(
            routes=[
                Route("/{tenant}/oauth2/v2.0/authorize", self.authorize),
                Route("/{tenant}/v2.0/adminconsent", self.adminconsent),
                Route("/{tenant}/oauth2/v2.0/token", self.token, methods=["POST"]),
                Mount("/v1.0", graph),
            ]
        )
        return contract.guard(
            identity, contract.load("microsoft"), scopes_of=lambda r: None, open_paths=("/v1.0/",)
        )

    def spec_overrides(self) -> dict[str, Any]:
        return {
            "oauth": {
                "authorize_url": f"{self.base}/{{tenant}}/oauth2/v2.0/authorize",
                "token_url": f"{self.base}/{{tenant}}/oauth2/v2.0/token",
                "client_credentials": {
                    "consent_url": f"{self.base}/{{tenant}}/v2.0/adminconsent",
                    "scopes": [GRAPH_DEFAULT],
                    "param": "tenant",
                },
            },
            "api_base_url": f"{self.base}/v1.0",
        }

    def new_admin_tenant(self) -> str:
        """Whoever signs in next belongs to another organisation."""
        self.admin_tenant = str(uuid.UUID(bytes=secrets.token_bytes(16)))
        return self.admin_tenant


@contextmanager
def microsoft_emulator() -> Iterator[MicrosoftEmulator]:
    """A running Microsoft emulator."""
    with running(MicrosoftEmulator()) as emulator:
        yield emulator
