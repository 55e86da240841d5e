"""What every OAuth vendor emulator shares: codes bound to a redirect URI and a PKCE challenge, access tokens
that expire, refresh tokens (rotating or not), revocation, a throttle, and the spec file pointed at it.

Each vendor module (microsoft, salesforce, hubspot, slack) adds its own routes, wire format and error bodies.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import secrets
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlencode

import yaml
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from config import CONFIG_DIR
from tests.emulators.server import serve


@dataclass
class TokenState:
    """Everything an emulator remembers about its grants."""

    expires_in: int | None = 3600
    token_delay: float = 0.0
    throttle_next: int = 0  # answer this many token calls 429 with Retry-After
    codes: dict[str, dict[str, str]] = field(default_factory=dict)
    access: dict[str, float] = field(default_factory=dict)  # token → expiry (epoch)
    refresh: set[str] = field(default_factory=set)
    issued_refresh: list[str] = field(default_factory=list)
    refresh_used: list[str] = field(default_factory=list)
    refresh_calls: int = 0
    token_hosts: list[str] = field(default_factory=list)  # where each token call arrived (Salesforce)
    revoked: list[str] = field(default_factory=list)
    scopes: dict[str, frozenset[str]] = field(default_factory=dict)  # token (access or refresh) → scopes
    lock: threading.Lock = field(default_factory=threading.Lock)


def challenge_of(verifier: str) -> str:
    """RFC 7636 S256."""
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")


def basic_credentials(request: Request) -> tuple[str, str] | None:
    """The client id and secret of an HTTP Basic header."""
    header = request.headers.get("authorization", "")
    if not header.startswith("Basic "):
        return None
    user, _, password = base64.b64decode(header[6:]).decode().partition(":")
    return user, password


def scopes_in(text: str) -> frozenset[str]:
    """The scopes of a space- or comma-separated ``scope`` parameter."""
    return frozenset(s for s in text.replace(",", " ").split() if s)


def consented_scopes(key: str) -> frozenset[str]:
    """What ``config/providers/<key>.yaml`` asks for at consent, read now (edits change new tokens)."""
    spec = yaml.safe_load((CONFIG_DIR / "providers" / f"{key}.yaml").read_text())
    return frozenset((spec.get("oauth") or {}).get("scopes") or ())


def bearer(request: Request) -> str:
    """The bearer token of a request ('' without one)."""
    return request.headers.get("authorization", "").removeprefix("Bearer ")


class OAuthEmulator:
    """Grant bookkeeping; subclasses answer in their vendor's wire format."""

    key = ""
    client_id = ""
    client_secret = ""
    rotates = False
    access_prefix = "at_"
    refresh_prefix = "rt_"

    def __init__(self) -> None:
        self.state = TokenState()
        self.base = ""
        self.hold_writes = False  # answers to writes wait (the write already done) until this is False

    async def held(self, limit: float = 60.0) -> None:
        """Keep a write's answer back while ``hold_writes`` (a worker can be killed while it waits)."""
        waited = 0.0
        while self.hold_writes and waited < limit:
            await asyncio.sleep(0.05)
            waited += 0.05

    # grants ----------------------------------------------------------------------------------

    def new_code(self, query: Any, **extra: str) -> str:
        """Remember a code for this redirect URI and PKCE challenge."""
        code = secrets.token_urlsafe(16)
        self.state.codes[code] = {
            "redirect_uri": str(query.get("redirect_uri", "")),
            "challenge": str(query.get("code_challenge", "")),
            "scope": str(query.get("scope", "")),  # consent grants what the authorize request asked for
            **extra,
        }
        return code

    def redirect_back(self, query: Any, **params: str) -> RedirectResponse:
        """302 to the client's redirect URI with ``params`` and the state."""
        params = {**params, "state": str(query.get("state", ""))}
        return RedirectResponse(f"{query['redirect_uri']}?{urlencode(params)}", 302)

    def take_code(self, form: dict[str, str]) -> dict[str, str] | None:
        """The code's grant if the code, redirect URI and PKCE verifier match (a code is single-use)."""
        grant = self.state.codes.pop(form.get("code", ""), None)
        if grant is None or grant["redirect_uri"] != form.get("redirect_uri"):
            return None
        if grant["challenge"] and challenge_of(form.get("code_verifier", "")) != grant["challenge"]:
            return None
        return grant

    def mint(
        self, refresh: str | None = None, with_refresh: bool = True, scopes: Iterable[str] | None = None
    ) -> tuple[str, str | None]:
        """A new access token, and a refresh token: new, or ``refresh`` again where the vendor keeps it.

        The tokens carry ``scopes``; by default a refresh keeps its grant's scopes and a new grant gets what
        the provider file asks for at consent."""
        granted = self._granted(refresh, scopes)
        access = self.access_prefix + secrets.token_urlsafe(24)
        ttl = self.state.expires_in if self.state.expires_in is not None else 10 * 365 * 86400
        self.state.access[access] = time.time() + ttl
        self.state.scopes[access] = granted
        if not with_refresh:
            return access, None
        if refresh is not None and not self.rotates:
            return access, refresh
        new = self.refresh_prefix + secrets.token_urlsafe(24)
        self.state.scopes[new] = granted
        self.state.refresh.add(new)
        self.state.issued_refresh.append(new)
        if refresh is not None and self.rotates:
            self.state.refresh.discard(refresh)
        return access, new

    def _granted(self, refresh: str | None, scopes: Iterable[str] | None) -> frozenset[str]:
        if scopes is not None:
            return frozenset(scopes)
        if refresh is not None and refresh in self.state.scopes:
            return self.state.scopes[refresh]
        return consented_scopes(self.key)

    def scopes_of_token(self, token: str) -> frozenset[str] | None:
        """The scopes ``token`` was granted; None when it is not a live access token (the route says 401)."""
        return self.state.scopes.get(token, frozenset()) if self.access_ok(token) else None

    def scopes_of(self, request: Request) -> frozenset[str] | None:
        """The scopes of the request's bearer token (for ``contract.guard``)."""
        return self.scopes_of_token(bearer(request))

    def use_refresh(self, token: str) -> bool:
        """Count a refresh call; False when ``token`` is unknown or revoked."""
        self.state.refresh_calls += 1
        self.state.refresh_used.append(token)
        return token in self.state.refresh

    def access_ok(self, token: str) -> bool:
        """Whether ``token`` is a live access token."""
        return self.state.access.get(token, 0) > time.time()

    def expire_access(self) -> None:
        """Every access token issued so far stops working (the API answers 401)."""
        for token in self.state.access:
            self.state.access[token] = 0

    def forget_grants(self) -> None:
        """The user removed the app: every refresh token stops working."""
        self.state.refresh.clear()

    def throttled(self) -> bool:
        """True (once per ``throttle_next``) when this token call must be answered 429."""
        with self.state.lock:
            if self.state.throttle_next <= 0:
                return False
            self.state.throttle_next -= 1
            return True

    async def delay(self) -> None:
        """A slow vendor widens the race window."""
        if self.state.token_delay:
            await asyncio.sleep(self.state.token_delay)

    # wiring ----------------------------------------------------------------------------------

    def app(self) -> Starlette:
        raise NotImplementedError

    def spec_overrides(self) -> dict[str, Any]:
        """What to change in config/providers/<key>.yaml to point it at this emulator."""
        raise NotImplementedError

    def write_spec(self, directory: Path) -> Path:
        """config/providers/<key>.yaml with every URL pointed at this emulator."""
        spec = yaml.safe_load((CONFIG_DIR / "providers" / f"{self.key}.yaml").read_text())
        for name, value in self.spec_overrides().items():
            if isinstance(value, dict) and isinstance(spec.get(name), dict):
                spec[name].update(value)
            else:
                spec[name] = value
        directory.mkdir(parents=True, exist_ok=True)
        (directory / f"{self.key}.yaml").write_text(yaml.safe_dump(spec))
        return directory


E = TypeVar("E", bound=OAuthEmulator)


@contextmanager
def running(emulator: E) -> Iterator[E]:
    """Serve ``emulator`` until the block ends."""
    with serve(emulator.app()) as base:
        emulator.base = base
        yield emulator


def form_of(raw: Any) -> dict[str, str]:
    """A Starlette form as a plain dict."""
    return {k: str(v) for k, v in raw.items()}


def no_content() -> Response:
    """204."""
    return Response(status_code=204)
