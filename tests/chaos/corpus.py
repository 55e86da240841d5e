"""Hostile media, generated on the spot: truncated and corrupt MP4/MOV/WAV, a PNG that claims 60 000 × 60 000
pixels, a WAV whose header claims 10 hours, a text file named ``.mp4``, a ZIP named ``.mov``."""

from __future__ import annotations

import io
import struct
import wave
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path

import av
import numpy as np

__all__ = ["CORPUS", "big_png", "small_video", "small_wav"]


def _chunk(kind: bytes, data: bytes) -> bytes:
    return (
        struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    )


def big_png(w: int, h: int, rows: int | None = None) -> bytes:
    """A valid PNG header for ``w`` × ``h`` RGB; pixel data for ``rows`` rows of black (all when None)."""
    comp = zlib.compressobj(9)
    row = b"\x00" * (1 + w * 3)
    todo = h if rows is None else rows
    parts = []
    while todo > 0:
        n = min(todo, 256)
        parts.append(comp.compress(row * n))
        todo -= n
    data = b"".join(parts) + comp.flush()
    ihdr = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", data) + _chunk(b"IEND", b"")


def small_wav(seconds: float = 2.0, rate: int = 16_000) -> bytes:
    """A tone as 16-bit mono WAV."""
    t = np.arange(int(seconds * rate)) / rate
    pcm = (np.sin(2 * np.pi * 220 * t) * 8000).astype("<i2").tobytes()
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm)
    return out.getvalue()


def small_video(fmt: str = "mp4", seconds: float = 2.0) -> bytes:
    """A 160 × 120 clip of noise (H.264 at 10 fps) in an MP4 or MOV container."""
    out = io.BytesIO()
    with av.open(out, "w", format=fmt) as c:
        vs = c.add_stream("libx264", rate=10)
        vs.width, vs.height, vs.pix_fmt = 160, 120, "yuv420p"
        rng = np.random.default_rng(3)
        for _ in range(int(seconds * 10)):
            img = rng.integers(0, 256, (120, 160, 3), dtype=np.uint8)  # noise: no frame compresses away
            for packet in vs.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                c.mux(packet)
        for packet in vs.encode():
            c.mux(packet)
    return out.getvalue()


def _half(data: bytes) -> bytes:
    """The first half of a file (an upload cut off mid-way)."""
    return data[: len(data) // 2]


def _corrupt(data: bytes) -> bytes:
    """The header kept, everything after the first quarter overwritten with noise."""
    cut = len(data) // 4
    noise = np.random.default_rng(7).integers(0, 256, len(data) - cut, dtype=np.uint8).tobytes()
    return data[:cut] + noise


def _bad_codec_wav() -> bytes:
    """A WAV whose fmt chunk names a codec that does not exist, its data noise."""
    real = small_wav(2.0)
    return real[:20] + struct.pack("<H", 0x7A7A) + real[22:44] + _corrupt(real[44:])


def _ten_hour_wav() -> bytes:
    """A WAV header whose data chunk claims 10 hours of 16 kHz mono, followed by one second of it."""
    real = small_wav(1.0)
    claimed = 10 * 3600 * 16_000 * 2
    return real[:40] + struct.pack("<I", claimed) + real[44:]


def _zip() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("meeting.txt", "not a movie " * 1000)
    return out.getvalue()


# name → (route modality, filename, bytes maker)
CORPUS: dict[str, tuple[str, str, Callable[[], bytes]]] = {
    "truncated_mp4": ("video", "call.mp4", lambda: _half(small_video("mp4"))),
    "corrupt_mp4": ("video", "call.mp4", lambda: _corrupt(small_video("mp4"))),
    "truncated_mov": ("video", "call.mov", lambda: _half(small_video("mov"))),
    "corrupt_mov": ("video", "call.mov", lambda: _corrupt(small_video("mov"))),
    "truncated_wav": ("audio", "call.wav", lambda: small_wav(4.0)[:20_000]),
    "corrupt_wav": ("audio", "call.wav", _bad_codec_wav),
    "ten_hour_wav_header": ("audio", "long.wav", _ten_hour_wav),
    "png_60000x60000": ("image", "huge.png", lambda: big_png(60_000, 60_000, rows=4)),
    "png_60000x60000_as_video": ("video", "huge.png", lambda: big_png(60_000, 60_000, rows=4)),
    "png_14000x14000_as_video": ("video", "frame.png", lambda: big_png(14_000, 14_000, rows=16)),
    "text_named_mp4": ("video", "notes.mp4", lambda: b"Meeting notes: nothing to see here.\n" * 200),
    "zip_named_mov": ("video", "archive.mov", _zip),
}


def write(name: str, directory: Path) -> Path:
    """Write corpus item ``name`` under ``directory``; returns its path."""
    _, filename, make = CORPUS[name]
    path = directory / f"{name}-{filename}"
    path.write_bytes(make())
    return path
