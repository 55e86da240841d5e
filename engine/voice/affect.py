"""Vocal valence, arousal and dominance from prosodic cues, each with a confidence.

Arousal (the dimension voice carries best: Juslin & Laukka 2003; Scherer 2003; Banse & Scherer 1996): higher
F0 level, wider F0 variability, louder voice, more high-frequency energy (vocal effort) and faster
articulation. Every cue is a z-score against a baseline: the speaker's own (other recordings, or the clip's
other seconds for per-second values), else generic adult references where absolute loudness is left out,
because recording gain changes it (ENGINE-NOTES).
Dominance: louder, lower-pitched and slower speech is heard as more dominant (Tusing & Dillard 2000;
Puts et al. 2006); a larger share of talk time adds (Dunbar & Burgoon 2005). Modest confidence.
Valence: prosody separates positive from negative poorly (Juslin & Laukka 2003; Scherer 2003), so vocal
valence stays near neutral with a low confidence; the transcript's lexical valence is used when present.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np

__all__ = [
    "CUES",
    "AROUSAL_WEIGHTS",
    "EFFORT_AROUSAL_WEIGHTS",
    "DOMINANCE_WEIGHTS",
    "VoiceBaseline",
    "GENERIC_BASELINE",
    "arousal_logit",
    "arousal_weights",
    "dominance_logit",
    "f0_reference",
    "sigmoid",
]

CUES = ("f0_mean_st", "f0_sd_st", "intensity_db", "alpha_db", "rate")
# A-priori weights from the direction and rough strength of each cue in Juslin & Laukka (2003, Table 7) and
# Scherer (2003): level and loudness/effort cues carry most, variability and rate less. Not fitted to data.
AROUSAL_WEIGHTS = {"f0_mean_st": 0.25, "f0_sd_st": 0.15, "intensity_db": 0.25, "alpha_db": 0.25, "rate": 0.10}
# Without a level that may be compared (no speaker baseline), the alpha ratio carries loudness's weight too:
# it is loudness's gain-free correlate (vocal effort tilts the spectrum upwards as level rises: Traunmüller &
# Eriksson 2000; Eyben et al. 2016). A rule, not a fit; checked held-out in bench/eval/voice.py.
EFFORT_AROUSAL_WEIGHTS = {"f0_mean_st": 0.25, "f0_sd_st": 0.15, "alpha_db": 0.50, "rate": 0.10}
DOMINANCE_WEIGHTS = {"intensity_db": 0.35, "alpha_db": 0.15, "f0_mean_st": -0.30, "rate": -0.20}
AROUSAL_GAIN = 1.5  # logit per unit of weighted z-score
DOMINANCE_GAIN = 1.0
MIN_SD = {"f0_mean_st": 1.0, "f0_sd_st": 0.3, "intensity_db": 1.5, "alpha_db": 1.0, "rate": 0.3}


def sigmoid(x: float) -> float:
    """Logistic function."""
    return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, x))))


# The F0 a voice is compared with, from the size of its vocal tract (the formant spacing), not from F0:
# F0 and vocal-tract length both differ between the sexes, but arousal raises F0 and leaves F3/F4 nearly
# unchanged. Spacing = mean of F3/5 and F4/7 (a uniform tube closed at the glottis: Fn = (2n − 1)·c/4L;
# Fitch 1997 on formant dispersion as a size cue). Its norms: Peterson & Barney (1952) mean F3 over the 10
# vowels, men 2386 Hz, women 2783 Hz (/5: 477 and 557 Hz). Between them the reference F0 moves on a log
# scale from the male to the female speaking norm (120 → 210 Hz, Traunmüller & Eriksson 1995), clamped at
# both ends; the F0 SD is then the spread within one sex (about 3 st: 20–25 Hz around 120–210 Hz).
SPACING_NORM_ST = (12.0 * math.log2(2386 / 5 / 100), 12.0 * math.log2(2783 / 5 / 100))
F0_NORM_ST = (12.0 * math.log2(120 / 100), 12.0 * math.log2(210 / 100))
F0_SD_GIVEN_SPACING_ST = 3.0


def f0_reference(spacing_st: float) -> float:
    """The speaking F0 (semitones re 100 Hz) expected of a vocal tract with this formant spacing."""
    lo, hi = SPACING_NORM_ST
    share = min(1.0, max(0.0, (spacing_st - lo) / (hi - lo)))
    return F0_NORM_ST[0] + share * (F0_NORM_ST[1] - F0_NORM_ST[0])


@dataclass(frozen=True)
class VoiceBaseline:
    """Reference mean and SD per cue; ``absolute_level`` says whether intensity may be compared;
    ``vocal_tract_f0_sd``, when set, compares F0 with the F0 its formant spacing predicts (with this SD)."""

    mean: Mapping[str, float]
    sd: Mapping[str, float]
    absolute_level: bool = True
    source: str = "speaker"
    vocal_tract_f0_sd: float | None = None

    @classmethod
    def from_cues(
        cls, samples: Iterable[Mapping[str, float | None]], source: str = "speaker"
    ) -> VoiceBaseline:
        """A speaker baseline from the cue dicts (``Report.voice['cues']``) of several recordings."""
        rows = list(samples)
        mean: dict[str, float] = {}
        sd: dict[str, float] = {}
        for cue in CUES:
            vals = np.array([r[cue] for r in rows if r.get(cue) is not None], dtype=float)
            if vals.size:
                mean[cue] = float(vals.mean())
                sd[cue] = max(float(vals.std()), MIN_SD[cue])
        return cls(mean, sd, absolute_level=True, source=source)

    def z(self, cues: Mapping[str, float | None]) -> dict[str, float]:
        """z-score of each available cue (intensity only when the baseline allows absolute level)."""
        out: dict[str, float] = {}
        for cue, value in cues.items():
            if value is None or cue not in self.mean or (cue == "intensity_db" and not self.absolute_level):
                continue
            mean, sd = self._reference(cue, cues)
            out[cue] = float(np.clip((value - mean) / sd, -4.0, 4.0))
        return out

    def _reference(self, cue: str, cues: Mapping[str, float | None]) -> tuple[float, float]:
        """(mean, SD) for one cue: F0's from the formant spacing when allowed and measured."""
        spacing = cues.get("formant_spacing_st")
        if cue == "f0_mean_st" and self.vocal_tract_f0_sd is not None and spacing is not None:
            return f0_reference(spacing), self.vocal_tract_f0_sd
        return self.mean[cue], self.sd[cue]


# Generic adult references for a recording with no speaker baseline: F0 centred on the log-midpoint of typical
# male and female speaking pitch (120 and 210 Hz, Traunmüller & Eriksson 1995: 159 Hz = 8.0 st re 100 Hz),
# SD 4.5 st, about half the 9.7 st gap between the sexes, so that both fall within ±1 SD; F0 SD of read
# speech ≈ 2.5 semitones; articulation rate ≈ 4.5 syllables/s (de Jong & Wempe 2009 report 3.5–5.5). The
# alpha ratio reference (−12 dB, SD 5 dB) came with the first voice engine and its source is not recorded;
# it shifts every clip alike, so held-out rankings (AUC) do not depend on it. Loudness is not compared
# (gain-dependent). The F0 reference its vocal tract predicts (``f0_reference``, ``vocal_tract_f0_sd``) is
# measured but off by default: held out on RAVDESS it raised the single-clip AUC 0.853 → 0.867–0.869 but
# lowered strong > normal 86.6 → 79.5–82.1 % (a clip's formant spacing varies between takes by ~0.5 st,
# a third of the sex difference), and it reads resampled (formant-shifted) speech as a smaller speaker.
GENERIC_BASELINE = VoiceBaseline(
    mean={"f0_mean_st": 8.0, "f0_sd_st": 2.5, "alpha_db": -12.0, "rate": 4.5},
    sd={"f0_mean_st": 4.5, "f0_sd_st": 1.0, "alpha_db": 5.0, "rate": 1.0},
    absolute_level=False,
    source="generic",
)


def _weighted(z: Mapping[str, float], weights: Mapping[str, float]) -> tuple[float, float]:
    used = {c: w for c, w in weights.items() if c in z}
    total = sum(abs(w) for w in used.values())
    if not total:
        return 0.0, 0.0
    return sum(w * z[c] for c, w in used.items()) / total, total / sum(abs(w) for w in weights.values())


def arousal_weights(z: Mapping[str, float]) -> Mapping[str, float]:
    """The cue weights for these z-scores: loudness's weight moves to the alpha ratio when level is absent."""
    return AROUSAL_WEIGHTS if "intensity_db" in z else EFFORT_AROUSAL_WEIGHTS


def arousal_logit(z: Mapping[str, float], weights: Mapping[str, float] | None = None) -> tuple[float, float]:
    """(logit of arousal, share of the cue weight that was available)."""
    score, coverage = _weighted(z, weights if weights is not None else arousal_weights(z))
    return AROUSAL_GAIN * score, coverage


def dominance_logit(z: Mapping[str, float]) -> tuple[float, float]:
    """(logit of dominance, share of the cue weight that was available)."""
    score, coverage = _weighted(z, DOMINANCE_WEIGHTS)
    return DOMINANCE_GAIN * score, coverage
