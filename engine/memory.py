"""Give freed heap memory back at the points where a long analysis lets go of a lot of it.

glibc serves a large block with its own mapping (returned to the system when freed) only while the block is
above its mmap threshold, and each such block freed raises that threshold to its own size (up to 32 MiB).
After the first few seconds of a clip, the decoder's blocks, Praat's buffers and the FFT batches numpy
allocates and frees over and over therefore come from the heap, where the frame tracks a long clip keeps
are interleaved with them: the freed space between cannot shrink the heap, and the process's RSS creeps
up with the clip's length although the live data does not. ``trim`` (``malloc_trim(0)``) hands the free
pages of every arena back. It is called a few times an analysis (after the voice frames, after the second
pass, after the tracks are released, once a minute of video in the face loop and after it), never per
frame. Fixing the threshold instead (``mallopt(M_MMAP_THRESHOLD)``) was measured too: the same peak, but
every 720p frame buffer became a fresh mapping (+1.2 ms each; face pipeline frames/s −5 %).

Elsewhere than glibc this does nothing.
"""

from __future__ import annotations

import ctypes
import functools

__all__ = ["trim"]


def trim() -> bool:
    """Give the heap's free pages back to the system; True when glibc released some."""
    libc = _libc()
    return bool(libc.malloc_trim(0)) if libc is not None else False


@functools.cache
def _libc() -> ctypes.CDLL | None:
    # The process's own symbols (libc is loaded): ctypes.util.find_library would run ldconfig in a child.
    try:
        lib = ctypes.CDLL(None)
        trim_fn = lib.malloc_trim
    except (OSError, AttributeError):  # not glibc (musl, macOS)
        return None
    trim_fn.argtypes, trim_fn.restype = (ctypes.c_size_t,), ctypes.c_int
    return lib
