"""Per-track face measurements over a clip → per-second segments and a clip-level face report.

Frames are stored as compact float32 rows (about 130 bytes a frame per face), so a 30-minute clip at 5 fps
holds about 1 MB per face. Blinks are eyeBlink crossings of 0.5 from below; at 5 fps a blink (100–400 ms)
can fall between samples, so rates are flagged ``blink_rate_undersampled`` below 10 fps.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from engine.face.analyse import FaceFrame, engine_info, vad_confidence, weighted_vad
from engine.face.aus import AU_KEYS, AuTable, clip_au_map
from engine.face.expressions import EMOTION_PAD
from engine.report import VAD, Quality, Report, Segment

__all__ = ["FaceTimeline", "BLINK_THRESHOLD", "MIN_FPS_FOR_BLINKS"]

BLINK_THRESHOLD = 0.5
MIN_FPS_FOR_BLINKS = 10.0
EMOTIONS = tuple(EMOTION_PAD)
# Row layout: time, AUs, V, A, D, confidence, blink, mouth_open, yaw, pitch, roll, gaze h, gaze v, at_camera,
# area_share, then the expression shares.
_N_AU = len(AU_KEYS)
T, AU0 = 0, 1
V, A, D, CONF, BLINK, MOUTH, YAW, PITCH, ROLL, GH, GV, GCAM, AREA = range(1 + _N_AU, 14 + _N_AU)
EMO0 = 14 + _N_AU


def _row(t: float, f: FaceFrame) -> np.ndarray:
    pose = f.head_pose or {"yaw": np.nan, "pitch": np.nan, "roll": np.nan}
    vals = [
        t,
        *(f.au[a] for a in AU_KEYS),
        f.vad.valence,
        f.vad.arousal,
        f.vad.dominance,
        f.confidence,
        f.blink,
        f.mouth_open,
        pose["yaw"],
        pose["pitch"],
        pose["roll"],
        f.gaze["horizontal"],
        f.gaze["vertical"],
        f.gaze["at_camera"],
        f.area_share,
        *(f.emotions.get(e, 0.0) for e in EMOTIONS),
    ]
    return np.array(vals, dtype=np.float32)


@dataclass
class FaceTimeline:
    """Collects each tracked face's frames; turns them into segments and a face report."""

    fps: float
    tracks: dict[str, list[np.ndarray]] = field(default_factory=lambda: defaultdict(list))
    frames_analysed: int = 0
    frames_with_face: int = 0

    def add(self, t: float, ids: list[str], faces: list[FaceFrame]) -> None:
        """Record one analysed frame's faces under their track ids."""
        self.frames_analysed += 1
        self.frames_with_face += bool(faces)
        for tid, f in zip(ids, faces, strict=True):
            self.tracks[tid].append(_row(t, f))

    def primary(self, speech_by_second: list[bool] | None = None) -> tuple[str | None, str]:
        """The primary track id and the rule that chose it (active speaker, else largest)."""
        if not self.tracks:
            return None, "none"
        if speech_by_second and len(self.tracks) > 1:
            best = self._active_speaker(speech_by_second)
            if best:
                return best, "active speaker (mouth movement follows speech)"
        sizes = {tid: float(np.sum(np.stack(rows)[:, AREA])) for tid, rows in self.tracks.items()}
        return max(sizes, key=lambda k: sizes[k]), "largest face"

    def _active_speaker(self, speech: list[bool]) -> str | None:
        s = np.array(speech, dtype=float)
        if s.std() == 0:
            return None
        scores = {}
        for tid, rows in self.tracks.items():
            arr = np.stack(rows)
            move = np.zeros(s.size)
            for i in range(s.size):
                m = arr[(arr[:, T] >= i) & (arr[:, T] < i + 1), MOUTH]
                move[i] = m.std() + m.mean() if m.size else 0.0
            if move.std() > 0:
                scores[tid] = float(np.corrcoef(move, s)[0, 1])
        best = max(scores, key=lambda k: scores[k]) if scores else None
        return best if best and scores[best] > 0.2 else None

    def report(self, duration: float, primary: str | None, rule: str, table: AuTable) -> Report:
        """The face part of a video: per-second segments for the primary face and a clip summary."""
        n_sec = max(1, int(np.ceil(duration - 1e-9)))
        arr = np.stack(self.tracks[primary]) if primary else np.zeros((0, EMO0 + len(EMOTIONS)), np.float32)
        flags = [] if primary else ["no_face"]
        if primary and self.fps < MIN_FPS_FOR_BLINKS:
            flags.append("blink_rate_undersampled")
        if len(self.tracks) > 1:
            flags.append("multiple_faces")
        blinks = _blink_onsets(arr)
        segments = [self._second(arr, i, min(i + 1.0, duration), blinks, primary) for i in range(n_sec)]
        frames = [{a: float(r[AU0 + k]) for k, a in enumerate(AU_KEYS)} for r in arr]
        conf = float(np.mean(arr[:, CONF])) if arr.size else 0.0
        vad = weighted_vad(
            [
                (VAD(valence=float(r[V]), arousal=float(r[A]), dominance=float(r[D])), float(r[CONF]))
                for r in arr
            ]
        )
        face = self._face_dict(arr, primary, rule, blinks, duration, conf)
        faces = [self._track_dict(tid, np.stack(rows), tid == primary) for tid, rows in self.tracks.items()]
        emotions = (
            {e: round(float(arr[:, EMO0 + k].mean()), 4) for k, e in enumerate(EMOTIONS)} if arr.size else {}
        )
        return Report(
            modality="face",
            engine=engine_info(),
            vad=vad,
            au_map=clip_au_map(frames, table),
            emotions=emotions,
            segments=segments,
            quality=Quality(flags=flags),
            face=face,
            faces=faces,
        )

    def _second(
        self, arr: np.ndarray, i: int, end: float, blinks: np.ndarray, primary: str | None
    ) -> Segment:
        rows = arr[(arr[:, T] >= i) & (arr[:, T] < i + 1)] if arr.size else arr
        seg = Segment(start=float(i), end=round(end, 3), face_present=bool(rows.size))
        if not rows.size:
            return seg
        w = np.maximum(rows[:, CONF], 1e-3)
        seg.face_id = primary
        seg.au = {a: round(float(rows[:, AU0 + k].mean()), 4) for k, a in enumerate(AU_KEYS)}
        seg.vad = VAD(
            **{
                d: round(float(np.average(rows[:, c], weights=w)), 4)
                for d, c in (("valence", V), ("arousal", A), ("dominance", D))
            }
        )
        seg.face_vad = seg.vad
        seg.emotions = {e: round(float(rows[:, EMO0 + k].mean()), 4) for k, e in enumerate(EMOTIONS)}
        pose = rows[:, [YAW, PITCH, ROLL]]
        if np.isfinite(pose).all():
            seg.head_pose = {
                k: round(float(v), 1) for k, v in zip(("yaw", "pitch", "roll"), pose.mean(0), strict=True)
            }
        seg.gaze = {
            "horizontal": round(float(rows[:, GH].mean()), 3),
            "vertical": round(float(rows[:, GV].mean()), 3),
            "at_camera": round(float(rows[:, GCAM].mean()), 3),
        }
        seg.blinks = int(((blinks >= i) & (blinks < i + 1)).sum())
        return seg

    def _face_dict(
        self,
        arr: np.ndarray,
        primary: str | None,
        rule: str,
        blinks: np.ndarray,
        duration: float,
        conf: float,
    ) -> dict[str, Any]:
        out: dict[str, Any] = {
            "primary": primary,
            "primary_rule": rule,
            "count": len(self.tracks),
            "fps": self.fps,
            "frames_analysed": self.frames_analysed,
            "frames_with_face": self.frames_with_face,
            "face_seconds_share": 0.0,
        }
        if not arr.size:
            return out
        seen = len({int(t) for t in arr[:, T]})
        pose = arr[:, [YAW, PITCH, ROLL]]
        out.update(
            face_seconds_share=round(seen / max(1, int(np.ceil(duration))), 3),
            confidence=round(conf, 3),
            vad_confidence=vad_confidence(conf * min(1.0, seen / 5)),
            blinks=int(blinks.size),
            blink_rate_per_min=round(blinks.size / max(duration, 1e-6) * 60, 1),
            head_pose={
                k: {
                    "mean": round(float(np.nanmean(pose[:, j])), 1),
                    "sd": round(float(np.nanstd(pose[:, j])), 1),
                }
                for j, k in enumerate(("yaw", "pitch", "roll"))
            },
            gaze={
                "horizontal": round(float(arr[:, GH].mean()), 3),
                "vertical": round(float(arr[:, GV].mean()), 3),
                "at_camera_share": round(float(arr[:, GCAM].mean()), 3),
            },
        )
        return out

    def _track_dict(self, tid: str, arr: np.ndarray, primary: bool) -> dict[str, Any]:
        vad = weighted_vad(
            [
                (VAD(valence=float(r[V]), arousal=float(r[A]), dominance=float(r[D])), float(r[CONF]))
                for r in arr
            ]
        )
        return {
            "id": tid,
            "primary": primary,
            "first_seen": round(float(arr[0, T]), 2),
            "last_seen": round(float(arr[-1, T]), 2),
            "frames": int(arr.shape[0]),
            "mean_area_share": round(float(arr[:, AREA].mean()), 4),
            "vad": vad.model_dump() if vad else None,
            "au_mean": {a: round(float(arr[:, AU0 + k].mean()), 4) for k, a in enumerate(AU_KEYS)},
        }


def _blink_onsets(arr: np.ndarray) -> np.ndarray:
    if arr.shape[0] < 2:
        return np.zeros(0)
    closed = arr[:, BLINK] >= BLINK_THRESHOLD
    onsets = np.flatnonzero(closed[1:] & ~closed[:-1]) + 1
    return arr[onsets, T]
