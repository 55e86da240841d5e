"""Submit → result, isolation, erasure and listing, on both deployments."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select

from core.storage.models import Job, JobInput, Result
from tests.conftest import Backend

TEXT = "I am thrilled with the new proposal. Honestly, I think it might work. The price is not good."


def test_text_job_completes_with_a_v1_result(backend: Backend) -> None:
    r = backend.client.post(
        "/v1/analyse/text",
        json={"text": TEXT, "metadata": {"deal": "42"}},
        headers={"X-API-Key": backend.key},
    )
    assert r.status_code == 202
    accepted = r.json()
    assert accepted["status"] == "queued"
    assert accepted["links"]["result"] == f"/v1/result/{accepted['job_id']}"
    assert r.headers["location"] == accepted["links"]["result"]

    body = backend.wait(accepted["job_id"])
    assert body["status"] == "completed", body
    assert body["schema_version"] == "1" and body["modality"] == "text"
    assert body["metadata"] == {"deal": "42"}
    assert body["completed_at"] >= body["created_at"]
    assert body["error"] is None
    for k in ("valence", "arousal", "dominance"):
        assert 0.0 <= body["vad"][k] <= 1.0
    assert len(body["segments"]) == 3
    assert [s["text"] for s in body["segments"]][0] == "I am thrilled with the new proposal."
    assert len(body["credibility"]) == 3
    assert body["trust_score"] == body["trust"]["score"]
    assert body["trust"]["components"] and all(c["evidence"] is not None for c in body["trust"]["components"])
    assert body["au_map"] == {}
    assert body["engine"]["version"]
    first, last = body["segments"][0], body["segments"][2]
    assert first["vad"]["valence"] > last["vad"]["valence"]


def test_job_input_is_dropped_once_the_job_ends(backend: Backend) -> None:
    job_id = backend.submit(TEXT)
    backend.wait(job_id)
    with backend.runtime.db.session() as s:
        assert s.get(JobInput, job_id) is None
        assert s.get(Result, job_id) is not None


def test_tenants_never_see_each_others_jobs(backend: Backend) -> None:
    job_id = backend.submit(TEXT)
    other = backend.new_key("globex")
    r = backend.client.get(f"/v1/result/{job_id}", headers=backend.headers(other))
    assert r.status_code == 404 and r.json()["code"] == "not_found"
    unknown = backend.client.get(f"/v1/result/{uuid.uuid4()}", headers=backend.headers(other))
    assert unknown.json() == {**r.json(), "detail": unknown.json()["detail"]}
    assert backend.client.delete(f"/v1/result/{job_id}", headers=backend.headers(other)).status_code == 404
    listed = backend.client.get("/v1/jobs", headers=backend.headers(other)).json()
    assert listed["data"] == []
    assert backend.wait(job_id)["status"] == "completed"


def test_delete_erases_job_input_and_result(backend: Backend) -> None:
    job_id = backend.submit(TEXT)
    backend.wait(job_id)
    r = backend.client.delete(f"/v1/result/{job_id}", headers=backend.headers())
    assert r.status_code == 204 and r.content == b""
    assert backend.client.get(f"/v1/result/{job_id}", headers=backend.headers()).status_code == 404
    with backend.runtime.db.session() as s:
        for table in (Job, JobInput, Result):
            col = table.id if table is Job else table.job_id
            assert s.scalar(select(func.count()).select_from(table).where(col == job_id)) == 0
    assert backend.client.delete(f"/v1/result/{job_id}", headers=backend.headers()).status_code == 404


def test_jobs_list_pages_with_cursor_and_filters_by_status(backend: Backend) -> None:
    ids = [backend.submit(f"Sentence number {i} is fine and calm.") for i in range(5)]
    for job_id in ids:
        backend.wait(job_id)
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = backend.client.get("/v1/jobs", params=params, headers=backend.headers()).json()
        seen += [j["job_id"] for j in page["data"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert pages == 3
    assert seen == list(reversed(ids))
    done = backend.client.get(
        "/v1/jobs", params={"status": "completed", "limit": 100}, headers=backend.headers()
    ).json()
    assert len(done["data"]) == 5
    queued = backend.client.get("/v1/jobs", params={"status": "queued"}, headers=backend.headers()).json()
    assert queued["data"] == []
