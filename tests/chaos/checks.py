"""What a scenario counts after its fault: lost and duplicated jobs and events, resent messages."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from tests.chaos.cluster import Cluster
from tests.emulators.webhook_receiver import WebhookReceiver

__all__ = ["Outcome", "outcome", "accepted_jobs", "resent"]


@dataclass(frozen=True)
class Outcome:
    """Per-scenario counts (see tests/chaos/report.py)."""

    jobs: int
    not_completed: list[str]
    no_event: list[str]
    duplicated: int
    resent: int

    @property
    def lost(self) -> int:
        return len(set(self.not_completed) | set(self.no_event))


def accepted_jobs(receiver: WebhookReceiver) -> Counter[str]:
    """How many distinct messages the receiver accepted per job id."""
    return Counter(str(p["data"]["job_id"]) for p in receiver.accepted.values() if p and "data" in p)


def resent(receiver: WebhookReceiver) -> int:
    """Requests carrying a ``webhook-id`` the receiver had already accepted."""
    seen: set[str] = set()
    again = 0
    for got in receiver.received:
        msg_id = got.headers.get("webhook-id", "")
        if msg_id in seen:
            again += 1
        if got.accepted:
            seen.add(msg_id)
    return again


def outcome(cluster: Cluster, receiver: WebhookReceiver | None, job_ids: list[str], status: str) -> Outcome:
    """Jobs not ended in ``status``, jobs without an accepted event, and every duplicate."""
    states = cluster.job_states(job_ids)
    results = cluster.result_counts(job_ids)
    not_completed = [j for j in job_ids if states.get(j, ("missing", 0))[0] != status]
    duplicated = sum(max(0, n - 1) for n in results.values())
    no_event: list[str] = []
    again = 0
    if receiver is not None:
        per_job = accepted_jobs(receiver)
        no_event = [j for j in job_ids if per_job[j] == 0]
        duplicated += sum(max(0, n - 1) for j, n in per_job.items() if j in set(job_ids))
        again = resent(receiver)
    return Outcome(len(job_ids), not_completed, no_event, duplicated, again)
