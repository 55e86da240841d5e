"""Speech/pause decisions, syllable nuclei, pitch statistics and filled pauses from a FrameTrack.

Pauses: silences of at least 250 ms with speech on both sides (Goldman-Eisler 1968; Campione & Véronis 2002
on the 200–250 ms threshold). Syllable nuclei: intensity peaks that stand 2 dB above the preceding dip, lie
above the silence threshold and are voiced (de Jong & Wempe 2009).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .frames import FRAME_S, FrameTrack

__all__ = ["Interval", "SpeechMap", "speech_map", "syllable_nuclei", "pitch_stats", "prosodic_filled_pauses"]

SILENCE_DB_BELOW_P99 = 25.0  # de Jong & Wempe's silence threshold, relative to the 0.99 quantile
MIN_PAUSE_S = 0.25
MIN_SPEECH_RUN_S = 0.06  # shorter "speech" bursts (clicks) are dropped
BRIDGE_GAP_S = 0.12  # shorter non-speech gaps inside speech are closures, not pauses
NUCLEUS_DIP_DB = 2.0
# Prosodic filled-pause detector (Shriberg 1999; O'Shaughnessy 1992): a long, continuously voiced stretch
# with a flat F0 and a steady spectrum, standing apart from the surrounding words.
FP_MIN_S, FP_MAX_S = 0.30, 2.0
FP_MAX_F0_RANGE_ST = 5.0  # 10th–90th percentile; hesitations are level or gently falling
FP_MAX_FLUX_RATIO = 0.75  # mean cepstral change per frame, relative to the clip's voiced-speech median
FP_MIN_GAP_S = 0.15  # a pause on at least one side


@dataclass(frozen=True, slots=True)  # thousands per long clip: no per-object __dict__
class Interval:
    """A time span in seconds."""

    start: float
    end: float

    @property
    def duration(self) -> float:
        """Length in seconds."""
        return self.end - self.start


@dataclass
class SpeechMap:
    """Frame-level speech decisions and the intervals derived from them."""

    speech: np.ndarray  # bool per frame
    threshold_db: float
    runs: list[Interval]  # speech runs after bridging short gaps
    pauses: list[Interval]  # silences ≥ 250 ms between speech runs


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """(start, end) frame indices of the True runs of a boolean array."""
    if not mask.size:
        return []
    edges = np.flatnonzero(np.diff(np.concatenate([[0], mask.astype(np.int8), [0]])))
    return list(zip(edges[::2].tolist(), edges[1::2].tolist(), strict=True))


def speech_map(track: FrameTrack) -> SpeechMap:
    """Speech = webrtcvad speech above the silence threshold; pauses = gaps ≥ 250 ms inside speech."""
    if not track.n:
        return SpeechMap(np.zeros(0, bool), 0.0, [], [])
    threshold = float(np.quantile(track.intensity, 0.99)) - SILENCE_DB_BELOW_P99
    speech = track.vad & (track.intensity >= threshold)
    for a, b in _runs(speech):
        if (b - a) * FRAME_S < MIN_SPEECH_RUN_S:
            speech[a:b] = False
    for a, b in _runs(~speech):
        if a > 0 and b < speech.size and (b - a) * FRAME_S < BRIDGE_GAP_S:
            speech[a:b] = True
    runs = [Interval(a * FRAME_S, b * FRAME_S) for a, b in _runs(speech)]
    pauses = [
        Interval(r0.end, r1.start)
        for r0, r1 in zip(runs, runs[1:], strict=False)
        if r1.start - r0.end >= MIN_PAUSE_S
    ]
    return SpeechMap(speech, threshold, runs, pauses)


def syllable_nuclei(track: FrameTrack, smap: SpeechMap) -> np.ndarray:
    """Times (s) of syllable nuclei: voiced intensity peaks ≥ 2 dB above the preceding dip."""
    if track.n < 3:
        return np.zeros(0)
    db = np.convolve(track.intensity, np.ones(3) / 3, mode="same")  # 30 ms smoothing against ripple
    peaks = np.flatnonzero((db[1:-1] > db[:-2]) & (db[1:-1] >= db[2:])) + 1
    peaks = peaks[(db[peaks] >= smap.threshold_db) & smap.speech[peaks]]
    kept: list[int] = []
    for p in peaks:
        if kept and db[p] - db[kept[-1] : p + 1].min() < NUCLEUS_DIP_DB:
            if db[p] > db[kept[-1]] and db[kept[-1]] - db[kept[-1] : p + 1].min() < NUCLEUS_DIP_DB:
                kept[-1] = p  # the same syllable: keep its higher peak
            continue
        kept.append(int(p))
    voiced = np.isfinite(track.f0)
    near = [p for p in kept if voiced[max(0, p - 2) : p + 3].any()]
    return (np.array(near, dtype=float) + 0.5) * FRAME_S


def semitones(hz: np.ndarray | float, ref: float = 100.0) -> np.ndarray:
    """Hz → semitones relative to ``ref`` Hz."""
    return 12.0 * np.log2(np.asarray(hz, dtype=float) / ref)


def pitch_stats(f0: np.ndarray) -> dict[str, float | None]:
    """F0 mean, SD and range in Hz and semitones over voiced frames (range: 5th–95th percentile)."""
    v = f0[np.isfinite(f0)].astype(float)
    if v.size < 5:
        return dict.fromkeys(
            (
                "f0_mean_hz",
                "f0_sd_hz",
                "f0_min_hz",
                "f0_max_hz",
                "f0_range_hz",
                "f0_mean_st",
                "f0_sd_st",
                "f0_range_st",
            )
        )
    lo, hi = np.quantile(v, [0.05, 0.95])
    st = semitones(v)
    return {
        "f0_mean_hz": float(v.mean()),
        "f0_sd_hz": float(v.std()),
        "f0_min_hz": float(lo),
        "f0_max_hz": float(hi),
        "f0_range_hz": float(hi - lo),
        "f0_mean_st": float(st.mean()),  # re 100 Hz
        "f0_sd_st": float(st.std()),
        "f0_range_st": float(12 * np.log2(hi / lo)),
    }


def prosodic_filled_pauses(track: FrameTrack, smap: SpeechMap) -> list[Interval]:
    """Long, flat-pitched, spectrally steady voiced stretches set off by a pause: likely "um"/"uh"/"er"."""
    voiced = np.isfinite(track.f0) & smap.speech
    if voiced.sum() < 10:
        return []
    flux = track.flux
    ref = float(np.median(flux[voiced])) or 1.0
    bridged = voiced.copy()
    for a, b in _runs(~voiced):  # a 30 ms voicing drop-out does not end a stretch
        if a > 0 and b < voiced.size and b - a <= 3:
            bridged[a:b] = True
    found: list[Interval] = []
    for a, b in _runs(bridged):
        dur = (b - a) * FRAME_S
        if not FP_MIN_S <= dur <= FP_MAX_S:
            continue
        f0 = track.f0[a:b][np.isfinite(track.f0[a:b])]
        lo, hi = np.quantile(f0, [0.1, 0.9])
        steady = float(np.mean(flux[a + 1 : b])) <= FP_MAX_FLUX_RATIO * ref
        if 12 * np.log2(hi / lo) <= FP_MAX_F0_RANGE_ST and steady and _set_apart(smap.speech, a, b):
            found.append(Interval(a * FRAME_S, b * FRAME_S))
    return found


def _set_apart(speech: np.ndarray, a: int, b: int) -> bool:
    gap = int(FP_MIN_GAP_S / FRAME_S)
    before = a - gap < 0 or not speech[max(0, a - gap) : max(0, a - 2)].any()
    after = b + gap > speech.size or not speech[b + 2 : b + gap].any()
    return before or after
