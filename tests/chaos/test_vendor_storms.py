"""A receiver in a storm (429 with Retry-After, 5xx, answers slower than the timeout): every message is
retried with backoff until it is accepted once; one that never gets through is a dead letter, listed by
the API and delivered by a replay under the same ``webhook-id``."""

from __future__ import annotations

import time

import httpx

from tests.chaos.checks import accepted_jobs, outcome
from tests.chaos.cluster import Cluster, wait_jobs_ended
from tests.chaos.report import Row, record, size
from tests.chaos.services import wait_until
from tests.emulators.webhook_receiver import Step, WebhookReceiver

RETRIES = 5  # CHAOS_SETTINGS webhook_retry_schedule has five steps: six attempts in all
STORM = [
    Step(429, {"Retry-After": "1"}),
    Step(503, {"Retry-After": "1"}),
    Step(500),
    Step(200, delay=3.0),  # slower than webhook_timeout_seconds (2 s): a timeout, not an acceptance
    Step(502),
]


def test_storm_of_429_5xx_and_timeouts_ends_with_every_message_accepted_once(
    deployment: Cluster, receiver: WebhookReceiver
) -> None:
    key = deployment.new_key()
    deployment.subscribe(key, receiver, ["analysis.completed"])
    n = int(size(4, 40))
    receiver.script = STORM * int(size(1, 8))
    jobs = [
        deployment.submit_text(key, f"Storm {i}: the buyer sounded annoyed, then relieved.") for i in range(n)
    ]
    started = time.monotonic()
    wait_jobs_ended(deployment, jobs, timeout=120)
    recovery = None
    try:
        wait_until(lambda: all(accepted_jobs(receiver)[j] for j in jobs), 120, "every webhook accepted")
        recovery = time.monotonic() - started
    finally:
        got = outcome(deployment, receiver, jobs, "completed")
        note = f"{len(receiver.received)} requests for {n} messages; script left {len(receiver.script)}"
        record(
            Row(
                "receiver storm: 429+Retry-After, 5xx, timeouts",
                n,
                got.lost,
                got.duplicated,
                0,
                recovery,
                note,
            )
        )
    assert got.lost == 0 and got.duplicated == 0, got
    assert receiver.script == []  # every scripted failure was met by a retry


def _dead(cluster: Cluster, key: str) -> list[dict[str, object]]:
    r = cluster.request("GET", "/v1/webhooks/deliveries", key, params={"status": "dead"})
    assert r.status_code == 200, r.text
    rows: list[dict[str, object]] = r.json()["data"]
    return rows


def test_a_message_refused_on_every_attempt_is_a_dead_letter_that_a_replay_delivers(
    deployment: Cluster, receiver: WebhookReceiver
) -> None:
    key = deployment.new_key()
    deployment.subscribe(key, receiver, ["analysis.completed"])
    receiver.script = [Step(500)] * (RETRIES + 1)
    [job] = [deployment.submit_text(key, "This one's webhook will be refused every time it is sent.")]
    wait_jobs_ended(deployment, [job], timeout=60)
    wait_until(lambda: _dead(deployment, key), 60, "the dead letter")
    [dead] = _dead(deployment, key)
    assert dead["attempts"] == RETRIES + 1 and dead["last_status_code"] == 500
    replayed = deployment.request("POST", f"/v1/webhooks/deliveries/{dead['id']}/replay", key)
    assert replayed.status_code == 202, replayed.text
    assert replayed.json()["message_id"] == dead["message_id"]
    started = time.monotonic()
    try:
        wait_until(lambda: accepted_jobs(receiver)[job] == 1, 30, "the replayed delivery")
    finally:
        got = outcome(deployment, receiver, [job], "completed")
        note = f"dead after {dead['attempts']} attempts; replay accepted under {dead['message_id']}"
        record(
            Row(
                "dead letter listed, then replayed",
                1,
                got.lost,
                got.duplicated,
                0,
                time.monotonic() - started,
                note,
            )
        )
    assert {r.headers["webhook-id"] for r in receiver.received} == {dead["message_id"]}
    assert not httpx.get(deployment.api_url() + "/healthz").is_error
