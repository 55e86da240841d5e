"""A stateful Slack OAuth v2 emulator with token rotation: authorize, ``oauth.v2.access`` (code and refresh;
each refresh revokes the refresh token it used), ``auth.revoke`` and ``auth.test``.

Wire format after docs.slack.dev: reference/methods/oauth.v2.access, authentication/using-token-rotation and
reference/methods/auth.revoke. Every answer is HTTP 200 with ``"ok"``; the bot token is at the top level,
the installing user's token under ``authed_user``; scopes are comma-separated; errors are
``{"ok": false, "error": "invalid_code" | "invalid_refresh_token" | "bad_client_secret" | ...}``; an expired
token makes Web API methods answer ``{"ok": false, "error": "token_expired"}``; 429 carries Retry-After.

Contract: every request must be a row of tests/contracts/slack/calls.yaml (``contract.guard``); each token
carries the scopes of its installation (the authorize request's ``scope``, else the provider file's) and a
method whose scope it lacks answers HTTP 200 ``{"ok": false, "error": "missing_scope", "needed": ...,
"provided": ...}`` (https://docs.slack.dev/reference/methods/chat.postMessage#errors). chat.postMessage
arguments are checked against the documented list and Block Kit against slack-sdk's own block models
(``Block.parse`` + ``validate_json``: types, lengths, counts), at most 50 blocks and 40,000 characters of
text (https://docs.slack.dev/reference/block-kit/blocks, .../methods/chat.postMessage#truncating).
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from slack_sdk.errors import SlackObjectFormationError
from slack_sdk.models.blocks import Block
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.emulators import contract
from tests.emulators.oauth import OAuthEmulator, basic_credentials, bearer, form_of, running, scopes_in

CLIENT_ID = "2141029472.691202649728"
CLIENT_SECRET = "slack-client-secret-do-not-log"
TEAM_ID = "T9TK3CUKW"


MAX_BLOCKS = 50
MAX_TEXT = 40_000
POST_ARGS = frozenset(
    {
        "channel",
        "text",
        "blocks",
        "attachments",
        "as_user",
        "icon_emoji",
        "icon_url",
        "link_names",
        "markdown_text",
        "metadata",
        "mrkdwn",
        "parse",
        "reply_broadcast",
        "thread_ts",
        "unfurl_links",
        "unfurl_media",
        "username",
        "token",
    }
)  # https://docs.slack.dev/reference/methods/chat.postMessage#arguments
HISTORY_ARGS = frozenset(
    {"channel", "cursor", "include_all_metadata", "inclusive", "latest", "limit", "oldest", "token"}
)


def _fail(error: str, **extra: Any) -> JSONResponse:
    return JSONResponse({"ok": False, "error": error, **extra})


def _block_errors(blocks: Any) -> list[str]:
    """What Slack would say about ``blocks``, judged by slack-sdk's block models ([] when valid)."""
    if not isinstance(blocks, list):
        return ["blocks must be an array"]
    if len(blocks) > MAX_BLOCKS:
        return [f"no more than {MAX_BLOCKS} items allowed [json-pointer:/blocks]"]
    errors = []
    for n, raw in enumerate(blocks):
        parsed = Block.parse(raw) if isinstance(raw, dict) else None
        if parsed is None or type(parsed) is Block:
            kind = raw.get("type") if isinstance(raw, dict) else raw
            errors.append(f"unsupported type: {kind!r} [json-pointer:/blocks/{n}]")
            continue
        try:
            parsed.validate_json()
        except SlackObjectFormationError as exc:
            errors.append(f"{exc} [json-pointer:/blocks/{n}]")
    return errors


class SlackEmulator(OAuthEmulator):
    """slack.com/oauth/v2/authorize and slack.com/api in one server."""

    key = "slack"
    client_id = CLIENT_ID
    client_secret = CLIENT_SECRET
    rotates = True
    access_prefix = "xoxe.xoxb-1-"
    refresh_prefix = "xoxe-1-"

    def __init__(self) -> None:
        super().__init__()
        self.state.expires_in = 43200
        self.user_tokens: list[str] = []
        self.channels: dict[str, list[dict[str, Any]]] = {"C0ALERTS": [], "C0SALES": []}
        self.post_throttle_next = 0  # answer this many chat.postMessage calls 429 with Retry-After
        self.post_retry_after = 1
        self.api_calls: list[str] = []
        self.private: set[str] = (
            set()
        )  # private channels: history needs groups:history, public channels:history

    async def authorize(self, request: Request) -> Response:
        q = request.query_params
        if q.get("client_id") != CLIENT_ID:
            return _fail("invalid_client_id")
        return self.redirect_back(q, code=self.new_code(q))

    def refuse(self, request: Request, call: contract.Call | None, why: str) -> Response:
        """Slack's answer to a method the token's installation has no scope for (HTTP 200)."""
        if call is None:
            return JSONResponse({"ok": False, "error": "unknown_method", "req_method": request.url.path}, 404)
        provided = ",".join(sorted(self.scopes_of(request) or ()))
        return _fail("missing_scope", needed=",".join(call.scopes), provided=provided)

    def _body(self, access: str, refresh: str | None, scope: str) -> dict[str, Any]:
        user_token = "xoxe.xoxp-1-" + secrets.token_urlsafe(24)
        self.user_tokens.append(user_token)
        return {
            "ok": True,
            "app_id": "A0KRD7HC3",
            "authed_user": {"id": "U1234", "scope": "", "access_token": user_token, "token_type": "user"},
            "scope": scope,
            "token_type": "bot",
            "access_token": access,
            "bot_user_id": "U0KRQLJ9H",
            "refresh_token": refresh,
            "expires_in": self.state.expires_in,
            "team": {"id": TEAM_ID, "name": "Slack Softworks"},
            "enterprise": None,
            "is_enterprise_install": False,
        }

    async def access(self, request: Request) -> Response:
        if basic_credentials(request) != (CLIENT_ID, CLIENT_SECRET):
            return _fail("bad_client_secret")
        if self.throttled():
            return JSONResponse(
                {"ok": False, "error": "ratelimited"}, status_code=429, headers={"Retry-After": "30"}
            )
        await self.delay()
        form = form_of(await request.form())
        if form.get("grant_type", "authorization_code") == "authorization_code":
            grant = self.take_code(form)
            if grant is None:
                return _fail("invalid_code")
            access, refresh = self.mint(scopes=scopes_in(grant["scope"]) or None)
            return JSONResponse(self._body(access, refresh, ",".join(sorted(self.state.scopes[access]))))
        if form.get("grant_type") == "refresh_token":
            with self.state.lock:
                token = form.get("refresh_token", "")
                if not self.use_refresh(token):
                    return _fail("invalid_refresh_token")
                access, refresh = self.mint(token)
                return JSONResponse(self._body(access, refresh, ",".join(sorted(self.state.scopes[access]))))
        return _fail("invalid_grant_type")

    async def revoke(self, request: Request) -> Response:
        token = bearer(request)
        if not self.access_ok(token):
            return _fail("invalid_auth")
        self.state.revoked.append(token)
        self.state.access.pop(token, None)
        self.forget_grants()  # uninstalling the bot token ends the installation
        return JSONResponse({"ok": True, "revoked": True})

    async def auth_test(self, request: Request) -> Response:
        token = bearer(request)
        if token in self.state.access and not self.access_ok(token):
            return _fail("token_expired")
        if not self.access_ok(token):
            return _fail("invalid_auth")
        return JSONResponse(
            {"ok": True, "team": "Slack Softworks", "team_id": TEAM_ID, "user_id": "U0KRQLJ9H"}
        )

    def _api_token_error(self, request: Request) -> JSONResponse | None:
        token = bearer(request)
        if token in self.state.access and not self.access_ok(token):
            return _fail("token_expired")
        return None if self.access_ok(token) else _fail("invalid_auth")

    async def _params(self, request: Request) -> dict[str, Any]:
        if request.headers.get("content-type", "").startswith("application/json"):
            return dict(await request.json())
        return form_of(await request.form())

    async def post_message(self, request: Request) -> Response:
        """chat.postMessage: https://docs.slack.dev/reference/methods/chat.postMessage"""
        self.api_calls.append("chat.postMessage")
        if (refused := self._api_token_error(request)) is not None:
            return refused
        with self.state.lock:
            limited = self.post_throttle_next > 0
            self.post_throttle_next -= int(limited)
        if limited:  # https://docs.slack.dev/apis/web-api/rate-limits
            return JSONResponse(
                {"ok": False, "error": "ratelimited"},
                status_code=429,
                headers={"Retry-After": str(self.post_retry_after)},
            )
        params = await self._params(request)
        if refused := self._post_refusal(params):
            return refused
        channel = str(params.get("channel", ""))
        if channel not in self.channels:
            return _fail("channel_not_found")
        ts = f"{time.time():.6f}"
        message = {
            "type": "message",
            "ts": ts,
            "text": params.get("text", ""),
            "blocks": params.get("blocks"),
        }
        if params.get("metadata"):
            message["metadata"] = params["metadata"]
        self.channels[channel].append(message)
        await self.held()
        return JSONResponse({"ok": True, "channel": channel, "ts": ts, "message": message})

    def _post_refusal(self, params: dict[str, Any]) -> JSONResponse | None:
        """chat.postMessage's documented argument errors."""
        unknown = sorted(set(params) - POST_ARGS)
        if unknown:
            return _fail(
                "invalid_arguments",
                response_metadata={"messages": [f"[ERROR] unknown argument {unknown[0]}"]},
            )
        if not params.get("text") and not params.get("blocks") and not params.get("attachments"):
            return _fail("no_text")
        if len(str(params.get("text") or "")) > MAX_TEXT:
            return _fail("msg_too_long")
        if "blocks" in params and (errors := _block_errors(params["blocks"])):
            return _fail("invalid_blocks", errors=errors)
        meta = params.get("metadata")
        if meta is not None and not (
            isinstance(meta, dict)
            and isinstance(meta.get("event_type"), str)
            and isinstance(meta.get("event_payload"), dict)
        ):
            return _fail("invalid_metadata_format")
        return None

    async def history(self, request: Request) -> Response:
        """conversations.history, newest first: https://docs.slack.dev/reference/methods/conversations.history"""
        self.api_calls.append("conversations.history")
        if (refused := self._api_token_error(request)) is not None:
            return refused
        params = await self._params(request)
        unknown = sorted(set(params) - HISTORY_ARGS)
        if (
            unknown
            or not str(params.get("limit", "100")).isdigit()
            or not 1 <= int(params.get("limit", 100)) <= 999
        ):
            return _fail("invalid_arguments")
        channel = str(params.get("channel", ""))
        if channel not in self.channels:
            return _fail("channel_not_found")
        needed = "groups:history" if channel in self.private else "channels:history"
        granted = self.scopes_of(request) or frozenset()
        if needed not in granted:  # the scope of this channel's type
            return _fail("missing_scope", needed=needed, provided=",".join(sorted(granted)))
        with_meta = str(params.get("include_all_metadata", "false")).lower() in ("true", "1")
        limit = int(params.get("limit", 100))
        found = [
            m if with_meta else {k: v for k, v in m.items() if k != "metadata"}
            for m in reversed(self.channels[channel])
        ][:limit]
        return JSONResponse({"ok": True, "messages": found, "has_more": False})

    def messages(self, channel: str) -> list[dict[str, Any]]:
        """What was posted to ``channel``, oldest first."""
        return list(self.channels[channel])

    def app(self) -> Starlette:
        app = Starlette(
            routes=[
                Route("/oauth/v2/authorize", self.authorize),
                Route("/api/oauth.v2.access", self.access, methods=["POST"]),
                Route("/api/auth.revoke", self.revoke, methods=["POST", "GET"]),
                Route("/api/auth.test", self.auth_test, methods=["POST", "GET"]),
                Route("/api/chat.postMessage", self.post_message, methods=["POST"]),
                Route("/api/conversations.history", self.history, methods=["POST", "GET"]),
            ]
        )
        return contract.guard(
            app,
            contract.load("slack"),
            scopes_of=self.scopes_of,
            refuse=self.refuse,
            prefix="/api",
            open_paths=("/oauth/v2/authorize",),  # the installing user's browser
        )

    def spec_overrides(self) -> dict[str, Any]:
        return {
            "oauth": {
                "authorize_url": f"{self.base}/oauth/v2/authorize",
                "token_url": f"{self.base}/api/oauth.v2.access",
                "revoke_url": f"{self.base}/api/auth.revoke",
            },
            "api_base_url": f"{self.base}/api",
        }


@contextmanager
def slack_emulator() -> Iterator[SlackEmulator]:
    """A running Slack emulator."""
    with running(SlackEmulator()) as emulator:
        yield emulator
