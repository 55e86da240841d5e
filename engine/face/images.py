"""Decode a still image with Pillow into an RGB array fit for the landmarker.

- CMYK (and palette, grey, alpha) images are converted to RGB; EXIF orientation is applied.
- Animated images (GIF, APNG, WebP): the first frame is analysed (flag ``animated_first_frame``): a still
  analysis describes one moment; send the clip as video for a timeline.
- Decompression bombs are refused from the header, before any pixel is decoded: more than
  ``MAX_IMAGE_PIXELS`` → ``image_too_large`` (Pillow's own bomb check is also mapped to that code).
- Large frames (8K) are downscaled so the long side is at most ``MAX_SIDE`` (flag ``downscaled``); JPEGs use
  the decoder's draft mode so the full-size pixels are never held.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from engine.errors import MediaError

__all__ = ["MAX_IMAGE_PIXELS", "MAX_SIDE", "DecodedImage", "load_rgb", "decode_rgb"]

MAX_IMAGE_PIXELS = 80_000_000  # 8K UHD is 33 MP; a 10 000 × 8 000 photo passes, a 20 000² bomb does not
MAX_SIDE = 1920  # the landmarker's detector works on 128–256 px crops; more pixels only cost time


@dataclass
class DecodedImage:
    """RGB pixels (H×W×3 uint8, read-only), the original size and the flags decoding raised."""

    rgb: np.ndarray
    original_size: tuple[int, int]
    flags: list[str] = field(default_factory=list)


def load_rgb(path: Path) -> DecodedImage:
    """Decode ``path`` to RGB; MediaError: media_empty, media_not_image, image_corrupt, image_too_large."""
    if not path.is_file() or path.stat().st_size == 0:
        raise MediaError("media_empty", "the image file is empty or missing")
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            with Image.open(path) as img:
                return _decode(img)
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise MediaError("image_too_large", f"refused as a decompression bomb: {exc}") from exc
        except UnidentifiedImageError as exc:
            raise MediaError("media_not_image", "not an image format Pillow can read") from exc
        except (OSError, SyntaxError, ValueError, EOFError) as exc:
            raise MediaError("image_corrupt", f"damaged or truncated image data: {exc}") from exc


def decode_rgb(
    data: bytes, formats: tuple[str, ...], max_side: int = MAX_SIDE, *, reduce: int = 1
) -> DecodedImage:
    """Decode in-memory image bytes of one of ``formats`` (Pillow names, e.g. "JPEG"); same errors as
    :func:`load_rgb`, and ``media_not_image`` for any other format. ``reduce`` (2, 4 or 8) asks a JPEG
    decoder for 1/reduce of the size (DCT scaling: cheaper than decoding and resizing); other formats
    decode at full size, so compare ``rgb`` with ``original_size`` for the scale."""
    if not data:
        raise MediaError("media_empty", "the image is empty")
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            with Image.open(io.BytesIO(data), formats=formats) as img:
                return _decode(img, max_side, reduce)
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise MediaError("image_too_large", f"refused as a decompression bomb: {exc}") from exc
        except UnidentifiedImageError as exc:
            raise MediaError("media_not_image", f"not a {'/'.join(formats)} image") from exc
        except (OSError, SyntaxError, ValueError, EOFError) as exc:
            raise MediaError("image_corrupt", f"damaged or truncated image data: {exc}") from exc


def _decode(img: Image.Image, max_side: int = MAX_SIDE, reduce: int = 1) -> DecodedImage:
    w, h = img.size
    if w * h > MAX_IMAGE_PIXELS:
        raise MediaError(
            "image_too_large", f"{w}×{h} = {w * h / 1e6:.0f} MP is over {MAX_IMAGE_PIXELS / 1e6:.0f} MP"
        )
    flags = []
    if getattr(img, "is_animated", False) and getattr(img, "n_frames", 1) > 1:
        img.seek(0)
        flags.append("animated_first_frame")
    want = (max(1, w // reduce), max(1, h // reduce))
    if max(w, h) > max_side:
        scale = max_side / max(w, h)
        want = (min(want[0], max(1, int(w * scale))), min(want[1], max(1, int(h * scale))))
        flags.append("downscaled")
    if want != (w, h):
        img.draft("RGB", want)  # JPEG: decode at 1/2…1/8 size
    img.load()
    ImageOps.exif_transpose(img, in_place=True)  # in place: no copy of an upright image
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        base = Image.new("RGB", img.size, (255, 255, 255))
        base.paste(img.convert("RGBA"), mask=img.convert("RGBA").getchannel("A"))
        img = base
    elif img.mode != "RGB":
        img = img.convert("RGB")  # CMYK, YCbCr, L, P, I;16 …
    if max(img.size) > max_side:
        img.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    return DecodedImage(np.asarray(img, dtype=np.uint8), (w, h), flags)  # read-only: nobody writes pixels
