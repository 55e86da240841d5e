"""Real-time analysis over ``WS /v1/stream/video`` (see docs/streaming.md for the protocol).

Client → server: ``{"type": "start", "fps", "audio", "metadata"}`` first, then binary media messages
(``0x01`` + 8-byte big-endian timestamp in ms + one JPEG/PNG/WebP frame; ``0x02`` + timestamp + 16 kHz mono
s16le PCM), then ``{"type": "end"}``. Server → client: JSON ``frame``, ``second``, ``dropped``, ``error`` and,
after ``end``, ``summary`` with the ``job_id`` of the stored session summary.
"""

from __future__ import annotations

import json
import struct
import time
from collections.abc import AsyncIterator, Iterator
from types import TracebackType
from typing import Any

from echodepth.errors import AuthenticationError, StreamError
from echodepth.types import StreamMessage

__all__ = ["VideoStream", "AsyncVideoStream", "FRAME", "AUDIO", "ws_url"]

FRAME = 0x01
AUDIO = 0x02
PATH = "/v1/stream/video"


def ws_url(base_url: str) -> str:
    """The stream's ``ws://``/``wss://`` URL for an API base URL."""
    if base_url.startswith("https://"):
        return "wss://" + base_url[len("https://") :] + PATH
    if base_url.startswith("http://"):
        return "ws://" + base_url[len("http://") :] + PATH
    return base_url + PATH


def _media(kind: int, ts_ms: int, payload: bytes) -> bytes:
    return bytes([kind]) + struct.pack(">Q", max(0, int(ts_ms))) + payload


def _check_pcm(pcm: bytes) -> None:
    if len(pcm) % 2:
        raise ValueError("PCM must be 16-bit samples (an even number of bytes)")


def _handshake_error(exc: Exception) -> Exception:
    status = getattr(getattr(exc, "response", None), "status_code", None)
    if status in (401, 403):
        return AuthenticationError("unauthorized", int(status), "the stream refused the API key")
    return StreamError("connect_failed", str(exc))


class _Session:
    summary_job_id: str | None
    last_error: StreamMessage | None

    def __init__(self, fps: float, audio: bool, metadata: dict[str, Any]) -> None:
        self.fps, self.audio, self.metadata = fps, audio, metadata
        self.summary_job_id = None
        self.last_error = None
        self._t0 = time.monotonic()
        self._done = False

    def _start_message(self) -> str:
        return json.dumps({"type": "start", "fps": self.fps, "audio": self.audio, "metadata": self.metadata})

    def _ts(self, ts_ms: int | None) -> int:
        return int((time.monotonic() - self._t0) * 1000) if ts_ms is None else ts_ms

    def _parse(self, raw: str | bytes) -> StreamMessage:
        message: StreamMessage = json.loads(raw)
        kind = message.get("type")
        if kind == "summary":
            self.summary_job_id = message.get("job_id")
            self._done = True
        elif kind == "error":
            self.last_error = message
        return message

    def _closed(self, code: int | None, reason: str) -> None:
        """Called when the socket closed: fine after a summary or a normal close, else a StreamError."""
        self._done = True
        if self.summary_job_id is not None or code in (1000, None):
            if self.last_error is not None and self.summary_job_id is None:
                raise StreamError(
                    str(self.last_error.get("code")), str(self.last_error.get("message", "")), code
                )
            return
        if self.last_error is not None:
            raise StreamError(str(self.last_error.get("code")), str(self.last_error.get("message", "")), code)
        raise StreamError(f"closed_{code}", reason, code)


class VideoStream(_Session):
    """A blocking stream session (from ``client.stream.video(...)``); a context manager and an iterator of
    server messages (dicts). Iteration ends after the ``summary`` message; ``summary_job_id`` is then the
    job to fetch with ``client.results.get``."""

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        fps: float,
        audio: bool,
        metadata: dict[str, Any],
        open_timeout: float = 10.0,
    ) -> None:
        super().__init__(fps, audio, metadata)
        self._url = ws_url(base_url)
        self._headers = {"Authorization": f"Bearer {api_key}"}
        self._open_timeout = open_timeout
        self._ws: Any = None

    def __enter__(self) -> VideoStream:
        from websockets.exceptions import InvalidHandshake
        from websockets.sync.client import connect

        try:
            # __enter__: websockets >= 17.1 wants the connection entered (older versions return it as is)
            self._ws = connect(
                self._url, additional_headers=self._headers, open_timeout=self._open_timeout, max_size=None
            ).__enter__()
        except (InvalidHandshake, OSError, TimeoutError) as exc:
            raise _handshake_error(exc) from exc
        self._ws.send(self._start_message())
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def send_frame(self, image: bytes, ts_ms: int | None = None) -> None:
        """Send one video frame (JPEG, PNG or WebP bytes) stamped ``ts_ms`` (default: ms since start)."""
        self._ws.send(_media(FRAME, self._ts(ts_ms), image))

    def send_audio(self, pcm: bytes, ts_ms: int | None = None) -> None:
        """Send a chunk of 16 kHz mono signed 16-bit little-endian PCM stamped ``ts_ms``."""
        _check_pcm(pcm)
        self._ws.send(_media(AUDIO, self._ts(ts_ms), pcm))

    def end(self) -> None:
        """Say the stream is over; the server answers with the remaining messages and a ``summary``."""
        self._ws.send(json.dumps({"type": "end"}))

    def recv(self, timeout: float | None = None) -> StreamMessage | None:
        """The next server message, or None once the stream is over."""
        from websockets.exceptions import ConnectionClosed

        if self._done:
            return None
        try:
            raw = self._ws.recv(timeout=timeout)
        except ConnectionClosed as exc:
            rcvd = exc.rcvd
            self._closed(rcvd.code if rcvd else None, rcvd.reason if rcvd else "")
            return None
        return self._parse(raw)

    def __iter__(self) -> Iterator[StreamMessage]:
        while True:
            message = self.recv()
            if message is None:
                return
            yield message
            if self._done:
                return

    def close(self) -> None:
        """Close the socket (without ``end`` the server still stores what it analysed)."""
        if self._ws is not None:
            self._ws.close()


class AsyncVideoStream(_Session):
    """The asyncio stream session (``async with client.stream.video(...) as s``; ``async for m in s``)."""

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        fps: float,
        audio: bool,
        metadata: dict[str, Any],
        open_timeout: float = 10.0,
    ) -> None:
        super().__init__(fps, audio, metadata)
        self._url = ws_url(base_url)
        self._headers = {"Authorization": f"Bearer {api_key}"}
        self._open_timeout = open_timeout
        self._ws: Any = None

    async def __aenter__(self) -> AsyncVideoStream:
        from websockets.asyncio.client import connect
        from websockets.exceptions import InvalidHandshake

        try:
            self._ws = await connect(
                self._url, additional_headers=self._headers, open_timeout=self._open_timeout, max_size=None
            )
        except (InvalidHandshake, OSError, TimeoutError) as exc:
            raise _handshake_error(exc) from exc
        await self._ws.send(self._start_message())
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def send_frame(self, image: bytes, ts_ms: int | None = None) -> None:
        """See :meth:`VideoStream.send_frame`."""
        await self._ws.send(_media(FRAME, self._ts(ts_ms), image))

    async def send_audio(self, pcm: bytes, ts_ms: int | None = None) -> None:
        """See :meth:`VideoStream.send_audio`."""
        _check_pcm(pcm)
        await self._ws.send(_media(AUDIO, self._ts(ts_ms), pcm))

    async def end(self) -> None:
        """See :meth:`VideoStream.end`."""
        await self._ws.send(json.dumps({"type": "end"}))

    async def recv(self) -> StreamMessage | None:
        """The next server message, or None once the stream is over."""
        from websockets.exceptions import ConnectionClosed

        if self._done:
            return None
        try:
            raw = await self._ws.recv()
        except ConnectionClosed as exc:
            rcvd = exc.rcvd
            self._closed(rcvd.code if rcvd else None, rcvd.reason if rcvd else "")
            return None
        return self._parse(raw)

    async def __aiter__(self) -> AsyncIterator[StreamMessage]:
        while True:
            message = await self.recv()
            if message is None:
                return
            yield message
            if self._done:
                return

    async def close(self) -> None:
        """See :meth:`VideoStream.close`."""
        if self._ws is not None:
            await self._ws.close()
