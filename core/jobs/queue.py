"""The job queue: the ``analyse_job`` actor on the region's broker (core.broker) and the lost-job sweep.

Order of events for one job: the API commits the job row, then sends a message. A worker claims the
job (conditional update), keeps a lease alive while the engine runs, and stores the result only if it
still holds that attempt. A job's end writes its event to the outbox in the same transaction; the worker
then sends ``fan_out(outbox_id)`` for it (core.delivery fans it out). The sweep (run by core.scheduler)
re-sends messages for jobs queued too long (lost message) and for jobs whose lease ran out (dead worker);
a duplicate message finds nothing to claim and does nothing. Retries are dramatiq's: the actor declares
``retry_when`` (a retryable failure while ``job_max_retries`` remain) and the backoff.
"""

from __future__ import annotations

import logging
import threading
import time

import dramatiq
from dramatiq.middleware import CurrentMessage

from core import metrics
from core.broker import ANALYSE_ACTOR, ANALYSES_QUEUE, Consumer, Messages
from core.jobs.analysis import Context, run_analysis
from core.media.spool import Spool
from core.sdk.errors import EngineError
from core.sdk.schema import SCHEMA_VERSION
from core.settings import Settings
from core.storage.store import Claim, Store

__all__ = ["JobQueue", "QUEUE_NAME", "ACTOR_NAME"]

log = logging.getLogger("echodepth.jobs")
QUEUE_NAME = ANALYSES_QUEUE
ACTOR_NAME = ANALYSE_ACTOR


class _Retryable(Exception):
    """An attempt that another attempt may fix (its claim already released); dramatiq retries it."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code


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
    """The ``analyse_job`` actor bound to the region's broker, and the lost-job sweep."""

    def __init__(
        self,
        settings: Settings,
        broker: dramatiq.Broker,
        store: Store,
        spool: Spool,
        messages: Messages,
        ctx: Context,
    ) -> None:
        super().__init__(broker, QUEUE_NAME, settings.worker_threads)
        self.settings, self.store, self.spool, self.messages = settings, store, spool, messages
        self._ctx = ctx  # the analysers' collaborators: Source downloads, media quota, stored metadata
        self.broker.add_middleware(CurrentMessage())
        self.actor: dramatiq.Actor[[str], None] = dramatiq.actor(
            actor_name=ACTOR_NAME,
            queue_name=QUEUE_NAME,
            broker=self.broker,
            retry_when=self.retry_when,
            min_backoff=settings.retry_min_backoff_ms,
            max_backoff=settings.retry_max_backoff_ms,
        )(self._analyse_job)

    def retry_when(self, retries: int, exc: BaseException) -> bool:
        """The actor's retry policy: a retryable failure, while ``job_max_retries`` retries remain."""
        return isinstance(exc, _Retryable) and retries < self.settings.job_max_retries

    # producer side ----------------------------------------------------------------------------

    def enqueue(self, job_id: str) -> bool:
        """Send the job's message; False if the broker is down (the sweep will send it later)."""
        return self.messages.analyse(job_id)

    def ping(self) -> None:
        """Raise if the broker cannot be reached."""
        client = getattr(self.broker, "client", None)
        if client is not None:
            client.ping()
        elif hasattr(self.broker, "connection"):
            self.broker.get_declared_queues()
            _ = self.broker.connection

    # consumer side ----------------------------------------------------------------------------

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
            self._on_failure(claim, exc.code, exc.message, exc.retryable)
            return
        except Exception:  # noqa: BLE001 - the one boundary: log, then retry or fail with a code
            log.exception("job %s attempt %s crashed", job_id, claim.attempt)
            self._on_failure(claim, "internal_error", "analysis failed unexpectedly", True)
            return
        completed = self.store.complete(claim, SCHEMA_VERSION, report.model_dump(mode="json"))
        if completed:  # a stale attempt must not delete the media of the attempt that replaced it
            self.spool.delete(job_id)
            metrics.JOBS_FINISHED.labels(claim.modality, "completed").inc()
            metrics.JOB_SECONDS.labels(claim.modality).observe(time.perf_counter() - started)
            self._announce(job_id)

    def _on_failure(self, claim: Claim, code: str, message: str, retryable: bool) -> None:
        failure = _Retryable(code, message) if retryable else None
        current = CurrentMessage.get_current_message()
        retries = current.options.get("retries", 0) if current is not None else 0
        if failure is not None and self.retry_when(retries, failure):
            self.store.release(claim)
            raise failure  # dramatiq's Retries middleware re-delivers with backoff
        failed = self.store.fail(claim.job_id, code, message, claim.attempt)
        if failed:  # otherwise the job is another attempt's (or over): the orphan sweep tidies up
            self.spool.delete(claim.job_id)
            metrics.JOBS_FINISHED.labels(claim.modality, "failed").inc()
            self._announce(claim.job_id)

    def _announce(self, job_id: str) -> None:
        """Send ``fan_out`` for the job's event in the outbox (the outbox sweep is the backstop)."""
        for outbox_id in self.store.job_outbox(job_id):
            self.messages.fan_out(outbox_id)

    # sweep ------------------------------------------------------------------------------------

    def sweep_once(self) -> list[str]:
        """Re-send messages for lost or abandoned jobs and drop orphaned media; returns the jobs' ids."""
        ids = self.store.due_for_requeue(self.settings.requeue_after_seconds)
        for job_id in ids:
            log.info("sweep: re-enqueueing job %s", job_id)
            self.enqueue(job_id)
        metrics.JOBS_REQUEUED.inc(len(ids))
        self._drop_orphaned_media()
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
        """Stop the worker (the broker stays open)."""
        self.stop_worker()
