"""SIGKILL a worker mid-analysis, mid-delivery and mid-fan-out: every job completes once, every webhook is
accepted once (one ``webhook-id`` per message), and no spool file is left."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.chaos import faults
from tests.chaos.checks import accepted_jobs, outcome
from tests.chaos.cluster import Cluster, wait_jobs_ended
from tests.chaos.report import Row, record, size
from tests.chaos.services import wait_until
from tests.emulators.webhook_receiver import WebhookReceiver

SPEECH = Path(__file__).resolve().parents[1] / "fixtures" / "audio" / "speech_pauses_um.wav"


def _text(n: int) -> str:
    return f"Call {n}: I am really pleased with how the demo went, though the price still worries me."


def _submit_audio(cluster: Cluster, key: str) -> str:
    files = {"file": ("speech.wav", SPEECH.read_bytes(), "audio/wav")}
    r = cluster.request("POST", "/v1/analyse/audio", key, files=files)
    assert r.status_code == 202, r.text
    job_id: str = r.json()["job_id"]
    return job_id


def _killed_worker(cluster: Cluster, point: str, timeout: float = 90) -> float:
    """Wait until a worker died at ``point``; start it again in the background; returns when it died."""
    wait_until(lambda: faults.fired(cluster.fault_dir, point), timeout, f"a worker to die at {point!r}")
    died = time.monotonic()
    wait_until(lambda: not all(w.alive() for w in cluster.workers), 10, "the killed worker to exit")
    for worker in cluster.workers:
        if not worker.alive():
            worker.deaths += 1
            worker.spawn()  # the other worker carries on meanwhile
    (cluster.fault_dir / f"{point}.fired").unlink()
    return died


def _run(
    cluster: Cluster, receiver: WebhookReceiver, point: str, scenario: str, audio: bool, resend: bool = False
) -> None:
    key = cluster.new_key()
    cluster.subscribe(key, receiver, ["analysis.completed"])
    faults.arm(cluster.fault_dir, point)
    jobs = [_submit_audio(cluster, key)] if audio else []
    jobs += [cluster.submit_text(key, _text(n)) for n in range(int(size(4, 40)))]
    died = _killed_worker(cluster, point)
    wait_jobs_ended(cluster, jobs, timeout=180)
    wait_until(lambda: all(accepted_jobs(receiver)[j] for j in jobs), 90, "every job's webhook")
    if resend:  # the killed worker's message was accepted; its redelivery comes once the claim's lease ends
        wait_until(lambda: _sent_twice(receiver) >= 1, 60, "the killed worker's message again")
    recovery = time.monotonic() - died
    time.sleep(1)  # a late duplicate would arrive now
    got = outcome(cluster, receiver, jobs, "completed")
    left = cluster.spool_files()
    record(
        Row(
            scenario,
            got.jobs,
            got.lost,
            got.duplicated,
            got.resent,
            recovery,
            f"spool files left: {len(left)}",
        )
    )
    assert got.lost == 0 and got.duplicated == 0, got
    assert left == []


def test_worker_killed_mid_analysis_reruns_the_job_once(
    deployment: Cluster, receiver: WebhookReceiver
) -> None:
    _run(deployment, receiver, "analysis", "worker SIGKILL mid-analysis", audio=True)


def test_worker_killed_after_the_receiver_answered_delivers_one_message(
    deployment: Cluster, receiver: WebhookReceiver
) -> None:
    _run(
        deployment,
        receiver,
        "delivered",
        "worker SIGKILL mid-delivery (answered, not recorded)",
        audio=False,
        resend=True,
    )
    assert _sent_twice(receiver) >= 1  # the killed worker's message came again, under its own webhook-id


@pytest.mark.parametrize("point", ["fan_out_start", "fan_out"])
def test_worker_killed_mid_fan_out_still_delivers_every_event(
    deployment: Cluster, receiver: WebhookReceiver, point: str
) -> None:
    name = {"fan_out_start": "before deliveries exist", "fan_out": "deliveries committed, not sent"}[point]
    _run(deployment, receiver, point, f"worker SIGKILL mid-fan-out ({name})", audio=False)


def _sent_twice(receiver: WebhookReceiver) -> int:
    ids = [r.headers.get("webhook-id") for r in receiver.received if r.verified]
    return len(ids) - len(set(ids))
