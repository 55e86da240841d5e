"""Vendor OAuth calls with requests-oauthlib: authorize URL, code exchange, refresh, client credentials,
revoke, who connected.

The one place where a vendor's OAuth answers become our typed errors: a code the provider spec lists under
``errors.reauth`` (``invalid_grant``, Slack's ``invalid_refresh_token``, HubSpot's ``BAD_REFRESH_TOKEN``)
→ AuthError (re-authorise), 429/5xx/network → TransientError, any other OAuth error → PermanentError.
Vendor error bodies are rewritten into RFC 6749 ones by a compliance hook, so oauthlib parses them all alike.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import requests
from oauthlib.oauth2 import BackendApplicationClient, OAuth2Error
from requests.auth import HTTPBasicAuth
from requests_oauthlib import OAuth2Session

from core.connections.providers import OAuthClient
from core.sdk.contracts import OAuthSpec, ProviderSpec
from core.sdk.errors import AuthError, PermanentError, TransientError
from core.sdk.http import dig
from core.storage.models import utcnow

__all__ = [
    "TokenSet",
    "authorization_url",
    "admin_consent_url",
    "exchange_code",
    "refresh",
    "client_credentials",
    "revoke",
    "account_of",
    "token_rejected",
    "dig",
]

# requests-oauthlib logs whole token responses at DEBUG: keep plaintext tokens out of our logs.
for _name in ("requests_oauthlib", "oauthlib"):
    logging.getLogger(_name).setLevel(logging.INFO)

_STANDARD = {"access_token", "refresh_token", "expires_in", "expires_at", "scope", "token_type"}


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


def _oauth(spec: ProviderSpec) -> OAuthSpec:
    assert spec.oauth is not None  # ProviderSpec validation requires it for auth: oauth2
    return spec.oauth


def _url(template: str, params: Mapping[str, str], **more: str) -> str:
    return template.format_map({**params, **more})


def _transient(provider: str, response: requests.Response) -> TransientError:
    retry = response.headers.get("Retry-After", "")
    return TransientError(
        provider,
        "vendor_unavailable",
        f"token endpoint answered {response.status_code}",
        response.status_code,
        float(retry) if retry.isdigit() else None,
    )


def _rfc6749(oauth: OAuthSpec, body: Any) -> dict[str, Any] | None:
    """The vendor's error body as ``{"error", "error_description"}``; None when it is not an error."""
    errors = oauth.errors
    if not isinstance(body, dict):
        return None
    failed = errors.ok_field is not None and body.get(errors.ok_field) is False
    code = dig(body, errors.code_field)
    if not (failed or code) or "access_token" in body:
        return None
    code = str(code or "unknown_error")
    mapped = "invalid_grant" if code in errors.reauth else code
    return {"error": mapped, "error_description": str(dig(body, errors.message_field) or code)}


def _normalise(spec: ProviderSpec) -> Any:
    """A compliance hook: 429/5xx → TransientError; vendor error bodies → RFC 6749; scopes space-separated."""
    oauth = _oauth(spec)

    def hook(response: requests.Response) -> requests.Response:
        if response.status_code == 429 or response.status_code >= 500:
            raise _transient(spec.key, response)
        try:
            body = response.json()
        except ValueError:
            return response
        error = _rfc6749(oauth, body)
        if error is not None:
            body = error
        elif isinstance(body, dict) and isinstance(body.get("scope"), str) and oauth.scope_separator != " ":
            body["scope"] = " ".join(s for s in body["scope"].split(oauth.scope_separator) if s)
        else:
            return response
        response._content = json.dumps(body).encode()
        return response

    return hook


def _session(spec: ProviderSpec, client: OAuthClient, redirect_uri: str | None = None) -> OAuth2Session:
    session = OAuth2Session(client.client_id, redirect_uri=redirect_uri)
    for kind in ("access_token_response", "refresh_token_response"):
        session.register_compliance_hook(kind, _normalise(spec))
    return session


def _auth(spec: ProviderSpec, client: OAuthClient) -> dict[str, Any]:
    """Client authentication on the token endpoint: HTTP Basic or in the body, per vendor."""
    if _oauth(spec).client_auth == "basic":
        return {"auth": HTTPBasicAuth(client.client_id, client.client_secret), "include_client_id": False}
    return {"client_secret": client.client_secret, "include_client_id": True}


def _tokens(raw: Mapping[str, Any], previous_refresh: str | None = None) -> TokenSet:
    expires_in = raw.get("expires_in")
    scope = raw.get("scope") or []
    return TokenSet(
        access_token=str(raw["access_token"]),
        refresh_token=raw.get("refresh_token") or previous_refresh,
        expires_at=utcnow() + timedelta(seconds=float(expires_in)) if expires_in else None,
        scopes=scope.split() if isinstance(scope, str) else list(scope),
        extra={k: v for k, v in raw.items() if k not in _STANDARD},
    )


def _call(spec: ProviderSpec, fn: Any, *args: Any, **kwargs: Any) -> Any:
    provider = spec.key
    try:
        return fn(*args, **kwargs)
    except OAuth2Error as exc:
        if exc.error == "invalid_grant" or exc.error in _oauth(spec).errors.reauth:
            raise AuthError(
                provider, "invalid_grant", exc.description or "the grant is no longer valid"
            ) from exc
        raise PermanentError(provider, exc.error or "oauth_error", exc.description or str(exc)) from exc
    except requests.RequestException as exc:
        raise TransientError(provider, "connection_failed", type(exc).__name__) from exc


def authorization_url(
    spec: ProviderSpec,
    client: OAuthClient,
    redirect_uri: str,
    state: str,
    challenge: str,
    params: Mapping[str, str],
) -> str:
    """The vendor's consent page URL."""
    oauth = _oauth(spec)
    scope = oauth.scope_separator.join(oauth.scopes) or None
    session = OAuth2Session(client.client_id, redirect_uri=redirect_uri, scope=scope)
    extra = {"code_challenge": challenge, "code_challenge_method": "S256"} if oauth.pkce else {}
    url, _ = session.authorization_url(
        _url(oauth.authorize_url, params), state=state, **oauth.authorize_params, **extra
    )
    return str(url)


def admin_consent_url(
    spec: ProviderSpec, client: OAuthClient, redirect_uri: str, state: str, params: Mapping[str, str]
) -> str:
    """The vendor's organisation-wide consent page (Microsoft ``adminconsent``)."""
    found = _oauth(spec).client_credentials
    if found is None:
        raise PermanentError(spec.key, "no_admin_consent", f"{spec.key} has no organisation-wide consent")
    query = {
        "client_id": client.client_id,
        "redirect_uri": redirect_uri,
        "state": state,
        "scope": " ".join(found.scopes),
    }
    return str(requests.Request("GET", _url(found.consent_url, params), params=query).prepare().url)


def exchange_code(
    spec: ProviderSpec,
    client: OAuthClient,
    redirect_uri: str,
    code: str,
    verifier: str,
    params: Mapping[str, str],
) -> TokenSet:
    """Trade an authorization code for tokens."""
    oauth = _oauth(spec)
    session = _session(spec, client, redirect_uri)
    extra = {"code_verifier": verifier} if oauth.pkce else {}
    raw = _call(
        spec,
        session.fetch_token,
        _url(oauth.token_url, params),
        code=code,
        timeout=spec.timeout_seconds,
        **_auth(spec, client),
        **extra,
    )
    return _tokens(raw)


def refresh(
    spec: ProviderSpec, client: OAuthClient, refresh_token: str, params: Mapping[str, str]
) -> TokenSet:
    """A new access token (and, where the vendor rotates them, a new refresh token)."""
    session = _session(spec, client)
    auth = _auth(spec, client)
    kwargs: dict[str, Any] = (
        {"auth": auth["auth"]}
        if "auth" in auth
        else {"client_id": client.client_id, "client_secret": client.client_secret}
    )
    raw = _call(
        spec,
        session.refresh_token,
        _url(_oauth(spec).token_url, params),
        refresh_token=refresh_token,
        timeout=spec.timeout_seconds,
        **kwargs,
    )
    return _tokens(raw, previous_refresh=refresh_token)


def client_credentials(spec: ProviderSpec, client: OAuthClient, params: Mapping[str, str]) -> TokenSet:
    """An app-only access token for the organisation named in ``params`` (no refresh token exists)."""
    oauth = _oauth(spec)
    found = oauth.client_credentials
    if found is None:
        raise PermanentError(spec.key, "no_client_credentials", f"{spec.key} has no app-only connections")
    session = OAuth2Session(client=BackendApplicationClient(client_id=client.client_id))
    session.register_compliance_hook("access_token_response", _normalise(spec))
    raw = _call(
        spec,
        session.fetch_token,
        _url(oauth.token_url, params),
        scope=found.scopes,
        timeout=spec.timeout_seconds,
        **_auth(spec, client),
    )
    return _tokens(raw)


def _revoke_request(spec: ProviderSpec, client: OAuthClient, token: str, params: Mapping[str, str]) -> Any:
    oauth = _oauth(spec)
    assert oauth.revoke_url is not None
    url = _url(oauth.revoke_url, params, token=token)
    headers = {"Accept": "application/json"}
    auth = HTTPBasicAuth(client.client_id, client.client_secret) if oauth.revoke_auth == "basic" else None
    if oauth.revoke_auth == "bearer":
        headers["Authorization"] = f"Bearer {token}"
    data = None if "{token}" in oauth.revoke_url or oauth.revoke_auth == "bearer" else {"token": token}
    return requests.request(
        oauth.revoke_method, url, data=data, headers=headers, auth=auth, timeout=spec.timeout_seconds
    )


def revoke(
    spec: ProviderSpec, client: OAuthClient, access: str, refresh_token: str | None, params: Mapping[str, str]
) -> None:
    """Revoke the connection's grant at the vendor (no-op where the vendor has no revoke endpoint)."""
    oauth = _oauth(spec)
    if not oauth.revoke_url:
        return
    token = refresh_token if oauth.revoke_token == "refresh" and refresh_token else access
    try:
        response = _revoke_request(spec, client, token, params)
    except requests.RequestException as exc:
        raise TransientError(spec.key, "connection_failed", type(exc).__name__) from exc
    try:
        body = response.json()
    except ValueError:
        body = None
    if response.status_code >= 400 or _rfc6749(oauth, body) is not None:
        raise PermanentError(
            spec.key, "revoke_failed", f"revoke answered {response.status_code}", response.status_code
        )


def _lookup(spec: ProviderSpec, tokens: TokenSet) -> Any:
    """The answer that names the account: the token response itself, or one GET with the new token."""
    account = _oauth(spec).account
    if account.url_field:
        url = str(tokens.extra.get(account.url_field) or "")
    elif account.path and spec.api_base_url:
        url = spec.api_base_url + account.path.replace("{access_token}", tokens.access_token)
    else:
        return tokens.extra
    if not url.startswith(("https://", "http://")):
        raise PermanentError(spec.key, "no_account", "the token response does not say who connected")
    headers = {"Authorization": f"Bearer {tokens.access_token}", "Accept": "application/json"}
    try:
        response = requests.get(url, headers=headers, timeout=spec.timeout_seconds)
    except requests.RequestException as exc:
        raise TransientError(spec.key, "connection_failed", type(exc).__name__) from exc
    if response.status_code != 200:
        raise PermanentError(
            spec.key, "account_lookup_failed", f"answered {response.status_code}", response.status_code
        )
    return response.json()


def account_of(spec: ProviderSpec, tokens: TokenSet) -> tuple[str, dict[str, Any]]:
    """Who connected: the vendor account id and what we keep about it (never a token)."""
    account = _oauth(spec).account
    body = _lookup(spec, tokens)
    found = dig(body, account.id_field)
    if found in (None, ""):
        raise PermanentError(spec.key, "no_account", f"no {account.id_field!r} in the vendor's answer")
    kept = {name: dig(body, path) for name, path in account.keep.items()}
    kept.update({name: tokens.extra[name] for name in account.from_token if name in tokens.extra})
    return str(found), {k: v for k, v in kept.items() if v is not None}


def token_rejected(spec: ProviderSpec, status: int, body: Any) -> bool:
    """True when an API answer says the access token is no longer valid (refresh, then retry once)."""
    rule = _oauth(spec).token_rejected
    if status not in rule.status:
        return False
    if not rule.codes:
        return True
    code = dig(body, rule.code_field) if rule.code_field else None
    return code is not None and str(code) in rule.codes
