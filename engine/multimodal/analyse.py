"""``analyse_multimodal``: any mix of video, audio, text and images → one fused report (modality
"multimodal") with each modality's part summarised under ``modalities``."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from engine.errors import MediaError
from engine.fusion import fuse
from engine.report import Report
from engine.transcripts import Cue

__all__ = ["analyse_multimodal"]


def analyse_multimodal(
    video: str | Path | None = None,
    audio: str | Path | None = None,
    text: str | None = None,
    images: Sequence[str | Path] | None = None,
    *,
    filenames: Sequence[str | None] | None = None,
    fps: float = 5.0,
    max_seconds: float = 4 * 3600.0,
    asr: bool = True,
    cues: Sequence[Cue] | None = None,
) -> Report:
    """Analyse each given input with its engine and fuse them; raises MediaError if nothing is given.

    ``cues``: the meeting transcript's timed cues (``engine.transcripts``): their names name the voices."""
    parts: dict[str, Report] = {}
    extra_flags: list[str] = []
    if video is not None:
        from engine.video.analyse import video_parts

        vparts, extra_flags, _ = video_parts(video, fps=fps, max_seconds=max_seconds, asr=asr, cues=cues)
        parts.update({"video_face": vparts["face"]})
        if "voice" in vparts:
            parts["video_voice"] = vparts["voice"]
    if audio is not None:
        from engine.voice import analyse_audio

        parts["audio"] = analyse_audio(audio, max_seconds=max_seconds, asr=asr, cues=cues)
    if text is not None and text.strip():
        from engine.text import get_analyser

        parts["text"] = get_analyser().analyse(text)
    if images:
        from engine.face import analyse_images

        parts["images"] = analyse_images(list(images), list(filenames) if filenames else None)
    if not parts:
        raise MediaError("media_empty", "nothing to analyse: give a video, audio, text or images")
    report = fuse(parts, modality="multimodal")
    report.quality.flags = list(dict.fromkeys(report.quality.flags + extra_flags))
    return report
