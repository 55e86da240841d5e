"""Decode audio (or a video's audio track) with PyAV to 16 kHz mono float32, in fixed-size blocks.

``iter_audio`` is a generator: it holds one block plus the resampler's small buffer, so peak memory does
not grow with the duration of the input. Every failure is a :class:`engine.errors.MediaError` with one of
the codes ``media_empty``, ``media_corrupt``, ``media_not_audio`` or ``media_too_long``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np

from engine.errors import MediaError
from engine.media.guard import open_capped, reason

__all__ = ["SAMPLE_RATE", "DEFAULT_MAX_SECONDS", "MediaInfo", "probe", "iter_audio", "decode_audio"]

SAMPLE_RATE = 16_000
DEFAULT_MAX_SECONDS = 4 * 3600.0  # the engine's own cap; core sets a tighter one from settings
DEFAULT_BLOCK_SECONDS = 30.0
MAX_BAD_PACKETS = 5  # a few damaged packets are skipped (real recordings have them); more is corrupt
TRUNCATION_RATIO = 0.9  # decoded < 90 % of the declared duration (and > 1 s short) → truncated
TRUNCATION_SLACK_S = 1.0

# Leading bytes of containers we accept: a file that PyAV cannot open but starts with one of these is a
# damaged media file (media_corrupt); anything else is not media at all (media_not_audio).
_MAGIC = (
    b"RIFF",
    b"fLaC",
    b"ID3",
    b"OggS",
    b"\x1aE\xdf\xa3",
    b"FORM",
    b"\xff\xfb",
    b"\xff\xf3",
    b"\xff\xf2",
    b"\xff\xf1",
    b"\xff\xf9",
    b"#!AMR",
    b"MThd",
    b".snd",
    b"caff",
    b"wvpk",
    b"MAC ",
)


@dataclass(frozen=True)
class MediaInfo:
    """What the container says about its first audio stream."""

    duration: float | None
    sample_rate: int
    channels: int
    codec: str
    container: str
    has_video: bool


def _looks_like_media(path: Path) -> bool:
    with path.open("rb") as f:
        head = f.read(16)
    return head.startswith(_MAGIC) or head[4:8] == b"ftyp"


def _open(path: Path) -> av.container.InputContainer:
    if not path.is_file():
        raise MediaError("media_empty", f"no such file: {path.name}")
    if os.path.getsize(path) == 0:
        raise MediaError("media_empty", "the file is empty (0 bytes)")
    try:
        return open_capped(path)  # a video track's probe never allocates an oversized frame
    except (av.FFmpegError, UnicodeDecodeError, ValueError) as exc:
        code = "media_corrupt" if _looks_like_media(path) else "media_not_audio"
        raise MediaError(code, f"cannot open as media: {reason(exc)}") from exc


def _audio_stream(container: av.container.InputContainer) -> av.audio.stream.AudioStream:
    if not container.streams.audio:
        kind = "a video without an audio track" if container.streams.video else "not audio"
        raise MediaError("media_not_audio", f"no audio stream ({kind})")
    stream = container.streams.audio[0]
    if stream.codec_context is None:  # the header names a codec FFmpeg has no decoder for
        raise MediaError("media_corrupt", "the audio stream's codec is unknown (no decoder for it)")
    return stream


def _declared_duration(
    container: av.container.InputContainer, stream: av.audio.stream.AudioStream
) -> float | None:
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    if container.duration is not None:
        return container.duration / av.time_base
    return None


def probe(path: str | Path) -> MediaInfo:
    """Read the container header: duration (None if unknown), rate, channels, codec."""
    with _open(Path(path)) as container:
        stream = _audio_stream(container)
        return MediaInfo(
            duration=_declared_duration(container, stream),
            sample_rate=int(stream.rate or 0),
            channels=int(stream.channels or 0),
            codec=stream.codec_context.name,
            container=container.format.name,
            has_video=bool(container.streams.video),
        )


def _check_cap(seconds: float, max_seconds: float) -> None:
    if seconds > max_seconds:
        raise MediaError("media_too_long", f"{seconds:.1f} s is over the cap of {max_seconds:.0f} s")


def _frames(
    container: av.container.InputContainer, stream: av.audio.stream.AudioStream
) -> Iterator[av.AudioFrame]:
    bad = 0
    for packet in container.demux(stream):
        try:
            yield from packet.decode()
        except av.FFmpegError as exc:
            bad += 1
            if bad > MAX_BAD_PACKETS:
                raise MediaError("media_corrupt", f"undecodable audio data: {reason(exc)}") from exc


def _resampled(
    container: av.container.InputContainer, stream: av.audio.stream.AudioStream
) -> Iterator[np.ndarray]:
    resampler = av.AudioResampler(format="flt", layout="mono", rate=SAMPLE_RATE)
    try:
        for frame in _frames(container, stream):
            for out in resampler.resample(frame):
                yield out.to_ndarray().reshape(-1)
        for out in resampler.resample(None):
            yield out.to_ndarray().reshape(-1)
    except av.FFmpegError as exc:  # resampler errors on broken frame parameters
        raise MediaError("media_corrupt", f"undecodable audio data: {reason(exc)}") from exc


def iter_audio(
    path: str | Path,
    *,
    max_seconds: float = DEFAULT_MAX_SECONDS,
    block_seconds: float = DEFAULT_BLOCK_SECONDS,
) -> Iterator[np.ndarray]:
    """Yield 16 kHz mono float32 blocks of ``block_seconds`` (the last may be shorter)."""
    block = max(1, int(round(block_seconds * SAMPLE_RATE)))
    cap_samples = int(max_seconds * SAMPLE_RATE) + SAMPLE_RATE // 10
    with _open(Path(path)) as container:
        stream = _audio_stream(container)
        declared = _declared_duration(container, stream)
        if declared is not None:
            _check_cap(declared, max_seconds)
        pending: list[np.ndarray] = []
        n_pending = total = 0
        for piece in _resampled(container, stream):
            total += piece.size
            if total > cap_samples:
                _check_cap(total / SAMPLE_RATE, max_seconds)
            pending.append(piece)
            n_pending += piece.size
            while n_pending >= block:
                joined = np.concatenate(pending)
                yield np.ascontiguousarray(joined[:block], dtype=np.float32)
                pending, n_pending = [joined[block:]], joined.size - block
        if n_pending:
            yield np.ascontiguousarray(np.concatenate(pending), dtype=np.float32)
    _check_complete(Path(path), total, declared)


def _wav_shortfall(path: Path) -> int:
    """Bytes missing from a RIFF/WAVE file's ``data`` chunk (ffmpeg silently decodes what is there)."""
    with path.open("rb") as f:
        head = f.read(12)
        if head[:4] != b"RIFF" or head[8:12] != b"WAVE":
            return 0
        while chunk := f.read(8):
            if len(chunk) < 8:
                return 0
            size = int.from_bytes(chunk[4:8], "little")
            if chunk[:4] == b"data":
                if size in (0, 0xFFFFFFFF):  # streaming writers leave the size unset
                    return 0
                return max(0, size - (os.path.getsize(path) - f.tell()))
            f.seek(size + (size & 1), os.SEEK_CUR)
    return 0


def _check_complete(path: Path, total: int, declared: float | None) -> None:
    if total == 0:
        code = "media_corrupt" if declared else "media_empty"
        raise MediaError(code, "the audio stream yields no samples")
    if _wav_shortfall(path) > 0:
        raise MediaError("media_corrupt", "truncated: the WAV data chunk is shorter than its header says")
    got = total / SAMPLE_RATE
    if declared and got < declared * TRUNCATION_RATIO and declared - got > TRUNCATION_SLACK_S:
        raise MediaError("media_corrupt", f"truncated: decoded {got:.1f} s of a declared {declared:.1f} s")


def decode_audio(path: str | Path, *, max_seconds: float = DEFAULT_MAX_SECONDS) -> np.ndarray:
    """The whole audio track as one 16 kHz mono float32 array (for short clips; long ones: iter_audio)."""
    blocks = list(iter_audio(path, max_seconds=max_seconds))
    return np.concatenate(blocks) if blocks else np.zeros(0, dtype=np.float32)
