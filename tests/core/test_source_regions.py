"""Meeting-source webhooks and settings of an EU tenant reach the EU region's stores (core.regions): a vendor
webhook names an account, not a tenant, so every served region is asked for the tenants connected to it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from core.api.app import create_app
from core.runtime import Runtime
from core.storage.models import Job
from tests.conftest import Backend
from tests.connectors.zoom.conftest import connect, zoom_settings
from tests.emulators.zoom import ZoomEmulator, signed, zoom_emulator
from tests.engine.media_factory import talking_head


@pytest.fixture
def zoom(monkeypatch: pytest.MonkeyPatch) -> Iterator[ZoomEmulator]:
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")  # the emulator speaks plain http on loopback
    with zoom_emulator() as emulator:
        yield emulator


@pytest.fixture
def eu_tenant(tmp_path: Path, zoom: ZoomEmulator) -> Iterator[Backend]:
    """A deployment whose eu region has its own stores (no worker: the test reads the queued jobs), and an eu
    tenant that connected its Zoom account."""
    regions = json.dumps({"eu": {"data_dir": str(tmp_path / "eu")}})
    rt = Runtime(zoom_settings(tmp_path, zoom, regions=regions))
    try:
        backend = Backend("embedded", rt, TestClient(create_app(rt)), rt.create_key("eurocorp", "eu"))
        connect(backend)
        yield backend
    finally:
        rt.close()


def _jobs(rt: Runtime) -> list[str]:
    with rt.db.session() as s:
        return list(s.scalars(sa.select(Job.id)))


def test_an_eu_tenants_recording_webhook_queues_its_job_in_the_eu_region(
    eu_tenant: Backend, zoom: ZoomEmulator, tmp_path: Path
) -> None:
    rt, eu = eu_tenant.runtime, eu_tenant.runtime.regional["eu"]
    recording = talking_head(tmp_path / "meeting.mp4", seconds=1.0)
    body = zoom.recording_completed(zoom.add_recording(recording, topic="Renewal", duration=42))
    r = eu_tenant.client.post("/v1/hooks/zoom", content=body, headers=signed(body))
    assert r.status_code == 200 and r.json() == {"status": "accepted"}, r.text
    [job_id] = _jobs(eu)
    assert _jobs(rt) == []  # nothing of the eu tenant in the home region's database
    listed = eu_tenant.client.get("/v1/jobs", headers=eu_tenant.headers()).json()["data"]
    assert [j["job_id"] for j in listed] == [job_id]


def test_an_eu_tenants_meeting_policy_is_kept_and_applied_in_the_eu_region(
    eu_tenant: Backend, zoom: ZoomEmulator, tmp_path: Path
) -> None:
    policy = {"meetings": "all", "min_duration_minutes": 30}
    put = eu_tenant.client.put("/v1/sources/zoom/settings", json=policy, headers=eu_tenant.headers())
    assert put.status_code == 200, put.text
    eu_id = eu_tenant.runtime.store.ensure_tenant("eurocorp")
    assert eu_tenant.runtime.regional["eu"].sources.policy(eu_id, "zoom").min_duration_minutes == 30
    recording = talking_head(tmp_path / "meeting.mp4", seconds=1.0)
    short = zoom.recording_completed(zoom.add_recording(recording, topic="Stand-up", duration=10))
    r = eu_tenant.client.post("/v1/hooks/zoom", content=short, headers=signed(short))
    assert r.status_code == 200 and r.json() == {"status": "filtered"}, r.text
    got = eu_tenant.client.get("/v1/sources/zoom/settings", headers=eu_tenant.headers())
    assert got.json()["min_duration_minutes"] == 30
