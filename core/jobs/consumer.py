"""What the job queue and the webhook delivery queue share: worker threads on one broker queue and a sweep
thread that periodically repairs what a lost message or a dead worker left behind."""

from __future__ import annotations

import logging
import threading

import dramatiq

__all__ = ["Consumer"]

log = logging.getLogger("echodepth.jobs")


class Consumer:
    """Consumes one queue of ``broker`` on this process's threads and runs ``sweep_once`` periodically."""

    def __init__(
        self, broker: dramatiq.Broker, queue_name: str, threads: int, sweep_interval: float, name: str
    ) -> None:
        self.broker = broker
        self._queue_name, self._threads, self._interval, self._name = (
            queue_name,
            threads,
            sweep_interval,
            name,
        )
        self._worker: dramatiq.Worker | None = None
        self._sweep_stop = threading.Event()
        self._sweep_thread: threading.Thread | None = None

    def sweep_once(self) -> list[str]:
        """Repair one round of lost or abandoned work; returns the ids it re-sent."""
        raise NotImplementedError

    def start_worker(self, threads: int | None = None) -> None:
        """Consume this queue's messages on this process's threads."""
        self._worker = dramatiq.Worker(
            self.broker,
            queues={self._queue_name},
            worker_threads=threads or self._threads,
            worker_timeout=100,  # ms a thread waits for work before checking for shutdown
        )
        self._worker.start()

    def stop_worker(self) -> None:
        """Finish in-flight messages and stop consuming."""
        if self._worker is not None:
            self._worker.stop()
            self._worker = None

    def _sweep_loop(self) -> None:
        while not self._sweep_stop.wait(self._interval):
            try:
                self.sweep_once()
            except Exception:  # noqa: BLE001 - keep sweeping through a database blip
                log.warning("%s failed; will try again", self._name, exc_info=True)

    def start_sweeper(self) -> None:
        """Run ``sweep_once`` every ``sweep_interval`` seconds on a daemon thread."""
        self._sweep_stop.clear()
        self._sweep_thread = threading.Thread(target=self._sweep_loop, name=self._name, daemon=True)
        self._sweep_thread.start()

    def stop_sweeper(self) -> None:
        """Stop the sweep thread."""
        self._sweep_stop.set()
        if self._sweep_thread is not None:
            self._sweep_thread.join(timeout=5)
            self._sweep_thread = None
