"""A finished two-person meeting as the job stores it (result schema v1): the rep (the tenant's own domain,
``internal`` true) and the prospect (``internal`` false), each with their own figures, as
``tests/core/test_speaker_names.py`` gets from ``two_speakers.flac`` and its vendor transcript."""

from __future__ import annotations

from typing import Any

__all__ = ["REP", "PROSPECT", "two_speaker_result", "speaker"]

REP = "alex.rep@ourco.example"
PROSPECT = "jane@buyer.example"


def speaker(
    sid: str,
    name: str | None,
    email: str | None,
    internal: bool | None,
    trust: float | None,
    share: float,
    vad: tuple[float, float, float] = (0.5, 0.5, 0.5),
) -> dict[str, Any]:
    """One ``speakers[]`` entry with the fields the sinks read."""
    valence, arousal, dominance = vad
    return {
        "id": sid,
        "name": name,
        "email": email,
        "internal": internal,
        "named_by": "transcript" if name else None,
        "naming": [{"kind": "name_overlap", "text": name, "value": 5.1}] if name else [],
        "talk_time": round(12.4 * share, 2),
        "talk_share": share,
        "turns": 3,
        "vad": {"valence": valence, "arousal": arousal, "dominance": dominance},
        "text_vad": {"valence": valence, "arousal": arousal, "dominance": dominance},
        "trust_score": trust,
        "trust": {"score": trust, "band": "low", "components": []},
        "quality": {"flags": []},
    }


def two_speaker_result(
    job_id: str = "job-2p", completed_at: str = "2026-11-24T10:00:00+00:00"
) -> dict[str, Any]:
    """The meeting: Alex Rep (ours) talks 58 %, Jane Buyer (the prospect) 42 %; meeting Trust Score 55."""
    return {
        "job_id": job_id,
        "status": "completed",
        "modality": "audio",
        "trust_score": 55.0,
        "trust": {"band": "medium", "components": []},
        "vad": {"valence": 0.5, "arousal": 0.5, "dominance": 0.5},
        "emotions": {"neutral": 0.6, "fear": 0.2},
        "completed_at": completed_at,
        "speakers": [
            speaker("S1", "Alex Rep", REP, True, 81.0, 0.58, (0.7, 0.6, 0.7)),
            speaker("S2", "Jane Buyer", PROSPECT, False, 38.0, 0.42, (0.31, 0.72, 0.4)),
        ],
        "metadata": {
            "title": "Buyer Corp pricing call",
            "duration_seconds": 13,
            "participants": [
                {"name": "Alex Rep", "email": REP, "matched_by": "vendor"},
                {"name": "Jane Buyer (Buyer Corp)", "email": "Jane@Buyer.example", "matched_by": "vendor"},
            ],
        },
    }
