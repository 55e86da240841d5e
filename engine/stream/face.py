"""One stream's faces: image bytes → decoded frame → VIDEO-mode landmarker (kept open for the stream, so it
tracks instead of re-detecting) → AU map, expressions and V/A/D per face, with ids stable across frames.

JPEG frames are decoded at a reduced size (DCT scaling) when the frame and its faces are large enough: the
landmarker works on 128–256 px crops, so decoding every pixel of 720p costs time and adds no detail. Boxes and
landmarks are mapped back, so everything reported is in the original frame's pixels.
"""

from __future__ import annotations

from dataclasses import replace
from types import TracebackType
from typing import Any

import numpy as np

from engine.face.analyse import FaceFrame, describe_face
from engine.face.aus import AuTable, image_au_map, load_table
from engine.face.images import decode_rgb
from engine.face.landmarker import FaceObservation, Landmarker
from engine.face.tracker import IouTracker

__all__ = [
    "FRAME_FORMATS",
    "FRAME_MAX_SIDE",
    "DETECT_SIDE",
    "MIN_FACE_PX",
    "FaceStream",
    "face_dict",
    "reduction_for",
    "to_original",
]

FRAME_FORMATS = ("JPEG", "PNG", "WEBP")
FRAME_MAX_SIDE = 1280  # as for video files (engine.video.frames.MAX_SIDE): 720p passes untouched
DETECT_SIDE = 640  # a frame is decoded at 1/2, 1/4 or 1/8 while its long side stays at least this,
# and while the narrowest face of the previous frame stays at least this wide: the landmark model's input is
# 192 px, and at half of that the AU map moved by 0.01 on average (docs/streaming.md, "Latency")
MIN_FACE_PX = 96


def face_dict(face_id: str, face: FaceFrame, table: AuTable) -> dict[str, Any]:
    """The per-frame face entry of the stream protocol: id, box, au_map (as for images), vad, emotions."""
    return {
        "id": face_id,
        "box": [round(x, 1) for x in face.box],
        "au_map": image_au_map(face.au, table),
        "vad": face.vad.model_dump(),
        "emotions": face.emotions,
    }


class FaceStream:
    """Analyses a stream's frames in time order; a context manager (the landmarker must be closed)."""

    def __init__(self, table: AuTable | None = None, *, reduce: bool = True) -> None:
        self.table = table or load_table()
        self._landmarker = Landmarker(video=True)
        self._tracker = IouTracker()
        self._reduce = reduce
        self.reduction = 1  # the next frame's decode reduction (1, 2, 4 or 8)

    def __enter__(self) -> FaceStream:
        self._landmarker.__enter__()
        return self

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._landmarker.__exit__(et, ev, tb)

    def analyse(self, image: bytes, t: float) -> tuple[list[str], list[FaceFrame]]:
        """Track ids and measurements of every face in one encoded frame at stream time ``t`` (seconds).

        Raises MediaError (media_empty, media_not_image, image_corrupt, image_too_large) for bad bytes.
        """
        decoded = decode_rgb(image, FRAME_FORMATS, FRAME_MAX_SIDE, reduce=self.reduction)
        h, w = decoded.rgb.shape[:2]
        scale = max(decoded.original_size) / max(w, h)  # decoded → original pixels
        found = self._landmarker.detect(decoded.rgb, t)
        if scale != 1.0:
            found = [to_original(f, scale) for f in found]
        faces = [describe_face(f, self.table) for f in found]
        ids = self._tracker.update([f.box for f in faces], t, [f.area_share for f in faces])
        if self._reduce:
            self.reduction = reduction_for(decoded.original_size, [f.width_px for f in found])
        return ids, faces


def reduction_for(size: tuple[int, int], face_widths: list[float]) -> int:
    """The largest decode reduction (1, 2, 4, 8) keeping the long side ≥ DETECT_SIDE and every face (width in
    original pixels) ≥ MIN_FACE_PX."""
    narrowest = min(face_widths, default=float("inf"))
    r = 1
    while r < 8 and max(size) / (2 * r) >= DETECT_SIDE and narrowest / (2 * r) >= MIN_FACE_PX:
        r *= 2
    return r


def to_original(face: FaceObservation, scale: float) -> FaceObservation:
    """A face found in a frame decoded at 1/``scale`` of its size, in the original frame's pixels."""
    w, h = face.frame_size
    return replace(
        face,
        landmarks=face.landmarks * np.float32(scale),
        box=(face.box[0] * scale, face.box[1] * scale, face.box[2] * scale, face.box[3] * scale),
        frame_size=(round(w * scale), round(h * scale)),
    )
