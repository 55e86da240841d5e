"""FACS Action Unit intensities from one face, through the documented table ``engine/face/au_map.yaml``.

Every intensity is strictly increasing in its evidence: a stronger blendshape or landmark movement never
gives a lower intensity, and there is no dead zone that reads weak activations as 0 (nor a ceiling that
reads every strong one as 1). Whether an AU is *present* is a separate flag: intensity ≥ its threshold.

- Blendshape AUs: ``knee_ramp`` of the blendshape mean, piecewise linear through (0, 0), (rest, 0.1),
  (full, 0.9), (1, 1): ``rest`` is the model's median output on neutral faces (fitted, see
  :mod:`engine.face.calibration`), ``full`` the output of a strong posed action (a-priori, in the table).
- Landmark AUs: ``geometry.logistic_ramp`` of the evidence in neutral-face SDs above the neutral median.
- Mixed AUs (AU06): ``geometry_weight`` × landmark intensity + (1 − weight) × blendshape intensity.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from .geometry import geometry_measures
from .landmarker import FaceObservation

__all__ = [
    "AU_KEYS",
    "TABLE_PATH",
    "AuTable",
    "load_table",
    "load_a_priori_table",
    "parse_table",
    "knee_ramp",
    "blend_mean",
    "au_intensities",
    "image_au_map",
    "clip_au_map",
]

AU_KEYS = (
    "AU01",
    "AU02",
    "AU04",
    "AU05",
    "AU06",
    "AU07",
    "AU09",
    "AU10",
    "AU12",
    "AU14",
    "AU15",
    "AU17",
    "AU20",
    "AU23",
    "AU24",
    "AU25",
    "AU26",
    "AU45",
)
TABLE_NAME = "au_map.yaml"
TABLE_PATH = Path(__file__).resolve().parent / TABLE_NAME  # engine data: beside its reader, not in config/
AT_REST, AT_FULL = 0.1, 0.9  # intensity of a median neutral face's output, and of a strong posed action
MIDPOINT_VAD = {"valence": 0.5, "arousal": 0.5, "dominance": 0.5}


@dataclass(frozen=True)
class AuTable:
    """The parsed AU table: per-AU rules, landmark-measure parameters, presence thresholds and the
    expression settings (smile-gated AUs, resting V/A/D) that :mod:`engine.face.expressions` reads."""

    aus: dict[str, dict[str, Any]]
    geometry: dict[str, dict[str, float]]
    presence_threshold: float
    source: str
    smile_gated: tuple[str, ...] = ("AU10",)
    smile_gate_power: float = 1.0
    rest_vad: dict[str, float] = field(default_factory=lambda: dict(MIDPOINT_VAD))

    def presence(self, au: str) -> float:
        """Intensity at or above which the AU counts as present."""
        return float(self.aus[au].get("presence", self.presence_threshold))


def parse_table(data: dict[str, Any], source: str = TABLE_NAME) -> AuTable:
    """Build an AuTable from the YAML structure (the a-priori part plus its ``fitted`` block)."""
    missing = [au for au in AU_KEYS if au not in data["aus"]]
    if missing:
        raise ValueError(f"{source}: no rule for {', '.join(missing)}")
    fitted = data.get("fitted") or {}
    aus = {au: dict(rule) for au, rule in data["aus"].items()}
    for au, rest in (fitted.get("rest") or {}).items():
        aus[au]["rest"] = float(rest)
    geometry = {k: dict(v) for k, v in data["geometry"].items()}
    for name, cfg in (fitted.get("geometry") or {}).items():
        geometry[name].update({k: float(v) for k, v in cfg.items()})
    expr = fitted.get("expressions") or {}
    return AuTable(
        aus,
        geometry,
        float(data["presence_threshold"]),
        source,
        tuple(expr.get("smile_gated", ("AU10",))),
        float(expr.get("smile_gate_power", 1.0)),
        {k: float(v) for k, v in (expr.get("rest_vad") or MIDPOINT_VAD).items()},
    )


def load_a_priori_table(path: Path | None = None) -> AuTable:
    """The table without its ``fitted`` block (what calibration starts from; rest points absent)."""
    path = path or TABLE_PATH
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data.pop("fitted", None)
    return parse_table(data, path.name)


@lru_cache(maxsize=4)
def load_table(path: Path | None = None) -> AuTable:
    """Read and check the AU table (default: ``engine/face/au_map.yaml``)."""
    path = path or TABLE_PATH
    return parse_table(yaml.safe_load(path.read_text(encoding="utf-8")), path.name)


def knee_ramp(x: float, rest: float, full: float) -> float:
    """Piecewise linear through (0, 0), (rest, 0.1), (full, 0.9), (1, 1); strictly increasing on [0, 1]."""
    full = min(max(full, rest + 1e-3), 1.0 - 1e-3)
    if x <= rest:
        return AT_REST * max(x, 0.0) / rest
    if x <= full:
        return AT_REST + (AT_FULL - AT_REST) * (x - rest) / (full - rest)
    return AT_FULL + (1 - AT_FULL) * (min(x, 1.0) - full) / (1 - full)


def blend_mean(rule: dict[str, Any], shapes: dict[str, float]) -> float | None:
    """Mean of the rule's blendshapes (left/right pairs averaged); None if the rule has none."""
    names = rule.get("blendshapes") or []
    return sum(shapes.get(n, 0.0) for n in names) / len(names) if names else None


def _intensity(rule: dict[str, Any], shapes: dict[str, float], geo: dict[str, float]) -> float:
    raw = blend_mean(rule, shapes)
    blend = None if raw is None else knee_ramp(raw, float(rule["rest"]), float(rule["full"]))
    g = geo.get(rule["geometry"]) if "geometry" in rule else None
    if g is not None and blend is not None:
        w = float(rule.get("geometry_weight", 0.5))
        return w * g + (1 - w) * blend
    return g if g is not None else (blend or 0.0)


def au_intensities(face: FaceObservation, table: AuTable | None = None) -> dict[str, float]:
    """Each AU's intensity 0–1 for one face, plus ``AU12_asymmetry`` (|left − right| smile, for contempt)."""
    table = table or load_table()
    geo = geometry_measures(face.landmarks, table.geometry)
    out = {au: round(_intensity(table.aus[au], face.blendshapes, geo), 4) for au in AU_KEYS}
    s = face.blendshapes
    out["AU12_asymmetry"] = round(abs(s.get("mouthSmileLeft", 0.0) - s.get("mouthSmileRight", 0.0)), 4)
    return out


def image_au_map(intensities: dict[str, float], table: AuTable | None = None) -> dict[str, dict[str, Any]]:
    """``{AU: {intensity, presence}}`` for a still image."""
    table = table or load_table()
    return {
        au: {"intensity": intensities[au], "presence": intensities[au] >= table.presence(au)}
        for au in AU_KEYS
    }


def clip_au_map(frames: list[dict[str, float]], table: AuTable | None = None) -> dict[str, dict[str, float]]:
    """``{AU: {mean, max, active_share}}`` over a clip's analysed frames (empty without frames)."""
    table = table or load_table()
    if not frames:
        return {}
    out = {}
    for au in AU_KEYS:
        v = [f[au] for f in frames]
        p = table.presence(au)
        out[au] = {
            "mean": round(sum(v) / len(v), 4),
            "max": round(max(v), 4),
            "active_share": round(sum(x >= p for x in v) / len(v), 4),
        }
    return out
