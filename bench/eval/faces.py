"""Faces, person-held-out: London set neutral → smiling pairs (42 people, CC BY 4.0).

Leave-one-person-out: for each person the AU table's fitted constants (rest points, landmark references,
smile gating, resting V/A/D: ``engine.face.calibration.calibrate``) are refitted on the other 41, then the
held-out person's two photos go through ``engine.face.analyse_images`` (what the API runs) with that table.
The baseline is the raw ``mouthSmile`` blendshape mean (left/right) from the same landmarker run.
"""

from __future__ import annotations

import csv
import statistics
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from bench.eval import Row
from engine.face import Landmarker, analyse_images
from engine.face.aus import load_a_priori_table
from engine.face.calibration import calibrate
from engine.face.images import load_rgb

__all__ = ["evaluate"]

BASELINE = "raw mouthSmile mean"
FOLDER = Path("faces") / "london_dev"


@dataclass(frozen=True)
class Person:
    """One held-out person's labels and measures (neutral, smiling)."""

    pid: str
    gender: str
    ethnicity: str
    au12: tuple[float, float]
    au06: tuple[float, float]
    valence: tuple[float, float]
    smile: tuple[float, float]  # baseline: raw mouthSmile blendshape mean
    gating: str  # the smile gating the fold without this person chose


def _smile(shapes: dict[str, float]) -> float:
    return (shapes["mouthSmileLeft"] + shapes["mouthSmileRight"]) / 2


def _measure(folder: Path) -> list[Person]:
    rows = list(csv.DictReader((folder / "labels.csv").open()))
    files = {(r["face_id"], r["expression"]): folder / r["file"] for r in rows}
    labels = {r["face_id"]: r for r in rows}
    with Landmarker() as lm:
        obs = {k: lm.detect(load_rgb(p).rgb)[0] for k, p in files.items()}
    people = sorted(labels)
    base = load_a_priori_table()
    out = []
    for pid in people:
        train = [(obs[(q, "neutral")], obs[(q, "smiling")]) for q in people if q != pid]
        table = calibrate(base, train).table
        rep = analyse_images([files[(pid, "neutral")], files[(pid, "smiling")]], table=table)
        n, s = rep.images[0], rep.images[1]
        out.append(
            Person(
                pid,
                labels[pid]["gender"],
                labels[pid]["ethnicity"],
                (n["au_map"]["AU12"]["intensity"], s["au_map"]["AU12"]["intensity"]),
                (n["au_map"]["AU06"]["intensity"], s["au_map"]["AU06"]["intensity"]),
                (n["vad"]["valence"], s["vad"]["valence"]),
                (_smile(obs[(pid, "neutral")].blendshapes), _smile(obs[(pid, "smiling")].blendshapes)),
                f"{'+'.join(table.smile_gated)} p={table.smile_gate_power:g}",
            )
        )
    return out


def _rise(people: Sequence[Person], get: Callable[[Person], tuple[float, float]]) -> float:
    return 100.0 * sum(get(p)[1] > get(p)[0] for p in people) / len(people)


def _auc(people: Sequence[Person], get: Callable[[Person], tuple[float, float]]) -> float:
    """AUC of smiling vs neutral photos across all people (ties count half)."""
    neg, pos = [get(p)[0] for p in people], [get(p)[1] for p in people]
    wins = sum((x > y) + 0.5 * (x == y) for x in pos for y in neg)
    return wins / (len(pos) * len(neg))


def _fails(people: Sequence[Person], get: Callable[[Person], tuple[float, float]]) -> str:
    bad = [p for p in people if get(p)[1] <= get(p)[0]]
    return ", ".join(f"{p.pid} ({p.gender}, {p.ethnicity}: {get(p)[0]:.3f} → {get(p)[1]:.3f})" for p in bad)


def _smile_of(p: Person) -> tuple[float, float]:
    return p.smile


def _group_note(sub: Sequence[Person]) -> str:
    note = f"AU12 rises {_rise(sub, lambda p: p.au12):.0f} %, AU06 {_rise(sub, lambda p: p.au06):.0f} %"
    fails = _fails(sub, lambda p: p.valence)
    return note + (f"; valence fails: {fails}" if fails else "")


def _group_rows(people: Sequence[Person], held: str) -> list[Row]:
    rows = []
    for attr in ("gender", "ethnicity"):
        for g in sorted({getattr(p, attr) for p in people}):
            sub = [p for p in people if getattr(p, attr) == g]
            check = f"valence rises, {attr} {g} (n = {len(sub)})"
            engine, base = _rise(sub, lambda p: p.valence), _rise(sub, _smile_of)
            rows.append(Row("faces", check, held, engine, base, BASELINE, unit="%", note=_group_note(sub)))
    return rows


def rows_for(people: Sequence[Person]) -> list[Row]:
    """The faces rows of the validation table."""
    held = f"{len(people)} people, leave-one-person-out"
    return _rise_rows(people, held) + _auc_rows(people, held) + _group_rows(people, held)


def _rise_rows(people: Sequence[Person], held: str) -> list[Row]:
    """Within-person rises from the neutral to the smiling photo, beside the raw cue's."""
    smile_rise = _rise(people, _smile_of)
    neutral_v = statistics.median(p.valence[0] for p in people)
    smiling_v = statistics.median(p.valence[1] for p in people)
    gatings = Counter(p.gating for p in people)
    chosen = ", ".join(f"{g} in {n}/{len(people)} folds" for g, n in gatings.most_common())
    return [
        Row(
            "faces",
            "neutral → smiling photo: AU12 rises",
            held,
            _rise(people, lambda p: p.au12),
            smile_rise,
            BASELINE,
            goal=97.0,
            unit="%",
            note=_fails(people, lambda p: p.au12) or "",
        ),
        Row(
            "faces",
            "same pairs: valence rises",
            held,
            _rise(people, lambda p: p.valence),
            smile_rise,
            BASELINE,
            goal=95.0,
            unit="%",
            note=f"median valence neutral {neutral_v:.3f}, smiling {smiling_v:.3f}; smile gating chosen: "
            f"{chosen}; fails: " + (_fails(people, lambda p: p.valence) or "none"),
        ),
        Row(
            "faces",
            "same pairs: AU06 rises",
            held,
            _rise(people, lambda p: p.au06),
            smile_rise,
            BASELINE,
            unit="%",
            note="fails: " + (_fails(people, lambda p: p.au06) or "none"),
        ),
    ]


def _auc_rows(people: Sequence[Person], held: str) -> list[Row]:
    """Across people: how well each figure separates smiling from neutral photos, beside the raw cue."""
    measures: list[tuple[str, Callable[[Person], tuple[float, float]]]] = [
        ("AU12 intensity", lambda p: p.au12),
        ("valence", lambda p: p.valence),
        ("AU06 intensity", lambda p: p.au06),
    ]
    cue = _auc(people, _smile_of)
    return [
        Row("faces", f"{name}, smiling vs neutral photos across people", held, _auc(people, get), cue,
            BASELINE, unit="AUC")
        for name, get in measures
    ]


def evaluate(data_dir: Path) -> list[Row]:
    """Person-held-out face figures beside the mouthSmile baseline."""
    return rows_for(_measure(data_dir / FOLDER))
