"""Retention purge, export, erase-all and the audit log, through the API as a tenant uses them."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select, update

from core.connections.oauth import TokenSet
from core.delivery.models import WebhookDelivery
from core.governance.models import AuditEntry
from core.storage.idempotency import IdempotencyKey
from core.storage.models import Job, JobInput, Result, utcnow
from core.storage.outbox import OutboxEvent
from tests.conftest import Backend


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _age(b: Backend, job_id: str, days: float) -> None:
    """Pretend the job ended ``days`` ago (and its webhook deliveries were made then)."""
    then = utcnow() - timedelta(days=days)
    with b.runtime.db.session() as s:
        s.execute(update(Job).where(Job.id == job_id).values(created_at=then, completed_at=then))
        s.execute(
            update(WebhookDelivery)
            .where(WebhookDelivery.payload["data"]["job_id"].as_string() == job_id)
            .values(created_at=then)
        )
        s.commit()


def _webhook(b: Backend, key: str | None = None) -> str:
    r = b.client.post(
        "/v1/webhooks",
        json={"url": f"http://127.0.0.1:{_closed_port()}/hook", "events": ["analysis.completed"]},
        headers=b.headers(key),
    )
    assert r.status_code == 201, r.text
    return str(r.json()["secret"])


def _status(b: Backend, job_id: str, key: str | None = None) -> int:
    return b.client.get(f"/v1/result/{job_id}", headers=b.headers(key)).status_code


def _count(b: Backend, model: Any, *where: Any) -> int:
    with b.runtime.db.session() as s:
        return int(s.scalar(select(func.count()).select_from(model).where(*where)) or 0)


def _audit(b: Backend, key: str | None = None, **params: Any) -> list[dict[str, Any]]:
    r = b.client.get("/v1/audit", params=params, headers=b.headers(key))
    assert r.status_code == 200, r.text
    data: list[dict[str, Any]] = r.json()["data"]
    return data


def test_purge_removes_jobs_results_and_deliveries_past_each_tenants_retention(backend: Backend) -> None:
    b = backend
    b.runtime.settings.allow_private_urls = True
    other = b.new_key("globex")
    _webhook(b)
    r = b.client.put("/v1/tenants/me/retention", json={"days": 30}, headers=b.headers())
    assert r.status_code == 200 and r.json()["effective_retention_days"] == 30
    old, recent = b.submit("An old call."), b.submit("A recent call.")
    kept, gone = b.submit("Sixty days ago.", key=other), b.submit("A hundred days ago.", key=other)
    for job_id, key in ((old, None), (recent, None), (kept, other), (gone, other)):
        assert b.wait(job_id, key=key)["status"] == "completed"
    deadline = time.monotonic() + 30  # the delivery row is written when the job's event fans out
    while _count(b, WebhookDelivery) == 0 and time.monotonic() < deadline:
        time.sleep(0.1)
    _age(b, old, 31)
    _age(b, recent, 29)
    _age(b, kept, 60)
    _age(b, gone, 100)

    purged = b.runtime.retention.purge_expired()

    assert sum(purged.values()) == 2
    assert _status(b, old) == 404 and _status(b, recent) == 200
    assert _status(b, kept, other) == 200 and _status(b, gone, other) == 404
    assert _count(b, Result, Result.job_id.in_([old, gone])) == 0
    assert _count(b, WebhookDelivery, WebhookDelivery.created_at < utcnow() - timedelta(days=30)) == 0
    purge = [e for e in _audit(b) if e["action"] == "retention.purge"]
    assert purge and purge[0]["actor"] == "system" and purge[0]["detail"]["jobs"] == 1
    assert purge[0]["detail"]["retention_days"] == 30


def test_the_workers_sweep_runs_the_purge(make_embedded: Callable[..., Backend]) -> None:
    b = make_embedded(retention_purge_interval_seconds=0.2)
    job_id = b.submit("Long ago.")
    b.wait(job_id)
    _age(b, job_id, 91)
    deadline = time.monotonic() + 20
    while _status(b, job_id) == 200 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _status(b, job_id) == 404


def test_unfinished_jobs_are_never_purged(make_embedded: Callable[..., Backend]) -> None:
    b = make_embedded()
    job_id = b.submit("Still running.")
    b.wait(job_id)
    _age(b, job_id, 200)
    with b.runtime.db.session() as s:
        s.execute(update(Job).where(Job.id == job_id).values(status="processing"))
        s.commit()
    b.runtime.retention.purge_expired()
    assert _status(b, job_id) == 200


def test_export_streams_all_tenant_data_as_json_lines_without_secrets(
    make_embedded: Callable[..., Backend],
) -> None:
    b = make_embedded(allow_private_urls=True)
    other = b.new_key("globex")
    secret = _webhook(b)
    signer = b.client.post("/v1/webhooks/job-signing-secret", headers=b.headers()).json()["secret"]
    tenant_id = b.runtime.store.ensure_tenant("acme")
    tokens = TokenSet("access-TOKEN-123", "refresh-TOKEN-456", None, ["recording:read"])
    conn = b.runtime.connections.store.save(tenant_id, "zoom", "user-1", {"email": "a@acme.test"}, tokens)
    mine = [b.submit("We closed the deal."), b.submit("The customer was upset.")]
    theirs = b.submit("Not yours.", key=other)
    for job_id in mine:
        b.wait(job_id)
    b.wait(theirs, key=other)

    r = b.client.get("/v1/tenants/me/export", headers=b.headers())

    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/x-ndjson")
    lines = [json.loads(line) for line in r.text.splitlines()]
    kinds = [line["type"] for line in lines]
    assert kinds[0] == "tenant" and kinds[-1] == "summary"
    jobs = {line["data"]["job_id"]: line["data"] for line in lines if line["type"] == "job"}
    assert set(jobs) == set(mine)
    assert all(j["status"] == "completed" and j["vad"] is not None for j in jobs.values())
    assert [line["data"]["id"] for line in lines if line["type"] == "connection"] == [conn.id]
    assert len([line for line in lines if line["type"] == "webhook_endpoint"]) == 1
    assert any(line["data"]["action"] == "webhook.create" for line in lines if line["type"] == "audit")
    assert lines[-1]["data"]["counts"]["job"] == 2
    for hidden in (secret, signer, "access-TOKEN-123", "refresh-TOKEN-456", theirs):
        assert hidden not in r.text
    assert _audit(b, action="tenant.export")


def test_erase_all_removes_every_trace_of_analysis_and_is_audited(backend: Backend) -> None:
    b = backend
    b.runtime.settings.allow_private_urls = True
    other = b.new_key("globex")
    _webhook(b)
    job_ids = [b.submit("First call."), b.submit("Second call.")]
    r = b.client.post(
        "/v1/analyse/text", json={"text": "Retried call."}, headers={**b.headers(), "Idempotency-Key": "k-1"}
    )
    job_ids.append(r.json()["job_id"])
    theirs = b.submit("Keep me.", key=other)
    for job_id in job_ids:
        b.wait(job_id)
    b.wait(theirs, key=other)
    tenant_id = b.runtime.store.ensure_tenant("acme")

    r = b.client.delete("/v1/tenants/me/data", headers=b.headers())

    assert r.status_code == 204
    assert b.client.get("/v1/jobs", headers=b.headers()).json()["data"] == []
    assert all(_status(b, job_id) == 404 for job_id in job_ids)
    assert _count(b, Job, Job.tenant_id == tenant_id) == 0
    assert _count(b, Result, Result.job_id.in_(job_ids)) == 0
    assert _count(b, JobInput, JobInput.job_id.in_(job_ids)) == 0
    assert _count(b, WebhookDelivery, WebhookDelivery.tenant_id == tenant_id) == 0
    assert _count(b, OutboxEvent, OutboxEvent.tenant_id == tenant_id) == 0
    assert _count(b, IdempotencyKey, IdempotencyKey.tenant_id == tenant_id) == 0
    assert _status(b, theirs, other) == 200
    erased = _audit(b, action="tenant.erase")
    assert len(erased) == 1 and erased[0]["detail"]["jobs"] == 3
    assert b.runtime.spool.files() == []
    assert b.client.get("/v1/webhooks", headers=b.headers()).json()["data"]  # configuration stays


def test_audit_log_records_result_access_by_key_prefix_and_is_per_tenant(
    make_embedded: Callable[..., Backend],
) -> None:
    b = make_embedded()
    other = b.new_key("globex")
    job_id = b.submit("Audit me.")
    b.wait(job_id)
    assert b.client.get(f"/v1/result/{job_id}", headers=b.headers(other)).status_code == 404
    assert b.client.delete(f"/v1/result/{job_id}", headers=b.headers()).status_code == 204

    reads = _audit(b, action="result.read")
    assert reads and {e["target"] for e in reads} == {job_id}
    assert {e["actor"] for e in reads} == {f"key:{b.key[:12]}"}
    deletes = _audit(b, action="result.delete")
    assert [e["target"] for e in deletes] == [job_id]
    assert _audit(b, other) == []  # the other tenant's failed read is not an access, and not ours to see
    first = b.client.get("/v1/audit", params={"limit": 1}, headers=b.headers()).json()
    assert first["data"][0]["action"] == "result.delete" and first["next_cursor"]
    second = b.client.get(
        "/v1/audit", params={"limit": 1, "cursor": first["next_cursor"]}, headers=b.headers()
    ).json()
    assert second["data"][0]["id"] != first["data"][0]["id"]
    assert _count(b, AuditEntry, AuditEntry.target == job_id) == len(reads) + 1
