"""engine.stream.face: frames decoded at a reduced size report faces in the pixels of the frame as sent."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from engine.stream.face import FaceStream, reduction_for
from tests.engine.media_factory import FACES, _canvas

PHOTO = FACES / "london_008_smiling.jpg"


def _encoded(size: tuple[int, int], fmt: str) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(_canvas(PHOTO, size)).save(buf, fmt, quality=85)
    return buf.getvalue()


def _boxes(frame: bytes, reduce: bool, frames: int = 3) -> tuple[list[np.ndarray], FaceStream]:
    out = []
    with FaceStream(reduce=reduce) as faces:
        for i in range(frames):
            _, found = faces.analyse(frame, i / 15)
            assert len(found) == 1
            out.append(np.array(found[0].box))
    return out, faces


def test_jpeg_frames_decode_at_half_size_with_boxes_in_the_original_pixels() -> None:
    frame = _encoded((1280, 720), "JPEG")
    full, _ = _boxes(frame, reduce=False)
    reduced, stream = _boxes(frame, reduce=True)
    assert stream.reduction == 2  # 720p with a large face: the next frames decode at 640×360
    # Frame 0 decodes at full size; frames 1 and 2 at half size, mapped back to 1280×720 pixels.
    assert np.abs(reduced[0] - full[0]).max() < 1.0
    for got, want in zip(reduced[1:], full[1:], strict=True):
        assert np.abs(got - want).max() < 4.0, (got, want)
    assert full[-1][2] - full[-1][0] > 150  # ~200 px wide: an unmapped box is ~100 px off


def test_png_frames_are_decoded_at_full_size() -> None:
    frame = _encoded((1280, 720), "PNG")
    full, _ = _boxes(frame, reduce=False, frames=2)
    reduced, _ = _boxes(frame, reduce=True, frames=2)
    assert np.abs(reduced[1] - full[1]).max() < 1.0


@pytest.mark.parametrize(
    ("size", "widths", "expected"),
    [
        ((1280, 720), [208.0], 2),  # a 720p talking head
        ((1280, 720), [150.0], 1),  # a face that would be 75 px at half size
        ((1280, 720), [], 2),  # no face yet: the size decides
        ((640, 360), [300.0], 1),  # already small
        ((3840, 2160), [900.0], 4),  # 4K: 960×540
        ((1920, 1080), [400.0, 120.0], 1),  # the narrowest face decides
    ],
)
def test_reduction_keeps_frames_and_faces_large_enough(
    size: tuple[int, int], widths: list[float], expected: int
) -> None:
    assert reduction_for(size, widths) == expected
