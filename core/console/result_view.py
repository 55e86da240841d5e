"""A result (schema v1) shaped for the Result page: the Trust Score explained, the per-second series for the
charts, the transcript by speaker and valence. Pure functions of the result's JSON; no I/O."""

from __future__ import annotations

from bisect import bisect_right
from typing import Any

from engine.face.aus import AU_KEYS, load_table

__all__ = [
    "COMPONENTS",
    "QUALITY_FLAGS",
    "clock",
    "valence_class",
    "media_kind",
    "trust_view",
    "timeline",
    "heatmap",
    "transcript",
    "speakers",
    "sentences",
    "chart_data",
]

Json = dict[str, Any]

COMPONENTS = {
    "signal_congruence": (
        "Signal congruence",
        "how well face, voice and words agree with each other (1 = they tell the same story)",
    ),
    "stress_markers": (
        "Stress markers",
        "pitch rises, hesitations, hedges and arousal above neutral (1 = none seen)",
    ),
    "signal_quality": (
        "Signal quality",
        "how much usable signal there was: speech seconds, a visible face, enough words",
    ),
}
QUALITY_FLAGS = {
    "no_speech": "No speech was found (under 0.5 s of speech), so there is no voice score.",
    "too_short": "Too little material for a reliable score (under 3 s of speech or under 5 words).",
    "empty": "The input had no words.",
    "clipping": "The audio is clipped (distorted at full volume); voice measures are less reliable.",
    "low_snr": "The audio is noisy (signal-to-noise under 15 dB); voice measures are less reliable.",
    "music_or_noise": "Much of the sound is music or noise rather than speech.",
    "language_unsupported": "The speech does not look like English; the transcript was skipped.",
    "non_english_suspected": "The text may not be English; the word lists are English.",
    "text_engine_unavailable": "The text model could not be loaded; words have no emotion score.",
    "truncated": "The input was longer than the limit and was cut.",
    "no_face": "No face was found, so there are no facial measures.",
    "no_face_in_any_image": "None of the images shows a face.",
    "some_images_without_face": "Some images show no face; they were left out of the face scores.",
    "some_images_unreadable": "Some images could not be read.",
    "multiple_faces": "Several faces were seen; the largest one was analysed.",
    "small_face": "The face is small in the frame; AU intensities are less reliable.",
    "non_frontal": "The face is often turned away from the camera.",
    "blink_rate_undersampled": "Frames were sampled too sparsely (under 10 fps) to count every blink.",
    "animated_first_frame": "An animated image: only its first frame was analysed.",
    "downscaled": "A large image was downscaled before analysis.",
    "no_audio": "The video has no sound track, so there is no voice or transcript.",
    "no_media": "No analysable media was found in the input.",
}
_VAD = ("valence", "arousal", "dominance")


def clock(seconds: float | None) -> str:
    """``m:ss`` (or ``h:mm:ss``) of a media time."""
    if seconds is None:
        return ""
    whole = int(seconds)
    h, rest = divmod(whole, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def valence_class(vad: Json | None) -> str:
    """The CSS class colouring a stretch by its valence: ``val-0`` (negative) … ``val-9`` (positive)."""
    if not vad or vad.get("valence") is None:
        return "val-none"
    return f"val-{min(9, max(0, int(float(vad['valence']) * 10)))}"


def media_kind(result: Json) -> str | None:
    """What the player plays: ``video``, ``audio``, or None (text and images have no timeline)."""
    modality = result.get("modality")
    if modality in ("video", "audio"):
        return str(modality)
    if modality == "multimodal" and result.get("segments"):
        return "video" if "face" in (result.get("modalities") or {}) else "audio"
    return None


def _sentence_starts(result: Json) -> list[float]:
    return [float(s["start"]) for s in result.get("segments") or []]


def _evidence_link(ev: Json, text_mode: bool, starts: list[float]) -> Json | None:
    """Where an evidence item points: a second range to seek to, or the sentence holding its characters."""
    if ev.get("start") is None:
        return None
    start = float(ev["start"])
    if text_mode:
        index = max(0, bisect_right(starts, start) - 1)
        return {"kind": "sentence", "index": index, "label": f"sentence {index + 1}"}
    end = ev.get("end")
    label = clock(start) + (f"–{clock(float(end))}" if end is not None and float(end) - start >= 1 else "")
    return {"kind": "second", "start": start, "label": label}


def _component(c: Json, text_mode: bool, starts: list[float]) -> Json:
    label, meaning = COMPONENTS.get(c["name"], (c["name"].replace("_", " ").capitalize(), ""))
    evidence = [{**ev, "link": _evidence_link(ev, text_mode, starts)} for ev in c.get("evidence") or []]
    return {
        **c,
        "label": label,
        "meaning": meaning,
        "points": round(100 * float(c["value"]) * float(c["weight"]), 1),
        "evidence": evidence,
    }


def _flags(result: Json) -> list[Json]:
    flags = (result.get("quality") or {}).get("flags") or []
    return [{"flag": f, "meaning": QUALITY_FLAGS.get(f, f.replace("_", " "))} for f in flags]


def trust_view(result: Json) -> Json:
    """The Trust Score with its components (points each adds), their evidence and links, and the flags;
    ``null_reason`` says why there is no score when there is none."""
    trust = result.get("trust") or {}
    text_mode = result.get("modality") == "text"
    starts = _sentence_starts(result) if text_mode else []
    flags = _flags(result)
    score = trust.get("score")
    null_reason = None
    if score is None:
        reasons = [f["meaning"] for f in flags if f["flag"] in ("no_speech", "too_short", "empty", "no_face")]
        null_reason = " ".join(reasons) or "There was not enough usable signal to compute a score."
    components = [_component(c, text_mode, starts) for c in trust.get("components") or []]
    return {
        "score": score,
        "total": round(sum(100 * float(c["value"]) * float(c["weight"]) for c in components), 1),
        "band": trust.get("band"),
        "confidence": trust.get("confidence"),
        "note": trust.get("note", ""),
        "components": components,
        "flags": flags,
        "null_reason": null_reason,
    }


def _seconds(result: Json) -> list[Json]:
    return list(result.get("segments") or []) if media_kind(result) else []


def timeline(result: Json) -> Json:
    """One point per second of the result: its start, fused V/A/D (0–1) and credibility (0–100)."""
    secs = _seconds(result)
    series: Json = {"t": [float(s["start"]) for s in secs]}
    for dim in _VAD:
        series[dim] = [(s.get("vad") or {}).get(dim) for s in secs]
    series["credibility"] = [s.get("credibility") for s in secs]
    return series


def au_names() -> dict[str, str]:
    """FACS names of the AUs the engine measures (``AU12`` → ``lip corner puller``)."""
    return {code: str(rule.get("name", code)) for code, rule in load_table().aus.items()}


HEATMAP_COLUMNS = 480  # at most one column per ~2 px of a wide plot; longer results are binned


def _binned(values: list[float | None], size: int) -> list[float | None]:
    """Means of consecutive ``size``-second bins, ignoring seconds without a value."""
    out: list[float | None] = []
    for i in range(0, len(values), size):
        seen = [v for v in values[i : i + size] if v is not None]
        out.append(round(sum(seen) / len(seen), 4) if seen else None)
    return out


def heatmap(result: Json) -> Json:
    """AU × time intensities (0–1; null where no face was seen), one row per AU present in the result and
    one column per second, or per ``bin`` seconds when the result is longer than ``HEATMAP_COLUMNS``."""
    secs = _seconds(result)
    seen = {code for s in secs for code in (s.get("au") or {})}
    codes = [c for c in AU_KEYS if c in seen] + sorted(seen - set(AU_KEYS))
    names = au_names()
    size = max(1, -(-len(secs) // HEATMAP_COLUMNS))
    rows = [[(s.get("au") or {}).get(c) for s in secs] for c in codes]
    return {
        "t": [float(s["start"]) for s in secs[::size]],
        "bin": size,
        "aus": codes,
        "labels": [f"{c} {names.get(c, '')}".strip() for c in codes],
        "z": [_binned(row, size) if size > 1 else row for row in rows],
    }


def _speaker_labels(result: Json) -> dict[str, str]:
    return {s["id"]: s.get("name") or s["id"] for s in result.get("speakers") or []}


def transcript(result: Json) -> list[Json]:
    """The transcript's stretches with their speaker's label and valence colour."""
    labels = _speaker_labels(result)
    return [
        {
            **seg,
            "speaker_label": labels.get(seg.get("speaker") or "", seg.get("speaker") or ""),
            "valence_class": valence_class(seg.get("vad")),
            "clock": clock(seg["start"]),
        }
        for seg in result.get("transcript") or []
    ]


def speakers(result: Json) -> list[Json]:
    """Per-speaker rows: label, share of talk (percent) and their own figures."""
    return [
        {
            **s,
            "label": s.get("name") or s["id"],
            "share_pct": round(100 * float(s.get("talk_share") or 0)),
            "flags": (s.get("quality") or {}).get("flags") or [],
        }
        for s in result.get("speakers") or []
    ]


def sentences(result: Json) -> list[Json]:
    """A text result's sentences with their valence colour and credibility (text modality only)."""
    if result.get("modality") != "text":
        return []
    return [
        {**s, "index": i, "valence_class": valence_class(s.get("vad"))}
        for i, s in enumerate(result.get("segments") or [])
    ]


def chart_data(result: Json) -> Json:
    """What the page's script draws: the timeline and the heatmap (embedded as a JSON data block)."""
    return {
        "job_id": result.get("job_id"),
        "media": media_kind(result),
        "timeline": timeline(result),
        "heatmap": heatmap(result),
    }
