"""Outgoing webhooks end to end against a receiver that verifies with the ``standardwebhooks`` package."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import text
from standardwebhooks.webhooks import Webhook

from core.delivery.events import envelope
from core.delivery.store import NewEvent
from core.storage.store import NewInput
from tests.conftest import Backend
from tests.emulators.webhook_receiver import Step, WebhookReceiver

ANALYSIS = ["analysis.completed", "analysis.failed"]


def _register(
    hub: Backend, url: str, events: list[str] | None = None, key: str | None = None
) -> dict[str, Any]:
    r = hub.client.post(
        "/v1/webhooks",
        json={"url": url, "events": events or ANALYSIS, "description": "t"},
        headers=hub.headers(key),
    )
    assert r.status_code == 201, r.text
    body: dict[str, Any] = r.json()
    return body


def _deliveries(hub: Backend, endpoint_id: str) -> list[dict[str, Any]]:
    r = hub.client.get(f"/v1/webhooks/{endpoint_id}/deliveries", headers=hub.headers())
    assert r.status_code == 200, r.text
    data: list[dict[str, Any]] = r.json()["data"]
    return data


def _wait_delivery(hub: Backend, endpoint_id: str, status: str, timeout: float = 30) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = [d for d in _deliveries(hub, endpoint_id) if d["status"] == status]
        if found:
            return found[0]
        time.sleep(0.05)
    raise AssertionError(f"no {status} delivery: {_deliveries(hub, endpoint_id)}")


def _failing_job(hub: Backend) -> str:
    """A job that ends ``failed`` at once (no analyser for its modality)."""
    rt = hub.runtime
    tenant = rt.store.authenticate(hub.key)
    assert tenant
    job = rt.store.create_job(tenant, "nosuchmodality", NewInput(text="x"), {}, None)
    rt.queue.enqueue(job.id)
    return job.id


def test_completed_job_posts_its_signed_result(hub: Backend, receiver: WebhookReceiver) -> None:
    endpoint = _register(hub, receiver.url)
    assert endpoint["secret"].startswith("whsec_")
    receiver.secret = endpoint["secret"]
    job_id = hub.submit("The launch went brilliantly and the whole team is delighted.")
    [payload] = receiver.wait_accepted(1)
    result = hub.wait(job_id)
    assert payload["type"] == "analysis.completed"
    assert payload["data"] == result
    assert result["status"] == "completed"
    first = receiver.received[0]
    assert first.headers["webhook-id"].startswith("msg_")
    assert abs(int(first.headers["webhook-timestamp"]) - time.time()) < 60
    done = _wait_delivery(hub, endpoint["id"], "delivered")
    assert done["attempts"] == 1 and done["last_status_code"] == 200


def test_failed_job_posts_analysis_failed(hub: Backend, receiver: WebhookReceiver) -> None:
    receiver.secret = _register(hub, receiver.url)["secret"]
    job_id = _failing_job(hub)
    [payload] = receiver.wait_accepted(1)
    assert payload["type"] == "analysis.failed"
    assert payload["data"]["job_id"] == job_id
    assert payload["data"]["error"]["code"] == "modality_unavailable"


def test_failed_attempts_are_retried_with_the_same_webhook_id(
    hub: Backend, receiver: WebhookReceiver
) -> None:
    endpoint = _register(hub, receiver.url)
    receiver.secret = endpoint["secret"]
    receiver.script = [Step(500), Step(503)]
    _failing_job(hub)
    receiver.wait_accepted(1)
    got = receiver.received
    assert len(got) == 3
    assert len({r.headers["webhook-id"] for r in got}) == 1
    assert [r.accepted for r in got] == [False, False, True]
    done = _wait_delivery(hub, endpoint["id"], "delivered")
    assert done["attempts"] == 3


def test_spent_schedule_dead_letters_and_replay_delivers(hub: Backend, receiver: WebhookReceiver) -> None:
    endpoint = _register(hub, receiver.url)
    receiver.secret = endpoint["secret"]
    receiver.script = [Step(500)] * 4
    _failing_job(hub)
    dead = _wait_delivery(hub, endpoint["id"], "dead")
    assert dead["attempts"] == 4 and dead["last_status_code"] == 500
    assert receiver.accepted == {}
    listed = hub.client.get(
        "/v1/webhooks/deliveries", params={"status": "dead"}, headers=hub.headers()
    ).json()
    assert [d["id"] for d in listed["data"]] == [dead["id"]]
    r = hub.client.post(f"/v1/webhooks/deliveries/{dead['id']}/replay", headers=hub.headers())
    assert r.status_code == 202, r.text
    assert r.json()["message_id"] == dead["message_id"]
    [payload] = receiver.wait_accepted(1)
    assert payload["type"] == "analysis.failed"
    assert receiver.received[-1].headers["webhook-id"] == dead["message_id"]
    replayed = _wait_delivery(hub, endpoint["id"], "delivered")
    assert replayed["replay_of"] == dead["id"]


def test_gone_disables_the_endpoint(embedded_hub: Callable[..., Backend], receiver: WebhookReceiver) -> None:
    hub = embedded_hub()
    endpoint = _register(hub, receiver.url)
    receiver.secret = endpoint["secret"]
    receiver.script = [Step(410)]
    _failing_job(hub)
    dead = _wait_delivery(hub, endpoint["id"], "dead")
    assert dead["attempts"] == 1 and dead["last_status_code"] == 410
    shown = hub.client.get(f"/v1/webhooks/{endpoint['id']}", headers=hub.headers()).json()
    assert shown["status"] == "disabled" and shown["disabled_reason"] == "endpoint_gone"
    hub.wait(_failing_job(hub))
    time.sleep(0.5)
    assert len(_deliveries(hub, endpoint["id"])) == 1
    r = hub.client.patch(f"/v1/webhooks/{endpoint['id']}", json={"status": "active"}, headers=hub.headers())
    assert r.json()["status"] == "active" and r.json()["disabled_reason"] is None


def test_retry_after_of_a_429_is_honoured(
    embedded_hub: Callable[..., Backend], receiver: WebhookReceiver
) -> None:
    hub = embedded_hub()
    receiver.secret = _register(hub, receiver.url)["secret"]
    receiver.script = [Step(429, {"Retry-After": "2"})]
    _failing_job(hub)
    receiver.wait_accepted(1)
    first, second = receiver.received
    assert second.at - first.at >= 1.9


def test_a_receiver_that_times_out_is_retried(
    embedded_hub: Callable[..., Backend], receiver: WebhookReceiver
) -> None:
    hub = embedded_hub(webhook_timeout_seconds=0.5)
    endpoint = _register(hub, receiver.url)
    receiver.secret = endpoint["secret"]
    receiver.script = [Step(200, delay=2)]
    _failing_job(hub)
    done = _wait_delivery(hub, endpoint["id"], "delivered")
    assert done["attempts"] == 2
    assert len(receiver.received) == 2
    assert len(receiver.accepted) == 1  # the slow first request was accepted; the retry was a duplicate


def test_per_job_webhook_url_is_signed_with_the_job_signing_secret(
    hub: Backend, receiver: WebhookReceiver
) -> None:
    r = hub.client.post("/v1/webhooks/job-signing-secret", headers=hub.headers())
    assert r.status_code == 200, r.text
    receiver.secret = r.json()["secret"]
    job_id = hub.submit("Honestly, I am not sure the numbers add up.", webhook_url=receiver.url)
    [payload] = receiver.wait_accepted(1)
    assert payload["data"] == hub.wait(job_id)
    assert hub.client.get("/v1/webhooks", headers=hub.headers()).json()["data"] == []


def test_rotation_signs_with_both_secrets_during_the_overlap(
    embedded_hub: Callable[..., Backend], receiver: WebhookReceiver
) -> None:
    hub = embedded_hub()
    endpoint = _register(hub, receiver.url)
    r = hub.client.post(f"/v1/webhooks/{endpoint['id']}/rotate-secret", headers=hub.headers())
    assert r.status_code == 200, r.text
    new = r.json()["secret"]
    assert new != endpoint["secret"] and r.json()["previous_secret_expires_at"]
    receiver.secret = new
    _failing_job(hub)
    receiver.wait_accepted(1)
    got = receiver.received[0]
    assert len(got.headers["webhook-signature"].split()) == 2
    for secret in (endpoint["secret"], new):
        Webhook(secret).verify(got.body, got.headers)


def test_rotation_without_overlap_drops_the_old_secret(
    embedded_hub: Callable[..., Backend], receiver: WebhookReceiver
) -> None:
    hub = embedded_hub(webhook_secret_overlap_seconds=0)
    endpoint = _register(hub, receiver.url)
    receiver.secret = hub.client.post(
        f"/v1/webhooks/{endpoint['id']}/rotate-secret", headers=hub.headers()
    ).json()["secret"]
    _failing_job(hub)
    receiver.wait_accepted(1)
    assert len(receiver.received[0].headers["webhook-signature"].split()) == 1


def test_needs_reauth_goes_only_to_subscribed_endpoints(
    embedded_hub: Callable[..., Backend], receiver: WebhookReceiver
) -> None:
    hub = embedded_hub()
    analysis_only = _register(hub, receiver.url)
    reauth = _register(hub, receiver.url, ["connection.needs_reauth"])
    receiver.secret = reauth["secret"]
    tenant = hub.runtime.store.authenticate(hub.key)
    assert tenant
    event = NewEvent(
        tenant, "connection.needs_reauth", envelope("connection.needs_reauth", {"provider": "zoom"})
    )
    assert len(hub.runtime.deliveries.emit(event)) == 1
    [payload] = receiver.wait_accepted(1)
    assert payload["data"] == {"provider": "zoom"}
    assert _deliveries(hub, analysis_only["id"]) == []


def test_raw_rows_hold_no_webhook_secret(
    embedded_hub: Callable[..., Backend], receiver: WebhookReceiver
) -> None:
    hub = embedded_hub()
    secret = _register(hub, receiver.url)["secret"]
    raw = secret.removeprefix("whsec_")
    with hub.runtime.db.engine.connect() as conn:
        for table in ("vault_secrets", "webhook_endpoints", "webhook_deliveries"):
            for row in conn.execute(text(f"SELECT * FROM {table}")):
                dump = repr(tuple(row))
                assert raw not in dump and secret not in dump
