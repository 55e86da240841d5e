"""Every outgoing request of the hub goes through here: http(s) only, public addresses only.

The host is resolved once, every address is checked, and the connection goes to a checked address (the
original name still drives Host, SNI and certificate checks), so a DNS answer cannot change between the
check and the connection. Redirects are followed by hand and each hop is checked again.
``allow_private`` (setting ECHODEPTH_ALLOW_PRIVATE_URLS) lifts the address check, for tests and
closed networks only.
"""

from __future__ import annotations

import ipaddress
import socket
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import httpx

from core.media.spool import SpoolFull, is_disk_full
from core.sdk.errors import InputError

__all__ = ["check_url", "fetch_to_file", "Target", "FetchResult", "FetchRefused"]

_METADATA_HOSTS = {"metadata.google.internal", "metadata", "instance-data", "metadata.azure.com"}
_METADATA_IPS = {
    ipaddress.ip_address("169.254.169.254"),
    ipaddress.ip_address("fd00:ec2::254"),
    ipaddress.ip_address("100.100.100.200"),
}
_MAX_REDIRECTS = 5


@dataclass(frozen=True)
class Target:
    """A checked URL and the address to connect to."""

    url: str
    host: str
    port: int
    address: str


@dataclass(frozen=True)
class FetchResult:
    """What a download stored."""

    path: Path
    size: int
    content_type: str | None
    final_url: str


class FetchRefused(InputError):
    """The server answered something other than 200; ``upstream_status`` is its HTTP status."""

    def __init__(self, upstream_status: int) -> None:
        super().__init__("url_fetch_failed", f"the URL answered HTTP {upstream_status}", 422)
        self.upstream_status = upstream_status


def _not_allowed(detail: str) -> InputError:
    return InputError("url_not_allowed", detail, 422)


def _public(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return not (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
        or ip in _METADATA_IPS
        or not ip.is_global
    )


def check_url(url: str, allow_private: bool) -> Target:
    """Resolve and vet ``url``; raise ``url_not_allowed`` for anything but public http(s)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise _not_allowed("only http and https URLs with a host are accepted")
    if parts.username or parts.password:
        raise _not_allowed("URLs with credentials are not accepted")
    host = parts.hostname.rstrip(".").lower()
    port = parts.port or (443 if parts.scheme == "https" else 80)
    if host in _METADATA_HOSTS and not allow_private:
        raise _not_allowed("cloud metadata hosts are not reachable")
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise InputError("url_fetch_failed", f"cannot resolve {host}", 422) from exc
    addresses = [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]
    if not allow_private:
        bad = [str(a) for a in addresses if not _public(a)]
        if bad:
            raise _not_allowed(f"{host} resolves to a non-public address ({bad[0]})")
    return Target(url, host, port, str(addresses[0]))


def _pinned(target: Target) -> tuple[str, dict[str, str], dict[str, str]]:
    parts = urlsplit(target.url)
    ip = target.address
    netloc = f"[{ip}]:{target.port}" if ":" in ip else f"{ip}:{target.port}"
    pinned = parts._replace(netloc=netloc).geturl()
    default = target.port == {"https": 443, "http": 80}[parts.scheme]
    host_header = target.host if default else f"{target.host}:{target.port}"
    return pinned, {"Host": host_header}, {"sni_hostname": target.host}


def fetch_to_file(
    url: str,
    dest: Path,
    *,
    max_bytes: int,
    timeout: float,
    total_seconds: float,
    allow_private: bool,
    headers: Mapping[str, str] | None = None,
    transport: httpx.BaseTransport | None = None,
) -> FetchResult:
    """Download ``url`` into ``dest`` with size and time caps; nothing is left at ``dest`` on failure.

    ``headers`` (a vendor's Authorization) go to the first host only: a redirect elsewhere drops them."""
    deadline = time.monotonic() + total_seconds
    part = dest.with_name(dest.name + ".part")
    extra, origin = dict(headers or {}), urlsplit(url).netloc
    try:
        with httpx.Client(
            timeout=timeout, follow_redirects=False, trust_env=False, transport=transport
        ) as client:
            for _ in range(_MAX_REDIRECTS + 1):
                target = check_url(url, allow_private)
                pinned, host, ext = _pinned(target)
                sent = {**(extra if urlsplit(url).netloc == origin else {}), **host}
                with client.stream("GET", pinned, headers=sent, extensions=ext) as resp:
                    if resp.is_redirect and "location" in resp.headers:
                        url = urljoin(url, resp.headers["location"])
                        continue
                    if resp.status_code != 200:
                        raise FetchRefused(resp.status_code)
                    size = _stream_body(resp, part, max_bytes, deadline)
                    part.replace(dest)
                    return FetchResult(dest, size, resp.headers.get("content-type"), url)
            raise InputError("url_fetch_failed", f"more than {_MAX_REDIRECTS} redirects", 422)
    except httpx.HTTPError as exc:
        raise InputError("url_fetch_failed", f"download failed: {type(exc).__name__}", 422) from exc
    except OSError as exc:
        if is_disk_full(exc):
            raise SpoolFull() from exc
        raise
    finally:
        part.unlink(missing_ok=True)


def _stream_body(resp: httpx.Response, part: Path, max_bytes: int, deadline: float) -> int:
    declared = resp.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise InputError("payload_too_large", f"the file is over {max_bytes} bytes", 413)
    size = 0
    with part.open("wb") as fh:
        for chunk in resp.iter_bytes(65536):
            size += len(chunk)
            if size > max_bytes:
                raise InputError("payload_too_large", f"the file is over {max_bytes} bytes", 413)
            if time.monotonic() > deadline:
                raise InputError("url_fetch_failed", "the download took too long", 422)
            fh.write(chunk)
    return size
