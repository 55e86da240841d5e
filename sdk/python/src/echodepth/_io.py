"""The I/O primitives whose blocking and asyncio forms differ by more than ``async``/``await``.

``_async/`` calls the ``async_*`` names; ``scripts/generate_sync.py`` renames each to its blocking partner
here when it generates ``_sync/``. Everything else the two halves share is written once, in ``_async/``.
"""

from __future__ import annotations

import asyncio
from time import sleep
from typing import Any

__all__ = ["async_sleep", "sleep", "async_ws_connect", "ws_connect", "async_ws_recv", "ws_recv"]


async def async_sleep(seconds: float) -> None:
    """Wait without blocking the event loop."""
    await asyncio.sleep(seconds)


async def async_ws_connect(url: str, headers: dict[str, str], open_timeout: float) -> Any:
    """An open WebSocket (websockets' asyncio client); no message size limit."""
    from websockets.asyncio.client import connect

    return await connect(url, additional_headers=headers, open_timeout=open_timeout, max_size=None)


def ws_connect(url: str, headers: dict[str, str], open_timeout: float) -> Any:
    """An open WebSocket (websockets' blocking client); no message size limit."""
    from websockets.sync.client import connect

    # __enter__: websockets >= 17.1 wants the connection entered (older versions return it as is)
    return connect(url, additional_headers=headers, open_timeout=open_timeout, max_size=None).__enter__()


async def async_ws_recv(ws: Any, timeout: float | None) -> str | bytes:
    """The next message; ``TimeoutError`` after ``timeout`` seconds (None: wait as long as it takes)."""
    return await asyncio.wait_for(ws.recv(), timeout)


def ws_recv(ws: Any, timeout: float | None) -> str | bytes:
    """The next message; ``TimeoutError`` after ``timeout`` seconds (None: wait as long as it takes)."""
    return ws.recv(timeout=timeout)  # type: ignore[no-any-return]
