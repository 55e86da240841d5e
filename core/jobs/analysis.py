"""Which engine call analyses which modality, and how a job's input reaches it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from core.media.outbound import fetch_to_file
from core.media.spool import Spool
from core.sdk.errors import EngineError, InputError
from core.settings import Settings
from core.storage.store import Claim
from engine.report import Report

__all__ = ["run_analysis", "ANALYSERS", "Context", "Claim"]


@dataclass(frozen=True)
class Context:
    """What an analyser may use besides the claim: settings and the media spool."""

    settings: Settings
    spool: Spool


def _analyse_text(claim: Claim, ctx: Context) -> Report:
    from engine.text import analyse_text  # the model loads on first use, in the worker only

    if not claim.text:
        raise EngineError("input_missing", "the job's text input is gone", retryable=False)
    return analyse_text(claim.text)


def media_path(claim: Claim, ctx: Context) -> Path:
    """The job's media in the spool, downloading it first when the job came with a URL."""
    path = ctx.spool.path_for(claim.job_id)
    if claim.spooled:
        if not path.exists():
            raise EngineError("input_missing", "the uploaded media is gone from the spool")
        return path
    if not claim.source_url:
        raise EngineError("input_missing", "the job has no media")
    s = ctx.settings
    fetch_to_file(
        claim.source_url,
        path,
        max_bytes=s.max_upload_bytes,
        timeout=s.url_fetch_timeout_seconds,
        total_seconds=s.url_fetch_max_seconds,
        allow_private=s.allow_private_urls,
    )
    return path


def _analyse_audio(claim: Claim, ctx: Context) -> Report:
    path = media_path(claim, ctx)
    from engine.voice import analyse_audio  # heavy imports, in the worker only

    return analyse_audio(path, max_seconds=ctx.settings.max_media_seconds)


ANALYSERS: dict[str, Callable[[Claim, Context], Report]] = {
    "text": _analyse_text,
    "audio": _analyse_audio,
}


def run_analysis(claim: Claim, ctx: Context) -> Report:
    """Run the engine for the claimed job's modality; input and media errors become EngineErrors."""
    analyser = ANALYSERS.get(claim.modality)
    if analyser is None:
        raise EngineError("modality_unavailable", f"no analyser for {claim.modality!r}")
    try:
        return analyser(claim, ctx)
    except InputError as exc:
        raise EngineError(exc.code, exc.message, retryable=False) from exc
