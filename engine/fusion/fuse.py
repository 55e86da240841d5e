"""``fuse``: several modality reports → one report with confidence-weighted V/A/D, per-second fusion and the
Trust Score. What the Trust Score measures, and what it cannot, is in docs/trust-score.md: it is never a
verdict on honesty.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from engine import __version__
from engine.report import VAD, EngineInfo, Quality, Report, Segment

from .fused_trust import second_stress, trust_from
from .trust import credibility
from .weights import dimension_weights, kind_of

__all__ = ["fuse", "DIMS"]

DIMS = ("valence", "arousal", "dominance")
TIMELINE_KINDS = ("face", "voice")
_PART_DROP = {"segments", "transcript", "credibility", "engine"}


def _weighted(items: list[tuple[VAD, dict[str, float]]]) -> tuple[VAD | None, dict[str, float]]:
    out, conf = {}, {}
    for d in DIMS:
        pairs = [(getattr(v, d), w[d]) for v, w in items if w[d] > 0]
        if not pairs:
            return None, {}
        total = sum(w for _, w in pairs)
        out[d] = round(sum(x * w for x, w in pairs) / total, 4)
        conf[d] = round(min(1.0, total), 3)
    return VAD(**out), conf


def _by_kind(parts: dict[str, Report], kind: str) -> Report | None:
    return next((r for r in parts.values() if kind_of(r) == kind), None)


def _text_by_second(parts: dict[str, Report], n_sec: int) -> list[VAD | None]:
    segs = [s for r in parts.values() for s in r.transcript if s.vad is not None]
    out: list[VAD | None] = []
    for i in range(n_sec):
        hits = [(s.vad, max(1, len(s.words))) for s in segs if s.start < i + 1 and i < s.end and s.vad]
        if not hits:
            out.append(None)
            continue
        w = np.array([n for _, n in hits], dtype=float)
        out.append(
            VAD(**{d: round(float(np.average([getattr(v, d) for v, _ in hits], weights=w)), 4) for d in DIMS})
        )
    return out


def _seconds(parts: dict[str, Report]) -> list[Segment]:
    face, voice = _by_kind(parts, "face"), _by_kind(parts, "voice")
    timed = [r for r in (face, voice) if r is not None and r.segments]
    if not timed:
        return []
    n_sec = max(len(r.segments) for r in timed)
    text = _text_by_second(parts, n_sec)
    fw = dimension_weights(face) if face else None
    vw = dimension_weights(voice) if voice else None
    tw = dimension_weights(_by_kind(parts, "text") or _text_proxy()) if any(text) else None
    f0 = [s.f0_hz for s in voice.segments if s.f0_hz] if voice else []
    f0_median = float(np.median(f0)) if f0 else None
    out = []
    for i in range(n_sec):
        fs = face.segments[i] if face and i < len(face.segments) else None
        vs = voice.segments[i] if voice and i < len(voice.segments) else None
        seg = _merge_second(i, fs, vs)
        seg.face_vad, seg.voice_vad, seg.text_vad = (
            (fs.vad if fs else None),
            (vs.vad if vs else None),
            text[i],
        )
        items = [(v, w) for v, w in ((seg.face_vad, fw), (seg.voice_vad, vw), (seg.text_vad, tw)) if v and w]
        seg.vad = _weighted(items)[0] if items else None
        if seg.vad is not None:
            cong, stress, evidence = second_stress(seg, f0_median)
            seg.credibility = credibility(cong, stress)
            seg.evidence = seg.evidence + evidence
        out.append(seg)
    return out


def _text_proxy() -> Report:
    return Report(modality="text", engine=EngineInfo(version=__version__), linguistic={"word_count": 30})


def _merge_second(i: int, fs: Segment | None, vs: Segment | None) -> Segment:
    base = fs or vs
    assert base is not None
    seg = Segment(start=float(i), end=base.end)
    if fs is not None:
        seg.end = max(seg.end, fs.end)
        for k in ("au", "face_present", "face_id", "head_pose", "gaze", "blinks"):
            setattr(seg, k, getattr(fs, k))
        seg.emotions = fs.emotions
    if vs is not None:
        seg.end = max(seg.end, vs.end)
        for k in ("f0_hz", "intensity_db", "speech", "pause", "speech_rate", "speaker"):
            setattr(seg, k, getattr(vs, k))
        seg.evidence = list(vs.evidence)
    return seg


def _part_summary(r: Report, weights: dict[str, float]) -> dict[str, Any]:
    d = r.model_dump(exclude=_PART_DROP, exclude_defaults=True)
    d["weights"] = weights
    return d


def fuse(parts: dict[str, Report], *, modality: str = "multimodal") -> Report:
    """Confidence- and quality-weighted V/A/D over ``parts``, per-second fusion and the Trust Score."""
    parts = {k: v for k, v in parts.items() if v is not None}
    weights = {k: dimension_weights(r) for k, r in parts.items()}
    vad, conf = _weighted([(r.vad, weights[k]) for k, r in parts.items() if r.vad is not None])
    seconds = _seconds(parts)
    trust = trust_from(parts, seconds, weights)
    face, voice, text = _by_kind(parts, "face"), _by_kind(parts, "voice"), _by_kind(parts, "text")
    flags = list(dict.fromkeys(f for r in parts.values() for f in r.quality.flags))
    models = {f"{k}:{m}": v for k, r in parts.items() for m, v in r.engine.models.items()}
    modalities: dict[str, Any] = {k: _part_summary(r, weights[k]) for k, r in parts.items()}
    modalities["vad_confidence"] = conf
    return Report(
        modality=modality,
        engine=EngineInfo(version=__version__, models=models),
        vad=vad,
        trust_score=trust.score,
        trust=trust,
        segments=seconds,
        credibility=[s.credibility for s in seconds if s.credibility is not None],
        emotions=(face.emotions if face and face.emotions else text.emotions if text else {}),
        au_map=face.au_map if face else {},
        linguistic=text.linguistic if text else {},
        quality=Quality(flags=flags),
        voice=voice.voice if voice else {},
        transcript=voice.transcript if voice else [],
        speakers=voice.speakers if voice else [],
        face=face.face if face else {},
        faces=face.faces if face else [],
        images=next((r.images for r in parts.values() if r.images), []),
        modalities=modalities,
    )
