"""Primary face in a gallery view (active speaker where audio allows, else the largest) and the face
timeline's streaming fold (per-second sums only; the figures equal those computed over every frame)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from engine.face.analyse import FaceFrame
from engine.face.aus import AU_KEYS, load_table
from engine.report import VAD
from engine.video import analyse_video
from engine.video.timeline import FaceTimeline

from .media_factory import SPEECH_WAV, gallery

pytestmark = pytest.mark.skipif(not SPEECH_WAV.is_file(), reason="needs the speech fixture WAV")


@pytest.fixture(scope="module")
def gallery_clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    tmp = tmp_path_factory.mktemp("gallery")
    return {
        "audio": gallery(tmp / "gallery.mp4"),
        "mute": gallery(tmp / "mute.mp4", audio=False),
    }


def _faces_by_size(rep) -> tuple[dict, dict]:  # type: ignore[no-untyped-def]
    small, large = sorted(rep.faces, key=lambda f: f["mean_area_share"])
    return small, large


def test_primary_face_is_the_smaller_face_whose_mouth_follows_the_speech(gallery_clips) -> None:  # type: ignore[no-untyped-def]
    rep = analyse_video(gallery_clips["audio"], fps=5.0, asr=False)
    assert rep.face["count"] == 2 and "multiple_faces" in rep.quality.flags
    small, large = _faces_by_size(rep)
    assert large["mean_area_share"] > 2 * small["mean_area_share"]
    assert rep.face["primary"] == small["id"] and small["primary"] and not large["primary"]
    assert rep.face["primary_rule"].startswith("active speaker")
    assert {s.face_id for s in rep.segments if s.face_present} == {small["id"]}


def test_without_audio_the_largest_face_is_primary(gallery_clips) -> None:  # type: ignore[no-untyped-def]
    rep = analyse_video(gallery_clips["mute"], fps=5.0, asr=False)
    small, large = _faces_by_size(rep)
    assert "no_audio" in rep.quality.flags
    assert rep.face["primary"] == large["id"] and rep.face["primary_rule"] == "largest face"


# --- the timeline fold, on synthetic frames ------------------------------------------------------------


def _frame(rng: np.random.Generator, *, area: float, mouth: float, blink: float) -> FaceFrame:
    au = {a: float(rng.uniform(0, 1)) for a in AU_KEYS}
    return FaceFrame(
        au=au,
        emotions={"happiness": float(rng.uniform(0, 1)), "neutral": float(rng.uniform(0, 1))},
        vad=VAD(valence=float(rng.uniform(0, 1)), arousal=float(rng.uniform(0, 1)), dominance=0.5),
        head_pose={"yaw": float(rng.normal(0, 10)), "pitch": float(rng.normal(0, 5)), "roll": 0.0},
        gaze={"horizontal": 0.1, "vertical": -0.1, "at_camera": 1.0},
        box=(0.0, 0.0, 0.2, 0.2),
        area_share=area,
        confidence=float(rng.uniform(0.2, 1.0)),
        blink=blink,
        mouth_open=mouth,
    )


def _fill(
    timeline: FaceTimeline, fps: float, seconds: int, speech: list[bool]
) -> list[tuple[float, FaceFrame]]:
    rng = np.random.default_rng(7)
    fed = []
    for k in range(int(seconds * fps)):
        t = k / fps
        talking = speech[int(t)] and k % 2 == 1
        big = _frame(rng, area=0.3, mouth=0.0, blink=0.9 if k % 7 == 0 else 0.1)
        small = _frame(rng, area=0.05, mouth=0.6 if talking else 0.0, blink=0.1)
        timeline.add(t, ["big", "small"], [big, small])
        fed.append((t, big))
    return fed


def test_timeline_memory_follows_seconds_not_frames() -> None:
    speech = [i % 4 < 2 for i in range(120)]
    slow, fast = FaceTimeline(fps=2.0), FaceTimeline(fps=30.0)
    _fill(slow, 2.0, 120, speech)
    _fill(fast, 30.0, 120, speech)
    assert fast.frames_analysed == 15 * slow.frames_analysed
    for tid in ("big", "small"):
        assert fast.tracks[tid].sums.nbytes == slow.tracks[tid].sums.nbytes
        assert fast.tracks[tid].sums.shape[0] < 2 * 120


def test_timeline_figures_equal_those_over_every_frame() -> None:
    speech = [i % 4 < 2 for i in range(12)]
    tl = FaceTimeline(fps=10.0)
    fed = _fill(tl, 10.0, 12, speech)
    rep = tl.report(12.0, "big", "largest face", load_table())
    times = np.array([t for t, _ in fed])
    au12 = np.array([f.au["AU12"] for _, f in fed])
    conf = np.array([f.confidence for _, f in fed])
    val = np.array([f.vad.valence for _, f in fed])
    yaw = np.array([f.head_pose["yaw"] for _, f in fed if f.head_pose])
    sec3 = (times >= 3) & (times < 4)
    assert rep.segments[3].au["AU12"] == pytest.approx(au12[sec3].mean(), abs=1e-4)
    assert rep.segments[3].vad.valence == pytest.approx(np.average(val[sec3], weights=conf[sec3]), abs=1e-4)
    assert rep.vad.valence == pytest.approx(np.average(val, weights=conf), abs=1e-4)
    assert rep.au_map["AU12"]["max"] == pytest.approx(au12.max(), abs=1e-4)
    presence = load_table().presence("AU12")
    assert rep.au_map["AU12"]["active_share"] == pytest.approx((au12 >= presence).mean(), abs=1e-4)
    assert rep.face["head_pose"]["yaw"]["sd"] == pytest.approx(yaw.std(), abs=0.06)
    onsets = [k for k in range(1, len(fed)) if k % 7 == 0]  # blink frames are isolated: each is an onset
    assert rep.face["blinks"] == len(onsets)
    assert sum(s.blinks or 0 for s in rep.segments) == len(onsets)


def test_active_speaker_needs_speech_that_varies() -> None:
    tl = FaceTimeline(fps=5.0)
    _fill(tl, 5.0, 20, [i % 4 < 2 for i in range(20)])
    assert tl.primary([i % 4 < 2 for i in range(20)])[0] == "small"
    assert tl.primary([True] * 20) == ("big", "largest face")
    assert tl.primary(None) == ("big", "largest face")
