"""A stream session over ``WS /v1/stream/video``: ``AsyncVideoStream`` (asyncio) and ``VideoStream``."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from types import TracebackType

from echodepth._io import async_ws_connect, async_ws_recv
from echodepth._stream import AUDIO, FRAME, StreamSession, check_pcm, handshake_error, media_message
from echodepth.types import StreamMessage

__all__ = ["AsyncVideoStream"]


class AsyncVideoStream(StreamSession):
    """A stream session (from ``client.stream.video(...)``): a context manager (``with``, or ``async with``
    on ``AsyncClient``) and an iterator of server messages (dicts). Iteration ends after the ``summary``
    message; ``summary_job_id`` is then the job to fetch with ``client.results.get``."""

    async def __aenter__(self) -> AsyncVideoStream:
        from websockets.exceptions import InvalidHandshake

        try:
            self._ws = await async_ws_connect(self._url, self._headers, self._open_timeout)
        except (InvalidHandshake, OSError, TimeoutError) as exc:
            raise handshake_error(exc) from exc
        await self._ws.send(self._start_message())
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def send_frame(self, image: bytes, ts_ms: int | None = None) -> None:
        """Send one video frame (JPEG, PNG or WebP bytes) stamped ``ts_ms`` (default: ms since start)."""
        await self._ws.send(media_message(FRAME, self._ts(ts_ms), image))

    async def send_audio(self, pcm: bytes, ts_ms: int | None = None) -> None:
        """Send a chunk of 16 kHz mono signed 16-bit little-endian PCM stamped ``ts_ms``."""
        check_pcm(pcm)
        await self._ws.send(media_message(AUDIO, self._ts(ts_ms), pcm))

    async def end(self) -> None:
        """Say the stream is over; the server answers with the remaining messages and a ``summary``."""
        await self._ws.send(json.dumps({"type": "end"}))

    async def recv(self, timeout: float | None = None) -> StreamMessage | None:
        """The next server message, or None once the stream is over; ``TimeoutError`` after ``timeout`` s."""
        from websockets.exceptions import ConnectionClosed

        if self._done:
            return None
        try:
            raw = await async_ws_recv(self._ws, timeout)
        except ConnectionClosed as exc:
            self._connection_closed(exc)
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
        """Close the socket (without ``end`` the server still stores what it analysed)."""
        if self._ws is not None:
            await self._ws.close()
