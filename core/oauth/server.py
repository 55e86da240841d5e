"""The authlib authorization server over ``OAuthStore``: authorization code + PKCE, rotating refresh tokens
with reuse detection, revocation (RFC 7009) and introspection (RFC 7662).

authlib has no Starlette server integration, so ``FormRequest`` carries what authlib reads (method, URL,
headers, query and form) and the routes in ``core.api.oauth`` run the server in a worker thread.
"""

from __future__ import annotations

import secrets
import time
from collections import defaultdict
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from authlib.oauth2 import AuthorizationServer
from authlib.oauth2.rfc6749 import (
    AuthorizationCodeMixin,
    ClientMixin,
    InvalidRequestError,
    OAuth2Payload,
    OAuth2Request,
    TokenMixin,
)
from authlib.oauth2.rfc6749.grants import AuthorizationCodeGrant, RefreshTokenGrant
from authlib.oauth2.rfc6750 import BearerTokenGenerator
from authlib.oauth2.rfc7009 import RevocationEndpoint
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oauth2.rfc7662 import IntrospectionEndpoint

from core.oauth.store import ACCESS_PREFIX, REFRESH_PREFIX, OAuthStore, digest
from core.settings import Settings
from core.storage.models import utcnow
from core.storage.oauth_models import OAuthClient, OAuthCode, OAuthToken, User
from core.storage.scopes import SCOPES

__all__ = ["EchoDepthAuthorizationServer", "FormRequest", "ClientModel"]

_CLIENT_AUTH = ["client_secret_basic", "client_secret_post", "none"]


class _Payload(OAuth2Payload):
    def __init__(self, query: Mapping[str, str], form: Mapping[str, str]) -> None:
        self._data = {**query, **form}

    @property
    def data(self) -> dict[str, str]:
        return self._data

    @property
    def datalist(self) -> defaultdict[str, list[str]]:
        out: defaultdict[str, list[str]] = defaultdict(list)
        for key, value in self._data.items():
            out[key].append(value)
        return out


class FormRequest(OAuth2Request):
    """One HTTP request as authlib reads it."""

    def __init__(
        self,
        method: str,
        uri: str,
        headers: Mapping[str, str],
        query: Mapping[str, str],
        form: Mapping[str, str],
    ) -> None:
        super().__init__(method=method, uri=uri, headers=headers)
        self._query = dict(query)
        self._form = dict(form)
        self.payload = _Payload(query, form)

    @property
    def args(self) -> dict[str, str]:
        return self._query

    @property
    def form(self) -> dict[str, str]:
        return self._form


class ClientModel(ClientMixin):
    """authlib's view of an ``OAuthClient`` row."""

    def __init__(self, row: OAuthClient) -> None:
        self.row = row

    def get_client_id(self) -> str:
        return self.row.client_id

    def get_default_redirect_uri(self) -> str | None:
        return self.row.redirect_uris[0] if self.row.redirect_uris else None

    def get_allowed_scope(self, scope: str) -> str:
        return " ".join(s for s in (scope or "").split() if s in self.row.scopes)

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return redirect_uri in self.row.redirect_uris

    def check_client_secret(self, client_secret: str) -> bool:
        return self.row.secret_hash is not None and secrets.compare_digest(
            self.row.secret_hash, digest(client_secret)
        )

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return (method == "none") == self.row.public

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code"

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type in ("authorization_code", "refresh_token")


class _Code(AuthorizationCodeMixin):
    def __init__(self, row: OAuthCode) -> None:
        self.row = row

    def get_redirect_uri(self) -> str:
        return self.row.redirect_uri

    def get_scope(self) -> str:
        return self.row.scope


class _Token(TokenMixin):
    def __init__(self, row: OAuthToken, is_refresh: bool) -> None:
        self.row = row
        self.is_refresh = is_refresh

    def check_client(self, client: ClientModel) -> bool:
        return bool(self.row.client_id == client.get_client_id())

    def get_scope(self) -> str:
        return self.row.scope

    def get_expires_in(self) -> int:
        end = self.row.refresh_expires_at if self.is_refresh else self.row.access_expires_at
        return max(0, int(((end or utcnow()) - utcnow()).total_seconds()))

    def is_expired(self) -> bool:
        end = self.row.refresh_expires_at if self.is_refresh else self.row.access_expires_at
        return end is None or end <= utcnow()

    def is_revoked(self) -> bool:
        return self.row.revoked_at is not None or (self.is_refresh and self.row.rotated_at is not None)


class _S256Only(CodeChallenge):
    """PKCE with S256 only, required of public clients (OAuth 2.1 / RFC 9700 §2.1.1)."""

    SUPPORTED_CODE_CHALLENGE_METHOD = ["S256"]
    DEFAULT_CODE_CHALLENGE_METHOD = "S256"

    def validate_code_challenge(self, grant: Any, redirect_uri: str) -> None:
        data = grant.request.payload.data
        client = grant.request.client
        if client is not None and client.row.public and not data.get("code_challenge"):
            raise InvalidRequestError("public clients must send a PKCE 'code_challenge' (S256)")
        if data.get("code_challenge") and data.get("code_challenge_method") != "S256":
            raise InvalidRequestError("'code_challenge_method' must be S256")
        super().validate_code_challenge(grant, redirect_uri)

    def get_authorization_code_challenge(self, authorization_code: _Code) -> str | None:
        return authorization_code.row.code_challenge

    def get_authorization_code_challenge_method(self, authorization_code: _Code) -> str | None:
        return authorization_code.row.code_challenge_method


class EchoDepthAuthorizationServer(AuthorizationServer):
    """authlib's server wired to our tables; responses are (status, body, headers) for the route to send."""

    def __init__(self, store: OAuthStore, settings: Settings) -> None:
        super().__init__(scopes_supported=list(SCOPES))
        self.store = store
        self.settings = settings
        self.register_token_generator(
            "default",
            BearerTokenGenerator(
                lambda **_: ACCESS_PREFIX + secrets.token_urlsafe(32),
                lambda **_: REFRESH_PREFIX + secrets.token_urlsafe(32),
                lambda *_, **__: settings.oauth_access_token_ttl_seconds,
            ),
        )
        self.register_grant(_CodeGrant, [_S256Only(required=True)])
        self.register_grant(_RefreshGrant)
        self.register_endpoint(_Revocation)
        self.register_endpoint(_Introspection)

    def query_client(self, client_id: str) -> ClientModel | None:
        row = self.store.get_client(client_id)
        return ClientModel(row) if row else None

    def save_token(self, token: dict[str, Any], request: FormRequest) -> None:
        client: ClientModel = request.client
        user: User | None = request.user
        old: _Token | None = getattr(request, "refresh_token", None)
        self.store.save_issued(
            tenant_id=client.row.tenant_id,
            client_id=client.get_client_id(),
            user_id=user.id if user else None,
            scope=token.get("scope", ""),
            access_token=token["access_token"],
            refresh_token=token.get("refresh_token"),
            access_ttl=int(token["expires_in"]),
            refresh_ttl=self.settings.oauth_refresh_token_ttl_seconds,
            family=old.row.family if old is not None else None,
        )

    def create_oauth2_request(self, request: FormRequest) -> FormRequest:
        return request

    def create_json_request(self, request: FormRequest) -> FormRequest:
        return request

    def handle_response(self, status: int, body: Any, headers: list[tuple[str, str]]) -> tuple[int, Any, Any]:
        return status, body, headers

    def send_signal(self, name: str, *args: Any, **kwargs: Any) -> None:
        return None


class _CodeGrant(AuthorizationCodeGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = _CLIENT_AUTH

    def save_authorization_code(self, code: str, request: FormRequest) -> None:
        data = request.payload.data
        ttl = self.server.settings.oauth_code_ttl_seconds
        self.server.store.save_code(
            OAuthCode(
                code_hash=digest(code),
                client_id=request.client.get_client_id(),
                user_id=request.user.id,
                redirect_uri=data.get("redirect_uri") or "",
                scope=request.payload.scope or "",
                code_challenge=data.get("code_challenge"),
                code_challenge_method=data.get("code_challenge_method"),
                expires_at=utcnow() + timedelta(seconds=ttl),
            )
        )

    def query_authorization_code(self, code: str, client: ClientModel) -> _Code | None:
        row = self.server.store.take_code(code, client.get_client_id())
        return _Code(row) if row else None

    def delete_authorization_code(self, authorization_code: _Code) -> None:
        if not self.server.store.delete_code(authorization_code.row.code_hash):
            raise InvalidRequestError("the authorization code was already used")

    def authenticate_user(self, authorization_code: _Code) -> User | None:
        return self.server.store.get_user(authorization_code.row.user_id)


class _RefreshGrant(RefreshTokenGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = _CLIENT_AUTH
    INCLUDE_NEW_REFRESH_TOKEN = True  # rotation: every refresh token is single use

    def authenticate_refresh_token(self, refresh_token: str) -> _Token | None:
        store: OAuthStore = self.server.store
        row = store.find_token(refresh_token)
        if row is None or row.refresh_hash != digest(refresh_token) or row.revoked_at is not None:
            return None
        if row.refresh_expires_at is None or row.refresh_expires_at <= utcnow():
            return None
        if not store.rotate(row.id):  # used before: a stolen copy is in play, end the whole grant
            store.revoke_family(row.family)
            return None
        return _Token(row, is_refresh=True)

    def authenticate_user(self, refresh_token: _Token) -> User | None:
        user_id = refresh_token.row.user_id
        return self.server.store.get_user(user_id) if user_id else None

    def revoke_old_credential(self, refresh_token: _Token) -> None:
        return None  # already marked used by authenticate_refresh_token, atomically


def _query(store: OAuthStore, token: str) -> _Token | None:
    row = store.find_token(token)
    if row is None:
        return None
    return _Token(row, is_refresh=token.startswith(REFRESH_PREFIX))


class _Revocation(RevocationEndpoint):
    CLIENT_AUTH_METHODS = _CLIENT_AUTH

    def query_token(self, token_string: str, token_type_hint: str | None) -> _Token | None:
        return _query(self.server.store, token_string)

    def revoke_token(self, token: _Token, request: FormRequest) -> None:
        if token.is_refresh:
            self.server.store.revoke_family(token.row.family)  # RFC 7009 §2.1: and its access tokens
        else:
            self.server.store.revoke(token.row.id)


class _Introspection(IntrospectionEndpoint):
    CLIENT_AUTH_METHODS = ["client_secret_basic", "client_secret_post"]

    def query_token(self, token_string: str, token_type_hint: str | None) -> _Token | None:
        return _query(self.server.store, token_string)

    def check_permission(self, token: _Token, client: ClientModel, request: FormRequest) -> bool:
        return bool(token.row.tenant_id == client.row.tenant_id)  # a tenant's own resource servers only

    def introspect_token(self, token: _Token) -> dict[str, Any]:
        row = token.row
        end = row.refresh_expires_at if token.is_refresh else row.access_expires_at
        return {
            "active": True,
            "client_id": row.client_id,
            "token_type": "refresh_token" if token.is_refresh else "Bearer",
            "scope": row.scope,
            "sub": row.user_id,
            "tenant_id": row.tenant_id,
            "iat": int(row.issued_at.timestamp()),
            "exp": int(end.timestamp()) if end else int(time.time()),
        }
