"""One stream from accept to summary, every queue bounded.

- Frames: one waiting slot, emptied by a face thread when it starts on the frame (not when the frame is handed
  to the pool), so a frame never waits in the pool's queue. A newer frame replaces a waiting one
  (``dropped``, reason ``behind``); frames beyond the declared fps are dropped as ``over_fps`` (see
  ``_Throttle``), and frames whose timestamp does not move forward as ``stale_timestamp``.
- Audio: a bounded queue (``audio_behind`` when full); utterances go to the ASR process, at most
  ``MAX_ASR_PENDING`` per stream (``asr_behind`` beyond).
- Server messages: a queue of ``stream_send_queue``; a client that stops reading fills it and the stream is
  closed 1008 ``client_not_reading``.
- Frames of every stream are analysed on one process-wide pool of face threads, one per CPU core (each stream
  keeps its own landmarker, and has at most one frame in the pool): more threads than cores would only
  time-slice the same CPUs and contend for the GIL. Each stream has its own timeline thread (audio, seconds,
  summary). Speech recognition runs in one shared process at a lower CPU priority, so frames, whose latency
  is visible, go first (words arrive seconds late by design).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import math
import multiprocessing as mp
import os
import threading
import time
from collections import Counter
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from fastapi import WebSocket
from starlette.concurrency import run_in_threadpool
from starlette.websockets import WebSocketDisconnect

from core import metrics
from core.broker import Messages
from core.governance.policy import PolicyStore
from core.jobs.analysis import join_participants
from core.sdk.schema import SCHEMA_VERSION
from core.settings import Settings
from core.storage.store import Store
from core.stream.protocol import (
    KIND_FRAME,
    Chunk,
    Close,
    SpeakerMessage,
    StartMessage,
    StreamClose,
    parse_chunk,
    parse_speaker,
    parse_start,
    parse_text,
)
from engine.errors import MediaError
from engine.report import Report
from engine.stream import StreamAnalysis
from engine.transcripts import Cue
from engine.voice.asr import Word

__all__ = ["StreamService", "StreamSession", "StreamStores", "MAX_ASR_PENDING", "AUDIO_QUEUE"]

log = logging.getLogger("echodepth.stream")

AUDIO_QUEUE = 100  # chunks waiting for the timeline thread (10 s of 100 ms chunks)
MAX_ASR_PENDING = 8
FLUSH_TIMEOUT_S = 2.0
ASR_WAIT_S = 30.0
MAX_SPEAKER_SPANS = 20_000  # speaker messages kept per stream (a turn every 2 s for 11 h)
ASR_NICENESS = 10  # below the API process (0): a CFS weight of 110 against 1024 while both want the CPU


@dataclass(frozen=True)
class StreamStores:
    """What a stream uses of its tenant's region: settings, the job store, the tenant's policy (own mail
    domains) and the broker's messages."""

    settings: Settings
    store: Store
    policies: PolicyStore
    messages: Messages


def _cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


@functools.cache
def _single_threaded_blas() -> None:
    """One BLAS thread for the whole process, set once: the timeline threads' numpy calls are small, and
    OpenBLAS's idle worker busy-waits after each one, which cost about 3 ms of CPU per analysed frame
    (docs/streaming.md) on cores the face threads need."""
    from threadpoolctl import threadpool_limits

    threadpool_limits(1, user_api="blas")


def _lower_priority() -> None:
    with contextlib.suppress(OSError, AttributeError):
        os.nice(ASR_NICENESS)


def _transcribe(offset: float, pcm: bytes) -> list[Word]:
    from engine.voice.asr import transcribe_pcm

    return transcribe_pcm(offset, pcm)


class StreamService:
    """Process-wide stream state: the session count (``stream_max_sessions``), the face threads and the ASR
    process."""

    def __init__(self) -> None:
        self.active = 0
        self._asr: ProcessPoolExecutor | None = None
        self._face: ThreadPoolExecutor | None = None

    def face_pool(self) -> Executor:
        """The face threads shared by every stream, one per CPU core."""
        if self._face is None:
            self._face = ThreadPoolExecutor(_cores(), thread_name_prefix="stream-face")
        return self._face

    def asr_pool(self, settings: Settings) -> Executor | None:
        """The recogniser's process (pocketsphinx holds the GIL for whole utterances, so not a thread)."""
        if not settings.stream_asr:
            return None
        if self._asr is None:
            self._asr = ProcessPoolExecutor(
                max_workers=1, mp_context=mp.get_context("spawn"), initializer=_lower_priority
            )
        return self._asr

    def close(self) -> None:
        """Stop the ASR process and the face threads."""
        if self._asr is not None:
            self._asr.shutdown(wait=False, cancel_futures=True)
            self._asr = None
        if self._face is not None:
            self._face.shutdown(wait=False)
            self._face = None

    async def run(self, ws: WebSocket, rt: StreamStores, tenant_id: str) -> None:
        """Serve one accepted, authenticated stream until it ends."""
        if self.active >= rt.settings.stream_max_sessions:
            await _refuse(
                ws,
                StreamClose(
                    "too_many_streams", "the server is at its stream limit; retry", Close.TRY_AGAIN_LATER
                ),
            )
            return
        self.active += 1
        metrics_active(+1)
        try:
            await StreamSession(self, ws, rt, tenant_id).run()
        finally:
            self.active -= 1
            metrics_active(-1)


def _open_analysis(fps: float, audio: bool) -> StreamAnalysis:
    """A stream's analysis with its landmarker open (on the stream's timeline thread, off the event loop)."""
    _single_threaded_blas()
    analysis = StreamAnalysis(fps, audio)
    analysis.__enter__()
    return analysis


def metrics_active(delta: int) -> None:
    """Count streams in the Prometheus registry, when it has the gauge."""
    gauge = getattr(metrics, "STREAMS_ACTIVE", None)
    if gauge is not None:
        gauge.inc(delta)


async def _refuse(ws: WebSocket, exc: StreamClose) -> None:
    with contextlib.suppress(RuntimeError, OSError):
        await ws.send_text(json.dumps({"type": "error", "code": exc.code, "message": exc.message}))
        await ws.close(int(exc.close), exc.code)


class _Throttle:
    """The declared fps, judged on the client's timestamps (a frame closer than 3/4 of the interval to the
    last accepted one is over), with a wall-clock token bucket of one second's burst against clients whose
    timestamps run faster than they send (the burst absorbs network jitter and server pauses)."""

    def __init__(self, fps: float) -> None:
        self.rate = fps
        self.min_gap_ms = 750.0 / fps
        self.tokens = self.capacity = max(2.0, fps)
        self.at = time.monotonic()
        self.last_ts: int | None = None

    def accept(self, ts_ms: int, now: float) -> bool:
        """Whether a frame sent at ``ts_ms`` and received ``now`` is within the declared rate."""
        self.tokens = min(self.capacity, self.tokens + (now - self.at) * self.rate)
        self.at = now
        if self.last_ts is not None and ts_ms - self.last_ts < self.min_gap_ms:
            return False
        if self.tokens < 1:
            return False
        self.tokens -= 1
        self.last_ts = ts_ms
        return True


class StreamSession:
    """The tasks of one stream: receive, analyse frames, analyse audio, emit seconds, send."""

    def __init__(self, service: StreamService, ws: WebSocket, rt: StreamStores, tenant_id: str) -> None:
        self.service, self.ws, self.rt, self.tenant_id = service, ws, rt, tenant_id
        s = rt.settings
        self.send_q: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue(maxsize=s.stream_send_queue)
        self.audio_q: asyncio.Queue[tuple[Chunk, float] | None] = asyncio.Queue(maxsize=AUDIO_QUEUE)
        self.slot: tuple[Chunk, float, float] | None = None  # taken by a face thread: under slot_lock
        self.slot_lock = threading.Lock()
        self.slot_event = asyncio.Event()
        self.seconds_event = asyncio.Event()
        self.abort: asyncio.Future[StreamClose] = asyncio.get_running_loop().create_future()
        self.face_exec = service.face_pool()
        self.timeline_exec = ThreadPoolExecutor(1, thread_name_prefix="stream-timeline")
        self.analysis: StreamAnalysis | None = None
        self.start: StartMessage | None = None
        self.started_at = datetime.now(UTC)
        self.origin_ms: int | None = None
        self.tenant_domains: tuple[str, ...] = ()  # the tenant's own mail domains, read at start
        self.throttle: _Throttle | None = None
        self.last_frame_t = -math.inf
        self.ending = False
        self.client_gone = False
        self.pending_drops: Counter[str] = Counter()
        self.drops: Counter[str] = Counter()
        self.counts: Counter[str] = Counter()
        self.asr_tasks: set[asyncio.Task[None]] = set()
        self.tasks: list[asyncio.Task[None]] = []
        self.loading: asyncio.Future[StreamAnalysis] | None = None
        self.counts_end = ""
        self.speaker_spans: list[SpeakerMessage] = []

    # lifecycle --------------------------------------------------------------------------------

    async def run(self) -> None:
        """Receive until ``end``, a disconnect or a violation; then store the summary and close."""
        sender = asyncio.create_task(self._sender())
        outcome: StreamClose | str
        try:
            outcome = await self._receive_all()
        finally:
            if self.loading is None:
                self._shutdown_executors()
        if self.loading is None:  # no start, nothing analysed: no job to store
            await self._close(sender, outcome if isinstance(outcome, StreamClose) else None)
            return
        self.counts_end = outcome.code if isinstance(outcome, StreamClose) else outcome
        job_id = await self._finish(send=outcome == "end")
        if outcome == "end" and job_id is not None:
            self._send({"type": "summary", "job_id": job_id})
        await self._close(sender, outcome if isinstance(outcome, StreamClose) else None)

    async def _receive_all(self) -> StreamClose | str:
        receiver = asyncio.create_task(self._receive_loop())
        waiting: set[asyncio.Future[Any]] = {receiver, self.abort}
        done, _ = await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
        if receiver not in done:
            receiver.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await receiver
            return self.abort.result()
        try:
            return receiver.result()
        except StreamClose as exc:
            return exc

    async def _receive_loop(self) -> str:
        """``end`` or ``disconnect``; raises StreamClose for violations."""
        while True:
            msg = await self._next()
            if msg["type"] == "websocket.disconnect":
                self.client_gone = True
                return "disconnect"
            now = time.monotonic()
            if msg.get("bytes") is not None:
                self._on_binary(parse_chunk(msg["bytes"], self.rt.settings.stream_max_frame_bytes), now)
            elif msg.get("text") is not None and await self._on_text(msg["text"]):
                return "end"

    async def _next(self) -> dict[str, Any]:
        timeout = self.rt.settings.stream_idle_timeout_seconds
        try:
            msg = await asyncio.wait_for(self.ws.receive(), timeout)
        except TimeoutError as exc:
            raise StreamClose("idle_timeout", f"nothing received for {timeout:g} s", Close.POLICY) from exc
        return dict(msg)

    async def _on_text(self, text: str) -> bool:
        if len(text) > self.rt.settings.stream_max_frame_bytes:
            raise StreamClose("frame_too_large", "text message over the size limit", Close.TOO_BIG)
        msg = parse_text(text)
        if self.start is None:
            await self._begin(parse_start(msg, self.rt.settings.stream_max_fps))
            return False
        if msg["type"] == "end":
            return True
        if msg["type"] == "speaker":
            self._on_speaker(parse_speaker(msg))
            return False
        raise StreamClose(
            "unexpected_message", f'"{msg["type"]}" is not expected here (send "end" last)', Close.POLICY
        )

    async def _begin(self, start: StartMessage) -> None:
        self.start = start
        policy = await run_in_threadpool(self.rt.policies.get, self.tenant_id)
        self.tenant_domains = policy.own_domains
        self.throttle = _Throttle(start.fps)
        # The model loads (seconds, the first time: MediaPipe's import) off the event loop, while frames keep
        # being received and the newest waits in the slot: a receive loop that waited would stall every
        # stream, then take the frames sent meanwhile as one burst and throttle them.
        loop = asyncio.get_running_loop()
        self.loading = loop.run_in_executor(self.timeline_exec, _open_analysis, start.fps, start.audio)
        self.tasks = [
            asyncio.create_task(self._face_worker()),
            asyncio.create_task(self._audio_worker()),
            asyncio.create_task(self._seconds_worker()),
        ]
        for task in self.tasks:
            task.add_done_callback(self._worker_ended)

    def _on_speaker(self, msg: SpeakerMessage) -> None:
        """Keep a named span (at most MAX_SPEAKER_SPANS; later ones are counted as dropped)."""
        if len(self.speaker_spans) >= MAX_SPEAKER_SPANS:
            self._drop("speaker_spans")
            return
        self.speaker_spans.append(msg)
        self.counts["speaker_messages"] += 1

    def _cues(self) -> list[Cue]:
        """The speaker messages as named cues in stream seconds (stream time starts at the first media)."""
        origin = self.origin_ms or 0
        return [
            Cue(max(0.0, (m.start - origin) / 1000), max(0.0, (m.end - origin) / 1000), m.name, "")
            for m in self.speaker_spans
        ]

    def _metadata(self) -> dict[str, Any]:
        """The start message's metadata, with its participants (read by CRM sinks) unless it has its own."""
        assert self.start is not None
        people = [p.model_dump(exclude_none=True) for p in self.start.participants]
        if not people or "participants" in self.start.metadata:
            return self.start.metadata
        return {**self.start.metadata, "participants": people}

    def _named(self, report: Report) -> Report:
        """The summary's speakers joined to the stream's participants (e-mail, internal)."""
        meta = self._metadata()
        own = [
            *self.rt.settings.own_domain_list,
            *self.tenant_domains,
            *[str(d) for d in meta.get("own_domains") or []],
        ]
        return join_participants(report, list(meta.get("participants") or []), own)

    def _worker_ended(self, task: asyncio.Task[None]) -> None:
        if task.cancelled() or task.exception() is None or self.abort.done():
            return
        log.error("stream worker failed", exc_info=task.exception())
        self.abort.set_result(StreamClose("internal_error", "the analysis failed", Close.INTERNAL))

    def _stream_time(self, ts_ms: int) -> float:
        if self.origin_ms is None:
            self.origin_ms = ts_ms
        t = (ts_ms - self.origin_ms) / 1000.0
        if t > self.rt.settings.max_media_seconds:
            raise StreamClose("stream_too_long", "the stream is over max_media_seconds", Close.POLICY)
        return t

    def _on_binary(self, chunk: Chunk, now: float) -> None:
        if self.start is None or self.throttle is None:
            raise StreamClose("start_expected", 'send {"type": "start", ...} before any media', Close.POLICY)
        t = self._stream_time(chunk.ts_ms)
        if chunk.kind != KIND_FRAME:
            if not self.start.audio:
                raise StreamClose("audio_not_declared", 'audio sent after "audio": false', Close.POLICY)
            self.counts["audio_chunks"] += 1
            try:
                self.audio_q.put_nowait((chunk, t))
            except asyncio.QueueFull:
                self._drop("audio_behind")
            return
        self.counts["frames_received"] += 1
        if t <= self.last_frame_t:
            self._drop("stale_timestamp")
        elif not self.throttle.accept(chunk.ts_ms, now):
            self._drop("over_fps")
        else:
            self.last_frame_t = t
            with self.slot_lock:
                replaced, self.slot = self.slot, (chunk, t, now)
            if replaced is not None:
                self._drop("behind")
            self.slot_event.set()

    def _drop(self, reason: str) -> None:
        self.pending_drops[reason] += 1
        self.drops[reason] += 1

    # workers ----------------------------------------------------------------------------------

    async def _loaded(self) -> StreamAnalysis:
        assert self.loading is not None
        self.analysis = await self.loading
        return self.analysis

    async def _face_worker(self) -> None:
        analysis = await self._loaded()
        loop = asyncio.get_running_loop()
        while True:
            await self.slot_event.wait()
            self.slot_event.clear()
            if self.slot is None:
                if self.ending:
                    return
                continue
            # The face thread takes the slot's frame when it starts, not now: while every face thread is
            # busy, frames that arrive meanwhile replace it, so a frame never waits in the pool's queue.
            taken = await loop.run_in_executor(self.face_exec, self._analyse_newest, analysis)
            if taken is None:
                continue
            (chunk, _, received), result = taken
            if isinstance(result, MediaError):
                self.counts["frames_unreadable"] += 1
                self._send(
                    {"type": "error", "code": result.code, "message": result.message, "ts": chunk.ts_ms}
                )
                continue
            self.counts["frames_analysed"] += 1
            self._flush_drops()
            latency = round((time.monotonic() - received) * 1000, 1)
            self._send({"type": "frame", "ts": chunk.ts_ms, "latency_ms": latency, **result})
            self.seconds_event.set()
            if self.ending and self.slot is None:
                return

    def _analyse_newest(
        self, analysis: StreamAnalysis
    ) -> tuple[tuple[Chunk, float, float], dict[str, Any] | MediaError] | None:
        """On a face thread: the frame in the slot now and its result (or why it could not be decoded)."""
        with self.slot_lock:
            item, self.slot = self.slot, None
        if item is None:
            return None
        chunk, t, _ = item
        try:
            return item, analysis.frame(chunk.payload, t)
        except MediaError as exc:
            return item, exc

    async def _audio_worker(self) -> None:
        analysis = await self._loaded()
        loop = asyncio.get_running_loop()
        while (item := await self.audio_q.get()) is not None:
            chunk, t = item
            utterances = await loop.run_in_executor(self.timeline_exec, analysis.audio, chunk.payload, t)
            self._transcribe(utterances)
            self.seconds_event.set()

    async def _seconds_worker(self) -> None:
        analysis = await self._loaded()
        loop = asyncio.get_running_loop()
        while True:
            await self.seconds_event.wait()
            self.seconds_event.clear()
            if self.ending:
                return
            if not analysis.has_ready_seconds():  # most frames and chunks complete no second
                continue
            for msg in await loop.run_in_executor(self.timeline_exec, analysis.ready_seconds, False):
                self._send(msg)

    def _transcribe(self, utterances: list[tuple[float, bytes]]) -> None:
        pool = self.service.asr_pool(self.rt.settings)
        if pool is None:
            return
        for offset, pcm in utterances:
            if len(self.asr_tasks) >= MAX_ASR_PENDING:
                self._drop("asr_behind")
                continue
            task = asyncio.create_task(self._asr(pool, offset, pcm))
            self.asr_tasks.add(task)
            task.add_done_callback(self.asr_tasks.discard)

    async def _asr(self, pool: Executor, offset: float, pcm: bytes) -> None:
        assert self.analysis is not None
        loop = asyncio.get_running_loop()
        words = await loop.run_in_executor(pool, _transcribe, offset, pcm)
        await loop.run_in_executor(self.timeline_exec, self.analysis.add_words, words)
        self.counts["words"] += len(words)
        self.seconds_event.set()

    # sending ----------------------------------------------------------------------------------

    def _flush_drops(self) -> None:
        for reason, count in self.pending_drops.items():
            self._send({"type": "dropped", "count": count, "reason": reason})
        self.pending_drops.clear()

    def _send(self, msg: dict[str, Any]) -> None:
        if self.client_gone or self.abort.done():
            return
        try:
            self.send_q.put_nowait(msg)
        except asyncio.QueueFull:
            self.abort.set_result(
                StreamClose("client_not_reading", "the client is not reading its messages", Close.POLICY)
            )

    async def _sender(self) -> None:
        while (msg := await self.send_q.get()) is not None:
            try:
                await self.ws.send_text(json.dumps(msg))
            except (RuntimeError, OSError, WebSocketDisconnect):  # the client went away mid-send
                self.client_gone = True
                return

    # the end ----------------------------------------------------------------------------------

    async def _finish(self, send: bool) -> str | None:
        """Drain the analysis, store the summary job; its id (None if storing failed)."""
        assert self.start is not None
        loop = asyncio.get_running_loop()
        self.ending = True
        self.slot_event.set()
        await self.audio_q.put(None)
        face, audio, seconds = self.tasks
        await asyncio.gather(face, audio, return_exceptions=True)
        self.seconds_event.set()
        await asyncio.gather(seconds, return_exceptions=True)
        try:
            analysis = await self._loaded()
            self._transcribe(await loop.run_in_executor(self.timeline_exec, analysis.finish_audio))
            if self.asr_tasks:
                await asyncio.wait(set(self.asr_tasks), timeout=ASR_WAIT_S)
            for msg in await loop.run_in_executor(self.timeline_exec, analysis.ready_seconds, True):
                if send:
                    self._send(msg)
            if send:
                self._flush_drops()
            report = await loop.run_in_executor(
                self.timeline_exec, analysis.summary, self._stats(), self._cues()
            )
            job = await run_in_threadpool(
                self.rt.store.create_completed_job,
                self.tenant_id,
                "stream",
                self._metadata(),
                SCHEMA_VERSION,
                self._named(report).model_dump(mode="json"),
                self.started_at,
            )
        except Exception:  # noqa: BLE001 - the stream's top-level boundary: log, close 1011
            log.exception("stream summary failed")
            self._send(
                {"type": "error", "code": "internal_error", "message": "the summary could not be stored"}
            )
            return None
        finally:
            if self.analysis is not None:
                await loop.run_in_executor(self.timeline_exec, self.analysis.__exit__, None, None, None)
            self._shutdown_executors()
        metrics.JOBS_FINISHED.labels("stream", "completed").inc()
        await run_in_threadpool(self._announce, job.id)
        return job.id

    def _announce(self, job_id: str) -> None:
        try:
            for outbox_id in self.rt.store.job_outbox(job_id):
                self.rt.messages.fan_out(outbox_id)
        except Exception:  # noqa: BLE001 - the outbox sweep fans the event out later
            log.exception("stream %s: webhook fan-out deferred", job_id)

    def _stats(self) -> dict[str, Any]:
        assert self.start is not None
        return {
            "ended_by": self.counts_end,
            "fps_declared": self.start.fps,
            "audio": self.start.audio,
            **dict(self.counts),
            "dropped": dict(self.drops),
            "wall_seconds": round((datetime.now(UTC) - self.started_at).total_seconds(), 3),
        }

    async def _close(self, sender: asyncio.Task[None], error: StreamClose | None) -> None:
        if error is not None and error.code != "client_not_reading":
            self._send({"type": "error", "code": error.code, "message": error.message})
        with contextlib.suppress(asyncio.QueueFull):
            self.send_q.put_nowait(None)
        if error is not None and error.code == "client_not_reading":
            sender.cancel()
        with contextlib.suppress(asyncio.CancelledError, TimeoutError):
            await asyncio.wait_for(sender, FLUSH_TIMEOUT_S)
        if self.client_gone:
            return
        code, reason = (Close.NORMAL, "end") if error is None else (error.close, error.code)
        with contextlib.suppress(RuntimeError, OSError, TimeoutError):
            await asyncio.wait_for(self.ws.close(int(code), reason), FLUSH_TIMEOUT_S)

    def _shutdown_executors(self) -> None:
        self.timeline_exec.shutdown(wait=False)  # the face pool is the service's
