"""A closed-loop HTTP load generator: N concurrent keep-alive clients post one body until a count is reached.

It speaks minimal HTTP/1.1 over asyncio streams rather than using httpx: at 50 concurrent connections
httpx.AsyncClient itself tops out near 100–500 req/s on a small machine (encode/httpx#3215), which would
measure the client, not the servers. The servers under test always answer with a Content-Length.
"""

from __future__ import annotations

import asyncio
import math
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

__all__ = ["LoadResult", "Target", "run_load"]

EXPECTED_STATUS = 202
TIMEOUT_S = 60.0


@dataclass(frozen=True)
class Target:
    """Where to post and with which headers and body."""

    name: str
    url: str
    headers: dict[str, str]
    body: bytes

    def request_bytes(self) -> bytes:
        """The complete HTTP/1.1 request, sent unchanged on every iteration."""
        parts = urlsplit(self.url)
        lines = [f"POST {parts.path or '/'} HTTP/1.1", f"Host: {parts.netloc}",
                 f"Content-Length: {len(self.body)}", *(f"{k}: {v}" for k, v in self.headers.items())]
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + self.body


@dataclass
class LoadResult:
    """Latencies (seconds) of every measured request, and the requests that did not answer 202."""

    latencies_s: list[float] = field(default_factory=list)
    errors: int = 0
    error_samples: list[str] = field(default_factory=list)
    elapsed_s: float = 0.0

    def percentile_ms(self, q: float) -> float:
        """Nearest-rank percentile ``q`` (0–1) of the latencies, in milliseconds."""
        if not self.latencies_s:
            return math.nan
        ordered = sorted(self.latencies_s)
        return ordered[max(0, math.ceil(q * len(ordered)) - 1)] * 1000

    @property
    def requests_per_s(self) -> float:
        """Completed requests per second of wall time."""
        return len(self.latencies_s) / self.elapsed_s if self.elapsed_s else math.nan

    def record_error(self, message: str) -> None:
        """Count one failed request; keep the first few messages."""
        self.errors += 1
        if len(self.error_samples) < 3:
            self.error_samples.append(message)


class _Connection:
    """One keep-alive HTTP/1.1 connection that sends a fixed request and reads one response."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def exchange(self, request: bytes) -> tuple[int, bytes]:
        """Send ``request``; return the response status and body. Reconnects when needed."""
        if self.reader is None or self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        self.writer.write(request)
        await self.writer.drain()
        head = await self.reader.readuntil(b"\r\n\r\n")
        status, length, close = _parse_head(head)
        body = await self.reader.readexactly(length)
        if close:
            await self.close()
        return status, body

    async def close(self) -> None:
        """Close the socket; the next exchange opens a new one."""
        if self.writer is not None:
            self.writer.close()
            await self.writer.wait_closed()
        self.reader = self.writer = None


def _parse_head(head: bytes) -> tuple[int, int, bool]:
    lines = head.decode("latin-1").split("\r\n")
    version, status = lines[0].split(" ", 2)[:2]
    if not version.startswith("HTTP/1."):
        raise ValueError(f"not an HTTP/1.x response: {lines[0]!r}")
    fields = {k.strip().lower(): v.strip() for k, _, v in (ln.partition(":") for ln in lines[1:] if ln)}
    if "content-length" not in fields:
        raise ValueError("response without Content-Length (chunked responses are not supported)")
    return int(status), int(fields["content-length"]), fields.get("connection", "").lower() == "close"


async def _one_client(conn: _Connection, request: bytes, tickets: list[int], out: LoadResult) -> None:
    while tickets:
        tickets.pop()
        start = time.perf_counter()
        try:
            status, body = await asyncio.wait_for(conn.exchange(request), TIMEOUT_S)
        except (OSError, ValueError, asyncio.IncompleteReadError, TimeoutError) as exc:
            out.latencies_s.append(time.perf_counter() - start)
            out.record_error(f"{type(exc).__name__}: {exc}")
            await conn.close()
            continue
        out.latencies_s.append(time.perf_counter() - start)
        if status != EXPECTED_STATUS:
            out.record_error(f"HTTP {status}: {body[:200].decode(errors='replace')}")


async def _phase(conns: list[_Connection], request: bytes, requests: int) -> LoadResult:
    out = LoadResult()
    tickets = list(range(requests))
    start = time.perf_counter()
    await asyncio.gather(*(_one_client(conn, request, tickets, out) for conn in conns))
    out.elapsed_s = time.perf_counter() - start
    return out


async def _run(target: Target, clients: int, warmup: int, requests: int) -> LoadResult:
    parts = urlsplit(target.url)
    conns = [_Connection(parts.hostname or "127.0.0.1", parts.port or 80) for _ in range(clients)]
    request = target.request_bytes()
    try:
        if warmup:  # also opens the connections, so the measured requests all reuse one
            await _phase(conns, request, max(warmup, clients))
        return await _phase(conns, request, requests)
    finally:
        await asyncio.gather(*(conn.close() for conn in conns), return_exceptions=True)


def run_load(target: Target, clients: int, warmup: int, requests: int) -> LoadResult:
    """Warm up, then time ``requests`` posts from ``clients`` concurrent keep-alive connections."""
    return asyncio.run(_run(target, clients, warmup, requests))
