"""The API's resources: ``client.analyse``, ``.results``, ``.jobs``, ``.webhooks`` and ``.stream``."""

from __future__ import annotations

import builtins
import time
from collections.abc import AsyncIterator, Sequence
from typing import Any, Literal, overload

from echodepth import _requests as rq
from echodepth._base import FileInput, next_poll
from echodepth._io import async_sleep
from echodepth._requests import Spec, drop_none, seg
from echodepth.errors import JobFailedError, WaitTimeoutError
from echodepth.types import (
    JobAccepted,
    JobStatus,
    JobSummary,
    ReplayAccepted,
    Result,
    SecretRotated,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEndpointCreated,
)

from .session import AsyncSession
from .stream import AsyncVideoStream

__all__ = ["AsyncJob", "AsyncAnalyse", "AsyncResults", "AsyncJobs", "AsyncWebhooks", "AsyncStream"]

EventType = Literal["analysis.completed", "analysis.failed", "connection.needs_reauth"]


def _finished(result: Result) -> Result:
    if result.status == "failed":
        err = result.error
        raise JobFailedError(err.code if err else "failed", err.message if err else "", result)
    return result


# results and jobs ------------------------------------------------------------------------------


class AsyncResults:
    """``client.results``."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def get(self, job_id: str) -> Result:
        """The job and, when completed, its full result. :class:`NotFoundError` for unknown ids."""
        return Result.model_validate(
            await self._session.request_json(Spec("GET", f"/v1/result/{seg(job_id)}"))
        )

    async def delete(self, job_id: str) -> None:
        """Erase the job, its input and its result. :class:`NotFoundError` if there is no such job."""
        await self._session.request(Spec("DELETE", f"/v1/result/{seg(job_id)}"))


class AsyncJob:
    """A submitted analysis (``wait=False``). :meth:`result` waits for it; :meth:`refresh` looks once."""

    def __init__(self, session: AsyncSession, job_id: str, status: JobStatus = "queued") -> None:
        self._session = session
        self.job_id = job_id
        self.status: JobStatus = status

    def __repr__(self) -> str:
        return f"{type(self).__name__}(job_id={self.job_id!r}, status={self.status!r})"

    async def refresh(self) -> Result:
        """The job as it is now (``result.status`` may still be queued or processing)."""
        result = await AsyncResults(self._session).get(self.job_id)
        self.status = result.status
        return result

    async def result(self, timeout: float | None = None) -> Result:
        """Wait until the job ends and return its :class:`Result`.

        Polls ``GET /v1/result/{job_id}`` with backoff (0.25 s growing to 2 s). Raises
        :class:`JobFailedError` when the job failed, :class:`WaitTimeoutError` after ``timeout`` seconds
        (default: the client's ``wait_timeout``); the job keeps running on the server.
        """
        opts = self._session.opts
        limit = opts.wait_timeout if timeout is None else timeout
        deadline = time.monotonic() + limit
        interval = opts.poll_interval
        while True:
            result = await self.refresh()
            if result.done:
                return _finished(result)
            if time.monotonic() + interval > deadline:
                raise WaitTimeoutError(self.job_id, limit)
            await async_sleep(interval)
            interval = next_poll(interval, opts)

    async def delete(self) -> None:
        """Erase the job, its input and its result."""
        await AsyncResults(self._session).delete(self.job_id)


def _jobs_spec(status: str | None, page_size: int, cursor: str | None) -> Spec:
    return Spec("GET", "/v1/jobs", params=drop_none({"status": status, "limit": page_size, "cursor": cursor}))


class AsyncJobs:
    """``client.jobs``."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def list(
        self, *, status: JobStatus | None = None, page_size: int = 20
    ) -> AsyncIterator[JobSummary]:
        """Every job of the tenant, newest first, fetching ``page_size`` per request and following
        ``next_cursor`` until the end (``async for`` on ``AsyncClient``). Stop iterating whenever you like."""
        cursor: str | None = None
        while True:
            page = await self._session.request_json(_jobs_spec(status, page_size, cursor))
            for row in page["data"]:
                yield JobSummary.model_validate(row)
            cursor = page.get("next_cursor")
            if not cursor:
                return

    async def get(self, job_id: str) -> AsyncJob:
        """A job handle for an existing job id (to wait for it or delete it)."""
        status = (await AsyncResults(self._session).get(job_id)).status
        return AsyncJob(self._session, job_id, status)


# analyse ---------------------------------------------------------------------------------------


class AsyncAnalyse:
    """``client.analyse``: every call sends an ``Idempotency-Key`` (yours or a fresh UUID), so retries
    after a lost answer return the same job. By default it waits for the job and returns its
    :class:`Result`; ``wait=False`` returns a job handle at once (:class:`Job`; :class:`AsyncJob` from
    ``AsyncClient``)."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def _submit(self, spec: Spec, wait: bool, timeout: float | None) -> Result | AsyncJob:
        accepted = JobAccepted.model_validate(await self._session.request_json(spec))
        job = AsyncJob(self._session, accepted.job_id, accepted.status)
        return await job.result(timeout) if wait else job

    @overload
    async def video(
        self,
        url: str | None = ...,
        *,
        file: FileInput | None = ...,
        metadata: dict[str, Any] | None = ...,
        webhook_url: str | None = ...,
        wait: Literal[True] = ...,
        timeout: float | None = ...,
        idempotency_key: str | None = ...,
    ) -> Result: ...
    @overload
    async def video(
        self,
        url: str | None = ...,
        *,
        file: FileInput | None = ...,
        metadata: dict[str, Any] | None = ...,
        webhook_url: str | None = ...,
        wait: Literal[False],
        timeout: float | None = ...,
        idempotency_key: str | None = ...,
    ) -> AsyncJob: ...
    async def video(
        self,
        url: str | None = None,
        *,
        file: FileInput | None = None,
        metadata: dict[str, Any] | None = None,
        webhook_url: str | None = None,
        wait: bool = True,
        timeout: float | None = None,
        idempotency_key: str | None = None,
    ) -> Result | AsyncJob:
        """Facial AUs, voice, transcript and per-second fused V/A/D of a video ``url`` or ``file``
        (a path or a binary file object)."""
        spec = rq.analyse_media("video", url, file, metadata, webhook_url, idempotency_key)
        return await self._submit(spec, wait, timeout)

    @overload
    async def audio(
        self,
        url: str | None = ...,
        *,
        file: FileInput | None = ...,
        metadata: dict[str, Any] | None = ...,
        webhook_url: str | None = ...,
        wait: Literal[True] = ...,
        timeout: float | None = ...,
        idempotency_key: str | None = ...,
    ) -> Result: ...
    @overload
    async def audio(
        self,
        url: str | None = ...,
        *,
        file: FileInput | None = ...,
        metadata: dict[str, Any] | None = ...,
        webhook_url: str | None = ...,
        wait: Literal[False],
        timeout: float | None = ...,
        idempotency_key: str | None = ...,
    ) -> AsyncJob: ...
    async def audio(
        self,
        url: str | None = None,
        *,
        file: FileInput | None = None,
        metadata: dict[str, Any] | None = None,
        webhook_url: str | None = None,
        wait: bool = True,
        timeout: float | None = None,
        idempotency_key: str | None = None,
    ) -> Result | AsyncJob:
        """Pitch, pace, pauses, filled pauses, transcript, speakers and vocal V/A/D of an audio ``url`` or
        ``file``."""
        spec = rq.analyse_media("audio", url, file, metadata, webhook_url, idempotency_key)
        return await self._submit(spec, wait, timeout)

    @overload
    async def image(
        self,
        url: str | Sequence[str] | None = ...,
        *,
        file: FileInput | Sequence[FileInput] | None = ...,
        metadata: dict[str, Any] | None = ...,
        webhook_url: str | None = ...,
        wait: Literal[True] = ...,
        timeout: float | None = ...,
        idempotency_key: str | None = ...,
    ) -> Result: ...
    @overload
    async def image(
        self,
        url: str | Sequence[str] | None = ...,
        *,
        file: FileInput | Sequence[FileInput] | None = ...,
        metadata: dict[str, Any] | None = ...,
        webhook_url: str | None = ...,
        wait: Literal[False],
        timeout: float | None = ...,
        idempotency_key: str | None = ...,
    ) -> AsyncJob: ...
    async def image(
        self,
        url: str | Sequence[str] | None = None,
        *,
        file: FileInput | Sequence[FileInput] | None = None,
        metadata: dict[str, Any] | None = None,
        webhook_url: str | None = None,
        wait: bool = True,
        timeout: float | None = None,
        idempotency_key: str | None = None,
    ) -> Result | AsyncJob:
        """AU map, expressions and still-frame V/A/D of one or more images (a URL or a list of URLs, or a
        file or a list of files)."""
        spec = rq.analyse_media("image", url, file, metadata, webhook_url, idempotency_key)
        return await self._submit(spec, wait, timeout)

    @overload
    async def text(
        self,
        text: str,
        *,
        metadata: dict[str, Any] | None = ...,
        webhook_url: str | None = ...,
        wait: Literal[True] = ...,
        timeout: float | None = ...,
        idempotency_key: str | None = ...,
    ) -> Result: ...
    @overload
    async def text(
        self,
        text: str,
        *,
        metadata: dict[str, Any] | None = ...,
        webhook_url: str | None = ...,
        wait: Literal[False],
        timeout: float | None = ...,
        idempotency_key: str | None = ...,
    ) -> AsyncJob: ...
    async def text(
        self,
        text: str,
        *,
        metadata: dict[str, Any] | None = None,
        webhook_url: str | None = None,
        wait: bool = True,
        timeout: float | None = None,
        idempotency_key: str | None = None,
    ) -> Result | AsyncJob:
        """Per-sentence emotions, V/A/D, credibility, hedges and certainty markers of a text."""
        spec = rq.analyse_text(text, metadata, webhook_url, idempotency_key)
        return await self._submit(spec, wait, timeout)

    @overload
    async def multimodal(
        self,
        *,
        video: FileInput | None = ...,
        audio: FileInput | None = ...,
        images: Sequence[FileInput] | None = ...,
        text: str | None = ...,
        video_url: str | None = ...,
        audio_url: str | None = ...,
        image_urls: Sequence[str] | None = ...,
        metadata: dict[str, Any] | None = ...,
        webhook_url: str | None = ...,
        wait: Literal[True] = ...,
        timeout: float | None = ...,
        idempotency_key: str | None = ...,
    ) -> Result: ...
    @overload
    async def multimodal(
        self,
        *,
        video: FileInput | None = ...,
        audio: FileInput | None = ...,
        images: Sequence[FileInput] | None = ...,
        text: str | None = ...,
        video_url: str | None = ...,
        audio_url: str | None = ...,
        image_urls: Sequence[str] | None = ...,
        metadata: dict[str, Any] | None = ...,
        webhook_url: str | None = ...,
        wait: Literal[False],
        timeout: float | None = ...,
        idempotency_key: str | None = ...,
    ) -> AsyncJob: ...
    async def multimodal(
        self,
        *,
        video: FileInput | None = None,
        audio: FileInput | None = None,
        images: Sequence[FileInput] | None = None,
        text: str | None = None,
        video_url: str | None = None,
        audio_url: str | None = None,
        image_urls: Sequence[str] | None = None,
        metadata: dict[str, Any] | None = None,
        webhook_url: str | None = None,
        wait: bool = True,
        timeout: float | None = None,
        idempotency_key: str | None = None,
    ) -> Result | AsyncJob:
        """One fused result from any mix of video, audio, images and text: uploads (``video``, ``audio``,
        ``images``) or URLs (``video_url``, ``audio_url``, ``image_urls``), not both; ``text`` with either."""
        spec = rq.analyse_multimodal(
            video,
            audio,
            images,
            text,
            video_url,
            audio_url,
            image_urls,
            metadata,
            webhook_url,
            idempotency_key,
        )
        return await self._submit(spec, wait, timeout)


# webhooks --------------------------------------------------------------------------------------


def _wh(method: str, path: str = "", **kw: Any) -> Spec:
    return Spec(method, "/v1/webhooks" + path, **kw)


class AsyncWebhooks:
    """``client.webhooks``: endpoints that receive signed ``analysis.completed``/``analysis.failed``/
    ``connection.needs_reauth`` events. Verify deliveries with :func:`echodepth.webhooks.verify`."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def create(
        self, url: str, events: Sequence[EventType], description: str | None = None
    ) -> WebhookEndpointCreated:
        """Register an endpoint; the answer's ``secret`` (``whsec_…``) is shown this once."""
        body = drop_none({"url": url, "events": list(events), "description": description})
        spec = _wh("POST", json=body, retry_safe=False)
        return WebhookEndpointCreated.model_validate(await self._session.request_json(spec))

    async def list(self) -> list[WebhookEndpoint]:
        """The tenant's endpoints."""
        page = await self._session.request_json(_wh("GET"))
        return [WebhookEndpoint.model_validate(e) for e in page["data"]]

    async def get(self, endpoint_id: str) -> WebhookEndpoint:
        """One endpoint."""
        spec = _wh("GET", f"/{seg(endpoint_id)}")
        return WebhookEndpoint.model_validate(await self._session.request_json(spec))

    async def update(
        self,
        endpoint_id: str,
        *,
        url: str | None = None,
        events: Sequence[EventType] | None = None,
        description: str | None = None,
        status: Literal["active", "disabled"] | None = None,
    ) -> WebhookEndpoint:
        """Change the URL, events, description or status (``"active"`` re-enables a disabled endpoint)."""
        body = drop_none(
            {
                "url": url,
                "events": list(events) if events else None,
                "description": description,
                "status": status,
            }
        )
        spec = _wh("PATCH", f"/{seg(endpoint_id)}", json=body)
        return WebhookEndpoint.model_validate(await self._session.request_json(spec))

    async def delete(self, endpoint_id: str) -> None:
        """Delete the endpoint, its secrets and its delivery log."""
        await self._session.request(_wh("DELETE", f"/{seg(endpoint_id)}"))

    async def rotate_secret(self, endpoint_id: str) -> SecretRotated:
        """A new signing secret (shown once); the old one keeps signing for the overlap period."""
        spec = _wh("POST", f"/{seg(endpoint_id)}/rotate-secret", retry_safe=False)
        return SecretRotated.model_validate(await self._session.request_json(spec))

    async def rotate_job_signing_secret(self) -> SecretRotated:
        """The secret that signs deliveries to the per-job ``webhook_url`` of analyse calls (rotates it)."""
        spec = _wh("POST", "/job-signing-secret", retry_safe=False)
        return SecretRotated.model_validate(await self._session.request_json(spec))

    async def deliveries(
        self, endpoint_id: str | None = None, *, status: str | None = None, limit: int | None = None
    ) -> builtins.list[WebhookDelivery]:
        """The delivery log, newest first: of one endpoint, or of every endpoint when ``endpoint_id`` is
        None. ``status="dead"`` is the dead-letter list."""
        path = f"/{seg(endpoint_id)}/deliveries" if endpoint_id else "/deliveries"
        spec = _wh("GET", path, params=drop_none({"status": status, "limit": limit}))
        page = await self._session.request_json(spec)
        return [WebhookDelivery.model_validate(d) for d in page["data"]]

    async def replay(self, delivery_id: str) -> ReplayAccepted:
        """Send a delivery's message again (same ``webhook-id``)."""
        spec = _wh("POST", f"/deliveries/{seg(delivery_id)}/replay", retry_safe=False)
        return ReplayAccepted.model_validate(await self._session.request_json(spec))


# stream ----------------------------------------------------------------------------------------


class AsyncStream:
    """``client.stream``: real-time analysis over ``WS /v1/stream/video``."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    def video(
        self,
        *,
        fps: float = 15,
        audio: bool = False,
        metadata: dict[str, Any] | None = None,
        open_timeout: float = 10.0,
    ) -> AsyncVideoStream:
        """Open a stream session; use it as a context manager (``async with``/``async for`` on
        ``AsyncClient``)::

        with client.stream.video(fps=15, audio=True) as s:
            s.send_frame(jpeg_bytes, ts_ms=0)
            s.send_audio(pcm16k_mono_s16le, ts_ms=0)
            s.end()
            for message in s:  # frame, second, dropped ... then summary
                ...
        print(s.summary_job_id)
        """
        return AsyncVideoStream(
            self._session.opts.base_url,
            self._session.opts.api_key,
            fps=fps,
            audio=audio,
            metadata=metadata or {},
            open_timeout=open_timeout,
        )
