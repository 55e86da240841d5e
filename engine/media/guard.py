"""Opening untrusted media safely: a pixel cap applied before any frame is decoded, and error messages that
never carry the file's path.

- A still image (PNG, JPEG, ...) handed to a video or audio decoder is measured from its header with Pillow
  first: more than ``MAX_FRAME_PIXELS`` is ``image_too_large`` before FFmpeg sees it (FFmpeg's image demuxer
  decodes the whole picture while probing: a 14 000 × 14 000 PNG cost ~600 MB before a single check ran).
- Every container is opened with FFmpeg's ``max_pixels`` on each stream's probe and decoder, so a video whose
  frames claim more is refused by the decoder instead of allocated.
- ``reason(exc)`` is FFmpeg's message without the ``'/path/to/spool/<job>/0'`` it appends: job errors are
  shown to API clients.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import av
from PIL import Image, UnidentifiedImageError

from engine.errors import MediaError

__all__ = ["MAX_FRAME_PIXELS", "open_capped", "check_still_image", "check_frame_size", "reason"]

MAX_FRAME_PIXELS = 80_000_000  # the still-image cap (engine.face.images.MAX_IMAGE_PIXELS): 8K UHD is 33 MP
_CAP = {"max_pixels": str(MAX_FRAME_PIXELS)}
_PROBED_STREAMS = 32  # stream_options is one dict per stream; more streams than this are probed uncapped


def reason(exc: BaseException) -> str:
    """What went wrong, without a file path (FFmpeg errors name the file they were opening)."""
    if isinstance(exc, av.FFmpegError):
        return str(exc.strerror or type(exc).__name__)
    text = str(exc)
    filename = getattr(exc, "filename", None)
    if filename:
        text = text.replace(f"'{filename}'", "the file").replace(str(filename), "the file")
    return text


def _too_large(w: int, h: int, what: str) -> MediaError:
    return MediaError(
        "image_too_large", f"{what} of {w}×{h} = {w * h / 1e6:.0f} MP is over {MAX_FRAME_PIXELS / 1e6:.0f} MP"
    )


def check_frame_size(w: int, h: int, what: str = "video frames") -> None:
    """``image_too_large`` when a ``w`` × ``h`` frame is over the cap."""
    if w * h > MAX_FRAME_PIXELS:
        raise _too_large(w, h, what)


def check_still_image(path: Path) -> None:
    """Refuse a still image whose header claims more than the cap; anything else passes untouched."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            with Image.open(path) as img:  # reads the header only
                w, h = img.size
        except Image.DecompressionBombError as exc:
            raise MediaError("image_too_large", "the image header claims far too many pixels") from exc
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError):
            return  # not a still image Pillow knows: FFmpeg decides what it is
    check_frame_size(w, h, "an image")


def open_capped(path: Path) -> av.container.InputContainer:
    """``av.open`` for reading with the pixel cap on every stream's probe and decoder."""
    per_stream: Any = [dict(_CAP) for _ in range(_PROBED_STREAMS)]  # PyAV's stub says list[str]: it is dicts
    container = av.open(str(path), mode="r", metadata_errors="ignore", stream_options=per_stream)
    for stream in container.streams.video:
        stream.codec_context.options = {**stream.codec_context.options, **_CAP}
    return container
