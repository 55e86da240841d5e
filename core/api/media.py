"""Media intake for /v1/analyse/{audio,video,image,multimodal}: a streamed multipart upload or JSON URLs."""

from __future__ import annotations

import json
import uuid

from fastapi import Request
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from core.api.bodies import MediaUrlRequest, read_capped
from core.api.idempotency import fingerprint_json, fingerprint_upload, remember_fingerprint, requested_key
from core.api.ratelimit import Allowance
from core.api.webhooks import check_webhook_url
from core.jobs.quota import CHARGED_ROLES, media_seconds
from core.media.outbound import check_url
from core.media.upload import Upload, UploadRules, receive_upload
from core.runtime import Runtime
from core.sdk.errors import InputError
from core.settings import Settings
from core.storage.models import Job
from core.storage.store import MediaItem, NewInput

__all__ = ["submit_media", "MEDIA_MODALITIES"]

MEDIA_MODALITIES = ("audio", "video", "image", "multimodal")
_JSON_LIMIT = 262_144


def _rules(modality: str, settings: Settings) -> UploadRules:
    many = settings.max_images_per_request
    files = {
        "audio": {"file": 1},
        "video": {"file": 1},
        "image": {"file": many},
        "multimodal": {"video": 1, "audio": 1, "image": many},
    }[modality]
    fields = ("metadata", "webhook_url", "text") if modality == "multimodal" else ("metadata", "webhook_url")
    return UploadRules(files=files, fields=fields, max_bytes=settings.max_upload_bytes)


def _check_text(text: str | None, settings: Settings) -> str | None:
    if text is None or not text.strip():
        return None
    if len(text) > settings.max_text_chars:
        raise InputError("payload_too_large", f"text is over {settings.max_text_chars} characters", 413)
    return text


def _parse_json(raw: bytes) -> MediaUrlRequest:
    try:
        data = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise InputError("invalid_encoding", "body is not valid UTF-8", 400) from exc
    except json.JSONDecodeError as exc:
        raise InputError("invalid_json", f"body is not valid JSON: {exc.msg}", 400) from exc
    try:
        return MediaUrlRequest.model_validate(data)
    except ValidationError as exc:
        raise InputError("invalid_input", "; ".join(e["msg"] for e in exc.errors()), 422) from exc


def _url_items(modality: str, body: MediaUrlRequest, settings: Settings) -> tuple[MediaItem, ...]:
    """The media items a JSON request names, checked against what the modality accepts."""
    multimodal_only = (body.video_url, body.audio_url, body.image_urls, body.text)
    if modality != "multimodal" and any(v is not None for v in multimodal_only):
        raise InputError("invalid_input", "video_url, audio_url, image_urls and text are for multimodal", 422)
    if modality == "multimodal":
        if body.url is not None or body.urls is not None:
            raise InputError("invalid_input", "multimodal takes video_url, audio_url, image_urls, text", 422)
        pairs = [("video", body.video_url), ("audio", body.audio_url)]
        pairs += [("image", u) for u in body.image_urls or []]
    elif modality == "image":
        pairs = [("image", u) for u in ([body.url] if body.url else []) + list(body.urls or [])]
    else:
        if body.urls is not None:
            raise InputError("invalid_input", f"{modality} takes one 'url'", 422)
        pairs = [(modality, body.url)]
    items = tuple(MediaItem(role=role, url=str(url)) for role, url in pairs if url is not None)
    if sum(1 for i in items if i.role == "image") > settings.max_images_per_request:
        raise InputError("too_many_images", f"at most {settings.max_images_per_request} images", 413)
    if not items and not (modality == "multimodal" and body.text and body.text.strip()):
        raise InputError("invalid_input", "give a URL, or upload the file as multipart/form-data", 422)
    return items


async def _from_json(
    request: Request, rt: Runtime, tenant_id: str, modality: str, allowance: Allowance
) -> Job:
    body = _parse_json(await read_capped(request, _JSON_LIMIT))
    remember_fingerprint(request, fingerprint_json(body.model_dump(mode="json")))
    items = _url_items(modality, body, rt.settings)
    text = _check_text(body.text, rt.settings)
    for item in items:  # refuse early; the worker checks again when it fetches
        await run_in_threadpool(check_url, str(item.url), rt.settings.allow_private_urls)
    webhook = str(body.webhook_url) if body.webhook_url else None
    if webhook:  # 422 url_not_allowed now rather than a dead letter later
        await run_in_threadpool(check_webhook_url, webhook, rt.settings.allow_private_urls)
    source = NewInput(text=text, items=items)
    limit = allowance.job_limit
    return await run_in_threadpool(
        rt.store.create_job, tenant_id, modality, source, body.metadata, webhook, max_active=limit
    )


def _upload_items(modality: str, upload: Upload) -> tuple[MediaItem, ...]:
    return tuple(
        MediaItem(role=modality if f.name == "file" else f.name, filename=f.filename) for f in upload.files
    )


async def _from_upload(
    request: Request, rt: Runtime, tenant_id: str, modality: str, allowance: Allowance
) -> Job:
    job_id = str(uuid.uuid4())
    try:
        upload = await receive_upload(
            request, lambda i: rt.spool.path_for(job_id, i), _rules(modality, rt.settings)
        )
        if requested_key(request):  # Idempotency-Key: fingerprint the files' content, not the encoding
            named = [(f.name, f.filename, rt.spool.path_for(job_id, i)) for i, f in enumerate(upload.files)]
            fp = await run_in_threadpool(fingerprint_upload, upload.fields, named)
            remember_fingerprint(request, fp)
        webhook = upload.fields.get("webhook_url") or None
        if webhook and not webhook.startswith(("http://", "https://")):
            raise InputError("invalid_input", "webhook_url must be an http(s) URL", 422)
        if webhook:  # 422 url_not_allowed now rather than a dead letter later
            await run_in_threadpool(check_webhook_url, webhook, rt.settings.allow_private_urls)
        text = _check_text(upload.fields.get("text"), rt.settings)
        source = NewInput(text=text, items=_upload_items(modality, upload))
        await run_in_threadpool(_charge_upload, rt, tenant_id, job_id, source, allowance.media_limit)
        return await run_in_threadpool(
            rt.store.create_job,
            tenant_id,
            modality,
            source,
            upload.metadata(),
            webhook,
            job_id,
            max_active=allowance.job_limit,
        )
    except BaseException:
        rt.spool.delete(job_id)
        rt.media_quota.refund(job_id)
        raise


def _charge_upload(rt: Runtime, tenant_id: str, job_id: str, source: NewInput, limit: int | None) -> None:
    """Charge the uploaded audio and video to today's media minutes (429 ``media_quota_exceeded``)."""
    items = [
        (i, media_seconds(rt.spool.path_for(job_id, i)))
        for i, item in enumerate(source.items)
        if item.role in CHARGED_ROLES
    ]
    if items:
        rt.media_quota.charge(tenant_id, job_id, items, limit)


async def submit_media(
    request: Request, rt: Runtime, tenant_id: str, modality: str, allowance: Allowance
) -> Job:
    """Accept a media request and commit its queued job; the caller enqueues it."""
    media = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    if media == "multipart/form-data":
        return await _from_upload(request, rt, tenant_id, modality, allowance)
    if media == "application/json":
        return await _from_json(request, rt, tenant_id, modality, allowance)
    raise InputError(
        "unsupported_media_type", 'upload the file as multipart/form-data or send JSON {"url": ...}', 415
    )
