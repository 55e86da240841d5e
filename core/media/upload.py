"""Streaming multipart uploads straight into the spool, with a size cap enforced as bytes arrive."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi import Request
from python_multipart import MultipartParser
from python_multipart.multipart import parse_options_header
from starlette.concurrency import run_in_threadpool

from core.sdk.errors import InputError

__all__ = ["Upload", "receive_upload"]

_MAX_FIELD_BYTES = 16_384
_FIELDS = ("metadata", "webhook_url", "text")


@dataclass
class Upload:
    """A received multipart request: the file (in the spool) and the small form fields."""

    path: Path | None = None
    filename: str | None = None
    size: int = 0
    fields: dict[str, str] = field(default_factory=dict)

    def metadata(self) -> dict[str, Any]:
        """The ``metadata`` field parsed as a JSON object."""
        raw = self.fields.get("metadata")
        if not raw:
            return {}
        try:
            value = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise InputError("invalid_input", "metadata must be a JSON object", 422) from exc
        if not isinstance(value, dict):
            raise InputError("invalid_input", "metadata must be a JSON object", 422)
        return value


class _Receiver:
    """python-multipart callbacks that write the ``file`` part to disk and keep small fields."""

    def __init__(self, dest: Path, max_bytes: int) -> None:
        self.dest, self.max_bytes = dest, max_bytes
        self.upload = Upload()
        self._name: str | None = None
        self._filename: str | None = None
        self._header_field = b""
        self._header_value = b""
        self._headers: dict[bytes, bytes] = {}
        self._buf = bytearray()
        self._fh: Any = None

    def on_part_begin(self) -> None:
        self._headers, self._buf, self._name, self._filename = {}, bytearray(), None, None

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_field += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def on_header_end(self) -> None:
        self._headers[self._header_field.lower()] = self._header_value
        self._header_field, self._header_value = b"", b""

    def on_headers_finished(self) -> None:
        _, params = parse_options_header(self._headers.get(b"content-disposition", b""))
        self._name = params.get(b"name", b"").decode("utf-8", "replace")
        filename = params.get(b"filename")
        if self._name == "file":
            if self.upload.path is not None:
                raise InputError("invalid_input", "send one file per request", 422)
            self._filename = filename.decode("utf-8", "replace") if filename else None
            self._fh = self.dest.open("wb")
        elif self._name not in _FIELDS:
            raise InputError("invalid_input", f"unknown form field {self._name!r}", 422)

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        chunk = data[start:end]
        if self._fh is not None:
            self.upload.size += len(chunk)
            if self.upload.size > self.max_bytes:
                raise InputError("payload_too_large", f"the file is over {self.max_bytes} bytes", 413)
            self._fh.write(chunk)
            return
        self._buf += chunk
        if len(self._buf) > _MAX_FIELD_BYTES:
            raise InputError("payload_too_large", f"form field {self._name!r} is too large", 413)

    def on_part_end(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None
            self.upload.path, self.upload.filename = self.dest, self._filename
        elif self._name:
            try:
                self.upload.fields[self._name] = self._buf.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise InputError("invalid_encoding", f"form field {self._name!r} is not UTF-8", 400) from exc

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()


async def receive_upload(request: Request, dest: Path, max_bytes: int) -> Upload:
    """Parse a multipart/form-data body, writing its ``file`` part to ``dest`` as it arrives.

    On any failure the partial file is removed before the error propagates.
    """
    _, params = parse_options_header(request.headers.get("content-type", ""))
    boundary = params.get(b"boundary")
    if not boundary:
        raise InputError("invalid_input", "multipart body without a boundary", 400)
    receiver = _Receiver(dest, max_bytes)
    callbacks: Any = {name: getattr(receiver, name) for name in dir(receiver) if name.startswith("on_")}
    parser = MultipartParser(boundary, callbacks)
    try:
        async for chunk in request.stream():
            await run_in_threadpool(parser.write, chunk)  # disk writes stay off the event loop
        parser.finalize()
    except InputError:
        receiver.close()
        dest.unlink(missing_ok=True)
        raise
    except Exception as exc:  # noqa: BLE001 - the parser's own errors: a malformed body
        receiver.close()
        dest.unlink(missing_ok=True)
        raise InputError("invalid_input", "malformed multipart body", 400) from exc
    if receiver.upload.path is None or receiver.upload.size == 0:
        dest.unlink(missing_ok=True)
        raise InputError("invalid_input", "the 'file' part is missing or empty", 422)
    return receiver.upload
