"""Media intake for /v1/analyse/{audio,video,image}: a streamed multipart upload or a JSON URL."""

from __future__ import annotations

import json
import uuid

from fastapi import Request
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from core.api.bodies import MediaUrlRequest, read_capped
from core.media.outbound import check_url
from core.media.upload import receive_upload
from core.runtime import Runtime
from core.sdk.errors import InputError
from core.storage.models import Job
from core.storage.store import NewInput

__all__ = ["submit_media"]

_JSON_LIMIT = 65_536


def _url_request(raw: bytes) -> MediaUrlRequest:
    try:
        data = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise InputError("invalid_encoding", "body is not valid UTF-8", 400) from exc
    except json.JSONDecodeError as exc:
        raise InputError("invalid_json", f"body is not valid JSON: {exc.msg}", 400) from exc
    try:
        body = MediaUrlRequest.model_validate(data)
    except ValidationError as exc:
        raise InputError("invalid_input", "; ".join(e["msg"] for e in exc.errors()), 422) from exc
    if body.url is None:
        raise InputError("invalid_input", "give 'url', or upload the file as multipart/form-data", 422)
    return body


async def _from_url(request: Request, rt: Runtime, tenant_id: str, modality: str) -> Job:
    body = _url_request(await read_capped(request, _JSON_LIMIT))
    url = str(body.url)
    # Refuse early (the worker checks again on fetch); DNS resolution blocks, so off the event loop.
    await run_in_threadpool(check_url, url, rt.settings.allow_private_urls)
    webhook = str(body.webhook_url) if body.webhook_url else None
    return await run_in_threadpool(
        rt.store.create_job, tenant_id, modality, NewInput(source_url=url), body.metadata, webhook
    )


async def _from_upload(request: Request, rt: Runtime, tenant_id: str, modality: str) -> Job:
    job_id = str(uuid.uuid4())
    part = rt.spool.temp_for(job_id)
    try:
        upload = await receive_upload(request, part, rt.settings.max_upload_bytes)
        metadata = upload.metadata()
        part.replace(rt.spool.path_for(job_id))
        source = NewInput(spooled=True, filename=upload.filename)
        webhook = upload.fields.get("webhook_url") or None
        if webhook and not webhook.startswith(("http://", "https://")):
            raise InputError("invalid_input", "webhook_url must be an http(s) URL", 422)
        return await run_in_threadpool(
            rt.store.create_job, tenant_id, modality, source, metadata, webhook, job_id
        )
    except BaseException:
        rt.spool.delete(job_id)
        raise


async def submit_media(request: Request, rt: Runtime, tenant_id: str, modality: str) -> Job:
    """Accept a media request and commit its queued job; the caller enqueues it."""
    media = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    if media == "multipart/form-data":
        return await _from_upload(request, rt, tenant_id, modality)
    if media == "application/json":
        return await _from_url(request, rt, tenant_id, modality)
    raise InputError(
        "unsupported_media_type", 'upload the file as multipart/form-data or send JSON {"url": ...}', 415
    )
