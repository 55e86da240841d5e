"""engine.face._direct: calling MediaPipe's C function directly gives what its own Python API gives."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from engine.face._direct import direct_call
from engine.face.landmarker import FaceObservation, Landmarker
from tests.engine.media_factory import FACES


def _two_faces() -> list[np.ndarray]:
    """Three 960×540 frames with two faces side by side, shifted a little each frame."""
    frames = []
    for dx in (0, 6, 12):
        canvas = Image.new("RGB", (960, 540), (90, 100, 110))
        for i, name in enumerate(("london_008_smiling.jpg", "london_030_neutral.jpg")):
            face = Image.open(FACES / name).convert("RGB")
            face.thumbnail((400, 400))
            canvas.paste(face, (40 + dx + i * 470, 70))
        frames.append(np.asarray(canvas))
    return frames


def _run(frames: list[np.ndarray], video: bool, direct: bool) -> list[list[FaceObservation]]:
    with Landmarker(video=video) as lm:
        assert lm._direct is not None  # the installed MediaPipe's internals are the known ones
        if not direct:
            lm._direct = None
        return [lm.detect(rgb, i / 15) for i, rgb in enumerate(frames)]


@pytest.mark.parametrize("video", [True, False], ids=["video", "image"])
def test_direct_call_reports_the_same_faces_as_mediapipes_api(video: bool) -> None:
    frames = _two_faces()
    fast, public = _run(frames, video, direct=True), _run(frames, video, direct=False)
    for got, want in zip(fast, public, strict=True):
        assert len(got) == len(want) == 2
        for g, w in zip(got, want, strict=True):
            assert g.landmarks.shape == w.landmarks.shape == (478, 3)
            assert g.landmarks.dtype == np.float32
            np.testing.assert_allclose(g.landmarks, w.landmarks, atol=1e-3)
            np.testing.assert_allclose(g.box, w.box, atol=1e-3)
            assert g.blendshapes.keys() == w.blendshapes.keys() and len(g.blendshapes) == 52
            np.testing.assert_allclose(list(g.blendshapes.values()), list(w.blendshapes.values()), atol=1e-6)
            assert g.matrix is not None and w.matrix is not None
            np.testing.assert_allclose(g.matrix, w.matrix, atol=1e-6)
            assert g.frame_size == w.frame_size == (960, 540)


def test_an_empty_frame_gives_no_faces_on_the_direct_path() -> None:
    with Landmarker(video=True) as lm:
        assert lm._direct is not None
        assert lm.detect(np.full((360, 640, 3), 100, np.uint8), 0.0) == []


def test_unknown_mediapipe_internals_fall_back_to_the_public_api() -> None:
    class Task:  # what a MediaPipe whose task object lacks the private attributes looks like
        pass

    assert direct_call(Task(), video=True) is None
