"""A webhook receiver as a customer would write one: verifies with the ``standardwebhooks`` package from
PyPI, deduplicates by ``webhook-id`` (the documented contract), and answers from a script of statuses.
Its only route is the one row of tests/contracts/webhook/calls.yaml (``contract.guard``)."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from standardwebhooks.webhooks import Webhook, WebhookVerificationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.emulators import contract
from tests.emulators.server import serve


@dataclass(frozen=True)
class Step:
    """How to answer one request: a status, headers, and a delay before answering."""

    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


@dataclass
class Received:
    """One request as it arrived."""

    at: float
    headers: dict[str, str]
    body: bytes
    verified: bool
    accepted: bool


class WebhookReceiver:
    """State of the receiver: the secret it verifies with, its script, what it saw and accepted."""

    def __init__(self) -> None:
        self.secret: str | None = None
        self.script: list[Step] = []
        self.received: list[Received] = []
        self.accepted: dict[str, Any] = {}  # webhook-id → verified payload
        self.url = ""
        self._lock = threading.Lock()

    def _verify(self, body: bytes, headers: dict[str, str]) -> Any:
        if self.secret is None:
            raise WebhookVerificationError("no secret configured")
        return Webhook(self.secret).verify(body, headers)

    def _record(self, body: bytes, headers: dict[str, str], step: Step) -> Received:
        try:
            payload = self._verify(body, headers)
            verified = True
        except WebhookVerificationError:
            payload, verified = None, False
        msg_id = headers.get("webhook-id", "")
        with self._lock:
            fresh = verified and 200 <= step.status < 300 and msg_id not in self.accepted
            if fresh:
                self.accepted[msg_id] = payload
            got = Received(time.monotonic(), headers, body, verified, fresh)
            self.received.append(got)
        return got

    async def handle(self, request: Request) -> Response:
        body = await request.body()
        headers = {k.lower(): v for k, v in request.headers.items()}
        with self._lock:
            step = self.script.pop(0) if self.script else Step()
        got = self._record(body, headers, step)
        if step.delay:
            await asyncio.sleep(step.delay)
        if not got.verified:
            return JSONResponse({"error": "bad signature"}, status_code=400)
        return JSONResponse({"accepted": got.accepted}, status_code=step.status, headers=step.headers)

    def wait_accepted(self, count: int = 1, timeout: float = 60) -> list[Any]:
        """Block until ``count`` distinct messages were accepted."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if len(self.accepted) >= count:
                    return list(self.accepted.values())
            time.sleep(0.05)
        raise AssertionError(f"only {len(self.accepted)} of {count} deliveries accepted: {self.received}")

    def wait_received(self, count: int, timeout: float = 60) -> list[Received]:
        """Block until ``count`` requests arrived."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if len(self.received) >= count:
                    return list(self.received)
            time.sleep(0.05)
        raise AssertionError(f"only {len(self.received)} of {count} requests arrived")


@contextmanager
def webhook_receiver() -> Iterator[WebhookReceiver]:
    """A running receiver; POST to ``receiver.url``."""
    receiver = WebhookReceiver()
    app = Starlette(routes=[Route("/hook", receiver.handle, methods=["POST"])])
    contract.guard(app, contract.load("webhook"), scopes_of=lambda request: None)  # no scopes: signatures
    with serve(app) as base:
        receiver.url = f"{base}/hook"
        yield receiver
