"""Voice part of ``make eval``: vocal arousal on RAVDESS actors, every figure on people nothing was fitted to.

Data: ``speech/ravdess_dev`` (16 actors, CC BY-NC-SA 4.0; read here, never committed, nothing fitted to it).
Every score comes from ``engine.voice.analyse_audio`` (what the API runs):

- **single clip**: one clip per job, no speaker information: the generic baseline (``GENERIC_BASELINE``).
- **own baseline**: the same clip with ``baseline=VoiceBaseline.from_cues(...)`` of the actor's *other*
  clips (the speaker's own speech; the scored clip is never in its own reference).
- **one recording**: the actor's clips joined into one file with 1 s gaps; a clip's score is the mean
  per-second arousal over its span (per-second cues against the speaker's own median/MAD in the recording).

The baseline beside each (issue 11): the mean of the z-scores of F0 mean, F0 SD and intensity against the
actor's other clips. The generic arousal weighting is checked leave-one-actor-out against the other a-priori
weightings listed in ``CANDIDATES``: for each actor, the candidate best on the other 15 scores that actor.
"""

from __future__ import annotations

import csv
import tempfile
import wave
from collections import Counter, defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from bench.eval import Row
from engine.media import SAMPLE_RATE, iter_audio
from engine.voice import GENERIC_BASELINE, VoiceBaseline, analyse_audio
from engine.voice.affect import (
    AROUSAL_WEIGHTS,
    EFFORT_AROUSAL_WEIGHTS,
    F0_SD_GIVEN_SPACING_ST,
    SPACING_NORM_ST,
    arousal_logit,
)

__all__ = ["evaluate", "auc", "strong_over_normal", "CANDIDATES", "F0_REFERENCES"]

HIGH = {"angry", "fearful", "happy", "surprised"}
LOW = {"neutral", "calm", "sad"}
REFERENCE_CUES = ("f0_mean_st", "f0_sd_st", "intensity_db")
GAP_S = 1.0
# A-priori generic weightings (no level cue: gain-dependent). The first is the engine's (EFFORT weights).
CANDIDATES: dict[str, Mapping[str, float]] = {
    "effort (engine)": EFFORT_AROUSAL_WEIGHTS,
    "speaker weights without level": {c: w for c, w in AROUSAL_WEIGHTS.items() if c != "intensity_db"},
    "F0 level + effort": {"f0_mean_st": 0.5, "alpha_db": 0.5},
    "F0 only (mean, SD)": {"f0_mean_st": 0.6, "f0_sd_st": 0.4},
    "effort only": {"alpha_db": 1.0},
}
# A-priori generic F0 references (engine weights). The first is the engine's (midpoint of the sexes); the
# others compare F0 with the F0 the clip's formant spacing predicts (``engine.voice.affect.f0_reference``).
MIDPOINT = "midpoint of the sexes, SD 4.5 st (engine)"
F0_REFERENCES: dict[str, VoiceBaseline] = {
    MIDPOINT: GENERIC_BASELINE,
    f"vocal tract, SD {F0_SD_GIVEN_SPACING_ST:g} st": replace(
        GENERIC_BASELINE, vocal_tract_f0_sd=F0_SD_GIVEN_SPACING_ST
    ),
    "vocal tract, SD 4.5 st": replace(GENERIC_BASELINE, vocal_tract_f0_sd=4.5),
}


@dataclass(frozen=True)
class Clip:
    """One labelled RAVDESS clip."""

    path: Path
    actor: str
    sex: str
    emotion: str
    intensity: str


def auc(scores: Mapping[Clip, float]) -> float:
    """Mann–Whitney AUC of high- over low-arousal clips (ties count half)."""
    pos = np.array([s for c, s in scores.items() if c.emotion in HIGH])[:, None]
    neg = np.array([s for c, s in scores.items() if c.emotion in LOW])[None, :]
    return float(((pos > neg).sum() + 0.5 * (pos == neg).sum()) / (pos.size * neg.size))


def strong_over_normal(scores: Mapping[Clip, float]) -> float:
    """Share (%) of (actor, emotion) pairs whose strong take scores above the normal take."""
    pairs: dict[tuple[str, str], dict[str, float]] = defaultdict(dict)
    for c, s in scores.items():
        pairs[(c.actor, c.emotion)][c.intensity] = s
    full = [p for p in pairs.values() if {"strong", "normal"} <= p.keys()]
    return 100.0 * sum(p["strong"] > p["normal"] for p in full) / len(full)


def _clips(folder: Path) -> list[Clip]:
    with (folder / "labels.csv").open() as f:
        return [
            Clip(folder / r["file"], r["actor"], r["actor_sex"], r["emotion"], r["intensity"])
            for r in csv.DictReader(f)
        ]


def _others(clips: Sequence[Clip], clip: Clip) -> list[Clip]:
    return [c for c in clips if c.actor == clip.actor and c != clip]


def _reference(clips: Sequence[Clip], cues: Mapping[Clip, Mapping[str, Any]]) -> dict[Clip, float]:
    """Issue 11's baseline: mean z of F0 mean, F0 SD and intensity against the actor's other clips."""
    out = {}
    for clip in clips:
        rest = [cues[c] for c in _others(clips, clip)]
        zs = []
        for cue in REFERENCE_CUES:
            vals = np.array([r[cue] for r in rest], dtype=float)
            zs.append((cues[clip][cue] - vals.mean()) / (vals.std() or 1.0))
        out[clip] = float(np.mean(zs))
    return out


def _arousal(report: Any) -> float:
    return float(report.vad.arousal) if report.vad is not None else 0.5


def _own_baseline(clips: Sequence[Clip], cues: Mapping[Clip, Mapping[str, Any]]) -> dict[Clip, float]:
    out = {}
    for clip in clips:
        baseline = VoiceBaseline.from_cues([cues[c] for c in _others(clips, clip)])
        out[clip] = _arousal(analyse_audio(clip.path, asr=False, baseline=baseline))
    return out


def _write_wav(path: Path, samples: np.ndarray) -> None:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(SAMPLE_RATE)
        w.writeframes((np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes())


def _one_recording(clips: Sequence[Clip]) -> tuple[dict[Clip, float], set[str]]:
    """Each actor's clips joined into one file; (per-clip mean per-second arousal, actors split in two)."""
    out: dict[Clip, float] = {}
    split: set[str] = set()
    rng = np.random.default_rng(0)
    by_actor: dict[str, list[Clip]] = defaultdict(list)
    for c in clips:
        by_actor[c.actor].append(c)
    with tempfile.TemporaryDirectory(prefix="eval_voice_") as tmp:
        for actor, own in by_actor.items():
            parts, spans, t = [], [], 0.0
            for c in own:
                audio = np.concatenate(list(iter_audio(c.path)))
                gap = rng.normal(0, 1e-4, int(GAP_S * SAMPLE_RATE)).astype(np.float32)
                parts += [audio, gap]
                spans.append((c, t, t + audio.size / SAMPLE_RATE))
                t += (audio.size + gap.size) / SAMPLE_RATE
            path = Path(tmp) / f"actor_{actor}.wav"
            _write_wav(path, np.concatenate(parts))
            report = analyse_audio(path, asr=False)
            if len(report.speakers) > 1:
                split.add(actor)
            for c, a, b in spans:
                vals = [s.vad.arousal for s in report.segments if s.vad and s.start < b and a < s.end]
                out[c] = float(np.mean(vals)) if vals else 0.5
    return out, split


def _weightings(
    clips: Sequence[Clip], cues: Mapping[Clip, Mapping[str, Any]]
) -> dict[str, dict[Clip, float]]:
    """Each of ``CANDIDATES``' arousal logits over the clips (engine's generic reference)."""
    z = {c: GENERIC_BASELINE.z(cues[c]) for c in clips}
    return {n: {c: arousal_logit(z[c], w)[0] for c in clips} for n, w in CANDIDATES.items()}


def _references(
    clips: Sequence[Clip], cues: Mapping[Clip, Mapping[str, Any]]
) -> dict[str, dict[Clip, float]]:
    """Each of ``F0_REFERENCES``' arousal logits over the clips (engine weights)."""
    return {n: {c: arousal_logit(b.z(cues[c]))[0] for c in clips} for n, b in F0_REFERENCES.items()}


def _loao_choice(
    clips: Sequence[Clip], scored: Mapping[str, Mapping[Clip, float]]
) -> tuple[dict[Clip, float], Counter[str]]:
    """Leave-one-actor-out choice among candidates: each actor is scored by the best on the other actors."""
    out: dict[Clip, float] = {}
    chosen: Counter[str] = Counter()
    for actor in sorted({c.actor for c in clips}):
        train = [c for c in clips if c.actor != actor]
        best = max(scored, key=lambda n: auc({c: scored[n][c] for c in train}))
        chosen[best] += 1
        out.update({c: scored[best][c] for c in clips if c.actor == actor})
    return out, chosen


def _by_sex(scores: Mapping[Clip, float]) -> str:
    parts = [
        f"{sex} {auc({c: s for c, s in scores.items() if c.sex == sex}):.3f}"
        for sex in sorted({c.sex for c in scores})
    ]
    return ", ".join(parts)


def _sex_from_formants(clips: Sequence[Clip], cues: Mapping[Clip, Mapping[str, Any]]) -> str:
    """How often the formant spacing falls on the speaker's own sex's side of the norms' midpoint."""
    mid = sum(SPACING_NORM_ST) / 2
    known = [c for c in clips if cues[c].get("formant_spacing_st") is not None]
    right = sum((cues[c]["formant_spacing_st"] > mid) == (c.sex == "female") for c in known)
    return f"{100 * right / max(1, len(known)):.0f} % of {len(known)} clips"


def _single_clip_note(clips: Sequence[Clip], cues: Mapping[Clip, Any], single: Mapping[Clip, float]) -> str:
    """What the single-clip row rests on: by sex, the formant check, the leave-one-actor-out choices."""
    choice, chosen = _loao_choice(clips, _weightings(clips, cues))
    refs = _references(clips, cues)
    ref_choice, ref_chosen = _loao_choice(clips, refs)
    vt = {n: s for n, s in refs.items() if n != MIDPOINT}
    vt_note = "; ".join(
        f"{n}: AUC {auc(s):.3f}, strong > normal {strong_over_normal(s):.1f} %" for n, s in vt.items()
    )
    picks = ", ".join(f"{n} ×{k}" for n, k in chosen.most_common())
    ref_picks = ", ".join(f"{n} ×{k}" for n, k in ref_chosen.most_common())
    return (
        f"no speaker information, loudness not compared, F0 against the midpoint of the sexes; "
        f"by sex: {_by_sex(single)}; the baseline uses the actor's other clips (information a single "
        f"clip does not have). Formant spacing on the speaker's sex's side of the norms: "
        f"{_sex_from_formants(clips, cues)}. Leave-one-actor-out choice of the F0 reference among "
        f"{len(F0_REFERENCES)} a-priori ones picked {ref_picks}; held-out AUC of that choice "
        f"{auc(ref_choice):.3f} (strong > normal {strong_over_normal(ref_choice):.1f} %); {vt_note}. "
        f"Leave-one-actor-out choice among {len(CANDIDATES)} a-priori weightings picked {picks}; "
        f"held-out AUC of that choice {auc(choice):.3f}"
    )


def evaluate(data: Path) -> list[Row]:
    """The voice rows of the validation table."""
    clips = _clips(data / "speech" / "ravdess_dev")
    reports = {c: analyse_audio(c.path, asr=False) for c in clips}
    cues = {c: r.voice["cues"] for c, r in reports.items()}
    single = {c: _arousal(r) for c, r in reports.items()}
    own = _own_baseline(clips, cues)
    ref = _reference(clips, cues)
    recording, split = _one_recording(clips)
    actors = len({c.actor for c in clips})
    held = f"{actors} actors, nothing fitted"
    base = "z F0 mean + F0 SD + intensity, actor's other clips"
    rows: list[tuple[str, str, Callable[[Mapping[Clip, float]], float], dict[Clip, float], float | None, str]]
    rows = [
        (
            "speech arousal, high vs low, single clip (generic baseline)",
            "AUC",
            auc,
            single,
            0.90,
            _single_clip_note(clips, cues, single),
        ),
        ("same clips: strong > normal take, single clip", "%", strong_over_normal, single, 85.0, ""),
        (
            "speech arousal, high vs low, own baseline (actor's other clips)",
            "AUC",
            auc,
            own,
            0.90,
            f"by sex: {_by_sex(own)}",
        ),
        ("same clips: strong > normal take, own baseline", "%", strong_over_normal, own, 85.0, ""),
        (
            "speech arousal, high vs low, one recording per actor (per-second, speaker's own median/MAD)",
            "AUC",
            auc,
            recording,
            None,
            f"{len(split)} of {actors} joined recordings (one voice each) were split into more than one "
            f"speaker by the diarization; on the {actors - len(split)} kept whole: AUC "
            f"{auc({c: s for c, s in recording.items() if c.actor not in split}):.3f}",
        ),
        ("same: strong > normal take, one recording", "%", strong_over_normal, recording, None, ""),
    ]
    return [
        Row(
            part="voice",
            check=check,
            held_out=held,
            engine=round(metric(scores), 4),
            baseline=round(metric(ref), 4),
            baseline_name=base,
            goal=goal,
            unit=unit,
            note=note,
        )
        for check, unit, metric, scores, goal, note in rows
    ]
