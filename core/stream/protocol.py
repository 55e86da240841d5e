"""The wire protocol of ``WS /v1/stream/video``: message parsing, error codes and close codes.

Client → server: text ``{"type": "start", "fps", "audio", "metadata", "participants"}`` first,
``{"type": "speaker", "name", "start", "end"}`` (who spoke when, in ms) any time, ``{"type": "end"}`` last;
binary ``kind (1 byte) + timestamp ms (8 bytes, big-endian) + payload``, kind ``0x01`` an image (JPEG, PNG,
WebP), ``0x02`` 16 kHz mono s16le PCM. Every violation is a :class:`StreamClose`: an ``error`` message with
its code, then the close code (RFC 6455 §7.4.1).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import IntEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from core.sdk.errors import InputError

__all__ = [
    "KIND_FRAME",
    "KIND_AUDIO",
    "HEADER_BYTES",
    "Close",
    "StreamClose",
    "StartMessage",
    "Participant",
    "SpeakerMessage",
    "parse_speaker",
    "Chunk",
    "parse_chunk",
    "parse_text",
    "parse_start",
]

KIND_FRAME = 0x01
KIND_AUDIO = 0x02
HEADER_BYTES = 9


class Close(IntEnum):
    """WebSocket close codes used by the stream."""

    NORMAL = 1000
    UNSUPPORTED_DATA = 1003
    POLICY = 1008
    TOO_BIG = 1009
    INTERNAL = 1011
    TRY_AGAIN_LATER = 1013


class StreamClose(InputError):
    """A protocol violation or limit: report ``code`` in an error message, then close with ``close``."""

    def __init__(self, code: str, message: str, close: Close) -> None:
        super().__init__(code, message, 400)
        self.close = close


class Participant(BaseModel):
    """Someone on the stream, as the client knows them: the name speaker messages use, and an e-mail."""

    model_config = ConfigDict(extra="ignore")

    name: str | None = Field(default=None, max_length=200)
    email: str | None = Field(default=None, max_length=320)


class StartMessage(BaseModel):
    """The first message of a stream."""

    model_config = ConfigDict(extra="ignore")

    type: Literal["start"]
    fps: float = Field(gt=0)
    audio: bool = False
    metadata: dict[str, Any] = Field(default_factory=dict)
    participants: list[Participant] = Field(default_factory=list, max_length=100)


class SpeakerMessage(BaseModel):
    """Who spoke from ``start`` to ``end`` (ms, the media timestamps' clock): a meeting client's
    active-speaker events. Their names name the summary's voices as a transcript's would."""

    model_config = ConfigDict(extra="ignore")

    type: Literal["speaker"]
    name: str = Field(min_length=1, max_length=200)
    start: int = Field(ge=0)
    end: int = Field(ge=0)


def parse_speaker(msg: dict[str, Any]) -> SpeakerMessage:
    """A validated speaker message (``end`` after ``start``); StreamClose ``invalid_message`` otherwise."""
    try:
        found = SpeakerMessage.model_validate(msg)
    except ValidationError as exc:
        raise StreamClose("invalid_message", exc.errors()[0]["msg"], Close.UNSUPPORTED_DATA) from exc
    if found.end <= found.start:
        raise StreamClose("invalid_message", "a speaker message ends after it starts", Close.UNSUPPORTED_DATA)
    return found


@dataclass(frozen=True)
class Chunk:
    """One binary message: its kind, client timestamp (ms) and payload."""

    kind: int
    ts_ms: int
    payload: bytes


def parse_chunk(data: bytes, max_bytes: int) -> Chunk:
    """Split a binary message; StreamClose for oversize, short, unknown-kind or odd-length PCM messages."""
    if len(data) > max_bytes:
        raise StreamClose(
            "frame_too_large", f"binary messages are limited to {max_bytes} bytes", Close.TOO_BIG
        )
    if len(data) <= HEADER_BYTES:
        raise StreamClose(
            "message_too_short",
            "a binary message is kind + 8-byte timestamp + payload",
            Close.UNSUPPORTED_DATA,
        )
    kind = data[0]
    if kind not in (KIND_FRAME, KIND_AUDIO):
        raise StreamClose(
            "unknown_kind", f"unknown kind byte 0x{kind:02x} (0x01 frame, 0x02 audio)", Close.UNSUPPORTED_DATA
        )
    payload = data[HEADER_BYTES:]
    if kind == KIND_AUDIO and len(payload) % 2:
        raise StreamClose(
            "audio_odd_length",
            "PCM must be whole 16-bit samples (an even byte count)",
            Close.UNSUPPORTED_DATA,
        )
    return Chunk(kind, int.from_bytes(data[1:HEADER_BYTES], "big"), payload)


def parse_text(text: str) -> dict[str, Any]:
    """A text message as a JSON object with a string ``type``."""
    try:
        msg = json.loads(text)
    except ValueError as exc:
        raise StreamClose(
            "invalid_json", "text messages must be JSON objects", Close.UNSUPPORTED_DATA
        ) from exc
    if not isinstance(msg, dict) or not isinstance(msg.get("type"), str):
        raise StreamClose("invalid_message", 'text messages need a "type"', Close.UNSUPPORTED_DATA)
    return msg


def parse_start(msg: dict[str, Any], max_fps: float) -> StartMessage:
    """The validated start message (fps within ``max_fps``)."""
    if msg.get("type") != "start":
        raise StreamClose("start_expected", 'the first message must be {"type": "start", ...}', Close.POLICY)
    try:
        start = StartMessage.model_validate(msg)
    except ValidationError as exc:
        raise StreamClose("invalid_start", exc.errors()[0]["msg"], Close.POLICY) from exc
    if start.fps > max_fps:
        raise StreamClose("invalid_start", f"fps must be at most {max_fps:g}", Close.POLICY)
    return start
