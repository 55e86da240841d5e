"""``analyse_video``: frames at ``fps`` through the face pipeline, the audio track through engine.voice (in a
thread beside the frame loop: both spend most of their time in native code), then fusion per second.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from engine.errors import MediaError
from engine.face.analyse import describe_face
from engine.face.aus import AuTable, load_table
from engine.face.landmarker import Landmarker
from engine.face.tracker import IouTracker
from engine.fusion.fuse import fuse
from engine.memory import trim
from engine.report import Report
from engine.transcripts import Cue

from .frames import VideoInfo, iter_frames, open_video
from .timeline import FaceTimeline

__all__ = ["analyse_video", "video_parts", "DEFAULT_FPS", "DEFAULT_MAX_SECONDS", "MAX_FPS"]

DEFAULT_FPS = 5.0
MAX_FPS = 60.0
DEFAULT_MAX_SECONDS = 4 * 3600.0
TRIM_EVERY_S = 60.0  # video time between two returns of the heap's free pages during the frame loop


def _voice(path: Path, max_seconds: float, asr: bool, cues: Sequence[Cue] | None) -> Callable[[], Report]:
    from engine.voice.analyse import audio_draft

    # The voice is done long before the frame loop: its report is built after the loop, so the loop's
    # peak holds a few figures a second of it, not its per-second objects.
    return audio_draft(path, max_seconds=max_seconds, asr=asr, cues=cues)


def _faces(path: Path, info: VideoInfo, fps: float, max_seconds: float, table: AuTable) -> FaceTimeline:
    timeline = FaceTimeline(fps=fps, table=table)
    tracker = IouTracker()
    next_trim = TRIM_EVERY_S
    with Landmarker(video=True) as lm:
        for t, rgb in iter_frames(path, info, fps, max_seconds):
            faces = [describe_face(f, table) for f in lm.detect(rgb, t)]
            ids = tracker.update([f.box for f in faces], t, [f.area_share for f in faces])
            timeline.add(t, ids, faces)
            if t >= next_trim:  # the per-second sums grow between freed frame buffers (engine.memory)
                trim()
                next_trim = t + TRIM_EVERY_S
    return timeline


def _voice_result(future: Future[Callable[[], Report]] | None, flags: list[str]) -> Report | None:
    if future is None:
        return None
    try:
        build = future.result()
    except MediaError as exc:  # a damaged or silent audio track does not sink the video analysis
        flags.append(f"audio_unusable:{exc.code}")
        return None
    return build()


def video_parts(
    path: str | Path,
    *,
    fps: float = DEFAULT_FPS,
    max_seconds: float = DEFAULT_MAX_SECONDS,
    audio: bool = True,
    asr: bool = True,
    table: AuTable | None = None,
    cues: Sequence[Cue] | None = None,
) -> tuple[dict[str, Report], list[str], dict[str, float]]:
    """The face and voice reports of one video, extra quality flags and timings (``cues``: a meeting
    transcript's named cues, for the voice: ``engine.voice.analyse_audio``)."""
    path = Path(path)
    fps = min(MAX_FPS, max(0.5, fps))
    info = open_video(path, max_seconds)
    flags: list[str] = []
    table = table or load_table()
    t0 = time.perf_counter()
    with ThreadPoolExecutor(max_workers=1) as pool:
        future = pool.submit(_voice, path, max_seconds, asr, cues) if audio and info.has_audio else None
        if not info.has_audio:
            flags.append("no_audio")
        timeline = _faces(path, info, fps, max_seconds, table)
        t_face = time.perf_counter() - t0
        trim()  # the landmarker's and decoder's buffers: the reports and fusion reuse their pages
        voice = _voice_result(future, flags)
    duration = info.duration or info.decoded_s
    speech = [bool(s.speech) for s in voice.segments] if voice else None
    primary, rule = timeline.primary(speech)
    parts: dict[str, Report] = {"face": timeline.report(duration, primary, rule, table)}
    if voice is not None:
        parts["voice"] = voice
    timings = {
        "face_s": round(t_face, 3),
        "total_s": round(time.perf_counter() - t0, 3),
        "duration_s": round(duration, 3),
    }
    return parts, flags, timings


def analyse_video(
    path: str | Path,
    *,
    fps: float = DEFAULT_FPS,
    max_seconds: float = DEFAULT_MAX_SECONDS,
    audio: bool = True,
    asr: bool = True,
    cues: Sequence[Cue] | None = None,
) -> Report:
    """Video → Report (modality "video"): per-second face/voice/text/fused V/A/D, AUs, credibility, Trust."""
    parts, flags, timings = video_parts(
        path, fps=fps, max_seconds=max_seconds, audio=audio, asr=asr, cues=cues
    )
    report = fuse(parts, modality="video")
    report.quality.flags = list(dict.fromkeys(report.quality.flags + flags))
    report.modalities["timings"] = timings
    return report
