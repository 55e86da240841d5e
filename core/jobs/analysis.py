"""Which engine call analyses which modality, and how a job's input reaches it."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.media.outbound import fetch_to_file
from core.media.spool import Spool
from core.sdk.errors import EngineError, InputError
from core.settings import Settings
from core.storage.db import Database
from core.storage.models import Job, Tenant
from core.storage.store import Claim, MediaItem
from engine.report import Evidence, Report, SpeakerSummary
from engine.transcripts import parse_vtt

__all__ = [
    "run_analysis",
    "analyse_inputs",
    "ANALYSERS",
    "Context",
    "Claim",
    "Media",
    "media_paths",
    "vtt_text",
    "SourceFetch",
    "MediaCharge",
    "JobMetadata",
    "job_metadata",
    "join_participants",
]


SourceFetch = Callable[[MediaItem, Path], None]
# Charges a job's fetched audio/video items (index, file) to its tenant's media quota (core.jobs.quota);
# raises InputError ``media_quota_exceeded`` when they do not fit.
MediaCharge = Callable[[str, list[tuple[int, Path]]], None]
# A job's metadata as stored (``metadata.participants`` from a Source, or what an API client sent).
JobMetadata = Callable[[str], Mapping[str, Any]]


@dataclass(frozen=True)
class Context:
    """What an analyser may use besides the claim: settings, the media spool and, for items a Source
    announced (Zoom, Teams), the function that downloads them through that Source (``core.sources``)."""

    settings: Settings
    spool: Spool
    fetch_source: SourceFetch | None = None
    charge_media: MediaCharge | None = None
    job_metadata: JobMetadata | None = None


def job_metadata(db: Database) -> JobMetadata:
    """Reads a job's stored metadata (read after its media is fetched: a Source adds participants then)."""

    def read(job_id: str) -> Mapping[str, Any]:
        with db.session() as s:
            job = s.get(Job, job_id)
            if job is None:
                return {}
            meta = dict(job.metadata_ or {})
            tenant = s.get(Tenant, job.tenant_id)  # the tenant's own domains join the job's
            if tenant is not None and tenant.own_domains:
                meta["own_domains"] = [*(meta.get("own_domains") or []), *tenant.own_domains]
            return meta

    return read


def _fetch(item: MediaItem, path: Path, s: Settings) -> None:
    assert item.url is not None
    fetch_to_file(
        item.url,
        path,
        max_bytes=s.max_upload_bytes,
        timeout=s.url_fetch_timeout_seconds,
        total_seconds=s.url_fetch_max_seconds,
        allow_private=s.allow_private_urls,
    )


def media_paths(claim: Claim, ctx: Context) -> list[tuple[MediaItem, Path]]:
    """Each media item of the job and its file in the spool, downloading URL items first."""
    out: list[tuple[MediaItem, Path]] = []
    for index, item in enumerate(claim.items):
        path = ctx.spool.path_for(claim.job_id, index)
        if not path.exists():
            if item.source is not None and ctx.fetch_source is not None:
                ctx.fetch_source(item, path)
            elif item.url is None:
                raise EngineError("input_missing", "the uploaded media is gone from the spool")
            else:
                _fetch(item, path, ctx.settings)
        out.append((item, path))
    _charge_fetched(claim, out, ctx)
    return out


def _charge_fetched(claim: Claim, media: list[tuple[MediaItem, Path]], ctx: Context) -> None:
    """Charge the audio/video the worker fetched (URLs, recordings); uploads were charged on submit.
    Every attempt asks again: a charge is recorded once per job and item."""
    fetched = [
        (index, path)
        for index, (item, path) in enumerate(media)
        if (item.url is not None or item.source is not None) and item.role in ("audio", "video")
    ]
    if fetched and ctx.charge_media is not None:
        ctx.charge_media(claim.job_id, fetched)


Media = list[tuple[MediaItem, Path]]


def _single(media: Media) -> Path:
    if len(media) != 1:
        raise EngineError("input_missing", f"expected one media file, got {len(media)}")
    return media[0][1]


def _text(text: str | None, media: Media, s: Settings) -> Report:
    from engine.text import analyse_text  # the model loads on first use, in the worker only

    if not text:
        raise EngineError("input_missing", "the job's text input is gone", retryable=False)
    return analyse_text(text)


def _audio(text: str | None, media: Media, s: Settings) -> Report:
    from engine.voice import analyse_audio  # heavy imports, in the worker only

    return analyse_audio(_single(media), max_seconds=s.max_media_seconds)


def _video(text: str | None, media: Media, s: Settings) -> Report:
    from engine.video import analyse_video

    return analyse_video(_single(media), fps=s.video_fps, max_seconds=s.max_media_seconds)


def _image(text: str | None, media: Media, s: Settings) -> Report:
    from engine.face import analyse_images

    return analyse_images([p for _, p in media], [i.filename for i, _ in media])


def _multimodal(text: str | None, media: Media, s: Settings) -> Report:
    from engine.multimodal import analyse_multimodal

    first = {item.role: path for item, path in reversed(media)}
    images = [(i, p) for i, p in media if i.role == "image"]
    transcript = first.get("transcript")  # a meeting's own transcript (WebVTT) replaces ASR
    if transcript is not None and transcript.stat().st_size == 0:
        transcript = None  # the meeting has no transcript (Teams): ASR runs
    cues = parse_vtt(_read_vtt(transcript)) if transcript is not None else None
    return analyse_multimodal(
        video=first.get("video"),
        audio=first.get("audio"),
        text=vtt_text(transcript) if transcript is not None else text,
        asr=transcript is None,
        cues=cues,
        images=[p for _, p in images] or None,
        filenames=[i.filename for i, _ in images] or None,
        fps=s.video_fps,
        max_seconds=s.max_media_seconds,
    )


def _read_vtt(path: Path) -> str:
    return path.read_text(encoding="utf-8", errors="replace")


def vtt_text(path: Path) -> str:
    """The spoken words of a WebVTT file: cue text without header, timings, ids or voice tags."""
    words: list[str] = []
    for block in _read_vtt(path).split("\n\n"):
        lines = [line.strip() for line in block.strip().splitlines()]
        if not any("-->" in line for line in lines):
            continue
        cue = lines[[i for i, line in enumerate(lines) if "-->" in line][0] + 1 :]
        words.extend(re.sub(r"<[^>]+>", "", line) for line in cue if line)
    return " ".join(words)


ANALYSERS: dict[str, Callable[[str | None, Media, Settings], Report]] = {
    "text": _text,
    "audio": _audio,
    "video": _video,
    "image": _image,
    "multimodal": _multimodal,
}


def analyse_inputs(modality: str, text: str | None, media: Media, settings: Settings) -> Report:
    """Run the engine for ``modality`` on local inputs (used by jobs and by ``echodepth analyse``)."""
    analyser = ANALYSERS.get(modality)
    if analyser is None:
        raise EngineError("modality_unavailable", f"no analyser for {modality!r}")
    return analyser(text, media, settings)


def run_analysis(claim: Claim, ctx: Context) -> Report:
    """Run the engine for the claimed job; download and input errors become EngineErrors. Its speakers
    are then joined to the job's participants (``metadata.participants``) for e-mails and ``internal``."""
    try:
        report = analyse_inputs(claim.modality, claim.text, media_paths(claim, ctx), ctx.settings)
    except InputError as exc:
        raise EngineError(exc.code, exc.message, retryable=False) from exc
    meta = ctx.job_metadata(claim.job_id) if ctx.job_metadata is not None else {}
    own = [*ctx.settings.own_domain_list, *[str(d) for d in meta.get("own_domains") or []]]
    return join_participants(report, list(meta.get("participants") or []), own)


# Speakers and participants -------------------------------------------------------------------------------
# The engine names voices from a transcript; a job's participant list (a Source's, or the API client's
# ``metadata.participants``: name, email) gives those names their e-mails. ``internal`` says whether the
# e-mail's domain is one of the organisation's own (``own_domains``): the rep, not the prospect.


def _name_key(name: str) -> tuple[str, ...]:
    """A name's words for matching: accents, case, punctuation and "(…)" asides dropped."""
    plain = unicodedata.normalize("NFKD", re.sub(r"\(.*?\)", " ", name))
    plain = "".join(c for c in plain if not unicodedata.combining(c)).lower()
    return tuple(re.findall(r"[a-z0-9]+", plain))


def _match(name: str, people: Sequence[Mapping[str, Any]]) -> tuple[Mapping[str, Any] | None, str]:
    """The participant a speaker's name is, and how: same words, same words reordered, or the only one
    whose name holds all of the speaker's words (a first name alone); (None, reason) otherwise."""
    key = _name_key(name)
    keys = [_name_key(str(p.get("name") or "")) for p in people]
    for how, same in (
        ("name", lambda k: k == key),
        ("name_reordered", lambda k: sorted(k) == sorted(key)),
        ("name_part", lambda k: bool(key) and set(key) <= set(k)),
    ):
        found = [p for p, k in zip(people, keys, strict=True) if k and same(k)]
        if len(found) == 1:
            return found[0], how
        if len(found) > 1:
            return None, "ambiguous_name"
    return None, "no_participant"


def _internal(email: str | None, own: set[str]) -> bool | None:
    if not email or "@" not in email:
        return None
    return email.rsplit("@", 1)[1].lower() in own


def _joined(spk: SpeakerSummary, person: Mapping[str, Any] | None, how: str, own: set[str]) -> SpeakerSummary:
    email = str(person.get("email")).strip().lower() if person and person.get("email") else None
    evidence = Evidence(
        kind="participant_match",
        detail=how,
        text=str(person.get("name") or "") if person else spk.name,
    )
    update: dict[str, Any] = {"email": email, "internal": _internal(email, own)}
    update["naming"] = [*spk.naming, evidence]
    if spk.name is None and person is not None:
        update.update(name=str(person.get("name") or "") or None, named_by="participants")
    return spk.model_copy(update=update)


def join_participants(
    report: Report, participants: Sequence[Mapping[str, Any]], own_domains: Iterable[str]
) -> Report:
    """``report`` with each named speaker's e-mail and ``internal`` from the participant of that name.

    Without a transcript name, a recording with one voice and one participant is that participant
    (``named_by: participants``); otherwise unnamed voices stay ``S1…``."""
    own = {d.strip().lower() for d in own_domains if d.strip()}
    people = [p for p in participants if isinstance(p, Mapping) and (p.get("name") or p.get("email"))]
    speakers = []
    for spk in report.speakers:
        if spk.name is not None:
            person, how = _match(spk.name, people)
            speakers.append(_joined(spk, person, how, own))
        elif len(report.speakers) == 1 and len(people) == 1 and people[0].get("name"):
            speakers.append(_joined(spk, people[0], "only_voice_only_participant", own))
        else:
            speakers.append(spk)
    return report.model_copy(update={"speakers": speakers})
