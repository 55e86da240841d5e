"""The authorised HTTP session handed to connectors: SSRF-guarded, pinned to the checked address."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from core.media.outbound import FetchRefused, Target, check_url, fetch_to_file
from core.sdk.contracts import Credentials
from core.sdk.errors import AuthError, ConnectorError, InputError, PermanentError, SkipItem, TransientError

__all__ = ["GuardedSession"]

_MAX_RESPONSE_BYTES = 65_536  # we keep only a short excerpt of what a receiver answers
_DECODED_HEADERS = {"content-encoding", "content-length", "transfer-encoding"}


def _pinned(target: Target) -> tuple[str, dict[str, str], dict[str, str]]:
    """The URL with the checked address as host, plus the Host header and SNI of the original name."""
    parts = urlsplit(target.url)
    ip = target.address
    netloc = f"[{ip}]:{target.port}" if ":" in ip else f"{ip}:{target.port}"
    default = target.port == {"https": 443, "http": 80}[parts.scheme]
    host_header = target.host if default else f"{target.host}:{target.port}"
    return parts._replace(netloc=netloc).geturl(), {"Host": host_header}, {"sni_hostname": target.host}


class GuardedSession:
    """One connector call's HTTP session: every URL passes ``check_url``; redirects are not followed."""

    def __init__(
        self,
        credentials: Credentials,
        *,
        allow_private: bool,
        timeout: float,
        transport: httpx.BaseTransport | None = None,
        max_download_bytes: int = 524_288_000,
        download_seconds: float = 600,
    ) -> None:
        self.credentials = credentials
        self._allow_private = allow_private
        self._timeout = timeout
        self._transport = transport
        self._max_download_bytes = max_download_bytes
        self._download_seconds = download_seconds

    def _target(self, url: str) -> Target:
        if urlsplit(url).scheme != "https" and not self._allow_private:
            raise PermanentError("http", "https_required", "only https URLs are called")
        try:
            return check_url(url, self._allow_private)
        except InputError as exc:
            if exc.code == "url_not_allowed":
                raise PermanentError("http", exc.code, exc.message) from exc
            raise TransientError("http", exc.code, exc.message) from exc

    def request(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        content: bytes | None = None,
        timeout: float | None = None,
    ) -> httpx.Response:
        """Send one request to a checked address; the response body is cut at 64 KiB."""
        pinned, host, ext = _pinned(self._target(url))
        all_headers = {**(headers or {}), **host}
        client = httpx.Client(
            transport=self._transport,
            timeout=timeout or self._timeout,
            follow_redirects=False,
            trust_env=False,
        )
        with (
            client,
            client.stream(method, pinned, headers=all_headers, content=content, extensions=ext) as resp,
        ):
            body = _read_capped(resp)
            kept = {k: v for k, v in resp.headers.items() if k not in _DECODED_HEADERS}
            return httpx.Response(resp.status_code, headers=kept, content=body)

    def download(
        self, url: str, dest: Path, *, headers: Mapping[str, str] | None = None, max_bytes: int | None = None
    ) -> int:
        """Stream ``url`` into ``dest`` through the SSRF guard, following checked redirects; the size."""
        self._target(url)  # https only unless private addresses are allowed (tests, closed networks)
        try:
            return fetch_to_file(
                url,
                dest,
                max_bytes=max_bytes or self._max_download_bytes,
                timeout=self._timeout,
                total_seconds=self._download_seconds,
                allow_private=self._allow_private,
                headers=headers,
                transport=self._transport,
            ).size
        except FetchRefused as exc:
            raise _refusal(exc.upstream_status) from exc
        except InputError as exc:
            cls = TransientError if exc.code == "url_fetch_failed" else PermanentError
            raise cls("http", exc.code, exc.message) from exc


def _refusal(status: int) -> ConnectorError:
    """The typed error for a download answered ``status``."""
    message = f"the download answered HTTP {status}"
    if status in (401, 403):
        return AuthError("http", "token_rejected", message, status)
    if status in (404, 410):
        return SkipItem("http", "gone", message, status)
    if status == 429 or status >= 500:
        return TransientError("http", "http_error", message, status)
    return PermanentError("http", "http_error", message, status)


def _read_capped(resp: httpx.Response) -> bytes:
    chunks: list[bytes] = []
    size = 0
    for chunk in resp.iter_bytes():
        chunks.append(chunk)
        size += len(chunk)
        if size >= _MAX_RESPONSE_BYTES:
            break
    return b"".join(chunks)[:_MAX_RESPONSE_BYTES]
