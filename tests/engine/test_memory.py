"""engine.memory.trim: free pages in the middle of the heap go back to the system."""

from __future__ import annotations

import platform

import numpy as np

from engine.memory import trim


def _rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096 / 2**20


def test_trim_returns_the_free_pages_between_live_blocks() -> None:
    """Freeing every other 64 KB block leaves 32 MB of holes the heap cannot shrink past; trim gives the
    holes' pages back (RSS falls by most of them) and keeps the live blocks intact."""
    assert platform.libc_ver()[0] == "glibc"  # the deployment's libc; elsewhere trim is a no-op
    blocks = [np.full(64 * 1024 // 8, i, dtype=np.float64) for i in range(1024)]
    kept = blocks[::2]
    del blocks
    before = _rss_mb()
    assert trim() is True
    after = _rss_mb()
    assert before - after > 20, (before, after)
    assert all(float(b[0]) == 2 * i and float(b[-1]) == 2 * i for i, b in enumerate(kept))
