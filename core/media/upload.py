"""Streaming multipart uploads straight into the spool, with caps enforced as bytes arrive."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi import Request
from python_multipart import MultipartParser
from python_multipart.multipart import parse_options_header
from starlette.concurrency import run_in_threadpool

from core.media.spool import SpoolFull, is_disk_full
from core.sdk.errors import InputError

__all__ = ["UploadedFile", "Upload", "UploadRules", "receive_upload"]

_MAX_FIELD_BYTES = 16_384


@dataclass(frozen=True)
class UploadRules:
    """Which parts a route accepts: file parts (name → how many at most) and small text fields."""

    files: dict[str, int]
    fields: tuple[str, ...] = ("metadata", "webhook_url")
    max_bytes: int = 0
    max_field_bytes: int = _MAX_FIELD_BYTES


@dataclass(frozen=True)
class UploadedFile:
    """One received file part: its form name, the client's filename, and its size."""

    name: str
    filename: str | None
    size: int


@dataclass
class Upload:
    """A received multipart request: the files (in the spool, by index) and the small form fields."""

    files: list[UploadedFile] = field(default_factory=list)
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
    """python-multipart callbacks: file parts go to disk as they arrive, small fields stay in memory."""

    def __init__(self, dest_for: Callable[[int], Path], rules: UploadRules) -> None:
        self.dest_for, self.rules = dest_for, rules
        self.upload = Upload()
        self.total = 0
        self._name = ""
        self._filename: str | None = None
        self._size = 0
        self._header_field = b""
        self._header_value = b""
        self._headers: dict[bytes, bytes] = {}
        self._buf = bytearray()
        self._fh: Any = None

    def on_part_begin(self) -> None:
        self._headers, self._buf, self._name, self._filename, self._size = {}, bytearray(), "", None, 0

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
        if self._name in self.rules.files:
            limit = self.rules.files[self._name]
            if sum(1 for f in self.upload.files if f.name == self._name) >= limit:
                code = "too_many_images" if self._name in ("image", "file") and limit > 1 else "invalid_input"
                raise InputError(code, f"at most {limit} '{self._name}' part(s) per request", 413)
            self._filename = filename.decode("utf-8", "replace") if filename else None
            self._fh = self.dest_for(len(self.upload.files)).open("wb")
        elif self._name not in self.rules.fields:
            raise InputError("invalid_input", f"unknown form field {self._name!r}", 422)

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        chunk = data[start:end]
        if self._fh is not None:
            self._size += len(chunk)
            self.total += len(chunk)
            if self.total > self.rules.max_bytes:
                raise InputError("payload_too_large", f"uploads are over {self.rules.max_bytes} bytes", 413)
            self._fh.write(chunk)
            return
        self._buf += chunk
        if len(self._buf) > self.rules.max_field_bytes:
            raise InputError("payload_too_large", f"form field {self._name!r} is too large", 413)

    def on_part_end(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None
            if self._size == 0:
                raise InputError("invalid_input", f"the '{self._name}' part is empty", 422)
            self.upload.files.append(UploadedFile(self._name, self._filename, self._size))
        elif self._name:
            try:
                self.upload.fields[self._name] = self._buf.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise InputError("invalid_encoding", f"form field {self._name!r} is not UTF-8", 400) from exc

    def close(self, quiet: bool = False) -> None:
        """Close the open file part (``quiet``: after a failure, a second error is not worth raising)."""
        fh, self._fh = self._fh, None
        if fh is None:
            return
        try:
            fh.close()
        except OSError:
            if not quiet:
                raise


async def receive_upload(request: Request, dest_for: Callable[[int], Path], rules: UploadRules) -> Upload:
    """Parse a multipart/form-data body, writing file part ``i`` to ``dest_for(i)`` as it arrives.

    The caller removes the written files when this raises.
    """
    _, params = parse_options_header(request.headers.get("content-type", ""))
    boundary = params.get(b"boundary")
    if not boundary:
        raise InputError("invalid_input", "multipart body without a boundary", 400)
    receiver = _Receiver(dest_for, rules)
    callbacks: Any = {name: getattr(receiver, name) for name in dir(receiver) if name.startswith("on_")}
    parser = MultipartParser(boundary, callbacks)
    try:
        async for chunk in request.stream():
            await run_in_threadpool(parser.write, chunk)  # disk writes stay off the event loop
        parser.finalize()
        receiver.close()
    except InputError:
        raise
    except OSError as exc:
        if is_disk_full(exc):
            raise SpoolFull() from exc
        raise
    except Exception as exc:  # noqa: BLE001 - the parser's own errors: a malformed body
        raise InputError("invalid_input", "malformed multipart body", 400) from exc
    finally:
        receiver.close(quiet=True)
    if not receiver.upload.files:
        raise InputError("invalid_input", f"no file part (expected one of {sorted(rules.files)})", 422)
    return receiver.upload
