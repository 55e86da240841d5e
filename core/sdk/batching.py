"""What BatchSinks share: chunking, and keeping one refused record from failing the others."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import TypeVar

from core.sdk.errors import PermanentError

__all__ = ["chunks", "isolate_refusals"]

T = TypeVar("T")


def chunks(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    """``items`` in consecutive slices of at most ``size``."""
    for i in range(0, len(items), size):
        yield items[i : i + size]


def isolate_refusals(items: Sequence[T], send: Callable[[Sequence[T]], None]) -> dict[int, PermanentError]:
    """Send ``items`` in one call; when the vendor refuses the whole call (a PermanentError, e.g. one unknown
    id in a batch update), send each half again until the refused items stand alone.

    Returns the index of every refused item with its error; transient and auth errors propagate (they are
    about the call, not an item). Costs extra calls only when something is refused.
    """
    try:
        send(items)
        return {}
    except PermanentError as exc:
        if len(items) == 1:
            return {0: exc}
    half = len(items) // 2
    refused = isolate_refusals(items[:half], send)
    refused.update({half + i: e for i, e in isolate_refusals(items[half:], send).items()})
    return refused
