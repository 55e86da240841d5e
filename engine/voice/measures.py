"""Whole-clip measures: pitch, voice quality, intensity, rate, pauses, hesitation, quality flags."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import parselmouth

from engine.media import SAMPLE_RATE

from .asr import FILLER_WORDS
from .frames import FRAME_S, FrameTrack
from .prosody import Interval, SpeechMap, pitch_stats
from .word import Word

__all__ = [
    "FilledPause",
    "FormantSpacing",
    "formant_spacing",
    "merge_filled_pauses",
    "clip_measures",
    "hesitation",
    "quality_flags",
    "snr_db",
]

ISOLATION_S = 0.15  # an ASR filler token needs this much silence on one side (or prosodic agreement)
HESITATION_SCALE = 10.0  # hesitation score = 1 − exp(−HI / 10): 10 hesitations per 100 syllables → 0.63
NO_SPEECH_S = 0.5
TOO_SHORT_SPEECH_S = 3.0
CLIPPING_RATIO = 0.001
LOW_SNR_DB = 15.0
ACTIVE_DB = 35.0  # ≈ −59 dBFS: quieter frames are silence whatever the clip's level
MIN_NUCLEI_RATE = 1.0  # syllables per second of "speech" below which it is unlikely to be speech
# Formant pass (vocal-tract scale): Praat's Burg analysis, 5 formants below 5 kHz (one ceiling for every
# voice, so the scale is not presupposed), 25 ms window, every 50 ms: 1 frame in 5 of the pitch grid.
FORMANT_STEP_S, FORMANT_CEILING_HZ, FORMANT_WINDOW_S = 0.05, 5000.0, 0.025
HOP = int(FRAME_S * SAMPLE_RATE)


@dataclass(frozen=True)
class FilledPause:
    """A filled pause ("um", "uh", "er") and what found it: ``prosody``, ``asr`` or both."""

    start: float
    end: float
    source: str
    token: str | None = None


@dataclass(frozen=True)
class FormantSpacing:
    """Sparse vocal-tract scale track: 10 ms frame indices (voiced frames, every 50 ms) and, for each, the
    formant spacing in semitones re 100 Hz (the mean of F3/5 and F4/7: a uniform tube's odd resonances)."""

    frames: np.ndarray  # int32 frame indices
    st: np.ndarray  # float32 semitones

    def at(self, mask: np.ndarray) -> np.ndarray:
        """The spacing values at the frames where ``mask`` is true."""
        ok = self.frames < mask.size
        return self.st[ok][mask[self.frames[ok]]]


def _resampled(block: np.ndarray, rate: float) -> np.ndarray:
    """Band-limited FFT resampling to ``rate`` Hz: Praat resamples to twice the ceiling itself, but with a
    sinc interpolation that costs five times the formant analysis."""
    n = int(round(block.size * rate / SAMPLE_RATE))
    spectrum = np.fft.rfft(block.astype(np.float64))[: n // 2 + 1]
    return np.fft.irfft(spectrum, n) * (n / block.size)


def _block_spacing(block: np.ndarray, start: int, f0: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(frame indices, spacing st) of one block's voiced formant frames."""
    rate = 2 * FORMANT_CEILING_HZ
    formant = parselmouth.Sound(_resampled(block, rate), rate).to_formant_burg(
        FORMANT_STEP_S, 5, FORMANT_CEILING_HZ, FORMANT_WINDOW_S, 50.0
    )
    frames, vals = [], []
    for i in range(1, formant.get_number_of_frames() + 1):
        t = formant.get_time_from_frame_number(i)
        k = start + int(t / FRAME_S)
        if k >= f0.size or not np.isfinite(f0[k]):
            continue
        f3, f4 = formant.get_value_at_time(3, t), formant.get_value_at_time(4, t)
        if math.isfinite(f3) and math.isfinite(f4) and 0 < f3 < f4:
            frames.append(k)
            vals.append(6.0 * (math.log2(f3 / 500.0) + math.log2(f4 / 700.0)))  # mean st of F3/5, F4/7
    return np.array(frames, dtype=np.int32), np.array(vals, dtype=np.float32)


def formant_spacing(blocks: Iterable[np.ndarray], f0: np.ndarray) -> FormantSpacing:
    """The formant spacing of the voiced frames (``f0`` finite) of 16 kHz audio blocks."""
    frames, vals, start = [], [], 0
    for block in blocks:
        n = block.size // HOP
        if block.size >= 2 * FORMANT_WINDOW_S * SAMPLE_RATE and np.isfinite(f0[start : start + n]).any():
            k, v = _block_spacing(block, start, f0)
            frames.append(k)
            vals.append(v)
        start += n
    if not frames:
        return FormantSpacing(np.zeros(0, np.int32), np.zeros(0, np.float32))
    return FormantSpacing(np.concatenate(frames), np.concatenate(vals))


def _isolated(word: Word, speech: np.ndarray) -> bool:
    """Silence (no speech frames) for ≥ 150 ms right before or right after the token, within 50 ms."""
    gap, slack = int(ISOLATION_S / FRAME_S), 5
    a, b = int(word.start / FRAME_S), int(np.ceil(word.end / FRAME_S))
    before = a - gap - slack >= 0 and not speech[max(0, a - gap - slack) : max(0, a - slack)].any()
    after = b + gap + slack <= speech.size and not speech[b + slack : b + gap + slack].any()
    return before or after


def merge_filled_pauses(prosodic: list[Interval], words: list[Word], speech: np.ndarray) -> list[FilledPause]:
    """Union of prosodic detections and ASR filler tokens that are isolated or confirmed by prosody.

    pocketsphinx often writes "um" as "oh" (or drops it): "oh" counts only where prosody agrees.
    """
    found = [FilledPause(p.start, p.end, "prosody") for p in prosodic]
    for w in words:
        overlap = [i for i, f in enumerate(found) if w.start < f.end and f.start < w.end]
        if overlap and w.text in FILLER_WORDS | {"oh"}:
            i = overlap[0]
            found[i] = FilledPause(found[i].start, found[i].end, "prosody+asr", w.text)
        elif not overlap and w.text in FILLER_WORDS and _isolated(w, speech):
            found.append(FilledPause(w.start, w.end, "asr", w.text))
    return sorted(found, key=lambda f: f.start)


def hesitation(n_pauses: int, n_filled: int, syllables: int) -> tuple[float, float]:
    """(hesitation index, score): HI = 100 × (silent + filled pauses) / syllables; score = 1 − e^(−HI/10)."""
    hi = 100.0 * (n_pauses + n_filled) / max(syllables, 1)
    return hi, 1.0 - math.exp(-hi / HESITATION_SCALE)


def snr_db(track: FrameTrack, smap: SpeechMap) -> float | None:
    """Median speech-frame intensity minus the 10th percentile of non-speech frames (or of all frames)."""
    if not smap.speech.any():
        return None
    rest = track.intensity[~smap.speech]
    noise = float(np.quantile(rest if rest.size >= 50 else track.intensity, 0.1))
    return float(np.median(track.intensity[smap.speech])) - noise


def clip_measures(track: FrameTrack, smap: SpeechMap, nuclei: np.ndarray) -> dict[str, float | int | None]:
    """Pitch, voice quality, intensity, rates and talk ratio over the whole clip."""
    speech_s = float(smap.speech.sum()) * FRAME_S
    voiced = smap.speech & np.isfinite(track.f0)
    out: dict[str, float | int | None] = {"duration_s": track.duration, "speech_s": speech_s}
    out.update(pitch_stats(track.f0[voiced]))
    r = np.clip(track.strength.masked(voiced), 1e-4, 1 - 1e-4)
    out["hnr_db"] = float(np.mean(10 * np.log10(r / (1 - r)))) if r.size >= 5 else None
    out["jitter_local"] = track.jitter_sum / track.periods if track.periods else None
    out["shimmer_local"] = track.shimmer_sum / track.periods if track.periods else None
    db = track.intensity[smap.speech]
    out["intensity_mean_db"] = float(db.mean()) if db.size else None
    out["intensity_sd_db"] = float(db.std()) if db.size else None
    out["syllables"] = int(nuclei.size)
    out["speech_rate"] = nuclei.size / track.duration if track.duration else None
    out["articulation_rate"] = nuclei.size / speech_s if speech_s else None
    out["talk_ratio"] = speech_s / track.duration if track.duration else 0.0
    return out


def quality_flags(track: FrameTrack, smap: SpeechMap, nuclei: np.ndarray, snr: float | None) -> list[str]:
    """``no_speech``, ``too_short``, ``clipping``, ``low_snr`` and ``music_or_noise`` (see docs/engine.md)."""
    flags = []
    speech_s = float(smap.speech.sum()) * FRAME_S
    if speech_s < NO_SPEECH_S or nuclei.size < 2:
        flags.append("no_speech")
    elif speech_s < TOO_SHORT_SPEECH_S:
        flags.append("too_short")
    if track.samples and track.clipped / track.samples > CLIPPING_RATIO:
        flags.append("clipping")
    if snr is not None and snr < LOW_SNR_DB and "no_speech" not in flags:
        flags.append("low_snr")
    if _music_or_noise(track, smap, nuclei):
        flags.append("music_or_noise")
    return flags


def _music_or_noise(track: FrameTrack, smap: SpeechMap, nuclei: np.ndarray) -> bool:
    """Sustained sound that is not speech-like: little of it passes as speech, too few syllable peaks in
    what does, or long unbroken voicing (tones, singing, instruments)."""
    active = track.intensity >= max(smap.threshold_db, ACTIVE_DB)
    active_s = float(active.sum()) * FRAME_S
    if active_s < 2.0:
        return False
    speech_s = float(smap.speech.sum()) * FRAME_S
    if speech_s / active_s < 0.5:
        return True
    if nuclei.size / max(speech_s, 1e-6) < MIN_NUCLEI_RATE:
        return True
    voiced = np.isfinite(track.f0) & active
    edges = np.flatnonzero(np.diff(np.concatenate([[0], voiced.astype(np.int8), [0]])))
    lengths = (edges[1::2] - edges[::2]) * FRAME_S
    return bool(lengths.size and float(lengths.sum()) / active_s > 0.5 and float(np.median(lengths)) > 1.0)
