"""Stable face ids across frames: greedy IoU matching of face boxes, tracks expire after a gap."""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["Track", "IouTracker", "iou"]

Box = tuple[float, float, float, float]


def iou(a: Box, b: Box) -> float:
    """Intersection over union of two (x0, y0, x1, y1) boxes."""
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


@dataclass
class Track:
    """One face followed through the clip."""

    id: str
    box: Box
    last_seen: float
    first_seen: float
    frames: int = 0
    area_sum: float = 0.0
    extra: dict[str, object] = field(default_factory=dict)


class IouTracker:
    """Assigns each detection the id of the best-overlapping live track (IoU ≥ ``min_iou``), else a new id."""

    def __init__(self, min_iou: float = 0.3, max_gap_s: float = 2.0) -> None:
        self.min_iou = min_iou
        self.max_gap_s = max_gap_s
        self.tracks: dict[str, Track] = {}
        self._next = 1

    def update(self, boxes: list[Box], t: float, areas: list[float] | None = None) -> list[str]:
        """The track id for each box at time ``t`` (seconds), in the order given."""
        live = [tr for tr in self.tracks.values() if t - tr.last_seen <= self.max_gap_s]
        pairs = sorted(((iou(b, tr.box), i, tr.id) for i, b in enumerate(boxes) for tr in live), reverse=True)
        ids: list[str | None] = [None] * len(boxes)
        used: set[str] = set()
        for score, i, tid in pairs:
            if score < self.min_iou:
                break
            if ids[i] is None and tid not in used:
                ids[i] = tid
                used.add(tid)
        for i, b in enumerate(boxes):
            tid = ids[i] or self._new(b, t)
            tr = self.tracks[tid]
            tr.box, tr.last_seen = b, t
            tr.frames += 1
            tr.area_sum += areas[i] if areas else 0.0
            ids[i] = tid
        return [str(i) for i in ids]

    def _new(self, box: Box, t: float) -> str:
        tid = f"face_{self._next}"
        self._next += 1
        self.tracks[tid] = Track(tid, box, t, t)
        return tid
