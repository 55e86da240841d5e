"""A hub connected to the Zoom emulator (embedded, or PostgreSQL + Redis + a worker process) and a real
meeting recording."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from config import CONFIG_DIR
from core.api.app import create_app
from core.runtime import Runtime
from core.settings import Settings
from tests.conftest import FAST_JOB_SETTINGS, REDIS_URL, Backend, WorkerProcess, start_worker
from tests.emulators.webhook_receiver import WebhookReceiver, webhook_receiver
from tests.emulators.zoom import (
    CLIENT_ID,
    CLIENT_SECRET,
    ROBOT_JID,
    WEBHOOK_SECRET,
    ZoomEmulator,
    zoom_emulator,
)
from tests.engine.media_factory import talking_head

VTT = """WEBVTT

1
00:00:00.000 --> 00:00:02.000
Host: I am really happy with how this quarter went.

2
00:00:02.000 --> 00:00:03.500
Guest: <v Guest>Great, thank you, that is wonderful news.</v>
"""


@dataclass
class ZoomHub:
    """A deployment, the Zoom emulator it is connected to, and the connection's id."""

    backend: Backend
    zoom: ZoomEmulator
    connection_id: str

    @property
    def runtime(self) -> Runtime:
        return self.backend.runtime

    @property
    def client(self) -> TestClient:
        return self.backend.client

    def post_event(self, body: bytes, headers: dict[str, str]) -> Any:
        return self.client.post("/v1/hooks/zoom", content=body, headers=headers)

    def jobs(self) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = self.client.get("/v1/jobs", headers=self.backend.headers()).json()[
            "data"
        ]
        return found


@pytest.fixture(scope="session")
def meeting_mp4(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 3-second talking-head recording with speech (H.264/AAC)."""
    return talking_head(tmp_path_factory.mktemp("zoom") / "meeting.mp4", seconds=3.0)


@pytest.fixture(scope="session")
def meeting_vtt(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("zoom") / "meeting.vtt"
    path.write_text(VTT)
    return path


def _providers(tmp_path: Path, zoom: ZoomEmulator) -> Path:
    """Every installed connector's spec, as deployed, with Zoom's pointed at the emulator."""
    directory = zoom.write_spec(tmp_path / "providers")
    for spec in (CONFIG_DIR / "providers").glob("*.yaml"):
        if not (directory / spec.name).exists():
            shutil.copy(spec, directory / spec.name)
    return directory


def zoom_settings(tmp_path: Path, zoom: ZoomEmulator, **extra: Any) -> Settings:
    return Settings(
        data_dir=tmp_path / "var",
        public_url="http://testserver",
        providers_dir=_providers(tmp_path, zoom),
        connectors={
            "zoom": {
                "client_id": CLIENT_ID,
                "client_secret": SecretStr(CLIENT_SECRET),
                "webhook_secret_token": SecretStr(WEBHOOK_SECRET),
                "chatbot_jid": ROBOT_JID,
            }
        },
        allow_private_urls=True,  # the emulator is on loopback
        webhook_retry_schedule="0.2",
        **{**FAST_JOB_SETTINGS, **extra},
    )


def connect(backend: Backend) -> str:
    """Walk Zoom's OAuth flow as a browser would; the new connection's id."""
    start = backend.client.get(
        "/v1/connections/zoom/authorize", headers=backend.headers(), follow_redirects=False
    )
    assert start.status_code == 302, start.text
    vendor = httpx.get(start.headers["location"], follow_redirects=False)
    back = urlsplit(vendor.headers["location"])
    done = backend.client.get(f"{back.path}?{back.query}", follow_redirects=True)
    assert done.status_code == 200, done.text
    return str(done.json()["connection_id"])


@contextmanager
def _hub(kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[ZoomHub]:
    """A deployment of ``kind`` (``embedded`` or ``postgres+redis``) connected to a fresh Zoom emulator."""
    with zoom_emulator() as zoom:
        worker: WorkerProcess | None = None
        if kind == "embedded":
            rt = Runtime(zoom_settings(tmp_path, zoom))
            rt.start_embedded_worker()
        else:
            settings = zoom_settings(
                tmp_path,
                zoom,
                database_url=request.getfixturevalue("pg_url"),
                broker_url=REDIS_URL,
                broker_namespace=request.getfixturevalue("redis_namespace"),
            )
            rt = Runtime(settings)
            worker = start_worker(settings, tmp_path / "worker.log")
        try:
            backend = Backend(kind, rt, TestClient(create_app(rt)), rt.store.create_key("acme"))
            yield ZoomHub(backend, zoom, connect(backend))
        finally:
            if worker is not None:
                worker.stop()
            rt.close()


@pytest.fixture
def zoom_hub(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> Iterator[ZoomHub]:
    """The embedded hub."""
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")
    with _hub("embedded", tmp_path, request) as hub:
        yield hub


@pytest.fixture(params=["embedded", "postgres+redis"])
def any_zoom_hub(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> Iterator[ZoomHub]:
    """The hub on SQLite + in-process worker, and on PostgreSQL + Redis + a separate worker process."""
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")
    with _hub(request.param, tmp_path, request) as hub:
        yield hub


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    with webhook_receiver() as r:
        yield r
