"""MediaPipe Face Landmarker wrapper: RGB frame → faces (478 landmarks, 52 blendshapes, head-pose matrix).

The model bundle ships in ``models/`` (Apache-2.0, see ``models/NOTICE``); nothing is downloaded at run
time. MediaPipe task objects must be closed, so :class:`Landmarker` is a context manager.
"""

from __future__ import annotations

import hashlib
import logging
import os
from dataclasses import dataclass
from functools import lru_cache, partial
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np

from ._direct import DirectDetect, direct_call
from ._direct import RawFace as _RawFace

__all__ = ["MODEL_FILE", "MAX_FACES", "FaceObservation", "Landmarker", "model_digest"]

MODEL_FILE = Path(__file__).resolve().parent / "models" / "face_landmarker.task"
MAX_FACES = 12  # a 3×4 gallery view
MIN_DETECTION_CONFIDENCE = 0.5

os.environ.setdefault("GLOG_minloglevel", "2")  # MediaPipe's C++ INFO/WARNING lines on stderr
logging.getLogger("absl").setLevel(logging.ERROR)


@dataclass(frozen=True)
class FaceObservation:
    """One face in one frame: pixel landmarks (478×3, z in pixels too), blendshapes, pose matrix, box."""

    landmarks: np.ndarray
    blendshapes: dict[str, float]
    matrix: np.ndarray | None
    box: tuple[float, float, float, float]  # x0, y0, x1, y1 in pixels
    frame_size: tuple[int, int]  # width, height

    @property
    def area_share(self) -> float:
        """The face box's share of the frame area."""
        x0, y0, x1, y1 = self.box
        return max(0.0, (x1 - x0) * (y1 - y0)) / float(self.frame_size[0] * self.frame_size[1])

    @property
    def width_px(self) -> float:
        """Face box width in pixels."""
        return self.box[2] - self.box[0]


@lru_cache(maxsize=1)
def model_digest() -> str:
    """First 16 hex digits of the model bundle's SHA-256 (for ``EngineInfo.models``)."""
    return hashlib.sha256(MODEL_FILE.read_bytes()).hexdigest()[:16]


class Landmarker:
    """A Face Landmarker in IMAGE mode (stills) or VIDEO mode (frames with increasing timestamps).

    One thread at a time may call ``detect`` (MediaPipe's task is not safe for concurrent calls; each user of
    a Landmarker here, a job or a stream, calls it from one thread at a time)."""

    def __init__(self, *, video: bool = False, max_faces: int = MAX_FACES) -> None:
        from mediapipe.tasks.python import BaseOptions, vision

        mode = vision.RunningMode.VIDEO if video else vision.RunningMode.IMAGE
        self._options = vision.FaceLandmarkerOptions(
            base_options=BaseOptions(model_asset_path=str(MODEL_FILE)),
            running_mode=mode,
            num_faces=max_faces,
            min_face_detection_confidence=MIN_DETECTION_CONFIDENCE,
            output_face_blendshapes=True,
            output_facial_transformation_matrixes=True,
        )
        self._video = video
        self._task: Any = None
        self._image: Any = None  # mediapipe.Image and its SRGB format, bound at __enter__
        self._direct: DirectDetect | None = None
        self._last_ts = -1

    def __enter__(self) -> Landmarker:
        import mediapipe as mp
        from mediapipe.tasks.python import vision

        self._image = partial(mp.Image, image_format=mp.ImageFormat.SRGB)
        self._task = vision.FaceLandmarker.create_from_options(self._options)
        self._task.__enter__()
        self._direct = direct_call(self._task, video=self._video)
        return self

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._task is not None:
            self._task.__exit__(et, ev, tb)
            self._task = None
            self._direct = None

    def detect(self, rgb: np.ndarray, timestamp_s: float | None = None) -> list[FaceObservation]:
        """Faces in one RGB uint8 frame (H×W×3), largest first."""
        if self._task is None:
            raise RuntimeError("use Landmarker as a context manager")
        image = self._image(data=np.ascontiguousarray(rgb))
        ts = None
        if self._video:
            ts = max(int(round((timestamp_s or 0.0) * 1000)), self._last_ts + 1)
            self._last_ts = ts
        raw = self._direct(image, ts) if self._direct is not None else _public_detect(self._task, image, ts)
        h, w = rgb.shape[:2]
        faces = [_observation(face, w, h) for face in raw]
        return sorted(faces, key=lambda f: -f.area_share)


def _public_detect(task: Any, image: Any, ts: int | None) -> list[_RawFace]:
    """MediaPipe's own Python API (a thread hop per call, a Python object per landmark)."""
    result = task.detect_for_video(image, ts) if ts is not None else task.detect(image)
    mats = result.facial_transformation_matrixes
    return [
        _RawFace(
            np.array([(p.x, p.y, p.z) for p in points], dtype=np.float32),
            {b.category_name: float(b.score) for b in result.face_blendshapes[i]},
            np.asarray(mats[i], dtype=np.float64) if mats and len(mats) > i else None,
        )
        for i, points in enumerate(result.face_landmarks)
    ]


def _observation(face: _RawFace, w: int, h: int) -> FaceObservation:
    pts = face.landmarks * np.array([w, h, w], dtype=np.float32)  # normalised → pixels (z scales with x)
    x0, y0 = np.clip(pts[:, 0].min(), 0, w), np.clip(pts[:, 1].min(), 0, h)
    x1, y1 = np.clip(pts[:, 0].max(), 0, w), np.clip(pts[:, 1].max(), 0, h)
    box = (float(x0), float(y0), float(x1), float(y1))
    return FaceObservation(pts, face.blendshapes, face.matrix, box, (w, h))
