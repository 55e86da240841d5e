"""Stream a video's frames with PyAV at a chosen rate: one decoded frame in memory at a time.

Every failure is a MediaError: media_empty, media_no_video (no video stream, or not media at all),
media_corrupt (unreadable, damaged or truncated), media_too_long.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np

from engine.errors import MediaError
from engine.media.guard import check_frame_size, check_still_image, open_capped, reason

__all__ = ["VideoInfo", "open_video", "iter_frames", "MAX_SIDE"]

MAX_SIDE = 1280  # frames are scaled down to this long side before detection (720p passes untouched)
MAX_BAD_PACKETS = 5
TRUNCATION_RATIO = 0.9  # decoded < 90 % of the declared duration (and > 1 s short) → truncated
TRUNCATION_SLACK_S = 1.0
_MAGIC = (b"\x1aE\xdf\xa3", b"RIFF", b"OggS", b"FLV", b"\x00\x00\x01\xba", b"\x00\x00\x01\xb3", b"G")


@dataclass
class VideoInfo:
    """What the container says: duration (None if unknown), size, frame rate, audio presence."""

    duration: float | None
    width: int
    height: int
    fps: float | None
    has_audio: bool
    codec: str
    decoded_s: float = 0.0


def _looks_like_media(path: Path) -> bool:
    with path.open("rb") as f:
        head = f.read(16)
    return head[4:8] in (b"ftyp", b"moov", b"mdat", b"free", b"wide") or head.startswith(_MAGIC[:-1])


def open_video(path: Path, max_seconds: float) -> VideoInfo:
    """Probe ``path``: checks it is a video within the duration cap."""
    if not path.is_file() or path.stat().st_size == 0:
        raise MediaError("media_empty", "the video file is empty or missing")
    check_still_image(path)  # before FFmpeg: its image demuxer decodes the whole picture while probing
    with _open(path) as c:
        if not c.streams.video:
            raise MediaError("media_no_video", "no video stream in the file")
        vs = c.streams.video[0]
        if vs.codec_context is None:  # the header names a codec FFmpeg has no decoder for
            raise MediaError("media_corrupt", "the video stream's codec is unknown (no decoder for it)")
        check_frame_size(vs.codec_context.width, vs.codec_context.height)
        duration = (
            float(vs.duration * vs.time_base)
            if vs.duration and vs.time_base
            else (c.duration / av.time_base if c.duration else None)
        )
        if duration is not None and duration > max_seconds:
            raise MediaError("media_too_long", f"{duration:.1f} s is over the cap of {max_seconds:.0f} s")
        rate = float(vs.average_rate) if vs.average_rate else None
        return VideoInfo(
            duration,
            vs.codec_context.width,
            vs.codec_context.height,
            rate,
            bool(c.streams.audio),
            vs.codec_context.name,
        )


def _open(path: Path) -> av.container.InputContainer:
    try:
        return open_capped(path)
    except (av.FFmpegError, UnicodeDecodeError, ValueError) as exc:
        code = "media_corrupt" if _looks_like_media(path) else "media_no_video"
        raise MediaError(code, f"cannot open as video: {reason(exc)}") from exc


def _size(w: int, h: int) -> tuple[int, int]:
    scale = min(1.0, MAX_SIDE / max(w, h))
    return max(2, int(w * scale) // 2 * 2), max(2, int(h * scale) // 2 * 2)


def _decoded(c: av.container.InputContainer, vs: av.video.stream.VideoStream) -> Iterator[av.VideoFrame]:
    bad = 0
    for packet in c.demux(vs):
        try:
            yield from packet.decode()
        except av.FFmpegError as exc:
            bad += 1
            if bad > MAX_BAD_PACKETS:
                raise MediaError("media_corrupt", f"undecodable video data: {reason(exc)}") from exc


def iter_frames(
    path: Path, info: VideoInfo, fps: float, max_seconds: float
) -> Iterator[tuple[float, np.ndarray]]:
    """Yield ``(time_s, rgb)`` about ``fps`` times a second (every frame if the video has fewer)."""
    step = 1.0 / fps
    next_t, last_t, n = 0.0, 0.0, 0
    with _open(path) as c:
        vs = c.streams.video[0]
        vs.thread_type = "AUTO"
        vs.thread_count = min(2, os.cpu_count() or 1)
        t0 = float(vs.start_time * vs.time_base) if vs.start_time is not None and vs.time_base else 0.0
        for frame in _decoded(c, vs):
            t = (float(frame.time) - t0) if frame.time is not None else n * step
            last_t = max(last_t, t)
            if t > max_seconds:
                raise MediaError("media_too_long", f"over the cap of {max_seconds:.0f} s")
            if t + 1e-6 < next_t:
                continue
            w, h = _size(frame.width, frame.height)
            n += 1
            next_t = (int(t / step + 1e-6) + 1) * step
            yield t, frame.to_ndarray(format="rgb24", width=w, height=h)
    _check_complete(n, last_t + step, info)


def _check_complete(n: int, got: float, info: VideoInfo) -> None:
    info.decoded_s = got
    if n == 0:
        raise MediaError("media_corrupt", "the video stream yields no frames")
    declared = info.duration
    if declared and got < declared * TRUNCATION_RATIO and declared - got > TRUNCATION_SLACK_S:
        raise MediaError("media_corrupt", f"truncated: decoded {got:.1f} s of a declared {declared:.1f} s")
