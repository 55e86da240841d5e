"""Still images → face reports: AU map, named expressions, V/A/D, head pose and gaze for every face."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from engine import __version__
from engine.errors import MediaError
from engine.report import VAD, EngineInfo, Quality, Report

from .aus import AU_KEYS, AuTable, clip_au_map, image_au_map, load_table
from .expressions import expression_scores, expression_vad
from .geometry import gaze, head_pose
from .images import load_rgb
from .landmarker import FaceObservation, Landmarker, model_digest

__all__ = [
    "MAX_IMAGES",
    "FaceFrame",
    "describe_face",
    "analyse_image",
    "analyse_images",
    "engine_info",
    "weighted_vad",
]

MAX_IMAGES = 100
SMALL_FACE_PX = 60  # below this width blendshapes get unreliable (measured stable down to 48 px crops)
FULL_CONFIDENCE_PX = 120
NON_FRONTAL_DEG = 35.0
# Base confidence of face-derived V/A/D per dimension: posed-expression valence is read best, arousal less,
# dominance least (cf. Mollahosseini et al. 2017, AffectNet: valence predicted better than arousal).
BASE_CONFIDENCE = {"valence": 0.7, "arousal": 0.45, "dominance": 0.3}


@dataclass(frozen=True)
class FaceFrame:
    """Everything measured on one face in one image or video frame."""

    au: dict[str, float]
    emotions: dict[str, float]
    vad: VAD
    head_pose: dict[str, float] | None
    gaze: dict[str, float]
    box: tuple[float, float, float, float]
    area_share: float
    confidence: float
    blink: float  # mean eyeBlink blendshape (0–1), for blink detection in clips
    mouth_open: float  # jawOpen blendshape, for active-speaker matching


def _confidence(face: FaceObservation, pose: dict[str, float] | None) -> float:
    size = min(1.0, face.width_px / FULL_CONFIDENCE_PX)
    if pose is None:
        return round(size, 3)
    frontal = math.cos(math.radians(min(abs(pose["yaw"]), 89))) * math.cos(
        math.radians(min(abs(pose["pitch"]), 89))
    )
    return round(size * frontal, 3)


def describe_face(face: FaceObservation, table: AuTable | None = None) -> FaceFrame:
    """AUs, expression shares, V/A/D, pose, gaze and a 0–1 confidence for one detected face."""
    table = table or load_table()
    au = au_intensities_for(face, table)
    emotions = expression_scores(au, table.smile_gated, table.smile_gate_power)
    pose = head_pose(face.matrix)
    s = face.blendshapes
    return FaceFrame(
        au,
        emotions,
        expression_vad(emotions, table.rest_vad),
        pose,
        gaze(s),
        face.box,
        face.area_share,
        _confidence(face, pose),
        (s.get("eyeBlinkLeft", 0) + s.get("eyeBlinkRight", 0)) / 2,
        s.get("jawOpen", 0.0),
    )


def au_intensities_for(face: FaceObservation, table: AuTable | None) -> dict[str, float]:
    """AU intensities (kept separate so tests and calibration can call it directly)."""
    from .aus import au_intensities

    return au_intensities(face, table)


def engine_info() -> EngineInfo:
    """Engine version and the face model's digest."""
    return EngineInfo(
        version=__version__,
        models={"mediapipe-face_landmarker": model_digest(), "au_map": "engine/face/au_map.yaml"},
    )


def vad_confidence(frame_conf: float) -> dict[str, float]:
    """Per-dimension confidence of a face V/A/D estimate given the face's own 0–1 confidence."""
    return {k: round(v * frame_conf, 3) for k, v in BASE_CONFIDENCE.items()}


def _face_dict(fid: str, f: FaceFrame, primary: bool, table: AuTable) -> dict[str, Any]:
    return {
        "id": fid,
        "primary": primary,
        "box": [round(x, 1) for x in f.box],
        "area_share": round(f.area_share, 4),
        "confidence": f.confidence,
        "vad": f.vad.model_dump(),
        "vad_confidence": vad_confidence(f.confidence),
        "au_map": image_au_map(f.au, table),
        "emotions": f.emotions,
        "head_pose": f.head_pose,
        "gaze": f.gaze,
    }


def _flags_for(frames: list[FaceFrame]) -> list[str]:
    if not frames:
        return ["no_face"]
    flags, main = [], frames[0]
    if len(frames) > 1:
        flags.append("multiple_faces")
    if main.box[2] - main.box[0] < SMALL_FACE_PX:
        flags.append("small_face")
    if main.head_pose and max(abs(main.head_pose["yaw"]), abs(main.head_pose["pitch"])) > NON_FRONTAL_DEG:
        flags.append("non_frontal")
    return flags


def _image_report(
    frames: list[FaceFrame], decode_flags: list[str], size: tuple[int, int], table: AuTable
) -> Report:
    faces = [_face_dict(f"face_{i + 1}", f, i == 0, table) for i, f in enumerate(frames)]
    main = frames[0] if frames else None
    face: dict[str, Any] = {
        "count": len(frames),
        "primary": "face_1" if main else None,
        "image_size": list(size),
    }
    if main:
        face.update(
            head_pose=main.head_pose,
            gaze=main.gaze,
            confidence=main.confidence,
            vad_confidence=vad_confidence(main.confidence),
            primary_rule="largest face",
        )
    return Report(
        modality="image",
        engine=engine_info(),
        vad=main.vad if main else None,
        emotions=main.emotions if main else {},
        au_map=image_au_map(main.au, table) if main else {},
        quality=Quality(flags=decode_flags + _flags_for(frames)),
        face=face,
        faces=faces,
    )


def _analyse_one(path: Path, landmarker: Landmarker, table: AuTable) -> Report:
    img = load_rgb(Path(path))
    frames = [describe_face(f, table) for f in landmarker.detect(img.rgb)]
    return _image_report(frames, img.flags, img.original_size, table)


def analyse_image(path: str | Path, *, table: AuTable | None = None) -> Report:
    """One still image → Report (modality "image"); no face is a result flagged ``no_face``, not an error."""
    table = table or load_table()
    with Landmarker() as lm:
        return _analyse_one(Path(path), lm, table)


def weighted_vad(items: Sequence[tuple[VAD, float]]) -> VAD | None:
    """Weighted mean of V/A/D values (None if nothing carries weight)."""
    items = [(v, w) for v, w in items if w > 0]
    if not items:
        return None
    w = np.array([x[1] for x in items])
    dims = {
        d: round(float(np.average([getattr(v, d) for v, _ in items], weights=w)), 4)
        for d in ("valence", "arousal", "dominance")
    }
    return VAD(**dims)


def _entry(i: int, name: str | None, rep: Report | None, err: MediaError | None) -> dict[str, Any]:
    if rep is None:
        assert err is not None
        return {"index": i, "filename": name, "error": {"code": err.code, "message": err.message}}
    return {
        "index": i,
        "filename": name,
        "vad": rep.vad.model_dump() if rep.vad else None,
        "au_map": rep.au_map,
        "emotions": rep.emotions,
        "faces": rep.faces,
        "quality": rep.quality.flags,
    }


def _summary(reports: list[Report | None], entries: list[dict[str, Any]], table: AuTable) -> Report:
    ok = [r for r in reports if r is not None and r.vad is not None]
    vad = weighted_vad([(r.vad, r.face.get("confidence", 0.0) or 1e-3) for r in ok if r.vad])
    emotions = (
        {k: round(float(np.mean([r.emotions[k] for r in ok])), 4) for k in ok[0].emotions} if ok else {}
    )
    frames = [{au: r.au_map[au]["intensity"] for au in AU_KEYS} for r in ok]
    flags = [] if ok else ["no_face"]
    if len(ok) < len(reports):
        flags.append("some_images_without_face" if ok else "no_face_in_any_image")
    if any(r is None for r in reports):
        flags.append("some_images_unreadable")
    face = {
        "images": len(reports),
        "images_with_face": len(ok),
        "summary": "confidence-weighted mean over images",
    }
    return Report(
        modality="image",
        engine=engine_info(),
        vad=vad,
        emotions=emotions,
        au_map=clip_au_map(frames, table),
        quality=Quality(flags=flags),
        face=face,
        images=entries,
    )


def analyse_images(
    paths: Sequence[str | Path],
    filenames: Sequence[str | None] | None = None,
    *,
    table: AuTable | None = None,
) -> Report:
    """One or more images → one Report; several: per-image results in ``images`` and a summary on top.

    An unreadable image among several becomes an ``error`` entry; if every image is unreadable (or there is
    just one), its MediaError is raised.
    """
    if not paths:
        raise MediaError("media_empty", "no images given")
    if len(paths) > MAX_IMAGES:
        raise MediaError("too_many_images", f"{len(paths)} images is over the limit of {MAX_IMAGES}")
    names = list(filenames) if filenames is not None else [None] * len(paths)
    table = table or load_table()
    reports: list[Report | None] = []
    errors: list[MediaError | None] = []
    with Landmarker() as lm:
        for p in paths:
            try:
                reports.append(_analyse_one(Path(p), lm, table))
                errors.append(None)
            except MediaError as exc:
                reports.append(None)
                errors.append(exc)
    if all(r is None for r in reports):
        raise next(e for e in errors if e is not None)
    entries = [
        _entry(i, names[i] if i < len(names) else None, r, e)
        for i, (r, e) in enumerate(zip(reports, errors, strict=True))
    ]
    if len(paths) == 1:
        single = reports[0]
        assert single is not None
        return single.model_copy(update={"images": entries})
    return _summary(reports, entries, table)
