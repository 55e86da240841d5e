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


@dataclass(frozen=True)
class VoiceBaseline:
    """Reference mean and SD per cue; ``absolute_level`` says whether intensity may be compared."""

    mean: Mapping[str, float]
    sd: Mapping[str, float]
    absolute_level: bool = True
    source: str = "speaker"

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
            out[cue] = float(np.clip((value - self.mean[cue]) / self.sd[cue], -4.0, 4.0))
        return out


# Generic adult references for a recording with no speaker baseline: F0 centred on the log-midpoint of typical
# male and female speaking pitch (120 and 210 Hz, Traunmüller & Eriksson 1995: 159 Hz = 8.0 st re 100 Hz),
# SD 4.5 st, about half the 9.7 st gap between the sexes, so that both fall within ±1 SD; F0 SD of read
# speech ≈ 2.5 semitones; articulation rate ≈ 4.5 syllables/s (de Jong & Wempe 2009 report 3.5–5.5). The
# alpha ratio reference (−12 dB, SD 5 dB) came with the first voice engine and its source is not recorded;
# it shifts every clip alike, so held-out rankings (AUC) do not depend on it. Loudness is not compared
# (gain-dependent).
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
