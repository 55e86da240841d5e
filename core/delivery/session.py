"""The authorised HTTP session handed to connectors: SSRF-guarded, pinned to the checked address."""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlsplit

import httpx

from core.media.outbound import Target, check_url
from core.sdk.contracts import Credentials
from core.sdk.errors import InputError, PermanentError, TransientError

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
    ) -> None:
        self.credentials = credentials
        self._allow_private = allow_private
        self._timeout = timeout
        self._transport = transport

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


def _read_capped(resp: httpx.Response) -> bytes:
    chunks: list[bytes] = []
    size = 0
    for chunk in resp.iter_bytes():
        chunks.append(chunk)
        size += len(chunk)
        if size >= _MAX_RESPONSE_BYTES:
            break
    return b"".join(chunks)[:_MAX_RESPONSE_BYTES]
