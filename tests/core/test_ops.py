"""Health, readiness, metrics, OpenAPI and the exported JSON Schema."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from core.sdk.schema import ResultV1
from tests.conftest import Backend

ROOT = Path(__file__).resolve().parents[2]


def test_health_ready_and_metrics(backend: Backend) -> None:
    assert backend.client.get("/healthz").json() == {"status": "ok"}
    ready = backend.client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["status"] == "ready"
    backend.wait(backend.submit("Metrics should count this job."))
    text = backend.client.get("/metrics").text
    assert 'echodepth_jobs_submitted_total{modality="text"}' in text
    assert "echodepth_http_requests_total" in text


def test_readyz_is_503_when_the_broker_is_down(make_embedded: Callable[..., Backend], tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    from core.api.app import create_app
    from core.runtime import Runtime
    from core.settings import Settings

    rt = Runtime(Settings(data_dir=tmp_path / "v2", broker_url="redis://127.0.0.1:1/0"))
    try:
        r = TestClient(create_app(rt)).get("/readyz")
        assert r.status_code == 503 and r.json()["code"] == "not_ready"
    finally:
        rt.db.dispose()


def test_openapi_documents_every_route(make_embedded: Callable[..., Backend]) -> None:
    paths = make_embedded().client.get("/openapi.json").json()["paths"]
    for p in (
        "/v1/analyse/text",
        "/v1/analyse/video",
        "/v1/analyse/audio",
        "/v1/analyse/image",
        "/v1/analyse/multimodal",
        "/v1/result/{job_id}",
        "/v1/jobs",
    ):
        assert p in paths
    assert "text/plain" in paths["/v1/analyse/text"]["post"]["requestBody"]["content"]


def test_exported_json_schema_is_current() -> None:
    exported = json.loads((ROOT / "docs/schema/result.v1.json").read_text())
    live = ResultV1.model_json_schema()
    exported.pop("$id", None)
    assert exported == json.loads(json.dumps(live)), "run `make schema` and commit docs/schema/result.v1.json"
