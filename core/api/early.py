"""Answers that come before the body: refuse an impossible ``Content-Length`` at once, and drain what a
client is still sending before an early error, so the client reads the answer.

A plain client (urllib, requests) writes the whole body before it reads anything. When the server answers
``413``/``415``/``401`` early and closes, the unread bytes make the kernel reset the connection and such a
client reports "connection reset" instead of the answer. So before an error goes out while the body is still
arriving, up to ``DRAIN_BYTES`` of it are read and discarded (for at most ``DRAIN_SECONDS``). A body that
stalls for ``BODY_IDLE_SECONDS`` is answered ``408 request_timeout``.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from core.sdk.errors import InputError

__all__ = ["EarlyAnswers", "install_early_answers", "DRAIN_BYTES", "DRAIN_SECONDS", "BODY_IDLE_SECONDS"]

DRAIN_BYTES = 16 * 1024 * 1024  # a refused upload of up to this much still gets its answer; beyond, a reset
DRAIN_SECONDS = 5.0
BODY_IDLE_SECONDS = 60.0  # no byte of the body for this long: 408 (a slow-loris upload holds no slot forever)
MULTIPART_SLACK = 1024 * 1024  # part headers and boundaries on top of max_upload_bytes


def _declared_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            return int(value) if value.isdigit() else None
    return None


class _Body:
    """The request's receive channel, knowing whether the body has all arrived."""

    def __init__(self, receive: Receive) -> None:
        self._receive = receive
        self.done = False

    async def receive(self) -> Message:
        """The next message; 408 when a body chunk does not come in time."""
        if self.done:
            return await self._receive()
        try:
            message = await asyncio.wait_for(self._receive(), BODY_IDLE_SECONDS)
        except TimeoutError as exc:
            raise InputError("request_timeout", "the request body stopped arriving", 408) from exc
        if message["type"] != "http.request" or not message.get("more_body", False):
            self.done = True
        return message

    async def drain(self) -> None:
        """Read and drop the rest of the body, within the byte and time bounds."""
        read = 0
        loop = asyncio.get_running_loop()
        deadline = loop.time() + DRAIN_SECONDS
        while not self.done and read <= DRAIN_BYTES:
            try:
                message = await asyncio.wait_for(self._receive(), max(0.0, deadline - loop.time()))
            except TimeoutError:
                return
            read += len(message.get("body", b""))
            if message["type"] != "http.request" or not message.get("more_body", False):
                self.done = True


async def _too_large(send: Send, limit: int) -> None:
    body = json.dumps(
        {
            "type": "https://echodepth.dev/problems/payload_too_large",
            "title": "Payload too large",
            "status": 413,
            "detail": f"request body is over {limit} bytes",
            "code": "payload_too_large",
        }
    ).encode()
    headers = [(b"content-type", b"application/problem+json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 413, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class EarlyAnswers:
    """ASGI middleware (outermost): the up-front ``Content-Length`` check, the drain and the body timeout."""

    def __init__(self, app: ASGIApp, max_upload_bytes: int) -> None:
        self.app = app
        self.limit = max_upload_bytes + MULTIPART_SLACK

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        body = _Body(receive)
        declared = _declared_length(scope)
        if declared is not None and declared > self.limit:
            await body.drain()
            await _too_large(send, self.limit)
            return

        async def answer(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] >= 400 and not body.done:
                await body.drain()
            await send(message)

        await self.app(scope, body.receive, answer)


def install_early_answers(app: Any, max_upload_bytes: int) -> None:
    """Wrap ``app`` (a FastAPI app) in :class:`EarlyAnswers`, outermost."""
    app.add_middleware(EarlyAnswers, max_upload_bytes=max_upload_bytes)
