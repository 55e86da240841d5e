"""A stateful Zoom OAuth emulator: authorize, token (code and rotating refresh), revoke, /v2/users/me.

Behaviour and error bodies after https://developers.zoom.us/docs/integrations/oauth/ (token endpoint with
HTTP Basic client auth; refresh tokens rotate; ``{"reason": ..., "error": ...}`` error bodies; API 401
``{"code": 124, "message": "Invalid access token."}``).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

import yaml
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from config import CONFIG_DIR
from tests.emulators.server import serve

CLIENT_ID = "zoom-client-id"
CLIENT_SECRET = "zoom-client-secret-do-not-log"
ACCOUNT_ID = "acct_Zoom123"


@dataclass
class ZoomState:
    """Everything the emulator remembers."""

    expires_in: int = 3600
    token_delay: float = 0.0
    codes: dict[str, dict[str, str]] = field(default_factory=dict)
    access: dict[str, float] = field(default_factory=dict)  # token → expiry (epoch)
    refresh: set[str] = field(default_factory=set)
    refresh_calls: int = 0
    revoked: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def _error(status: int, error: str, reason: str) -> JSONResponse:
    return JSONResponse({"reason": reason, "error": error}, status_code=status)


def _client_ok(request: Request) -> bool:
    expected = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
    return request.headers.get("authorization", "") == f"Basic {expected}"


class ZoomEmulator:
    """The emulator's routes over its state."""

    def __init__(self) -> None:
        self.state = ZoomState()
        self.base = ""

    async def authorize(self, request: Request) -> Response:
        q = request.query_params
        if q.get("client_id") != CLIENT_ID or q.get("response_type") != "code":
            return _error(400, "invalid_request", "Invalid client_id or response_type")
        code = secrets.token_urlsafe(16)
        self.state.codes[code] = {"redirect_uri": q["redirect_uri"], "challenge": q.get("code_challenge", "")}
        return RedirectResponse(f"{q['redirect_uri']}?{urlencode({'code': code, 'state': q['state']})}", 302)

    def _issue(self) -> dict[str, object]:
        access, refresh = "zat_" + secrets.token_urlsafe(24), "zrt_" + secrets.token_urlsafe(24)
        self.state.access[access] = time.time() + self.state.expires_in
        self.state.refresh.add(refresh)
        return {
            "access_token": access,
            "token_type": "bearer",
            "refresh_token": refresh,
            "expires_in": self.state.expires_in,
            "scope": "cloud_recording:read:recording user:read:user",
        }

    def _by_code(self, form: dict[str, str]) -> Response:
        grant = self.state.codes.pop(form.get("code", ""), None)
        if grant is None or grant["redirect_uri"] != form.get("redirect_uri"):
            return _error(400, "invalid_grant", "Invalid authorization code")
        verifier = form.get("code_verifier", "")
        digest = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")
        if grant["challenge"] and digest != grant["challenge"]:
            return _error(400, "invalid_request", "Invalid code_verifier")
        return JSONResponse(self._issue())

    def _by_refresh(self, form: dict[str, str]) -> Response:
        with self.state.lock:
            self.state.refresh_calls += 1
            token = form.get("refresh_token", "")
            if token not in self.state.refresh:
                return _error(400, "invalid_grant", "Invalid Token!")
            self.state.refresh.discard(token)  # Zoom rotates refresh tokens
            return JSONResponse(self._issue())

    async def token(self, request: Request) -> Response:
        if not _client_ok(request):
            return _error(401, "invalid_client", "Invalid client_id or client_secret")
        form = {k: str(v) for k, v in (await request.form()).items()}
        if self.state.token_delay:
            await asyncio.sleep(self.state.token_delay)  # a slow vendor widens the race window
        if form.get("grant_type") == "authorization_code":
            return self._by_code(form)
        if form.get("grant_type") == "refresh_token":
            return self._by_refresh(form)
        return _error(400, "unsupported_grant_type", "Unsupported grant type")

    async def revoke(self, request: Request) -> Response:
        if not _client_ok(request):
            return _error(401, "invalid_client", "Invalid client_id or client_secret")
        token = str((await request.form()).get("token", ""))
        self.state.revoked.append(token)
        self.state.refresh.discard(token)
        self.state.access.pop(token, None)
        return JSONResponse({"status": "success"})

    async def me(self, request: Request) -> Response:
        token = request.headers.get("authorization", "").removeprefix("Bearer ")
        if self.state.access.get(token, 0) < time.time():
            return JSONResponse({"code": 124, "message": "Invalid access token."}, status_code=401)
        return JSONResponse({"id": "user_1", "account_id": ACCOUNT_ID, "email": "host@example.com"})

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/oauth/authorize", self.authorize),
                Route("/oauth/token", self.token, methods=["POST"]),
                Route("/oauth/revoke", self.revoke, methods=["POST"]),
                Route("/v2/users/me", self.me),
            ]
        )

    def write_spec(self, directory: Path) -> Path:
        """config/providers/zoom.yaml with every URL pointed at this emulator."""
        spec = yaml.safe_load((CONFIG_DIR / "providers" / "zoom.yaml").read_text())
        spec["oauth"].update(
            authorize_url=f"{self.base}/oauth/authorize",
            token_url=f"{self.base}/oauth/token",
            revoke_url=f"{self.base}/oauth/revoke",
        )
        spec["api_base_url"] = f"{self.base}/v2"
        directory.mkdir(parents=True, exist_ok=True)
        (directory / "zoom.yaml").write_text(yaml.safe_dump(spec))
        return directory


@contextmanager
def zoom_emulator() -> Iterator[ZoomEmulator]:
    """A running Zoom emulator."""
    emulator = ZoomEmulator()
    with serve(emulator.app()) as base:
        emulator.base = base
        yield emulator
