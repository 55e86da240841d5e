"""The OAuth 2.0 authorization server's HTTP side: metadata (RFC 8414), the login and consent page,
token, revocation (RFC 7009) and introspection (RFC 7662) endpoints, and client and user registration by
tenant admins (``admin`` scope). The protocol itself is authlib's (``core.oauth.server``).
"""

from __future__ import annotations

import base64
import hashlib
import html
import ipaddress
from typing import Annotated, Any
from urllib.parse import unquote, urlsplit

from authlib.oauth2 import OAuth2Error
from fastapi import APIRouter, Depends, FastAPI, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from pydantic import BaseModel, Field, field_validator
from starlette.concurrency import run_in_threadpool
from starlette.requests import HTTPConnection

from core.api.deps import HomeRuntime, TenantId
from core.api.https import parse_networks
from core.api.problems import problem
from core.api.ratelimit import charge_anonymous
from core.api.scopes import ADMIN, SCOPES, parse_scopes
from core.oauth.csrf import CSRF_COOKIE, CsrfFailed, check_csrf, issue_csrf
from core.oauth.server import EchoDepthAuthorizationServer, FormRequest
from core.oauth.store import OAuthStore
from core.runtime import Runtime
from core.settings import Settings
from core.storage.oauth_models import User

__all__ = ["router", "install_oauth"]

router = APIRouter(tags=["oauth"])
_PROBLEM: dict[str, Any] = {"content": {"application/problem+json": {}}}
_AUTH_PARAMS = (
    "response_type",
    "client_id",
    "redirect_uri",
    "scope",
    "state",
    "code_challenge",
    "code_challenge_method",
)
_PAGE_HEADERS = {
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'",
}


def _server(connection: HTTPConnection, home: HomeRuntime) -> EchoDepthAuthorizationServer:
    """The app's authorization server over the home database, built on first use and kept by the app."""
    server: EchoDepthAuthorizationServer | None = getattr(connection.app.state, "oauth_server", None)
    if server is None:
        server = EchoDepthAuthorizationServer(OAuthStore(home.db), home.settings)
        connection.app.state.oauth_server = server
    return server


OAuthServer = Annotated[EchoDepthAuthorizationServer, Depends(_server)]


async def _form_request(request: Request, extra: dict[str, str] | None = None) -> FormRequest:
    form = {k: str(v) for k, v in (await request.form()).items()} if request.method == "POST" else {}
    return FormRequest(
        request.method, str(request.url), request.headers, request.query_params, {**form, **(extra or {})}
    )


def _send(answer: tuple[int, Any, Any]) -> Response:
    status, body, headers = answer
    headers = dict(headers or [])
    if status in (301, 302, 303, 307) and "Location" in headers:
        return RedirectResponse(headers["Location"], status_code=302)
    if isinstance(body, dict):
        return JSONResponse(body, status_code=status, headers=headers)
    return Response(body or b"", status_code=status, headers=headers)


# rate limits -----------------------------------------------------------------------------------


def _client_ip(request: Request, settings: Settings) -> str:
    """The caller's address: the peer, or behind trusted proxies the ``X-Forwarded-For`` hop before them."""
    peer = request.client.host if request.client else "unknown"
    proxies = parse_networks(settings.trusted_proxies)
    hops = [h.strip() for h in request.headers.get("x-forwarded-for", "").split(",") if h.strip()]
    for address in [peer, *reversed(hops)]:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return address
        if not any(ip in net for net in proxies):
            return address
    return peer


def _client_id(request: Request, form: dict[str, str]) -> str | None:
    """The ``client_id`` a request names: query, form, or HTTP Basic client authentication."""
    found = request.query_params.get("client_id") or form.get("client_id")
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if not found and scheme.lower() == "basic":
        try:
            found = unquote(base64.b64decode(value.strip()).decode().partition(":")[0])
        except ValueError:
            found = None
    return hashlib.sha256(found.encode()).hexdigest()[:32] if found else None


async def limit_oauth(request: Request, home: HomeRuntime) -> None:
    """Spend one request of the caller IP's and the client's ``/oauth/*`` buckets; 429 when one is empty."""
    settings = home.settings
    form = {k: str(v) for k, v in (await request.form()).items()} if request.method == "POST" else {}
    buckets = [(f"oauth:ip:{_client_ip(request, settings)}", settings.oauth_rate_limit_per_ip_per_minute)]
    client = _client_id(request, form)
    if client is not None:
        buckets.append((f"oauth:client:{client}", settings.oauth_rate_limit_per_client_per_minute))
    await run_in_threadpool(charge_anonymous, request, [(k, n) for k, n in buckets if n])


Limited = [Depends(limit_oauth)]


# metadata --------------------------------------------------------------------------------------


@router.get("/.well-known/oauth-authorization-server")
def metadata(home: HomeRuntime) -> dict[str, Any]:
    """Authorization server metadata (RFC 8414)."""
    base = home.settings.public_url.rstrip("/")
    return {
        "issuer": base,
        "authorization_endpoint": f"{base}/oauth/authorize",
        "token_endpoint": f"{base}/oauth/token",
        "revocation_endpoint": f"{base}/oauth/revoke",
        "introspection_endpoint": f"{base}/oauth/introspect",
        "scopes_supported": list(SCOPES),
        "response_types_supported": ["code"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "revocation_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "introspection_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "code_challenge_methods_supported": ["S256"],
        "service_documentation": f"{base}/docs",
    }


# login and consent -----------------------------------------------------------------------------


def _page(title: str, body: str, status: int = 200) -> HTMLResponse:
    doc = (
        "<!doctype html><html lang=en><head><meta charset=utf-8><title>EchoDepth – "
        f"{html.escape(title)}</title><style>body{{font-family:sans-serif;max-width:28rem;margin:3rem auto}}"
        "label{display:block;margin:.6rem 0}</style></head><body>"
        f"<h1>{html.escape(title)}</h1>{body}</body></html>"
    )
    return HTMLResponse(doc, status_code=status, headers=_PAGE_HEADERS)


def _consent_form(
    params: dict[str, str], client_name: str, csrf_token: str, error: str | None = None
) -> HTMLResponse:
    fields = {**params, "csrf_token": csrf_token}
    hidden = "".join(
        f'<input type=hidden name="{k}" value="{html.escape(v)}">' for k, v in fields.items() if v
    )
    scopes = "".join(f"<li><code>{html.escape(s)}</code></li>" for s in params.get("scope", "").split())
    problem = f'<p role=alert style="color:#b00">{html.escape(error)}</p>' if error else ""
    body = (
        f"<p><strong>{html.escape(client_name)}</strong> asks to act for you with:</p><ul>{scopes}</ul>"
        f"{problem}<form method=post action=/oauth/authorize>{hidden}"
        "<label>Email <input name=email type=email autocomplete=username required></label>"
        "<label>Password <input name=password type=password autocomplete=current-password required></label>"
        "<button name=decision value=allow>Sign in and allow</button> "
        "<button name=decision value=deny formnovalidate>Deny</button></form>"
    )
    return _page("Sign in to authorise", body, 401 if error else 200)


def _auth_params(request: FormRequest) -> dict[str, str]:
    data = request.payload.data
    return {k: str(data[k]) for k in _AUTH_PARAMS if data.get(k)}


def _binding(params: dict[str, str]) -> tuple[str, str]:
    """What a CSRF token is bound to besides the browser: the client and where the code goes."""
    return params.get("client_id", ""), params.get("redirect_uri", "")


def _consent_page(
    request: Request, rt: Runtime, params: dict[str, str], client_name: str, error: str | None = None
) -> HTMLResponse:
    """The form with a fresh CSRF token, and its nonce in a strict cookie scoped to this endpoint."""
    ttl = rt.settings.oauth_csrf_ttl_seconds
    nonce, token = issue_csrf(rt.vault.ring, _binding(params), ttl)
    page = _consent_form(params, client_name, token, error)
    secure = request.url.scheme == "https"
    page.set_cookie(
        CSRF_COOKIE,
        nonce,
        max_age=ttl,
        path="/oauth/authorize",
        secure=secure,
        httponly=True,
        samesite="strict",
    )
    return page


def _spend_csrf(request: Request, rt: Runtime, req: FormRequest, params: dict[str, str]) -> None:
    """Check the POST's CSRF token against its cookie and request, then spend it (single use)."""
    nonce = request.cookies.get(CSRF_COOKIE)
    check_csrf(rt.vault.ring, req.form.get("csrf_token"), nonce, _binding(params))
    assert nonce is not None  # check_csrf refused a missing one
    if not rt.connections.store.spend_state(f"csrf:{nonce}"):
        raise CsrfFailed("this sign-in form was already submitted; reload the page")


@router.get("/oauth/authorize", response_class=HTMLResponse, include_in_schema=False, dependencies=Limited)
async def authorize_page(request: Request, home: HomeRuntime, server: OAuthServer) -> Response:
    """The login and consent page for an authorization request (code flow, PKCE)."""
    req = await _form_request(request)
    try:
        grant = await run_in_threadpool(server.get_consent_grant, req)
    except OAuth2Error as exc:
        return _page(
            "This sign-in link is not valid", f"<p>{html.escape(exc.description or exc.error)}</p>", 400
        )
    return _consent_page(request, home, _auth_params(req), grant.client.row.name)


@router.post("/oauth/authorize", include_in_schema=False, dependencies=Limited)
async def authorize_decision(request: Request, home: HomeRuntime, server: OAuthServer) -> Response:
    """Check the password, then redirect back with a code (allow) or ``access_denied`` (deny)."""
    req = await _form_request(request)
    try:
        grant = await run_in_threadpool(server.get_consent_grant, req)
    except OAuth2Error as exc:
        return _page(
            "This sign-in link is not valid", f"<p>{html.escape(exc.description or exc.error)}</p>", 400
        )
    params, client = _auth_params(req), grant.client.row
    try:
        await run_in_threadpool(_spend_csrf, request, home, req, params)
    except CsrfFailed as exc:
        return problem(403, exc.code, exc.message)
    if req.form.get("decision") != "allow":
        return _decided(
            _send(await run_in_threadpool(server.create_authorization_response, req, None, grant))
        )
    user = await run_in_threadpool(
        server.store.check_password, req.form.get("email", ""), req.form.get("password", "")
    )
    if user is None or user.tenant_id != client.tenant_id:
        return _consent_page(request, home, params, client.name, "wrong email or password")
    granted = _granted(params.get("scope", ""), user)
    narrowed = FormRequest("POST", str(request.url), request.headers, {}, {**req.form, "scope": granted})
    grant = await run_in_threadpool(server.get_consent_grant, narrowed)
    return _decided(
        _send(await run_in_threadpool(server.create_authorization_response, narrowed, user, grant))
    )


def _decided(response: Response) -> Response:
    """The answer to an allow or deny, with the spent CSRF cookie removed."""
    response.delete_cookie(CSRF_COOKIE, path="/oauth/authorize")
    return response


def _granted(requested: str, user: User) -> str:
    """The requested scopes the user may grant (a user without ``admin`` cannot hand it out)."""
    return " ".join(s for s in requested.split() if s in user.scopes)


# token, revocation, introspection --------------------------------------------------------------


@router.post("/oauth/token", include_in_schema=False, dependencies=Limited)
async def token(request: Request, server: OAuthServer) -> Response:
    """The token endpoint: ``authorization_code`` (with PKCE) and ``refresh_token`` (rotated)."""
    return _send(await run_in_threadpool(server.create_token_response, await _form_request(request)))


@router.post("/oauth/revoke", include_in_schema=False, dependencies=Limited)
async def revoke(request: Request, server: OAuthServer) -> Response:
    """RFC 7009: revoke an access token, or a refresh token with every token of its grant."""
    req = await _form_request(request)
    return _send(await run_in_threadpool(server.create_endpoint_response, "revocation", req))


@router.post("/oauth/introspect", include_in_schema=False, dependencies=Limited)
async def introspect(request: Request, server: OAuthServer) -> Response:
    """RFC 7662: whether a token is active, with its scope, client and subject (confidential clients)."""
    req = await _form_request(request)
    return _send(await run_in_threadpool(server.create_endpoint_response, "introspection", req))


# registration by tenant admins -----------------------------------------------------------------


def _check_redirect_uri(uri: str) -> str:
    parts = urlsplit(uri)
    if parts.fragment or not parts.hostname or parts.scheme not in ("https", "http"):
        raise ValueError(f"{uri!r} is not an absolute http(s) URI without a fragment")
    if parts.scheme == "http":
        try:
            loopback = parts.hostname == "localhost" or ipaddress.ip_address(parts.hostname).is_loopback
        except ValueError:
            loopback = False
        if not loopback:
            raise ValueError(f"{uri!r}: plain http only for loopback redirects (RFC 8252 §7.3)")
    return uri


class ClientIn(BaseModel):
    """POST /v1/oauth/clients."""

    name: str = Field(min_length=1, max_length=200)
    redirect_uris: list[str] = Field(min_length=1, max_length=10)
    public: bool = Field(
        default=False, description="true for apps that cannot keep a secret (PKCE S256 required)"
    )
    scopes: list[str] = Field(default_factory=lambda: [s for s in SCOPES if s != ADMIN])

    @field_validator("redirect_uris")
    @classmethod
    def _uris(cls, value: list[str]) -> list[str]:
        return [_check_redirect_uri(u) for u in value]


class ClientOut(BaseModel):
    """A registered client; ``client_secret`` is shown once (null for public clients)."""

    client_id: str
    client_secret: str | None
    name: str
    redirect_uris: list[str]
    public: bool
    scopes: list[str]


class UserIn(BaseModel):
    """POST /v1/oauth/users."""

    email: str = Field(min_length=3, max_length=320, pattern=r"^[^@\s]+@[^@\s]+$")
    password: str = Field(min_length=8, max_length=1024)
    scopes: list[str] | None = Field(
        default=None, description="what the user may grant; default all but admin"
    )


class UserOut(BaseModel):
    """A tenant user (never the password)."""

    id: str
    email: str
    scopes: list[str]


@router.post(
    "/v1/oauth/clients", status_code=201, response_model=ClientOut, responses={403: _PROBLEM, 422: _PROBLEM}
)
def register_client(body: ClientIn, tenant_id: TenantId, server: OAuthServer) -> ClientOut:
    """Register an application that asks the tenant's users for access (authorization code + PKCE)."""
    store = server.store
    made = store.register_client(
        tenant_id, body.name, body.redirect_uris, body.public, parse_scopes(body.scopes)
    )
    c = made.client
    return ClientOut(
        client_id=c.client_id,
        client_secret=made.client_secret,
        name=c.name,
        redirect_uris=c.redirect_uris,
        public=c.public,
        scopes=c.scopes,
    )


@router.post(
    "/v1/oauth/users", status_code=201, response_model=UserOut, responses={403: _PROBLEM, 409: _PROBLEM}
)
def create_user(body: UserIn, tenant_id: TenantId, server: OAuthServer) -> UserOut:
    """Add a user who signs in on the consent page (password stored as an argon2 hash)."""
    scopes = parse_scopes(body.scopes) if body.scopes is not None else None
    user = server.store.create_user(tenant_id, body.email, body.password, scopes)
    return UserOut(id=user.id, email=user.email, scopes=user.scopes)


def install_oauth(app: FastAPI) -> None:
    """The OAuth routes (the server is built on first use, from the app's runtime)."""
    app.include_router(router)
