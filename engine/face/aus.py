"""FACS Action Unit intensities from one face, through the documented table ``config/face_au_map.yaml``."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from .geometry import geometry_measures
from .landmarker import FaceObservation

__all__ = ["AU_KEYS", "AuTable", "load_table", "au_intensities", "image_au_map", "clip_au_map"]

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
TABLE_NAME = "face_au_map.yaml"


@dataclass(frozen=True)
class AuTable:
    """The parsed AU table: per-AU rules, landmark-measure parameters and presence thresholds."""

    aus: dict[str, dict[str, Any]]
    geometry: dict[str, dict[str, float]]
    presence_threshold: float
    source: str

    def presence(self, au: str) -> float:
        """Intensity at or above which the AU counts as present."""
        return float(self.aus[au].get("presence", self.presence_threshold))


def _default_path() -> Path:
    return Path(str(resources.files("config").joinpath(TABLE_NAME)))


@lru_cache(maxsize=4)
def load_table(path: Path | None = None) -> AuTable:
    """Read and check the AU table (default: ``config/face_au_map.yaml``)."""
    path = path or _default_path()
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    missing = [au for au in AU_KEYS if au not in data["aus"]]
    if missing:
        raise ValueError(f"{path.name}: no rule for {', '.join(missing)}")
    return AuTable(dict(data["aus"]), dict(data["geometry"]), float(data["presence_threshold"]), path.name)


def _raw(rule: dict[str, Any], shapes: dict[str, float], geo: dict[str, float]) -> float:
    names = rule.get("blendshapes") or []
    blend = float(np.mean([shapes.get(n, 0.0) for n in names])) if names else None
    g = geo.get(rule["geometry"]) if "geometry" in rule else None
    if g is not None and blend is not None:
        w = float(rule.get("geometry_weight", 0.5))
        return w * g + (1 - w) * blend
    return g if g is not None else (blend or 0.0)


def au_intensities(face: FaceObservation, table: AuTable | None = None) -> dict[str, float]:
    """Each AU's intensity 0–1 for one face, plus ``AU12_asymmetry`` (|left − right| smile, for contempt)."""
    table = table or load_table()
    geo = geometry_measures(face.landmarks, table.geometry)
    out = {}
    for au in AU_KEYS:
        rule = table.aus[au]
        lo, hi = float(rule.get("floor", 0.0)), float(rule.get("ceil", 1.0))
        out[au] = round(float(np.clip((_raw(rule, face.blendshapes, geo) - lo) / (hi - lo), 0.0, 1.0)), 4)
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
        v = np.array([f[au] for f in frames])
        out[au] = {
            "mean": round(float(v.mean()), 4),
            "max": round(float(v.max()), 4),
            "active_share": round(float((v >= table.presence(au)).mean()), 4),
        }
    return out
