"""Landmark geometry: AU06/AU09/AU25 measures, head pose from the transformation matrix, gaze direction.

Distances are in inter-ocular distances (IOD) on a roll-corrected face, so they do not depend on image size
or head tilt in the image plane. Landmark indices are MediaPipe's canonical face mesh (478 with irises).
"""

from __future__ import annotations

import math

import numpy as np

__all__ = [
    "normalised",
    "geometry_evidence",
    "geometry_measures",
    "logistic_ramp",
    "head_pose",
    "gaze",
    "GAZE_AT_CAMERA",
]

R_OUT, R_IN, L_IN, L_OUT = 33, 133, 362, 263  # eye corners (subject's right eye = image left)
CHEEKS = (117, 346)  # upper cheek below each eye
ALAE = (48, 278)  # nose wings
LIP_INNER_UP, LIP_INNER_DOWN = 13, 14
NOSE_BRIDGE = 168
_EVIDENCE_POINTS = (R_OUT, R_IN, L_IN, L_OUT, NOSE_BRIDGE, *CHEEKS, *ALAE, LIP_INNER_UP, LIP_INNER_DOWN)
GAZE_AT_CAMERA = 0.25  # |horizontal| and |vertical| gaze below this counts as looking at the camera


def normalised(landmarks: np.ndarray) -> np.ndarray | None:
    """2-D landmarks centred on the nose bridge, rotated so the eyes are level, in IOD units."""
    pts = landmarks[:, :2].astype(np.float64)
    right, left = (pts[R_OUT] + pts[R_IN]) / 2, (pts[L_IN] + pts[L_OUT]) / 2
    axis = left - right
    iod = float(np.hypot(*axis))
    if iod < 1e-6:
        return None
    c, s = axis / iod
    rot = np.array([[c, s], [-s, c]])  # rotate by −angle
    return (pts - pts[NOSE_BRIDGE]) @ rot.T / iod


def geometry_evidence(landmarks: np.ndarray) -> dict[str, float]:
    """Raw landmark evidence in IOD, larger = more action (``cheek_raise``: cheeks closer to the eye-corner
    line; ``nose_wrinkle``: nose wings closer to it; ``lips_part``: the inner-lip gap)."""
    pts = landmarks[list(_EVIDENCE_POINTS), :2].astype(np.float64)  # in _EVIDENCE_POINTS order
    axis = (pts[2] + pts[3] - pts[0] - pts[1]) / 2  # right eye centre → left eye centre
    iod = float(np.hypot(*axis))
    if iod < 1e-6:
        return {}
    c, s = axis / iod
    y = (((pts - pts[4]) @ np.array([-s, c])) / iod).tolist()  # the y of the −angle rotation, in IOD
    eye_line = (y[0] + y[1] + y[2] + y[3]) / 4
    return {
        "cheek_raise": eye_line - (y[5] + y[6]) / 2,
        "nose_wrinkle": eye_line - (y[7] + y[8]) / 2,
        "lips_part": y[10] - y[9],
    }


def geometry_measures(landmarks: np.ndarray, params: dict[str, dict[str, float]]) -> dict[str, float]:
    """The 0–1 landmark measures named in the AU table: each a logistic of its evidence in units of
    ``scale`` above ``ref`` (strictly increasing, no dead zone; see :func:`logistic_ramp`)."""
    raw = geometry_evidence(landmarks)
    if not raw:
        return {name: 0.0 for name in params}
    return {name: logistic_ramp((raw[name] - cfg["ref"]) / cfg["scale"]) for name, cfg in params.items()}


RAMP_AT_REF, RAMP_FULL_Z = 0.1, 3.0  # the reference reads 0.1; ref + 3 scales reads 0.9
_RAMP_SLOPE = 2 * math.log((1 - RAMP_AT_REF) / RAMP_AT_REF) / RAMP_FULL_Z


def logistic_ramp(z: float) -> float:
    """σ(k (z − 1.5)) with k = 2 ln 9 / 3: 0.1 at z = 0, 0.5 at z = 1.5, 0.9 at z = 3; strictly increasing."""
    x = _RAMP_SLOPE * (z - RAMP_FULL_Z / 2)
    return 1.0 / (1.0 + math.exp(-x)) if x > -700 else 0.0


def head_pose(matrix: np.ndarray | None) -> dict[str, float] | None:
    """Yaw, pitch and roll in degrees from MediaPipe's facial transformation matrix (0, 0, 0 = frontal)."""
    if matrix is None:
        return None
    r = matrix[:3, :3]
    pitch = math.degrees(math.atan2(r[2, 1], r[2, 2]))
    yaw = math.degrees(math.asin(float(np.clip(-r[2, 0], -1.0, 1.0))))
    roll = math.degrees(math.atan2(r[1, 0], r[0, 0]))
    return {"yaw": round(yaw, 1), "pitch": round(pitch, 1), "roll": round(roll, 1)}


def gaze(shapes: dict[str, float]) -> dict[str, float]:
    """Gaze from the eyeLook* blendshapes: horizontal (+ = subject's left), vertical (+ = up), each −1…1."""
    horizontal = (
        (shapes.get("eyeLookOutLeft", 0) - shapes.get("eyeLookInLeft", 0))
        + (shapes.get("eyeLookInRight", 0) - shapes.get("eyeLookOutRight", 0))
    ) / 2
    vertical = (
        (shapes.get("eyeLookUpLeft", 0) + shapes.get("eyeLookUpRight", 0))
        - (shapes.get("eyeLookDownLeft", 0) + shapes.get("eyeLookDownRight", 0))
    ) / 2
    at_camera = abs(horizontal) < GAZE_AT_CAMERA and abs(vertical) < GAZE_AT_CAMERA
    return {"horizontal": round(horizontal, 3), "vertical": round(vertical, 3), "at_camera": float(at_camera)}
