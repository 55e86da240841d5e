"""Redis and PostgreSQL restarted under load: while a store is down the API answers ``503`` problem+json
with ``Retry-After`` (never a 500, never a hang) and ``/readyz`` names the store; once it is back everything
resumes by itself and no accepted job or event is lost."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx
import pytest

from tests.chaos.checks import accepted_jobs, outcome
from tests.chaos.cluster import Cluster, wait_jobs_ended
from tests.chaos.report import Row, record, size
from tests.chaos.services import wait_until
from tests.emulators.webhook_receiver import WebhookReceiver

HANG_SECONDS = 10  # an answer slower than this counts as a hang


@dataclass
class Answer:
    """One submit as the client saw it."""

    at: float
    status: int  # 0: no answer (connection refused, reset or timeout)
    code: str | None
    problem_json: bool
    retry_after: str | None
    job_id: str | None
    error: str = ""

    def acceptable_in_outage(self) -> bool:
        """202, or a 503 problem+json with Retry-After."""
        if self.status == 202:
            return True
        return self.status == 503 and self.problem_json and self.retry_after is not None


@dataclass
class Load:
    """Submits text jobs to both APIs, one every ``every`` seconds, until stopped."""

    cluster: Cluster
    key: str
    every: float = 0.1
    answers: list[Answer] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)

    def _one(self, n: int) -> Answer:
        at = time.monotonic()
        body = {"text": f"Submit {n} during a store restart: the team seems calm and quite confident."}
        try:
            r = self.cluster.request("POST", "/v1/analyse/text", self.key, json=body, timeout=HANG_SECONDS)
        except httpx.HTTPError as exc:
            return Answer(at, 0, None, False, None, None, type(exc).__name__)
        problem = r.headers.get("content-type", "").startswith("application/problem+json")
        data = r.json() if r.headers.get("content-type", "").endswith("json") else {}
        code = data.get("code") if problem else None
        job = data.get("job_id") if r.status_code == 202 else None
        return Answer(at, r.status_code, code, problem, r.headers.get("retry-after"), job)

    def _run(self) -> None:
        n = 0
        while not self._stop.is_set():
            self.answers.append(self._one(n))
            n += 1
            self._stop.wait(self.every)

    def __enter__(self) -> Load:
        self._thread = threading.Thread(target=self._run, name="chaos-load", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=HANG_SECONDS + 5)

    def jobs(self) -> list[str]:
        return [a.job_id for a in self.answers if a.job_id]


def _readiness(cluster: Cluster) -> list[tuple[int, str]]:
    """(status, detail) of /readyz on both APIs."""
    out = []
    for n in range(len(cluster.apis)):
        try:
            r = httpx.get(cluster.api_url(n) + "/readyz", timeout=HANG_SECONDS)
            out.append((r.status_code, str(r.json().get("detail") or r.json().get("status"))))
        except httpx.HTTPError as exc:
            out.append((0, type(exc).__name__))
    return out


def _outage(
    cluster: Cluster,
    receiver: WebhookReceiver,
    scenario: str,
    store: str,
    stop: Callable[[], None],
    start: Callable[[], None],
) -> None:
    key = cluster.new_key()
    cluster.subscribe(key, receiver, ["analysis.completed"])
    down_for = float(size(4, 30))
    with Load(cluster, key) as load:
        time.sleep(1.5)
        stop()
        down_at = time.monotonic()
        time.sleep(1)
        ready_while_down = _readiness(cluster)
        time.sleep(max(0.0, down_for - (time.monotonic() - down_at)))
        start()
        up_at = time.monotonic()
        time.sleep(2)
    during = [a for a in load.answers if down_at <= a.at <= up_at]
    bad = [a for a in load.answers if not a.acceptable_in_outage()]
    jobs = load.jobs()
    recovery = None
    try:
        wait_jobs_ended(cluster, jobs, timeout=180)
        wait_until(lambda: all(accepted_jobs(receiver)[j] for j in jobs), 120, "every job's webhook")
        recovery = time.monotonic() - up_at
    finally:
        got = outcome(cluster, receiver, jobs, "completed")
        statuses = sorted({a.status for a in load.answers})
        note = f"answers {statuses}; bad {len(bad)} e.g. {_example(bad)}; readyz down {ready_while_down}"
        record(Row(scenario, got.jobs, got.lost, got.duplicated, got.resent, recovery, note))
    assert during, "no request was made while the store was down"
    assert not bad, f"{len(bad)} answers were neither 202 nor 503+Retry-After: {bad[:5]}"
    assert all(status == 503 and store in detail for status, detail in ready_while_down), ready_while_down
    assert got.lost == 0 and got.duplicated == 0, got


def _example(bad: list[Answer]) -> str:
    if not bad:
        return "-"
    a = bad[0]
    return f"{a.status} {a.code or a.error}"


def test_redis_restart_answers_503_while_down_and_loses_nothing(
    deployment: Cluster, receiver: WebhookReceiver
) -> None:
    _outage(
        deployment,
        receiver,
        "Redis restarted mid-run (data gone)",
        "broker",
        deployment.redis.stop,
        deployment.redis.start,
    )


@pytest.mark.parametrize("mode", ["fast"])
def test_postgres_restart_answers_503_while_down_and_loses_nothing(
    deployment: Cluster, receiver: WebhookReceiver, mode: str
) -> None:
    _outage(
        deployment,
        receiver,
        f"PostgreSQL restarted mid-run (stop -m {mode})",
        "database",
        lambda: deployment.pg.stop(mode),
        deployment.pg.start,
    )
