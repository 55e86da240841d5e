"""AU map behaviour: intensities monotone in their evidence with no dead zone, presence a separate flag,
smile gating, resting-face centring, and the calibration's leave-out fitting (synthetic observations)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from engine.face import Landmarker, load_table
from engine.face.analyse import describe_face
from engine.face.aus import AU_KEYS, au_intensities, image_au_map, knee_ramp, load_a_priori_table
from engine.face.calibration import calibrate
from engine.face.expressions import expression_scores, expression_vad
from engine.face.geometry import CHEEKS, logistic_ramp
from engine.face.images import load_rgb
from engine.face.landmarker import FaceObservation

FACES = Path(__file__).resolve().parents[1] / "fixtures" / "faces"
GRID = np.linspace(0.0, 1.0, 201)


@pytest.fixture(scope="module")
def faces() -> dict[str, FaceObservation]:
    with Landmarker() as lm:
        return {p.stem: lm.detect(load_rgb(p).rgb)[0] for p in sorted(FACES.glob("london_*.jpg"))}


def _with_shapes(face: FaceObservation, **shapes: float) -> FaceObservation:
    return replace(face, blendshapes={**face.blendshapes, **shapes})


def test_knee_ramp_is_strictly_increasing_with_no_dead_zone_or_ceiling() -> None:
    for rest, full in ((0.005, 0.85), (0.22, 0.85), (0.05, 0.6)):
        v = np.array([knee_ramp(x, rest, full) for x in GRID])
        assert np.all(np.diff(v) > 0)
        assert v[0] == 0 and v[-1] == pytest.approx(1.0)
        assert knee_ramp(rest, rest, full) == pytest.approx(0.1) and knee_ramp(
            full, rest, full
        ) == pytest.approx(0.9)


def test_logistic_landmark_ramp_is_strictly_increasing() -> None:
    v = np.array([logistic_ramp(z) for z in np.linspace(-6, 9, 301)])
    assert np.all(np.diff(v) > 0) and v[0] > 0 and v[-1] < 1
    assert logistic_ramp(0.0) == pytest.approx(0.1) and logistic_ramp(3.0) == pytest.approx(0.9)


@pytest.mark.parametrize("au", [a for a in AU_KEYS if load_table().aus[a].get("blendshapes")])
def test_stronger_blendshape_evidence_never_lowers_an_au(faces: dict[str, FaceObservation], au: str) -> None:
    face, names = faces["london_008_neutral"], load_table().aus[au]["blendshapes"]
    values = [au_intensities(_with_shapes(face, **dict.fromkeys(names, float(x))))[au] for x in GRID]
    assert np.all(np.diff(values) >= 0) and values[-1] > values[0]
    weak = [au_intensities(_with_shapes(face, **dict.fromkeys(names, x)))[au] for x in (0.01, 0.03)]
    assert 0 < weak[0] < weak[1]  # weak activations are not zeroed


def test_a_raised_cheek_raises_au06_without_a_floor(faces: dict[str, FaceObservation]) -> None:
    face = faces["london_030_neutral"]
    values = []
    for lift in np.linspace(-0.04, 0.08, 13):  # IOD; a posed smile lifts the cheeks ≈ 0.026 IOD
        pts = face.landmarks.copy()
        iod = float(np.hypot(*(pts[263, :2] - pts[33, :2])))
        pts[list(CHEEKS), 1] -= lift * iod
        values.append(au_intensities(replace(face, landmarks=pts))["AU06"])
    assert np.all(np.diff(values) > 0) and values[0] > 0


def test_presence_is_a_threshold_on_intensity_not_part_of_it(faces: dict[str, FaceObservation]) -> None:
    table = load_table()
    face = faces["london_008_neutral"]
    for x in (0.01, 0.1, 0.3, 0.6, 0.9):
        au = au_intensities(_with_shapes(face, mouthSmileLeft=x, mouthSmileRight=x))
        entry = image_au_map(au)["AU12"]
        assert entry["intensity"] == au["AU12"] and entry["presence"] == (
            au["AU12"] >= table.presence("AU12")
        )
    faint = au_intensities(_with_shapes(face, mouthSmileLeft=0.03, mouthSmileRight=0.03))["AU12"]
    assert 0 < faint < table.presence("AU12")  # a faint smile has an intensity but is not "present"


def test_a_stronger_smile_never_lowers_valence(faces: dict[str, FaceObservation]) -> None:
    for name in ("london_008_neutral", "london_030_neutral"):
        face = faces[name]
        v = [
            describe_face(_with_shapes(face, mouthSmileLeft=float(x), mouthSmileRight=float(x))).vad.valence
            for x in GRID
        ]
        assert np.all(np.diff(v) >= 0) and v[-1] > v[0] + 0.2


def test_smile_gating_keeps_smile_by_products_out_of_disgust() -> None:
    au = dict.fromkeys(AU_KEYS, 0.1) | {
        "AU12": 0.9,
        "AU06": 0.7,
        "AU10": 0.8,
        "AU09": 0.8,
        "AU12_asymmetry": 0.0,
    }
    plain = expression_scores(au, smile_gated=())
    gated = expression_scores(au, smile_gated=("AU07", "AU09", "AU10"), gate_power=2.0)
    assert gated["disgust"] < plain["disgust"] and gated["happiness"] > plain["happiness"]
    frown = au | {"AU12": 0.0, "AU06": 0.1}
    assert expression_scores(frown, ("AU09", "AU10"))["disgust"] == expression_scores(frown, ())["disgust"]


def test_a_resting_face_reads_the_midpoint_after_centring() -> None:
    au = dict.fromkeys(AU_KEYS, 0.1) | {"AU12_asymmetry": 0.0}
    scores = expression_scores(au)
    raw = expression_vad(scores)
    centred = expression_vad(scores, raw.model_dump())
    assert (centred.valence, centred.arousal, centred.dominance) == (0.5, 0.5, 0.5)


def test_calibration_fits_rest_points_from_the_neutral_photos_only(faces: dict[str, FaceObservation]) -> None:
    pairs = [
        (faces["london_008_neutral"], faces["london_008_smiling"]),
        (faces["london_030_neutral"], faces["london_030_smiling"]),
    ]
    cal = calibrate(load_a_priori_table(), pairs)
    smile = [np.mean([n.blendshapes["mouthSmileLeft"], n.blendshapes["mouthSmileRight"]]) for n, _ in pairs]
    assert cal.table.aus["AU12"]["rest"] == pytest.approx(max(0.005, float(np.median(smile))), abs=1e-4)
    assert len(cal.candidates) == 6 and cal.table.smile_gated
    for n, s in pairs:
        assert describe_face(s, cal.table).vad.valence > describe_face(n, cal.table).vad.valence


def test_shipped_table_has_every_fitted_constant() -> None:
    table = load_table()
    assert all("rest" in table.aus[a] for a in AU_KEYS if table.aus[a].get("blendshapes"))
    assert set(table.rest_vad) == {"valence", "arousal", "dominance"}
    assert "AU10" in table.smile_gated
