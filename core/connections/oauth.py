"""Vendor OAuth calls with requests-oauthlib: authorize URL, code exchange, refresh, revoke, who connected.

The one place where a vendor's OAuth answers become our typed errors: ``invalid_grant`` → AuthError
(re-authorise), 429/5xx/network → TransientError, any other OAuth error → PermanentError.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import requests
from oauthlib.oauth2 import InvalidGrantError, OAuth2Error
from requests.auth import HTTPBasicAuth
from requests_oauthlib import OAuth2Session

from core.connections.providers import OAuthClient
from core.sdk.contracts import ProviderSpec
from core.sdk.errors import AuthError, PermanentError, TransientError
from core.storage.models import utcnow

__all__ = ["TokenSet", "authorization_url", "exchange_code", "refresh", "revoke", "account_of"]

# requests-oauthlib logs whole token responses at DEBUG: keep plaintext tokens out of our logs.
for _name in ("requests_oauthlib", "oauthlib"):
    logging.getLogger(_name).setLevel(logging.INFO)


@dataclass(frozen=True)
class TokenSet:
    """What a token endpoint returned."""

    access_token: str
    refresh_token: str | None
    expires_at: datetime | None
    scopes: list[str]
    extra: dict[str, Any] = field(default_factory=dict)

    def __repr__(self) -> str:
        return f"TokenSet(<redacted>, expires_at={self.expires_at!r}, scopes={self.scopes!r})"


def _oauth(spec: ProviderSpec) -> Any:
    assert spec.oauth is not None
    return spec.oauth


def _check_status(provider: str) -> Any:
    def hook(response: requests.Response) -> requests.Response:
        if response.status_code == 429 or response.status_code >= 500:
            retry = response.headers.get("Retry-After", "")
            raise TransientError(
                provider,
                "vendor_unavailable",
                f"token endpoint answered {response.status_code}",
                response.status_code,
                float(retry) if retry.isdigit() else None,
            )
        return response

    return hook


def _session(spec: ProviderSpec, client: OAuthClient, redirect_uri: str | None = None) -> OAuth2Session:
    session = OAuth2Session(client.client_id, redirect_uri=redirect_uri)
    for kind in ("access_token_response", "refresh_token_response"):
        session.register_compliance_hook(kind, _check_status(spec.key))
    return session


def _auth(spec: ProviderSpec, client: OAuthClient) -> dict[str, Any]:
    """Client authentication on the token endpoint: HTTP Basic or in the body, per vendor."""
    if _oauth(spec).client_auth == "basic":
        return {"auth": HTTPBasicAuth(client.client_id, client.client_secret), "include_client_id": False}
    return {"client_secret": client.client_secret, "include_client_id": True}


def _tokens(raw: dict[str, Any], previous_refresh: str | None = None) -> TokenSet:
    expires_in = raw.get("expires_in")
    scope = raw.get("scope") or []
    known = {"access_token", "refresh_token", "expires_in", "expires_at", "scope", "token_type"}
    return TokenSet(
        access_token=str(raw["access_token"]),
        refresh_token=raw.get("refresh_token") or previous_refresh,
        expires_at=utcnow() + timedelta(seconds=float(expires_in)) if expires_in else None,
        scopes=scope.split() if isinstance(scope, str) else list(scope),
        extra={k: v for k, v in raw.items() if k not in known},
    )


def _call(provider: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
    try:
        return fn(*args, **kwargs)
    except InvalidGrantError as exc:
        raise AuthError(provider, "invalid_grant", exc.description or "the grant is no longer valid") from exc
    except OAuth2Error as exc:
        raise PermanentError(provider, exc.error or "oauth_error", exc.description or str(exc)) from exc
    except requests.RequestException as exc:
        raise TransientError(provider, "connection_failed", type(exc).__name__) from exc


def authorization_url(
    spec: ProviderSpec, client: OAuthClient, redirect_uri: str, state: str, challenge: str
) -> str:
    """The vendor's consent page URL."""
    oauth = _oauth(spec)
    session = OAuth2Session(client.client_id, redirect_uri=redirect_uri, scope=oauth.scopes or None)
    extra = {"code_challenge": challenge, "code_challenge_method": "S256"} if oauth.pkce else {}
    url, _ = session.authorization_url(oauth.authorize_url, state=state, **extra)
    return str(url)


def exchange_code(
    spec: ProviderSpec, client: OAuthClient, redirect_uri: str, code: str, verifier: str
) -> TokenSet:
    """Trade an authorization code for tokens."""
    oauth = _oauth(spec)
    session = _session(spec, client, redirect_uri)
    extra = {"code_verifier": verifier} if oauth.pkce else {}
    raw = _call(
        spec.key,
        session.fetch_token,
        oauth.token_url,
        code=code,
        timeout=spec.timeout_seconds,
        **_auth(spec, client),
        **extra,
    )
    return _tokens(dict(raw))


def refresh(spec: ProviderSpec, client: OAuthClient, refresh_token: str) -> TokenSet:
    """A new access token (and, where the vendor rotates them, a new refresh token)."""
    session = _session(spec, client)
    auth = _auth(spec, client)
    kwargs: dict[str, Any] = (
        {"auth": auth["auth"]}
        if "auth" in auth
        else {"client_id": client.client_id, "client_secret": client.client_secret}
    )
    raw = _call(
        spec.key,
        session.refresh_token,
        _oauth(spec).token_url,
        refresh_token=refresh_token,
        timeout=spec.timeout_seconds,
        **kwargs,
    )
    return _tokens(dict(raw), previous_refresh=refresh_token)


def revoke(spec: ProviderSpec, client: OAuthClient, token: str) -> None:
    """Revoke ``token`` at the vendor (no-op where the vendor has no revoke endpoint)."""
    url = _oauth(spec).revoke_url
    if not url:
        return
    auth = HTTPBasicAuth(client.client_id, client.client_secret)
    try:
        response = requests.post(url, data={"token": token}, auth=auth, timeout=spec.timeout_seconds)
    except requests.RequestException as exc:
        raise TransientError(spec.key, "connection_failed", type(exc).__name__) from exc
    if response.status_code >= 400:
        raise PermanentError(
            spec.key, "revoke_failed", f"revoke answered {response.status_code}", response.status_code
        )


def account_of(spec: ProviderSpec, tokens: TokenSet) -> tuple[str, dict[str, Any]]:
    """Who connected: the vendor account id and what we keep about it."""
    field_name = str(spec.settings.get("account_id_field", "id"))
    if field_name in tokens.extra:
        return str(tokens.extra[field_name]), dict(tokens.extra)
    path = spec.settings.get("account_path")
    if not (spec.api_base_url and path):
        raise PermanentError(spec.key, "no_account", "the provider spec does not say how to find the account")
    headers = {"Authorization": f"Bearer {tokens.access_token}"}
    try:
        response = requests.get(f"{spec.api_base_url}{path}", headers=headers, timeout=spec.timeout_seconds)
    except requests.RequestException as exc:
        raise TransientError(spec.key, "connection_failed", type(exc).__name__) from exc
    if response.status_code != 200:
        raise PermanentError(
            spec.key, "account_lookup_failed", f"answered {response.status_code}", response.status_code
        )
    body = response.json()
    return str(body[field_name]), {k: body[k] for k in (field_name, "id", "email") if k in body}
