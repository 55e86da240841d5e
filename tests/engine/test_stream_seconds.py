"""engine.stream.session: the cheap ``has_ready_seconds`` check agrees with ``ready_seconds``."""

from __future__ import annotations

import io

from PIL import Image

from engine.stream import StreamAnalysis
from tests.engine.media_factory import FACES, _canvas


def _frame() -> bytes:
    buf = io.BytesIO()
    Image.fromarray(_canvas(FACES / "london_008_smiling.jpg", (640, 360))).save(buf, "JPEG", quality=85)
    return buf.getvalue()


def test_has_ready_seconds_is_true_exactly_when_a_second_is_complete() -> None:
    frame, silence = _frame(), bytes(3200)  # 100 ms of 16 kHz PCM
    checks: list[tuple[bool, int]] = []
    with StreamAnalysis(fps=5, audio=True) as analysis:
        assert not analysis.has_ready_seconds()
        for step in range(30):  # 3 s: a frame every 200 ms, audio every 100 ms
            t = step / 10
            analysis.audio(silence, t)
            if step % 2 == 0:
                analysis.frame(frame, t)
            due = analysis.has_ready_seconds()
            checks.append((due, len(analysis.ready_seconds())))
            assert not analysis.has_ready_seconds()  # everything ready was just taken
    assert all(due == (n > 0) for due, n in checks), checks
    assert sum(n for _, n in checks) == 2  # seconds 0 and 1; second 2 waits for a frame of second 3
    assert sum(due for due, _ in checks) == 2  # 28 of 30 events completed no second: no timeline trip
