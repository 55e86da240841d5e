"""Face and video speed: face pipeline frames/s at 640×360, video real-time factor (720p 30 fps talking head
at 5 fps, audio + ASR), peak RSS for a 1-minute and a 30-minute video (each in its own subprocess).

    python -m bench.face_video [--quick]
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
FACE = ROOT / "tests" / "fixtures" / "faces" / "london_008_smiling.jpg"
FACE_FPS_TARGET = 40.0
RTF_TARGET = 0.5
RSS_RATIO_TARGET = 1.05  # long-video peak RSS over 1-minute peak RSS (what still grows is the report itself)


def _frame(size: tuple[int, int]) -> np.ndarray:
    canvas = Image.new("RGB", size, (90, 100, 110))
    face = Image.open(FACE).convert("RGB")
    face.thumbnail((int(size[1] * 0.8),) * 2)
    canvas.paste(face, ((size[0] - face.width) // 2, (size[1] - face.height) // 2))
    return np.asarray(canvas)


def face_fps(n: int = 200) -> float:
    """Frames/s of landmarker + AU/expression/VAD on one 640×360 frame with one face (VIDEO mode)."""
    from engine.face import Landmarker, describe_face

    rgb = _frame((640, 360))
    with Landmarker(video=True) as lm:
        for i in range(10):
            lm.detect(rgb, i / 30)
        t0 = time.perf_counter()
        for i in range(n):
            [describe_face(f) for f in lm.detect(rgb, (10 + i) / 30)]
        return n / (time.perf_counter() - t0)


def _make_clip(path: Path, seconds: float, size: tuple[int, int], fps: int) -> Path:
    """A talking head with speech all through (the 11 s fixture recording repeated): a clip that falls
    silent after the recording leaves the voice engine little to hold and flatters the long clip's RSS."""
    sys.path.append(str(ROOT))  # tests/ (media factory) from this checkout; engine stays the tree's
    from tests.engine.media_factory import talking_head

    return talking_head(path, seconds=seconds, size=size, fps=fps, switch_s=2.0, loop_audio=True)


def video_rtf(seconds: float = 60.0) -> dict[str, float]:
    """Real-time factor of analyse_video (5 fps, audio + ASR) on a 720p 30 fps talking-head clip."""
    from engine.video import analyse_video

    with tempfile.TemporaryDirectory() as tmp:
        clip = _make_clip(Path(tmp) / "clip.mp4", seconds, (1280, 720), 30)
        t0 = time.perf_counter()
        rep = analyse_video(clip, fps=5.0, asr=True)
        took = time.perf_counter() - t0
    return {
        "seconds": seconds,
        "wall_s": round(took, 2),
        "rtf": round(took / seconds, 3),
        "face_s": rep.modalities["timings"]["face_s"],
    }


# VmHWM, not ru_maxrss: Linux carries the spawning process's high-water mark into the child's ru_maxrss
# at exec, so a child started by this (larger) bench process would report the bench's own peak.
_RSS_CHILD = """
import sys, json
from engine.video import analyse_video
rep = analyse_video(sys.argv[1], fps=5.0, asr=False)
hwm = next(l for l in open("/proc/self/status") if l.startswith("VmHWM:"))
print(json.dumps({"peak_rss_mb": int(hwm.split()[1]) / 1024, "segments": len(rep.segments)}))
"""


def peak_rss(seconds: float) -> dict[str, float]:
    """Peak RSS (MB) of analyse_video on a 640×360 clip of ``seconds``, in a fresh subprocess."""
    with tempfile.TemporaryDirectory() as tmp:
        clip = _make_clip(Path(tmp) / "long.mp4", seconds, (640, 360), 25)
        out = subprocess.run(
            [sys.executable, "-c", _RSS_CHILD, str(clip)],
            cwd=os.environ.get("BENCH_TREE_ROOT") or ROOT,  # the tree under test (bench.trees)
            capture_output=True,
            text=True,
            check=True,
        )
    return json.loads(out.stdout.strip().splitlines()[-1])


def measure(quick: bool = False) -> dict[str, object]:
    """All figures in one dict (quick: shorter clips; 30-minute RSS becomes 10 minutes)."""
    long_s = 600.0 if quick else 1800.0
    return {
        "face_fps_640x360": round(face_fps(100 if quick else 300), 1),
        "video": video_rtf(20.0 if quick else 60.0),
        "rss_1min": peak_rss(60.0),
        f"rss_{int(long_s // 60)}min": peak_rss(long_s),
    }


def rss_ratio(res: dict[str, object]) -> float:
    """Peak RSS of the long video over that of the 1-minute one (1.0 is perfectly flat)."""
    peaks = [v["peak_rss_mb"] for k, v in res.items() if k.startswith("rss_")]  # type: ignore[index]
    return float(peaks[-1] / peaks[0])


def main() -> None:
    """Print the table."""
    res = measure("--quick" in sys.argv)
    video = res["video"]
    rss = [(k, v) for k, v in res.items() if k.startswith("rss_")]
    rows = [
        ("face pipeline fps (640×360, 1 face)", f"{res['face_fps_640x360']}", f"≥ {FACE_FPS_TARGET:.0f}"),
        (
            f"video RTF (720p30, 5 fps, audio+ASR, {video['seconds']:.0f} s)",
            f"{video['rtf']}",  # type: ignore[index]
            f"≤ {RTF_TARGET}",
        ),
    ]
    rows += [(f"peak RSS {k[4:]} video (MB)", f"{v['peak_rss_mb']:.0f}", "flat") for k, v in rss]  # type: ignore[index]
    rows.append(
        (
            f"peak RSS ratio {rss[-1][0][4:]} / {rss[0][0][4:]}",
            f"{rss_ratio(res):.3f}",
            f"≤ {RSS_RATIO_TARGET}",
        )
    )
    width = max(len(r[0]) for r in rows)
    print(f"{'benchmark':<{width}}  {'value':>10}  target")
    for name, value, target in rows:
        print(f"{name:<{width}}  {value:>10}  {target}")


if __name__ == "__main__":
    main()
