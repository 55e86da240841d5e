"""The job queue: a dramatiq broker (Redis, RabbitMQ, or in-process), the analysis actor and the sweep.

Order of events for one job: the API commits the job row, then sends a message. A worker claims the
job (conditional update), keeps a lease alive while the engine runs, and stores the result only if it
still holds that attempt. The sweep re-sends messages for jobs queued too long (lost message) and for
jobs whose lease ran out (dead worker); a duplicate message finds nothing to claim and does nothing.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import dramatiq
from dramatiq.brokers.stub import StubBroker
from dramatiq.middleware import CurrentMessage

from core import metrics
from core.jobs.analysis import Context, MediaCharge, SourceFetch, job_metadata, run_analysis
from core.jobs.consumer import Consumer
from core.media.spool import Spool
from core.sdk.errors import EngineError
from core.sdk.schema import SCHEMA_VERSION
from core.settings import Settings
from core.storage.store import Claim, Store

__all__ = ["JobQueue", "QUEUE_NAME", "ACTOR_NAME"]

log = logging.getLogger("echodepth.jobs")
QUEUE_NAME = "analyses"
ACTOR_NAME = "analyse_job"


def _make_broker(settings: Settings) -> dramatiq.Broker:
    url = settings.broker_url or ""
    if url.startswith(("redis://", "rediss://", "unix://")):
        from dramatiq.brokers.redis import RedisBroker

        return RedisBroker(url=url, namespace=settings.broker_namespace)
    if url.startswith(("amqp://", "amqps://")):
        from dramatiq.brokers.rabbitmq import RabbitmqBroker

        return RabbitmqBroker(url=url)
    if url:
        from core.sdk.errors import ConfigError

        raise ConfigError(f"ECHODEPTH_BROKER_URL must be redis://, rediss:// or amqp://, not {url!r}")
    return StubBroker()


class _LeaseKeeper:
    """Renews a claim's lease in the background while the engine runs."""

    def __init__(self, store: Store, claim: Claim, lease_seconds: float) -> None:
        self._store, self._claim, self._lease = store, claim, lease_seconds
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"lease-{claim.job_id[:8]}", daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(self._lease / 3):
            if not self._store.renew_lease(self._claim, self._lease):
                return

    def __enter__(self) -> _LeaseKeeper:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


class JobQueue(Consumer):
    """The broker, the ``analyse_job`` actor bound to it, and the lost-message sweep."""

    def __init__(self, settings: Settings, store: Store, spool: Spool) -> None:
        super().__init__(
            _make_broker(settings),
            QUEUE_NAME,
            settings.worker_threads,
            settings.sweep_interval_seconds,
            "sweep",
        )
        self.settings = settings
        self.store = store
        self.spool = spool
        self._ctx = Context(settings, spool, job_metadata=job_metadata(store.db))  # participants → speakers
        self.broker.add_middleware(CurrentMessage())
        self.actor: Any = dramatiq.actor(
            actor_name=ACTOR_NAME,
            queue_name=QUEUE_NAME,
            broker=self.broker,
            max_retries=settings.job_max_retries,
            min_backoff=settings.retry_min_backoff_ms,
            max_backoff=settings.retry_max_backoff_ms,
        )(self._analyse_job)
        # Called with the job id once a job has ended (completed or failed): emits webhook events.
        self.on_finished: Callable[[str], None] | None = None
        # Other periodic housekeeping run at the end of every sweep (the retention purge throttles itself).
        self.periodic: list[Callable[[], None]] = []

    def use_source_fetch(self, fetch: SourceFetch) -> None:
        """Download the media items a Source announced (Zoom, Teams) with ``fetch`` (``core.sources``)."""
        self._ctx = replace(self._ctx, fetch_source=fetch)

    def use_media_quota(self, charge: MediaCharge) -> None:
        """Charge fetched audio/video to the tenant's media minutes with ``charge`` (``core.jobs.quota``)."""
        self._ctx = replace(self._ctx, charge_media=charge)

    # producer side ----------------------------------------------------------------------------

    def enqueue(self, job_id: str) -> bool:
        """Send the job's message; False if the broker is down (the sweep will send it later)."""
        try:
            self.actor.send(job_id)
            return True
        except Exception:  # noqa: BLE001 - any broker failure: the committed job row is the truth
            log.warning("could not enqueue job %s; the sweep will retry", job_id, exc_info=True)
            return False

    def ping(self) -> None:
        """Raise if the broker cannot be reached."""
        client = getattr(self.broker, "client", None)
        if client is not None:
            client.ping()
        elif hasattr(self.broker, "connection"):
            self.broker.get_declared_queues()
            _ = self.broker.connection

    # consumer side ----------------------------------------------------------------------------

    def _retries_left(self) -> bool:
        message = CurrentMessage.get_current_message()
        done = message.options.get("retries", 0) if message is not None else 0
        return bool(done < self.settings.job_max_retries)

    def _analyse_job(self, job_id: str) -> None:
        claim = self.store.claim(job_id, self.settings.job_lease_seconds)
        if claim is None:
            log.info("job %s: nothing to claim (done, running elsewhere or erased)", job_id)
            return
        started = time.perf_counter()
        try:
            with _LeaseKeeper(self.store, claim, self.settings.job_lease_seconds):
                report = run_analysis(claim, self._ctx)
        except EngineError as exc:
            self._on_failure(claim, exc.code, exc.message, exc.retryable, exc)
            return
        except Exception as exc:  # noqa: BLE001 - the one boundary: log, then retry or fail with a code
            log.exception("job %s attempt %s crashed", job_id, claim.attempt)
            self._on_failure(claim, "internal_error", "analysis failed unexpectedly", True, exc)
            return
        body = report.model_dump(mode="json")
        completed = self.store.complete(claim, SCHEMA_VERSION, body)
        self.spool.delete(job_id)
        if completed:
            metrics.JOBS_FINISHED.labels(claim.modality, "completed").inc()
            metrics.JOB_SECONDS.labels(claim.modality).observe(time.perf_counter() - started)
            self._finished(job_id)

    def _on_failure(self, claim: Claim, code: str, message: str, retryable: bool, exc: BaseException) -> None:
        if retryable and self._retries_left():
            self.store.release(claim)
            raise exc  # dramatiq's Retries middleware re-delivers with backoff
        failed = self.store.fail(claim.job_id, code, message, claim.attempt)
        self.spool.delete(claim.job_id)
        if failed:
            metrics.JOBS_FINISHED.labels(claim.modality, "failed").inc()
            self._finished(claim.job_id)

    def _finished(self, job_id: str) -> None:
        """Tell ``on_finished`` (webhook events); its failure never fails the job."""
        if self.on_finished is None:
            return
        try:
            self.on_finished(job_id)
        except Exception:  # noqa: BLE001 - the job has ended; event fan-out problems are only logged
            log.exception("job %s: could not emit its events", job_id)

    # sweep ------------------------------------------------------------------------------------

    def sweep_once(self) -> list[str]:
        """Re-send messages for lost or abandoned jobs; returns their ids."""
        ids = self.store.due_for_requeue(self.settings.requeue_after_seconds)
        for job_id in ids:
            log.info("sweep: re-enqueueing job %s", job_id)
            self.enqueue(job_id)
        metrics.JOBS_REQUEUED.inc(len(ids))
        self._drop_orphaned_media()
        for task in self.periodic:
            task()
        return ids

    def _drop_orphaned_media(self) -> None:
        """Delete spooled media whose job has ended or been erased (e.g. a worker died mid-cleanup)."""
        job_ids = self.spool.jobs()
        stale_after = time.time() - self.settings.job_lease_seconds
        active = self.store.active_job_ids(job_ids)
        for job_id in job_ids:
            modified = self.spool.last_modified(job_id)
            if job_id not in active and modified is not None and modified < stale_after:
                log.info("sweep: removing orphaned media of job %s", job_id)
                self.spool.delete(job_id)

    def stop(self) -> None:
        """Stop the sweep and the worker (the broker stays open)."""
        self.stop_sweeper()
        self.stop_worker()

    def close(self) -> None:
        """Stop everything this queue started and close the broker."""
        self.stop()
        self.broker.close()
