"""Engine-level errors. The engine imports nothing from core, so it has its own small tree::

EngineError(code, message, retryable)   analysis of one input failed
  MediaError                            the input media cannot be used (never worth retrying)
      media_empty        zero bytes, or a stream with no samples
      media_corrupt      unreadable, damaged or truncated data
      media_not_audio    readable, but not audio (no audio stream, or not a media file at all)
      media_too_long     longer than the duration cap
      media_no_video     readable, but no video stream (or not a media file at all)
      media_not_image    not an image file Pillow can identify
      image_corrupt      an image file whose data is damaged or truncated
      image_too_large    more pixels than the decompression-bomb limit
      too_many_images    more images in one request than ``engine.face.MAX_IMAGES``

Core maps these codes onto its own ``EngineError``/``InputError`` at its boundary.
"""

from __future__ import annotations

__all__ = ["EngineError", "MediaError", "MEDIA_CODES"]

MEDIA_CODES = frozenset(
    {
        "media_empty",
        "media_corrupt",
        "media_not_audio",
        "media_too_long",
        "media_no_video",
        "media_not_image",
        "image_corrupt",
        "image_too_large",
        "too_many_images",
    }
)


class EngineError(Exception):
    """Analysis of one input failed; ``retryable`` says whether trying again can help."""

    def __init__(self, code: str, message: str, retryable: bool = False) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.retryable = retryable


class MediaError(EngineError):
    """The media itself is unusable (empty, corrupt, not audio, too long); retrying cannot help."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(code, message, retryable=False)
