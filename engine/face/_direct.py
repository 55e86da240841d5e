"""MediaPipe's Face Landmarker C function called on the caller's thread, its landmarks read as one array.

MediaPipe's Python API (1.2) runs every C call on a dispatcher thread of the task and turns each of the 478
landmarks of a face into a Python object; that cost about 2 ms of CPU per frame, 1.3 ms of it on the calling
thread (docs/streaming.md, "Latency"). The call is the same C function with the same
arguments; the landmarks are viewed as a numpy array and copied once. This leans on the task's private
attributes (``_lib``, ``_handle``) and the C structs of ``mediapipe.tasks.python.vision.face_landmarker``:
``direct_call`` checks the MediaPipe version and that they are there, and returns None otherwise, so the
public API is used instead
(tests/engine/test_face_direct.py compares both on real frames).
"""

from __future__ import annotations

import ctypes
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["DirectDetect", "RawFace", "direct_call", "KNOWN_VERSIONS"]

KNOWN_VERSIONS = ("1.2.",)  # MediaPipe releases whose C API this module was checked against


@dataclass(frozen=True)
class RawFace:
    """One face as MediaPipe reports it: normalised landmarks (N×3), blendshape scores, pose matrix."""

    landmarks: np.ndarray
    blendshapes: dict[str, float]
    matrix: np.ndarray | None


DirectDetect = Callable[[Any, int | None], list[RawFace]]


def direct_call(task: Any, *, video: bool) -> DirectDetect | None:
    """A detect function for ``task`` (a FaceLandmarker) that calls its C function directly; None when this
    MediaPipe's internals are not the ones it knows."""
    try:
        import mediapipe

        if not str(getattr(mediapipe, "__version__", "")).startswith(KNOWN_VERSIONS):
            return None  # a C signature could change without a Python-visible sign: only versions we tested
        from mediapipe.tasks.python.core import mediapipe_c_utils
        from mediapipe.tasks.python.vision import face_landmarker as fl

        lib = task._lib._lib  # the ctypes library behind the task's SerialDispatcher
        handle = task._handle
        detect = lib.MpFaceLandmarkerDetectForVideo if video else lib.MpFaceLandmarkerDetectImage
        close_result, free_error = lib.MpFaceLandmarkerCloseResult, lib.MpErrorFree
        result_type = fl.MpFaceLandmarkerResultC
        landmark_dtype = _landmark_dtype(fl.landmark_c_lib.MpNormalizedLandmarkC)
        category_dtype = _category_dtype(fl.category_c_lib.MpCategoryC)
    except (ImportError, AttributeError):
        return None
    if not isinstance(lib, ctypes.CDLL) or handle is None:
        return None

    names: dict[int, str] = {}  # blendshape index → name: fixed by the task's model, decoded once

    def call(image: Any, ts: int | None) -> list[RawFace]:
        result = result_type()
        error = ctypes.c_char_p()
        args = (image._image_ptr, None) + ((ts,) if video else ())
        status = detect(handle, *args, ctypes.byref(result), ctypes.byref(error))
        try:
            mediapipe_c_utils.handle_status(status, error)
        finally:
            if error.value is not None:
                free_error(error)
        try:
            return _faces(result, landmark_dtype, category_dtype, names)
        finally:
            close_result(ctypes.byref(result))

    return call


def _landmark_dtype(struct: type[ctypes.Structure]) -> np.dtype[Any]:
    """x, y, z of the C landmark struct as a numpy record (its other fields skipped by offset)."""
    fields = {f[0]: f[1] for f in struct._fields_}
    if any(fields.get(k) is not ctypes.c_float for k in ("x", "y", "z")):
        raise AttributeError("landmark coordinates are not C floats")
    offsets = [getattr(struct, k).offset for k in ("x", "y", "z")]
    return np.dtype(
        {
            "names": ["x", "y", "z"],
            "formats": ["<f4"] * 3,
            "offsets": offsets,
            "itemsize": ctypes.sizeof(struct),
        }
    )


def _category_dtype(struct: type[ctypes.Structure]) -> np.dtype[Any]:
    """index, score and the name pointer of the C category struct as a numpy record."""
    fields = {f[0]: f[1] for f in struct._fields_}
    kinds = {"index": ctypes.c_int, "score": ctypes.c_float, "category_name": ctypes.c_char_p}
    if any(fields.get(k) is not v for k, v in kinds.items()) or ctypes.sizeof(ctypes.c_int) != 4:
        raise AttributeError("category fields are not int, float and char*")
    pointer = f"<u{ctypes.sizeof(ctypes.c_char_p)}"
    return np.dtype(
        {
            "names": list(kinds),
            "formats": ["<i4", "<f4", pointer],
            "offsets": [getattr(struct, k).offset for k in kinds],
            "itemsize": ctypes.sizeof(struct),
        }
    )


def _records(pointer: Any, count: int, dtype: np.dtype[Any]) -> np.ndarray:
    """A numpy view of ``count`` C structs at ``pointer`` (valid until the C result is closed)."""
    raw = ctypes.cast(pointer, ctypes.POINTER(ctypes.c_uint8))
    return np.ctypeslib.as_array(raw, shape=(count * dtype.itemsize,)).view(dtype)


def _blendshapes(cats: Any, dtype: np.dtype[Any], names: dict[int, str]) -> dict[str, float]:
    """Blendshape name → score, read as one array (scores become Python floats as ``float(c_float)`` does)."""
    if not cats.categories_count:
        return {}
    records = _records(cats.categories, cats.categories_count, dtype)
    for index, pointer in zip(records["index"].tolist(), records["category_name"].tolist(), strict=True):
        if index not in names:
            names[index] = (ctypes.string_at(pointer) if pointer else b"").decode()
    keys = [names[index] for index in records["index"].tolist()]
    return dict(zip(keys, records["score"].tolist(), strict=True))


def _faces(
    result: Any, landmark_dtype: np.dtype[Any], category_dtype: np.dtype[Any], names: dict[int, str]
) -> list[RawFace]:
    faces = []
    for i in range(result.face_landmarks_count):
        points = result.face_landmarks[i]
        xyz = np.zeros((0, 3), dtype=np.float32)
        if points.landmarks_count:
            records = _records(points.landmarks, points.landmarks_count, landmark_dtype)
            # np.stack copies: the C result is freed below
            xyz = np.stack([records["x"], records["y"], records["z"]], axis=1)
        shapes: dict[str, float] = {}
        if i < result.face_blendshapes_count:
            shapes = _blendshapes(result.face_blendshapes[i], category_dtype, names)
        matrix = None
        if i < result.facial_transformation_matrixes_count:
            matrix = np.asarray(result.facial_transformation_matrixes[i].to_numpy(), dtype=np.float64)
        faces.append(RawFace(xyz, shapes, matrix))
    return faces
