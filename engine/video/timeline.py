"""Per-track face measurements over a clip → per-second segments and a clip-level face report.

Each frame is folded into its track's per-second sums as it arrives (count, sums, sums of squares, maxima
and active counts), so memory grows with seconds × faces (about 0.7 kB a second per face), never with
frames; every clip-level figure is a sum over those seconds. Blinks are eyeBlink crossings of 0.5 from
below, counted as they happen; at 5 fps a blink (100–400 ms) can fall between samples, so rates are flagged
``blink_rate_undersampled`` below 10 fps.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from engine.face.analyse import FaceFrame, engine_info, vad_confidence
from engine.face.aus import AU_KEYS, AuTable, load_table
from engine.face.expressions import EMOTION_PAD
from engine.report import VAD, Quality, Report, Segment

__all__ = ["FaceTimeline", "TrackSeconds", "BLINK_THRESHOLD", "MIN_FPS_FOR_BLINKS", "MIN_SPEAKER_CORR"]

BLINK_THRESHOLD = 0.5
MIN_FPS_FOR_BLINKS = 10.0
MIN_SPEAKER_CORR = 0.2  # mouth movement must follow speech at least this closely to name a speaker
EMOTIONS = tuple(EMOTION_PAD)
DIMS = ("valence", "arousal", "dominance")
POSE_KEYS = ("yaw", "pitch", "roll")
_N_AU, _N_EMO = len(AU_KEYS), len(EMOTIONS)
# Column layout of one second's sums: frames, Σw (w = max(confidence, 1e-3)), Σconfidence, ΣAU, max AU,
# AU-present counts, Σw·VAD, Σconfidence·VAD, Σexpression shares, Σpose, Σpose², finite-pose frames, Σgaze
# (horizontal, vertical, at_camera), blink onsets, Σmouth_open, Σmouth_open², Σarea_share.
N, W, CONF = 0, 1, 2
AU_SUM = 3
AU_MAX = AU_SUM + _N_AU
AU_ON = AU_MAX + _N_AU
WVAD = AU_ON + _N_AU
CVAD = WVAD + 3
EMO = CVAD + 3
POSE = EMO + _N_EMO
POSE_SQ = POSE + 3
POSE_N = POSE_SQ + 3
GAZE = POSE_N + 1
BLINKS = GAZE + 3
MOUTH, MOUTH_SQ, AREA = BLINKS + 1, BLINKS + 2, BLINKS + 3
N_COLS = AREA + 1
_NO_MAX = (0.0,) * _N_AU  # maxima are not summed: their slots add 0 before the np.maximum


@dataclass
class TrackSeconds:
    """One tracked face: its per-second sums (row ``i`` is second ``offset + i``) and first/last sighting."""

    offset: int
    sums: np.ndarray = field(default_factory=lambda: np.zeros((0, N_COLS)))
    first_seen: float = math.inf
    last_seen: float = -math.inf
    eyes_closed: bool = False

    def row(self, second: int) -> np.ndarray:
        """The sums row of ``second`` (growing the table, doubling, when the clip runs on)."""
        i = second - self.offset
        if i >= self.sums.shape[0]:
            grown = np.zeros((max(i + 1, 2 * self.sums.shape[0], 8), N_COLS))
            grown[: self.sums.shape[0]] = self.sums
            grown[self.sums.shape[0] :, AU_MAX : AU_MAX + _N_AU] = -np.inf
            self.sums = grown
        return self.sums[i]

    def add(self, t: float, f: FaceFrame, presence: tuple[float, ...]) -> None:
        """Fold one frame of this face into the sums of its second (one vector add: it runs per face)."""
        r = self.row(max(int(t), self.offset))
        au = [f.au[a] for a in AU_KEYS]
        vad = (f.vad.valence, f.vad.arousal, f.vad.dominance)
        w, c = max(f.confidence, 1e-3), max(f.confidence, 0.0)
        pose = [f.head_pose[k] for k in POSE_KEYS] if f.head_pose is not None else [0.0, 0.0, 0.0]
        closed = f.blink >= BLINK_THRESHOLD
        onset = closed and not self.eyes_closed and self.last_seen > -math.inf  # an onset, not the start
        m = f.mouth_open
        add = np.array(
            [
                1.0,
                w,
                f.confidence,
                *au,
                *_NO_MAX,
                *(x >= p for x, p in zip(au, presence, strict=True)),
                *(w * v for v in vad),
                *(c * v for v in vad),
                *(f.emotions.get(e, 0.0) for e in EMOTIONS),
                *pose,
                *(x * x for x in pose),
                f.head_pose is not None,
                f.gaze["horizontal"],
                f.gaze["vertical"],
                f.gaze["at_camera"],
                onset,
                m,
                m * m,
                f.area_share,
            ],
            dtype=np.float64,
        )
        r += add
        np.maximum(r[AU_MAX : AU_MAX + _N_AU], add[AU_SUM : AU_SUM + _N_AU], out=r[AU_MAX : AU_MAX + _N_AU])
        self.eyes_closed = closed
        self.first_seen, self.last_seen = min(self.first_seen, t), max(self.last_seen, t)

    def seconds(self, n_sec: int) -> np.ndarray:
        """The sums of seconds ``0 … n_sec - 1`` (zero rows where the face was not seen)."""
        out = np.zeros((n_sec, N_COLS))
        used = self.sums[: max(0, min(self.sums.shape[0], n_sec - self.offset))]
        out[self.offset : self.offset + used.shape[0]] = used
        return out

    def total(self) -> np.ndarray:
        """Sums over the whole clip (maxima: the clip's maxima)."""
        seen = self.sums[self.sums[:, N] > 0]
        out = seen.sum(0)
        out[AU_MAX : AU_MAX + _N_AU] = seen[:, AU_MAX : AU_MAX + _N_AU].max(0)
        return out

    def mouth_by_second(self, n_sec: int) -> np.ndarray:
        """Per second: SD + mean of the mouth opening (jawOpen), 0 where the face was not seen."""
        s = self.seconds(n_sec)
        n = np.maximum(s[:, N], 1)
        mean = s[:, MOUTH] / n
        sd = np.sqrt(np.maximum(s[:, MOUTH_SQ] / n - mean * mean, 0.0))
        return np.where(s[:, N] > 0, sd + mean, 0.0)


def _mean(r: np.ndarray, col: int, k: int = 1) -> np.ndarray:
    return r[col : col + k] / r[N]


def _vad(r: np.ndarray, col: int, weight: int) -> VAD | None:
    if r[weight] <= 0:
        return None
    return VAD(**{d: round(float(r[col + j] / r[weight]), 4) for j, d in enumerate(DIMS)})


@dataclass
class FaceTimeline:
    """Folds each tracked face's frames into per-second sums; turns them into segments and a face report."""

    fps: float
    table: AuTable | None = None
    tracks: dict[str, TrackSeconds] = field(default_factory=dict)
    frames_analysed: int = 0
    frames_with_face: int = 0
    _presence_at: tuple[float, ...] | None = field(default=None, repr=False)

    def add(self, t: float, ids: list[str], faces: list[FaceFrame]) -> None:
        """Record one analysed frame's faces under their track ids."""
        self.frames_analysed += 1
        self.frames_with_face += bool(faces)
        for tid, f in zip(ids, faces, strict=True):
            if tid not in self.tracks:
                self.tracks[tid] = TrackSeconds(offset=max(0, int(t)))
            self.tracks[tid].add(t, f, self._presence())

    def _presence(self) -> tuple[float, ...]:
        if self._presence_at is None:
            table = self.table or load_table()
            self._presence_at = tuple(table.presence(a) for a in AU_KEYS)
        return self._presence_at

    def primary(self, speech_by_second: list[bool] | None = None) -> tuple[str | None, str]:
        """The primary track id and the rule that chose it (active speaker, else largest)."""
        if not self.tracks:
            return None, "none"
        if speech_by_second and len(self.tracks) > 1:
            best = self.active_speaker(speech_by_second)
            if best:
                return best, "active speaker (mouth movement follows speech)"
        sizes = {tid: float(tr.total()[AREA]) for tid, tr in self.tracks.items()}
        return max(sizes, key=lambda k: sizes[k]), "largest face"

    def speaker_scores(self, speech: list[bool]) -> dict[str, float]:
        """Per track: correlation of its per-second mouth movement with the per-second speech decision."""
        s = np.array(speech, dtype=float)
        if s.std() == 0:
            return {}
        scores = {}
        for tid, tr in self.tracks.items():
            move = tr.mouth_by_second(s.size)
            if move.std() > 0:
                scores[tid] = float(np.corrcoef(move, s)[0, 1])
        return scores

    def active_speaker(self, speech: list[bool]) -> str | None:
        """The track whose mouth movement follows speech best (correlation > MIN_SPEAKER_CORR), if any."""
        scores = self.speaker_scores(speech)
        best = max(scores, key=lambda k: scores[k]) if scores else None
        return best if best and scores[best] > MIN_SPEAKER_CORR else None

    def report(self, duration: float, primary: str | None, rule: str, table: AuTable) -> Report:
        """The face part of a video: per-second segments for the primary face and a clip summary."""
        n_sec = max(1, int(np.ceil(duration - 1e-9)))
        tr = self.tracks.get(primary) if primary else None
        flags = [] if tr else ["no_face"]
        if tr and self.fps < MIN_FPS_FOR_BLINKS:
            flags.append("blink_rate_undersampled")
        if len(self.tracks) > 1:
            flags.append("multiple_faces")
        by_sec = tr.seconds(n_sec) if tr else np.zeros((n_sec, N_COLS))
        total = tr.total() if tr else None
        segments = [_second(by_sec[i], i, min(i + 1.0, duration), primary) for i in range(n_sec)]
        return Report(
            modality="face",
            engine=engine_info(),
            vad=_vad(total, CVAD, CONF) if total is not None else None,
            au_map=_au_map(total) if total is not None else {},
            emotions=_emotions(total, 4) if total is not None else {},
            segments=segments,
            quality=Quality(flags=flags),
            face=self._face_dict(tr, total, primary, rule, duration),
            faces=[_track_dict(tid, t, tid == primary) for tid, t in self.tracks.items()],
        )

    def _face_dict(
        self,
        tr: TrackSeconds | None,
        total: np.ndarray | None,
        primary: str | None,
        rule: str,
        duration: float,
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
        if tr is None or total is None:
            return out
        seen = int((tr.sums[:, N] > 0).sum())
        conf = float(total[CONF] / total[N])
        blinks = int(total[BLINKS])
        gaze = _mean(total, GAZE, 3)
        out.update(
            face_seconds_share=round(seen / max(1, int(np.ceil(duration))), 3),
            confidence=round(conf, 3),
            vad_confidence=vad_confidence(conf * min(1.0, seen / 5)),
            blinks=blinks,
            blink_rate_per_min=round(blinks / max(duration, 1e-6) * 60, 1),
            head_pose=_pose_stats(total),
            gaze={
                "horizontal": round(float(gaze[0]), 3),
                "vertical": round(float(gaze[1]), 3),
                "at_camera_share": round(float(gaze[2]), 3),
            },
        )
        return out


def _au_map(total: np.ndarray) -> dict[str, dict[str, float]]:
    """``{AU: {mean, max, active_share}}`` over the clip (the same figures as ``clip_au_map``)."""
    return {
        a: {
            "mean": round(float(total[AU_SUM + k] / total[N]), 4),
            "max": round(float(total[AU_MAX + k]), 4),
            "active_share": round(float(total[AU_ON + k] / total[N]), 4),
        }
        for k, a in enumerate(AU_KEYS)
    }


def _emotions(r: np.ndarray, digits: int) -> dict[str, float]:
    return {e: round(float(r[EMO + k] / r[N]), digits) for k, e in enumerate(EMOTIONS)}


def _pose_stats(total: np.ndarray) -> dict[str, dict[str, float]]:
    n = total[POSE_N]
    out = {}
    for j, k in enumerate(POSE_KEYS):
        mean = total[POSE + j] / n if n else math.nan
        sd = math.sqrt(max(total[POSE_SQ + j] / n - mean * mean, 0.0)) if n else math.nan
        out[k] = {"mean": round(mean, 1), "sd": round(sd, 1)}
    return out


def _second(r: np.ndarray, i: int, end: float, primary: str | None) -> Segment:
    seg = Segment(start=float(i), end=round(end, 3), face_present=bool(r[N]))
    if not r[N]:
        return seg
    seg.face_id = primary
    seg.au = {a: round(float(r[AU_SUM + k] / r[N]), 4) for k, a in enumerate(AU_KEYS)}
    seg.vad = _vad(r, WVAD, W)
    seg.face_vad = seg.vad
    seg.emotions = _emotions(r, 4)
    if r[POSE_N] == r[N]:
        seg.head_pose = {k: round(float(r[POSE + j] / r[N]), 1) for j, k in enumerate(POSE_KEYS)}
    gaze = _mean(r, GAZE, 3)
    seg.gaze = {
        "horizontal": round(float(gaze[0]), 3),
        "vertical": round(float(gaze[1]), 3),
        "at_camera": round(float(gaze[2]), 3),
    }
    seg.blinks = int(r[BLINKS])
    return seg


def _track_dict(tid: str, tr: TrackSeconds, primary: bool) -> dict[str, Any]:
    total = tr.total()
    vad = _vad(total, CVAD, CONF)
    return {
        "id": tid,
        "primary": primary,
        "first_seen": round(tr.first_seen, 2),
        "last_seen": round(tr.last_seen, 2),
        "frames": int(total[N]),
        "mean_area_share": round(float(total[AREA] / total[N]), 4),
        "vad": vad.model_dump() if vad else None,
        "au_mean": {a: round(float(total[AU_SUM + k] / total[N]), 4) for k, a in enumerate(AU_KEYS)},
    }
