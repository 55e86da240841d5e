"""Request specifications shared by the sync and async clients (no I/O here)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from echodepth._base import FileInput, FilePart


@dataclass
class Spec:
    """One API call: what to send and whether it may be repeated after an ambiguous failure."""

    method: str
    path: str
    json: Any = None
    params: dict[str, Any] | None = None
    parts: list[FilePart] = field(default_factory=list)
    form: dict[str, str] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    retry_safe: bool = True


def seg(value: str) -> str:
    """A path segment, escaped."""
    return quote(str(value), safe="")


def _files(value: FileInput | Sequence[FileInput] | None) -> list[FileInput]:
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return list(value)
    return [value]  # type: ignore[list-item]


def _urls(value: str | Sequence[str] | None) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


def _common(
    spec: Spec, metadata: dict[str, Any] | None, webhook_url: str | None, idempotency_key: str | None
) -> Spec:
    spec.headers["Idempotency-Key"] = idempotency_key or str(uuid.uuid4())
    if spec.parts:
        if metadata:
            spec.form["metadata"] = json.dumps(metadata)
        if webhook_url:
            spec.form["webhook_url"] = webhook_url
    else:
        if metadata:
            spec.json["metadata"] = metadata
        if webhook_url:
            spec.json["webhook_url"] = webhook_url
    return spec


def analyse_media(
    kind: str,
    url: str | Sequence[str] | None,
    file: FileInput | Sequence[FileInput] | None,
    metadata: dict[str, Any] | None,
    webhook_url: str | None,
    idempotency_key: str | None,
) -> Spec:
    """POST /v1/analyse/{audio,video,image}: a multipart upload of ``file`` or JSON with the URL(s)."""
    urls, files = _urls(url), _files(file)
    if bool(urls) == bool(files):
        raise ValueError("give exactly one of url= or file=")
    if kind != "image" and (len(urls) > 1 or len(files) > 1):
        raise ValueError(f"{kind} takes one url or one file")
    spec = Spec("POST", f"/v1/analyse/{kind}", retry_safe=True)
    if files:
        spec.parts = [FilePart("file", f) for f in files]
    elif kind == "image" and len(urls) > 1:
        spec.json = {"urls": urls}
    else:
        spec.json = {"url": urls[0]}
    return _common(spec, metadata, webhook_url, idempotency_key)


def analyse_text(
    text: str, metadata: dict[str, Any] | None, webhook_url: str | None, idempotency_key: str | None
) -> Spec:
    """POST /v1/analyse/text as JSON."""
    return _common(
        Spec("POST", "/v1/analyse/text", json={"text": text}), metadata, webhook_url, idempotency_key
    )


def analyse_multimodal(
    video: FileInput | None,
    audio: FileInput | None,
    images: Sequence[FileInput] | None,
    text: str | None,
    video_url: str | None,
    audio_url: str | None,
    image_urls: Sequence[str] | None,
    metadata: dict[str, Any] | None,
    webhook_url: str | None,
    idempotency_key: str | None,
) -> Spec:
    """POST /v1/analyse/multimodal: uploads (video, audio, images, text) or URLs (and text), not both."""
    uploads = [("video", video), ("audio", audio)] + [("image", i) for i in images or []]
    parts = [FilePart(name, src) for name, src in uploads if src is not None]
    has_urls = bool(video_url or audio_url or image_urls)
    if parts and has_urls:
        raise ValueError("multimodal takes uploads or URLs, not both in one request")
    if not parts and not has_urls and not (text and text.strip()):
        raise ValueError("give at least one of video, audio, images, text or their URLs")
    spec = Spec("POST", "/v1/analyse/multimodal")
    if parts:
        spec.parts = parts
        if text:
            spec.form["text"] = text
    else:
        body: dict[str, Any] = {}
        if video_url:
            body["video_url"] = video_url
        if audio_url:
            body["audio_url"] = audio_url
        if image_urls:
            body["image_urls"] = list(image_urls)
        if text:
            body["text"] = text
        spec.json = body
    return _common(spec, metadata, webhook_url, idempotency_key)


def drop_none(values: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None}
