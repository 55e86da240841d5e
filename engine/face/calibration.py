"""Fit the AU table's data-dependent constants from labelled faces (pure: observations in, table out).

What is fitted, from neutral/smiling photo pairs of the calibration people (``scripts/calibrate_faces.py``
writes the result into the ``fitted`` block of ``engine/face/au_map.yaml``; ``bench/eval/faces.py`` refits
it without each held-out person):

- ``rest`` of every blendshape AU: the median blendshape mean on the neutral photos (at least
  ``MIN_REST``), the point that reads 0.1;
- ``ref`` and ``scale`` of the cheek-raise and nose-wing measures: median and SD of the neutral photos'
  evidence (the lips-part measure stays a-priori: closed lips have no gap);
- the smile gating of :mod:`engine.face.expressions`: the candidate of ``GATE_CANDIDATES`` under which the
  most people's valence rises from neutral to smiling (ties: larger median rise, then the earlier one);
- ``rest_vad``: the median V/A/D mixture of the neutral photos under that gating.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass, replace

from .analyse import describe_face
from .aus import AU_KEYS, AuTable, blend_mean
from .expressions import mixture_vad
from .geometry import geometry_evidence
from .landmarker import FaceObservation

__all__ = ["GATE_CANDIDATES", "MIN_REST", "FITTED_GEOMETRY", "Calibration", "calibrate", "fitted_block"]

MIN_REST = 0.005  # below this the rest point would amplify the model's jitter on resting faces
MIN_SCALE = 0.01  # IOD; a landmark measure's SD is never taken below this
FITTED_GEOMETRY = ("cheek_raise", "nose_wrinkle")
GATE_CANDIDATES: tuple[tuple[tuple[str, ...], float], ...] = (
    (("AU10",), 1.0),
    (("AU09", "AU10"), 1.0),
    (("AU07", "AU09", "AU10"), 1.0),
    (("AU10",), 2.0),
    (("AU09", "AU10"), 2.0),
    (("AU07", "AU09", "AU10"), 2.0),
)
Pair = tuple[FaceObservation, FaceObservation]  # (neutral, smiling) of one person


@dataclass(frozen=True)
class Calibration:
    """The fitted table and, per gating candidate, how many pairs' valence rose (on the fitting pairs)."""

    table: AuTable
    candidates: list[tuple[tuple[str, ...], float, int, float]]  # gated, power, rises, median rise


def _fit_rest(table: AuTable, neutral: Sequence[FaceObservation]) -> AuTable:
    aus = {au: dict(rule) for au, rule in table.aus.items()}
    for au in AU_KEYS:
        values = [blend_mean(aus[au], f.blendshapes) for f in neutral]
        if values[0] is not None:
            aus[au]["rest"] = round(max(MIN_REST, statistics.median(v or 0.0 for v in values)), 4)
    geometry = {k: dict(v) for k, v in table.geometry.items()}
    evidence = [geometry_evidence(f.landmarks) for f in neutral]
    for name in FITTED_GEOMETRY:
        vals = [e[name] for e in evidence if e]
        geometry[name]["ref"] = round(statistics.median(vals), 4)
        geometry[name]["scale"] = round(max(MIN_SCALE, statistics.pstdev(vals)), 4)
    return replace(table, aus=aus, geometry=geometry)


def _with_gating(
    table: AuTable, gated: tuple[str, ...], power: float, neutral: Sequence[FaceObservation]
) -> AuTable:
    table = replace(table, smile_gated=gated, smile_gate_power=power)
    mixes = [mixture_vad(describe_face(f, table).emotions) for f in neutral]
    dims = ("valence", "arousal", "dominance")
    rest = {k: round(statistics.median(m[i] for m in mixes), 4) for i, k in enumerate(dims)}
    return replace(table, rest_vad=rest)


def _valence_rises(table: AuTable, pairs: Sequence[Pair]) -> tuple[int, float]:
    rises = [describe_face(s, table).vad.valence - describe_face(n, table).vad.valence for n, s in pairs]
    return sum(r > 0 for r in rises), statistics.median(rises)


def calibrate(base: AuTable, pairs: Sequence[Pair]) -> Calibration:
    """Fit ``base``'s rest points, landmark references, smile gating and resting V/A/D on ``pairs``."""
    neutral = [n for n, _ in pairs]
    fitted = _fit_rest(base, neutral)
    best: tuple[int, float] | None = None
    chosen, report = fitted, []
    for gated, power in GATE_CANDIDATES:
        table = _with_gating(fitted, gated, power, neutral)
        score = _valence_rises(table, pairs)
        report.append((gated, power, *score))
        if best is None or score > best:
            best, chosen = score, table
    return Calibration(chosen, report)


def fitted_block(table: AuTable) -> dict[str, object]:
    """The ``fitted`` block of the YAML table for ``table``."""
    return {
        "rest": {au: table.aus[au]["rest"] for au in AU_KEYS if "rest" in table.aus[au]},
        "geometry": {n: {k: table.geometry[n][k] for k in ("ref", "scale")} for n in FITTED_GEOMETRY},
        "expressions": {
            "smile_gated": list(table.smile_gated),
            "smile_gate_power": table.smile_gate_power,
            "rest_vad": dict(table.rest_vad),
        },
    }
