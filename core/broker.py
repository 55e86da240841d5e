"""The dramatiq broker a region's queues share, the messages core sends on it, and worker threads.

Producers send messages by actor name (``Messages``): a route, a Source or a finished job never holds the
consumer that will handle them, so nothing is wired after construction and no package imports a queue to
talk to it. The consumers declare the actors: ``analyse_job`` on ``analyses`` (core.jobs.queue),
``fan_out`` and ``deliver_webhook`` on ``webhooks`` (core.delivery.queue). A message that cannot be sent
(the broker is down) is not lost: its committed row is the truth, and a sweep (core.scheduler) sends it.
"""

from __future__ import annotations

import logging

import dramatiq
from dramatiq.brokers.stub import StubBroker

from core.sdk.errors import ConfigError
from core.settings import Settings

__all__ = [
    "ANALYSES_QUEUE",
    "ANALYSE_ACTOR",
    "WEBHOOK_QUEUE",
    "DELIVER_ACTOR",
    "FAN_OUT_ACTOR",
    "make_broker",
    "Messages",
    "Consumer",
]

log = logging.getLogger("echodepth.broker")
ANALYSES_QUEUE = "analyses"
ANALYSE_ACTOR = "analyse_job"
WEBHOOK_QUEUE = "webhooks"
DELIVER_ACTOR = "deliver_webhook"
FAN_OUT_ACTOR = "fan_out"


def make_broker(settings: Settings) -> dramatiq.Broker:
    """Redis or RabbitMQ from ``ECHODEPTH_BROKER_URL``; without one an in-process stub broker."""
    url = settings.broker_url or ""
    if url.startswith(("redis://", "rediss://", "unix://")):
        from dramatiq.brokers.redis import RedisBroker

        return RedisBroker(url=url, namespace=settings.broker_namespace)
    if url.startswith(("amqp://", "amqps://")):
        from dramatiq.brokers.rabbitmq import RabbitmqBroker

        return RabbitmqBroker(url=url)
    if url:
        raise ConfigError(f"ECHODEPTH_BROKER_URL must be redis://, rediss:// or amqp://, not {url!r}")
    return StubBroker()


class Messages:
    """Sends core's messages on ``broker``; each method returns False when the broker is down."""

    def __init__(self, broker: dramatiq.Broker) -> None:
        self.broker = broker

    def analyse(self, job_id: str) -> bool:
        """Ask a worker to run the committed job ``job_id``."""
        return self._send(ANALYSES_QUEUE, ANALYSE_ACTOR, job_id)

    def fan_out(self, outbox_id: str) -> bool:
        """Ask a worker to turn the outbox row ``outbox_id`` into its deliveries (and send them)."""
        return self._send(WEBHOOK_QUEUE, FAN_OUT_ACTOR, outbox_id)

    def deliver(self, delivery_id: str, delay_seconds: float = 0) -> bool:
        """Ask a worker to attempt the delivery row ``delivery_id`` (after ``delay_seconds``)."""
        return self._send(WEBHOOK_QUEUE, DELIVER_ACTOR, delivery_id, delay_seconds)

    def _send(self, queue: str, actor: str, row_id: str, delay_seconds: float = 0) -> bool:
        message: dramatiq.Message[None] = dramatiq.Message(
            queue_name=queue, actor_name=actor, args=(row_id,), kwargs={}, options={}
        )
        try:
            self.broker.enqueue(message, delay=int(delay_seconds * 1000) or None)
            return True
        except Exception:  # noqa: BLE001 - any broker failure: the committed row is the truth
            log.warning("could not send %s(%s); a sweep will send it", actor, row_id, exc_info=True)
            return False


class Consumer:
    """Consumes one queue of ``broker`` on this process's threads."""

    def __init__(self, broker: dramatiq.Broker, queue_name: str, threads: int) -> None:
        self.broker = broker
        self._queue_name, self._threads = queue_name, threads
        self._worker: dramatiq.Worker | None = None

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
