"""Reading request bodies: a size cap while streaming, strict UTF-8, JSON or text/plain."""

from __future__ import annotations

import codecs
import json
from typing import Any

from fastapi import Request
from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field, ValidationError

from core.sdk.errors import InputError

__all__ = ["TextRequest", "MediaUrlRequest", "read_capped", "parse_text_request"]

_MAX_METADATA_BYTES = 16_384


class TextRequest(BaseModel):
    """POST /v1/analyse/text as JSON."""

    model_config = ConfigDict(extra="forbid")

    text: str = Field(description="The text to analyse (UTF-8).")
    metadata: dict[str, Any] = Field(default_factory=dict, description="Echoed back in the result.")
    webhook_url: AnyHttpUrl | None = Field(default=None, description="Signed POST of the result when done.")


class MediaUrlRequest(BaseModel):
    """POST /v1/analyse/{audio,video,image,multimodal} as JSON (the other shape is a multipart upload).

    audio, video: ``url``. image: ``url`` or ``urls`` (several images). multimodal: any of ``video_url``,
    ``audio_url``, ``image_urls`` and ``text``.
    """

    model_config = ConfigDict(extra="forbid")

    url: AnyHttpUrl | None = None
    urls: list[AnyHttpUrl] | None = Field(default=None, description="image only: several images.")
    video_url: AnyHttpUrl | None = Field(default=None, description="multimodal only.")
    audio_url: AnyHttpUrl | None = Field(default=None, description="multimodal only.")
    image_urls: list[AnyHttpUrl] | None = Field(default=None, description="multimodal only.")
    text: str | None = Field(default=None, description="multimodal only: a transcript or text to fuse.")
    metadata: dict[str, Any] = Field(default_factory=dict)
    webhook_url: AnyHttpUrl | None = None


async def read_capped(request: Request, max_bytes: int) -> bytes:
    """The whole body, or 413 ``payload_too_large`` as soon as it passes ``max_bytes``."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > max_bytes:
        raise InputError("payload_too_large", f"request body is over {max_bytes} bytes", 413)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > max_bytes:
            raise InputError("payload_too_large", f"request body is over {max_bytes} bytes", 413)
        chunks.append(chunk)
    return b"".join(chunks)


def _decode(raw: bytes, charset: str) -> str:
    try:
        codecs.lookup(charset)
    except LookupError as exc:
        raise InputError("unsupported_media_type", f"unknown charset {charset!r}", 415) from exc
    try:
        return raw.decode(charset)
    except UnicodeDecodeError as exc:
        raise InputError("invalid_encoding", f"body is not valid {charset} text", 400) from exc


def _content_type(request: Request) -> tuple[str, str]:
    media, _, params = request.headers.get("content-type", "").partition(";")
    charset = "utf-8"
    for part in params.split(";"):
        name, _, value = part.strip().partition("=")
        if name.lower() == "charset" and value:
            charset = value.strip('"').lower()
    return media.strip().lower(), charset


def _from_json(raw: bytes) -> TextRequest:
    text = _decode(raw, "utf-8")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError("invalid_json", f"body is not valid JSON: {exc.msg} at {exc.pos}", 400) from exc
    try:
        return TextRequest.model_validate(data)
    except ValidationError as exc:
        fields = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'body'}: {e['msg']}" for e in exc.errors()
        )
        raise InputError("invalid_input", fields, 422) from exc


async def parse_text_request(request: Request, max_bytes: int, max_chars: int) -> TextRequest:
    """Validate a text analysis request from JSON or text/plain; every failure is an InputError."""
    media, charset = _content_type(request)
    if media not in ("application/json", "text/plain"):
        raise InputError("unsupported_media_type", "send application/json or text/plain (UTF-8)", 415)
    raw = await read_capped(request, max_bytes)
    body = _from_json(raw) if media == "application/json" else TextRequest(text=_decode(raw, charset))
    if not body.text.strip():
        raise InputError("invalid_input", "text is empty", 422)
    if len(body.text) > max_chars:
        raise InputError("payload_too_large", f"text is over {max_chars} characters", 413)
    if len(json.dumps(body.metadata)) > _MAX_METADATA_BYTES:
        raise InputError("payload_too_large", f"metadata is over {_MAX_METADATA_BYTES} bytes", 413)
    return body
