"""One stream's faces: image bytes → decoded frame → VIDEO-mode landmarker (kept open for the stream, so it
tracks instead of re-detecting) → AU map, expressions and V/A/D per face, with ids stable across frames."""

from __future__ import annotations

from types import TracebackType
from typing import Any

from engine.face.analyse import FaceFrame, describe_face
from engine.face.aus import AuTable, image_au_map, load_table
from engine.face.images import decode_rgb
from engine.face.landmarker import Landmarker
from engine.face.tracker import IouTracker

__all__ = ["FRAME_FORMATS", "FRAME_MAX_SIDE", "FaceStream", "face_dict"]

FRAME_FORMATS = ("JPEG", "PNG", "WEBP")
FRAME_MAX_SIDE = 1280  # as for video files (engine.video.frames.MAX_SIDE): 720p passes untouched


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

    def __init__(self, table: AuTable | None = None) -> None:
        self.table = table or load_table()
        self._landmarker = Landmarker(video=True)
        self._tracker = IouTracker()

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
        rgb = decode_rgb(image, FRAME_FORMATS, FRAME_MAX_SIDE).rgb
        faces = [describe_face(f, self.table) for f in self._landmarker.detect(rgb, t)]
        ids = self._tracker.update([f.box for f in faces], t, [f.area_share for f in faces])
        return ids, faces
