"""The API's resources: ``client.analyse``, ``.results``, ``.jobs``, ``.webhooks`` and ``.stream``."""

from __future__ import annotations

import asyncio
import builtins
import time
from collections.abc import AsyncIterator, Iterator, Sequence
from typing import TYPE_CHECKING, Any, Literal, overload

from echodepth import _requests as rq
from echodepth._base import FileInput
from echodepth._requests import Spec, drop_none, seg
from echodepth.errors import JobFailedError, WaitTimeoutError
from echodepth.stream import AsyncVideoStream, VideoStream
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

if TYPE_CHECKING:
    from echodepth._client import AsyncClient, Client

__all__ = [
    "Job",
    "AsyncJob",
    "Analyse",
    "AsyncAnalyse",
    "Results",
    "AsyncResults",
    "Jobs",
    "AsyncJobs",
    "Webhooks",
    "AsyncWebhooks",
    "Stream",
    "AsyncStream",
]

EventType = Literal["analysis.completed", "analysis.failed", "connection.needs_reauth"]


def _finished(result: Result) -> Result:
    if result.status == "failed":
        err = result.error
        raise JobFailedError(err.code if err else "failed", err.message if err else "", result)
    return result


# jobs ------------------------------------------------------------------------------------------


class Job:
    """A submitted analysis (``wait=False``). :meth:`result` waits for it; :meth:`refresh` looks once."""

    def __init__(self, client: Client, job_id: str, status: JobStatus = "queued") -> None:
        self._client = client
        self.job_id = job_id
        self.status: JobStatus = status

    def __repr__(self) -> str:
        return f"Job(job_id={self.job_id!r}, status={self.status!r})"

    def refresh(self) -> Result:
        """The job as it is now (``result.status`` may still be queued or processing)."""
        result = self._client.results.get(self.job_id)
        self.status = result.status
        return result

    def result(self, timeout: float | None = None) -> Result:
        """Wait until the job ends and return its :class:`Result`.

        Polls ``GET /v1/result/{job_id}`` with backoff (0.25 s growing to 2 s). Raises
        :class:`JobFailedError` when the job failed, :class:`WaitTimeoutError` after ``timeout`` seconds
        (default: the client's ``wait_timeout``); the job keeps running on the server.
        """
        opts = self._client._opts
        limit = opts.wait_timeout if timeout is None else timeout
        deadline = time.monotonic() + limit
        interval = opts.poll_interval
        while True:
            result = self.refresh()
            if result.done:
                return _finished(result)
            if time.monotonic() + interval > deadline:
                raise WaitTimeoutError(self.job_id, limit)
            time.sleep(interval)
            interval = min(opts.max_poll_interval, interval * 1.5)

    def delete(self) -> None:
        """Erase the job, its input and its result."""
        self._client.results.delete(self.job_id)


class AsyncJob:
    """A submitted analysis (``wait=False``) for :class:`AsyncClient`."""

    def __init__(self, client: AsyncClient, job_id: str, status: JobStatus = "queued") -> None:
        self._client = client
        self.job_id = job_id
        self.status: JobStatus = status

    def __repr__(self) -> str:
        return f"AsyncJob(job_id={self.job_id!r}, status={self.status!r})"

    async def refresh(self) -> Result:
        """The job as it is now."""
        result = await self._client.results.get(self.job_id)
        self.status = result.status
        return result

    async def result(self, timeout: float | None = None) -> Result:
        """Wait until the job ends and return its :class:`Result` (see :meth:`Job.result`)."""
        opts = self._client._opts
        limit = opts.wait_timeout if timeout is None else timeout
        deadline = time.monotonic() + limit
        interval = opts.poll_interval
        while True:
            result = await self.refresh()
            if result.done:
                return _finished(result)
            if time.monotonic() + interval > deadline:
                raise WaitTimeoutError(self.job_id, limit)
            await asyncio.sleep(interval)
            interval = min(opts.max_poll_interval, interval * 1.5)

    async def delete(self) -> None:
        """Erase the job, its input and its result."""
        await self._client.results.delete(self.job_id)


# analyse ---------------------------------------------------------------------------------------


class Analyse:
    """``client.analyse``: every call sends an ``Idempotency-Key`` (yours or a fresh UUID), so retries
    after a lost answer return the same job. By default it waits for the job and returns its
    :class:`Result`; ``wait=False`` returns a :class:`Job` at once."""

    def __init__(self, client: Client) -> None:
        self._client = client

    def _submit(self, spec: Spec, wait: bool, timeout: float | None) -> Result | Job:
        accepted = JobAccepted.model_validate(self._client.request_json(spec))
        job = Job(self._client, accepted.job_id, accepted.status)
        return job.result(timeout) if wait else job

    @overload
    def video(
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
    def video(
        self,
        url: str | None = ...,
        *,
        file: FileInput | None = ...,
        metadata: dict[str, Any] | None = ...,
        webhook_url: str | None = ...,
        wait: Literal[False],
        timeout: float | None = ...,
        idempotency_key: str | None = ...,
    ) -> Job: ...
    def video(
        self,
        url: str | None = None,
        *,
        file: FileInput | None = None,
        metadata: dict[str, Any] | None = None,
        webhook_url: str | None = None,
        wait: bool = True,
        timeout: float | None = None,
        idempotency_key: str | None = None,
    ) -> Result | Job:
        """Facial AUs, voice, transcript and per-second fused V/A/D of a video ``url`` or ``file``
        (a path or a binary file object)."""
        spec = rq.analyse_media("video", url, file, metadata, webhook_url, idempotency_key)
        return self._submit(spec, wait, timeout)

    @overload
    def audio(
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
    def audio(
        self,
        url: str | None = ...,
        *,
        file: FileInput | None = ...,
        metadata: dict[str, Any] | None = ...,
        webhook_url: str | None = ...,
        wait: Literal[False],
        timeout: float | None = ...,
        idempotency_key: str | None = ...,
    ) -> Job: ...
    def audio(
        self,
        url: str | None = None,
        *,
        file: FileInput | None = None,
        metadata: dict[str, Any] | None = None,
        webhook_url: str | None = None,
        wait: bool = True,
        timeout: float | None = None,
        idempotency_key: str | None = None,
    ) -> Result | Job:
        """Pitch, pace, pauses, filled pauses, transcript, speakers and vocal V/A/D of an audio ``url`` or
        ``file``."""
        spec = rq.analyse_media("audio", url, file, metadata, webhook_url, idempotency_key)
        return self._submit(spec, wait, timeout)

    @overload
    def image(
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
    def image(
        self,
        url: str | Sequence[str] | None = ...,
        *,
        file: FileInput | Sequence[FileInput] | None = ...,
        metadata: dict[str, Any] | None = ...,
        webhook_url: str | None = ...,
        wait: Literal[False],
        timeout: float | None = ...,
        idempotency_key: str | None = ...,
    ) -> Job: ...
    def image(
        self,
        url: str | Sequence[str] | None = None,
        *,
        file: FileInput | Sequence[FileInput] | None = None,
        metadata: dict[str, Any] | None = None,
        webhook_url: str | None = None,
        wait: bool = True,
        timeout: float | None = None,
        idempotency_key: str | None = None,
    ) -> Result | Job:
        """AU map, expressions and still-frame V/A/D of one or more images (a URL or a list of URLs, or a
        file or a list of files)."""
        spec = rq.analyse_media("image", url, file, metadata, webhook_url, idempotency_key)
        return self._submit(spec, wait, timeout)

    @overload
    def text(
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
    def text(
        self,
        text: str,
        *,
        metadata: dict[str, Any] | None = ...,
        webhook_url: str | None = ...,
        wait: Literal[False],
        timeout: float | None = ...,
        idempotency_key: str | None = ...,
    ) -> Job: ...
    def text(
        self,
        text: str,
        *,
        metadata: dict[str, Any] | None = None,
        webhook_url: str | None = None,
        wait: bool = True,
        timeout: float | None = None,
        idempotency_key: str | None = None,
    ) -> Result | Job:
        """Per-sentence emotions, V/A/D, credibility, hedges and certainty markers of a text."""
        spec = rq.analyse_text(text, metadata, webhook_url, idempotency_key)
        return self._submit(spec, wait, timeout)

    @overload
    def multimodal(
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
    def multimodal(
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
    ) -> Job: ...
    def multimodal(
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
    ) -> Result | Job:
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
        return self._submit(spec, wait, timeout)


class AsyncAnalyse:
    """``client.analyse`` of :class:`AsyncClient` (see :class:`Analyse`)."""

    def __init__(self, client: AsyncClient) -> None:
        self._client = client

    async def _submit(self, spec: Spec, wait: bool, timeout: float | None) -> Result | AsyncJob:
        accepted = JobAccepted.model_validate(await self._client.request_json(spec))
        job = AsyncJob(self._client, accepted.job_id, accepted.status)
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
        """See :meth:`Analyse.video`."""
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
        """See :meth:`Analyse.audio`."""
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
        """See :meth:`Analyse.image`."""
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
        """See :meth:`Analyse.text`."""
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
        """See :meth:`Analyse.multimodal`."""
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


# results and jobs ------------------------------------------------------------------------------


class Results:
    """``client.results``."""

    def __init__(self, client: Client) -> None:
        self._client = client

    def get(self, job_id: str) -> Result:
        """The job and, when completed, its full result. :class:`NotFoundError` for unknown ids."""
        return Result.model_validate(self._client.request_json(Spec("GET", f"/v1/result/{seg(job_id)}")))

    def delete(self, job_id: str) -> None:
        """Erase the job, its input and its result. :class:`NotFoundError` if there is no such job."""
        self._client.request(Spec("DELETE", f"/v1/result/{seg(job_id)}"))


class AsyncResults:
    """``client.results`` of :class:`AsyncClient`."""

    def __init__(self, client: AsyncClient) -> None:
        self._client = client

    async def get(self, job_id: str) -> Result:
        """See :meth:`Results.get`."""
        return Result.model_validate(
            await self._client.request_json(Spec("GET", f"/v1/result/{seg(job_id)}"))
        )

    async def delete(self, job_id: str) -> None:
        """See :meth:`Results.delete`."""
        await self._client.request(Spec("DELETE", f"/v1/result/{seg(job_id)}"))


def _jobs_spec(status: str | None, page_size: int, cursor: str | None) -> Spec:
    return Spec("GET", "/v1/jobs", params=drop_none({"status": status, "limit": page_size, "cursor": cursor}))


class Jobs:
    """``client.jobs``."""

    def __init__(self, client: Client) -> None:
        self._client = client

    def list(self, *, status: JobStatus | None = None, page_size: int = 20) -> Iterator[JobSummary]:
        """Every job of the tenant, newest first, fetching ``page_size`` per request and following
        ``next_cursor`` until the end. Stop iterating whenever you like."""
        cursor: str | None = None
        while True:
            page = self._client.request_json(_jobs_spec(status, page_size, cursor))
            for row in page["data"]:
                yield JobSummary.model_validate(row)
            cursor = page.get("next_cursor")
            if not cursor:
                return

    def get(self, job_id: str) -> Job:
        """A :class:`Job` handle for an existing job id (to wait for it or delete it)."""
        return Job(self._client, job_id, self._client.results.get(job_id).status)


class AsyncJobs:
    """``client.jobs`` of :class:`AsyncClient`."""

    def __init__(self, client: AsyncClient) -> None:
        self._client = client

    async def list(
        self, *, status: JobStatus | None = None, page_size: int = 20
    ) -> AsyncIterator[JobSummary]:
        """See :meth:`Jobs.list` (use ``async for``)."""
        cursor: str | None = None
        while True:
            page = await self._client.request_json(_jobs_spec(status, page_size, cursor))
            for row in page["data"]:
                yield JobSummary.model_validate(row)
            cursor = page.get("next_cursor")
            if not cursor:
                return

    async def get(self, job_id: str) -> AsyncJob:
        """See :meth:`Jobs.get`."""
        return AsyncJob(self._client, job_id, (await self._client.results.get(job_id)).status)


# webhooks --------------------------------------------------------------------------------------


def _wh(method: str, path: str = "", **kw: Any) -> Spec:
    return Spec(method, "/v1/webhooks" + path, **kw)


class Webhooks:
    """``client.webhooks``: endpoints that receive signed ``analysis.completed``/``analysis.failed``/
    ``connection.needs_reauth`` events. Verify deliveries with :func:`echodepth.webhooks.verify`."""

    def __init__(self, client: Client) -> None:
        self._client = client

    def create(
        self, url: str, events: Sequence[EventType], description: str | None = None
    ) -> WebhookEndpointCreated:
        """Register an endpoint; the answer's ``secret`` (``whsec_…``) is shown this once."""
        body = drop_none({"url": url, "events": list(events), "description": description})
        return WebhookEndpointCreated.model_validate(
            self._client.request_json(_wh("POST", json=body, retry_safe=False))
        )

    def list(self) -> list[WebhookEndpoint]:
        """The tenant's endpoints."""
        return [WebhookEndpoint.model_validate(e) for e in self._client.request_json(_wh("GET"))["data"]]

    def get(self, endpoint_id: str) -> WebhookEndpoint:
        """One endpoint."""
        return WebhookEndpoint.model_validate(self._client.request_json(_wh("GET", f"/{seg(endpoint_id)}")))

    def update(
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
        return WebhookEndpoint.model_validate(
            self._client.request_json(_wh("PATCH", f"/{seg(endpoint_id)}", json=body))
        )

    def delete(self, endpoint_id: str) -> None:
        """Delete the endpoint, its secrets and its delivery log."""
        self._client.request(_wh("DELETE", f"/{seg(endpoint_id)}"))

    def rotate_secret(self, endpoint_id: str) -> SecretRotated:
        """A new signing secret (shown once); the old one keeps signing for the overlap period."""
        spec = _wh("POST", f"/{seg(endpoint_id)}/rotate-secret", retry_safe=False)
        return SecretRotated.model_validate(self._client.request_json(spec))

    def rotate_job_signing_secret(self) -> SecretRotated:
        """The secret that signs deliveries to the per-job ``webhook_url`` of analyse calls (rotates it)."""
        spec = _wh("POST", "/job-signing-secret", retry_safe=False)
        return SecretRotated.model_validate(self._client.request_json(spec))

    def deliveries(
        self, endpoint_id: str | None = None, *, status: str | None = None, limit: int | None = None
    ) -> builtins.list[WebhookDelivery]:
        """The delivery log, newest first: of one endpoint, or of every endpoint when ``endpoint_id`` is
        None. ``status="dead"`` is the dead-letter list."""
        path = f"/{seg(endpoint_id)}/deliveries" if endpoint_id else "/deliveries"
        spec = _wh("GET", path, params=drop_none({"status": status, "limit": limit}))
        return [WebhookDelivery.model_validate(d) for d in self._client.request_json(spec)["data"]]

    def replay(self, delivery_id: str) -> ReplayAccepted:
        """Send a delivery's message again (same ``webhook-id``)."""
        spec = _wh("POST", f"/deliveries/{seg(delivery_id)}/replay", retry_safe=False)
        return ReplayAccepted.model_validate(self._client.request_json(spec))


class AsyncWebhooks:
    """``client.webhooks`` of :class:`AsyncClient` (see :class:`Webhooks`)."""

    def __init__(self, client: AsyncClient) -> None:
        self._client = client

    async def create(
        self, url: str, events: Sequence[EventType], description: str | None = None
    ) -> WebhookEndpointCreated:
        """See :meth:`Webhooks.create`."""
        body = drop_none({"url": url, "events": list(events), "description": description})
        spec = _wh("POST", json=body, retry_safe=False)
        return WebhookEndpointCreated.model_validate(await self._client.request_json(spec))

    async def list(self) -> list[WebhookEndpoint]:
        """See :meth:`Webhooks.list`."""
        return [
            WebhookEndpoint.model_validate(e) for e in (await self._client.request_json(_wh("GET")))["data"]
        ]

    async def get(self, endpoint_id: str) -> WebhookEndpoint:
        """See :meth:`Webhooks.get`."""
        return WebhookEndpoint.model_validate(
            await self._client.request_json(_wh("GET", f"/{seg(endpoint_id)}"))
        )

    async def update(
        self,
        endpoint_id: str,
        *,
        url: str | None = None,
        events: Sequence[EventType] | None = None,
        description: str | None = None,
        status: Literal["active", "disabled"] | None = None,
    ) -> WebhookEndpoint:
        """See :meth:`Webhooks.update`."""
        body = drop_none(
            {
                "url": url,
                "events": list(events) if events else None,
                "description": description,
                "status": status,
            }
        )
        spec = _wh("PATCH", f"/{seg(endpoint_id)}", json=body)
        return WebhookEndpoint.model_validate(await self._client.request_json(spec))

    async def delete(self, endpoint_id: str) -> None:
        """See :meth:`Webhooks.delete`."""
        await self._client.request(_wh("DELETE", f"/{seg(endpoint_id)}"))

    async def rotate_secret(self, endpoint_id: str) -> SecretRotated:
        """See :meth:`Webhooks.rotate_secret`."""
        spec = _wh("POST", f"/{seg(endpoint_id)}/rotate-secret", retry_safe=False)
        return SecretRotated.model_validate(await self._client.request_json(spec))

    async def rotate_job_signing_secret(self) -> SecretRotated:
        """See :meth:`Webhooks.rotate_job_signing_secret`."""
        spec = _wh("POST", "/job-signing-secret", retry_safe=False)
        return SecretRotated.model_validate(await self._client.request_json(spec))

    async def deliveries(
        self, endpoint_id: str | None = None, *, status: str | None = None, limit: int | None = None
    ) -> builtins.list[WebhookDelivery]:
        """See :meth:`Webhooks.deliveries`."""
        path = f"/{seg(endpoint_id)}/deliveries" if endpoint_id else "/deliveries"
        spec = _wh("GET", path, params=drop_none({"status": status, "limit": limit}))
        return [WebhookDelivery.model_validate(d) for d in (await self._client.request_json(spec))["data"]]

    async def replay(self, delivery_id: str) -> ReplayAccepted:
        """See :meth:`Webhooks.replay`."""
        spec = _wh("POST", f"/deliveries/{seg(delivery_id)}/replay", retry_safe=False)
        return ReplayAccepted.model_validate(await self._client.request_json(spec))


# stream ----------------------------------------------------------------------------------------


class Stream:
    """``client.stream``: real-time analysis over ``WS /v1/stream/video``."""

    def __init__(self, client: Client) -> None:
        self._client = client

    def video(
        self,
        *,
        fps: float = 15,
        audio: bool = False,
        metadata: dict[str, Any] | None = None,
        open_timeout: float = 10.0,
    ) -> VideoStream:
        """Open a stream session; use it as a context manager::

        with client.stream.video(fps=15, audio=True) as s:
            s.send_frame(jpeg_bytes, ts_ms=0)
            s.send_audio(pcm16k_mono_s16le, ts_ms=0)
            s.end()
            for message in s:  # frame, second, dropped ... then summary
                ...
        print(s.summary_job_id)
        """
        return VideoStream(
            self._client.base_url,
            self._client.api_key,
            fps=fps,
            audio=audio,
            metadata=metadata or {},
            open_timeout=open_timeout,
        )


class AsyncStream:
    """``client.stream`` of :class:`AsyncClient`."""

    def __init__(self, client: AsyncClient) -> None:
        self._client = client

    def video(
        self,
        *,
        fps: float = 15,
        audio: bool = False,
        metadata: dict[str, Any] | None = None,
        open_timeout: float = 10.0,
    ) -> AsyncVideoStream:
        """See :meth:`Stream.video` (``async with`` / ``async for``)."""
        return AsyncVideoStream(
            self._client.base_url,
            self._client.api_key,
            fps=fps,
            audio=audio,
            metadata=metadata or {},
            open_timeout=open_timeout,
        )
