"""Arousal/dominance cues over a set of frames (a clip, a speaker, or one second)."""

from __future__ import annotations

import numpy as np

from .frames import FRAME_S, FrameTrack
from .measures import FormantSpacing
from .prosody import semitones

__all__ = ["cues_for"]

MIN_VOICED_FRAMES = 10
MIN_FORMANT_FRAMES = 5  # 50 ms apart: a quarter-second of voicing


def cues_for(
    track: FrameTrack, mask: np.ndarray, nuclei: np.ndarray, spacing: FormantSpacing | None = None
) -> dict[str, float | None]:
    """F0 mean/SD (semitones re 100 Hz), mean intensity (dB), alpha ratio (dB) and articulation rate; with
    a formant track, also the median formant spacing (semitones re 100 Hz: the vocal tract's scale)."""
    voiced = mask & np.isfinite(track.f0)
    speech_s = float(mask.sum()) * FRAME_S
    out: dict[str, float | None] = dict.fromkeys(
        ("f0_mean_st", "f0_sd_st", "intensity_db", "alpha_db", "rate")
    )
    if speech_s > 0:
        out["intensity_db"] = float(track.intensity[mask].mean())
    if voiced.sum() >= MIN_VOICED_FRAMES:
        st = semitones(track.f0[voiced])
        out["f0_mean_st"] = float(st.mean())
        out["f0_sd_st"] = float(st.std())
        out["alpha_db"] = float(track.alpha.masked(voiced).mean())
    if speech_s >= 0.5:
        idx = np.clip((nuclei / FRAME_S).astype(int), 0, max(0, mask.size - 1))
        out["rate"] = float(mask[idx].sum()) / speech_s if nuclei.size else 0.0
    if spacing is not None:
        vals = spacing.at(voiced)
        out["formant_spacing_st"] = float(np.median(vals)) if vals.size >= MIN_FORMANT_FRAMES else None
    return out
