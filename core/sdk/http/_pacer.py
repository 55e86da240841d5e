"""The one pacer: keeps a process's calls to one vendor account inside the provider's ``rate_limit``."""

from __future__ import annotations

import json
import math
import re
import threading
import time
from collections import deque
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from core.sdk.contracts import Credentials, HttpSession, ProviderSpec, RateLimitSpec

__all__ = ["Pacer", "PacedSession", "paced", "PACER"]

Budget = tuple[int, float]  # requests per window seconds


class Pacer:
    """Sliding windows of answered calls, one per key; a call waits until its window has room.

    A call counts from when its answer came back (the vendor counted it at some moment before that), so a
    slow network never lets two calls land in one window; in flight it holds its place. Other processes
    spend the same budget: the 429s they cause are still classified (and waited out or retried)."""

    _IDLE = 60.0  # a key not used for this long is forgotten
    _MARGIN = 0.02  # seconds of slack on top of each window

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.learned: dict[tuple[str, ...], Budget] = {}
        self.sent: dict[tuple[str, ...], deque[list[float]]] = {}

    def take(self, key: tuple[str, ...], budget: Budget) -> list[float]:
        """Wait until a call fits in ``key``'s window; its slot, to hand to ``done`` once answered."""
        limit, window = self.learned.get(key, budget)
        while True:
            with self.lock:
                now = time.monotonic()
                sent = self.sent.setdefault(key, deque())
                while sent and sent[0][0] <= now - window - self._MARGIN:
                    sent.popleft()
                if len(sent) < limit:
                    slot = [math.inf]  # in flight: it holds its place until answered
                    sent.append(slot)
                    self._forget_idle(now)
                    return slot
                pause = sent[0][0] + window + self._MARGIN - now
            time.sleep(min(max(pause, 0.005), window))

    def done(self, key: tuple[str, ...], slot: list[float], learned: Budget | None = None) -> None:
        """The call of ``slot`` was answered now; ``learned`` is the budget the answer stated, if any."""
        with self.lock:
            slot[0] = time.monotonic()
            if learned is not None:
                self.learned[key] = learned

    def _forget_idle(self, now: float) -> None:
        for key in [k for k, times in self.sent.items() if not times or times[-1][0] < now - self._IDLE]:
            del self.sent[key]


PACER = Pacer()


def _learned(limit: RateLimitSpec, headers: Mapping[str, str]) -> Budget | None:
    if limit.learn is None:
        return None
    lower = {k.lower(): str(v) for k, v in headers.items()}
    most = lower.get(limit.learn.requests_header.lower(), "")
    window = lower.get(limit.learn.window_ms_header.lower(), "")
    if most.isdigit() and window.isdigit() and int(most) > 0 and int(window) > 0:
        return int(most), int(window) / 1000
    return None


class PacedSession:
    """An ``HttpSession`` whose requests wait their turn in the account's budget (downloads do not)."""

    def __init__(self, session: HttpSession, vendor: str, limit: RateLimitSpec, pacer: Pacer) -> None:
        self.session, self.vendor, self.limit, self.pacer = session, vendor, limit, pacer
        self.credentials: Credentials = session.credentials

    def _key(self, url: str, content: bytes | None) -> tuple[tuple[str, ...], Budget] | None:
        """The window a call to ``url`` spends and its budget; None when the budget does not count it."""
        path, limit = urlsplit(url).path, self.limit
        account = (self.vendor, self.session.credentials.access_token or "")
        for name, bucket in limit.buckets.items():
            if re.search(bucket.path, path):
                return (*account, name), (bucket.requests, bucket.per_seconds)
        if limit.paths and not any(re.search(p, path) for p in limit.paths):
            return None
        part = ""
        if limit.per_field and content:
            try:
                body = json.loads(content)
            except ValueError:
                body = {}
            part = str(body.get(limit.per_field, "")) if isinstance(body, dict) else ""
        return (*account, "", part), (limit.requests, limit.per_seconds)

    def request(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        content: bytes | None = None,
        timeout: float | None = None,
    ) -> httpx.Response:
        """Send one request once the budget has room for it."""
        counted = self._key(url, content)
        if counted is None:
            return self.session.request(method, url, headers=headers, content=content, timeout=timeout)
        key, budget = counted
        slot = self.pacer.take(key, budget)
        learned = None
        try:
            got = self.session.request(method, url, headers=headers, content=content, timeout=timeout)
            learned = _learned(self.limit, got.headers) if key[2] == "" else None  # main budget only
        finally:
            self.pacer.done(key, slot, learned)
        return got

    def download(
        self, url: str, dest: Path, *, headers: Mapping[str, str] | None = None, max_bytes: int | None = None
    ) -> int:
        """The wrapped session's download."""
        return self.session.download(url, dest, headers=headers, max_bytes=max_bytes)


def paced(session: HttpSession, spec: ProviderSpec, pacer: Pacer = PACER) -> HttpSession:
    """``session`` kept inside ``spec.rate_limit`` (unchanged when the spec states none)."""
    if spec.rate_limit is None or isinstance(session, PacedSession):
        return session
    return PacedSession(session, spec.key, spec.rate_limit, pacer)
