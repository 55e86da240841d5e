"""The stream protocol, without I/O: what both stream sessions send and how they read what comes back.

Real-time analysis runs over ``WS /v1/stream/video`` (see docs/streaming.md for the protocol).

Client → server: ``{"type": "start", "fps", "audio", "metadata"}`` first, then binary media messages
(``0x01`` + 8-byte big-endian timestamp in ms + one JPEG/PNG/WebP frame; ``0x02`` + timestamp + 16 kHz mono
s16le PCM), then ``{"type": "end"}``. Server → client: JSON ``frame``, ``second``, ``dropped``, ``error`` and,
after ``end``, ``summary`` with the ``job_id`` of the stored session summary.
"""

from __future__ import annotations

import json
import struct
import time
from typing import Any

from echodepth.errors import AuthenticationError, StreamError
from echodepth.types import StreamMessage

__all__ = ["FRAME", "AUDIO", "ws_url", "StreamSession", "media_message", "check_pcm", "handshake_error"]

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


def media_message(kind: int, ts_ms: int, payload: bytes) -> bytes:
    return bytes([kind]) + struct.pack(">Q", max(0, int(ts_ms))) + payload


def check_pcm(pcm: bytes) -> None:
    if len(pcm) % 2:
        raise ValueError("PCM must be 16-bit samples (an even number of bytes)")


def handshake_error(exc: Exception) -> Exception:
    status = getattr(getattr(exc, "response", None), "status_code", None)
    if status in (401, 403):
        return AuthenticationError("unauthorized", int(status), "the stream refused the API key")
    return StreamError("connect_failed", str(exc))


class StreamSession:
    """The state of one stream session: its start message, timestamps, summary and last error."""

    summary_job_id: str | None
    last_error: StreamMessage | None

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
        self.fps, self.audio, self.metadata = fps, audio, metadata
        self._url = ws_url(base_url)
        self._headers = {"Authorization": f"Bearer {api_key}"}
        self._open_timeout = open_timeout
        self._ws: Any = None
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

    def _connection_closed(self, exc: Any) -> None:
        """The socket closed (websockets' ``ConnectionClosed``): see :meth:`_closed`."""
        rcvd = exc.rcvd
        self._closed(rcvd.code if rcvd else None, rcvd.reason if rcvd else "")

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
