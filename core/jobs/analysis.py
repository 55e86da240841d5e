"""Which engine call analyses which modality. Later modalities register here."""

from __future__ import annotations

from collections.abc import Callable

from core.sdk.errors import EngineError
from core.storage.store import Claim
from engine.report import Report

__all__ = ["run_analysis", "ANALYSERS"]


def _analyse_text(claim: Claim) -> Report:
    from engine.text import analyse_text  # the model loads on first use, in the worker only

    if not claim.text:
        raise EngineError("input_missing", "the job's text input is gone", retryable=False)
    return analyse_text(claim.text)


ANALYSERS: dict[str, Callable[[Claim], Report]] = {"text": _analyse_text}


def run_analysis(claim: Claim) -> Report:
    """Run the engine for the claimed job's modality."""
    analyser = ANALYSERS.get(claim.modality)
    if analyser is None:
        raise EngineError("modality_unavailable", f"no analyser for {claim.modality!r}")
    return analyser(claim)
