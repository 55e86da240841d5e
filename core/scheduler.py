"""The periodic tasks of a worker process: each runs once at start, then every interval, on its own thread.

``core.runtime`` lists them for every region the process serves: the job sweep (lost messages, dead
workers, orphaned media), the delivery sweep (outbox rows left behind, lost delivery messages), the
retention purge, Sink summaries (Slack digests), the Source catch-up, Graph subscription upkeep and the
owner-summary SLA check. A task's failure is logged and it runs again at its next time; a slow task (a
vendor call in catch-up) never delays another, and a task never overlaps itself in one process. Tasks are
safe to run in several processes at once: each claims its rows by conditional update.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass

__all__ = ["Periodic", "Scheduler"]

log = logging.getLogger("echodepth.scheduler")
_JOIN_SECONDS = 5.0  # how long stop() waits for a task that is mid-run (it is a daemon thread after that)


@dataclass(frozen=True)
class Periodic:
    """One task: ``run`` every ``interval_seconds``."""

    name: str
    interval_seconds: float
    run: Callable[[], object]


class Scheduler:
    """Runs ``tasks`` on their intervals until ``stop``."""

    def __init__(self, tasks: Sequence[Periodic]) -> None:
        self.tasks = tuple(tasks)
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def run_once(self) -> None:
        """Run every task once now, in order, on the calling thread."""
        for task in self.tasks:
            self._run(task)

    def start(self) -> None:
        """Run every task once now, then each on its own daemon thread every interval."""
        self._stop.clear()
        self.run_once()
        for task in self.tasks:
            thread = threading.Thread(target=self._loop, args=(task,), name=task.name, daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        """Stop the threads (a task mid-run finishes its round first, up to a few seconds)."""
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=_JOIN_SECONDS)
        self._threads = []

    def _loop(self, task: Periodic) -> None:
        while not self._stop.wait(task.interval_seconds):
            self._run(task)

    @staticmethod
    def _run(task: Periodic) -> None:
        try:
            task.run()
        except Exception:  # noqa: BLE001 - a background task's boundary: keep going through a database blip
            log.warning("%s failed; will try again", task.name, exc_info=True)
