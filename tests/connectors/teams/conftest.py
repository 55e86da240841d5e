"""A hub served on a real port (Graph validates our notification URL), connected to the Graph emulator by
admin consent, with its subscriptions made, and a real meeting recording."""

from __future__ import annotations

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

from core.api.app import create_app
from core.runtime import Runtime
from core.settings import Settings
from tests.conftest import FAST_JOB_SETTINGS, Backend
from tests.emulators.graph import GraphEmulator, graph_emulator
from tests.emulators.microsoft import CLIENT_ID, CLIENT_SECRET
from tests.emulators.server import serve
from tests.emulators.webhook_receiver import WebhookReceiver, webhook_receiver
from tests.engine.media_factory import talking_head

VTT = """WEBVTT

00:00:00.000 --> 00:00:02.000
<v Megan Bowen>I am really happy with how this quarter went.</v>

00:00:02.000 --> 00:00:03.500
<v Alex Wilber>Great, thank you, that is wonderful news.</v>
"""


@dataclass
class TeamsHub:
    """A deployment, the Graph emulator it is connected to, and the app-only connection's id."""

    backend: Backend
    graph: GraphEmulator
    connection_id: str

    @property
    def runtime(self) -> Runtime:
        return self.backend.runtime

    @property
    def client(self) -> TestClient:
        return self.backend.client

    def jobs(self) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = self.client.get("/v1/jobs", headers=self.backend.headers()).json()[
            "data"
        ]
        return found

    def subscribe(self, receiver: WebhookReceiver, events: list[str]) -> None:
        r = self.client.post(
            "/v1/webhooks", json={"url": receiver.url, "events": events}, headers=self.backend.headers()
        )
        assert r.status_code == 201, r.text
        receiver.secret = r.json()["secret"]


@pytest.fixture(scope="session")
def meeting_mp4(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 3-second talking-head recording with speech (H.264/AAC)."""
    return talking_head(tmp_path_factory.mktemp("teams") / "meeting.mp4", seconds=3.0)


def _connect(backend: Backend, flow: str | None = None) -> str:
    params = {"flow": flow} if flow else {}
    start = backend.client.get(
        "/v1/connections/microsoft/authorize",
        params=params,
        headers=backend.headers(),
        follow_redirects=False,
    )
    assert start.status_code == 302, start.text
    vendor = httpx.get(start.headers["location"], follow_redirects=False)
    back = urlsplit(vendor.headers["location"])
    done = backend.client.get(f"{back.path}?{back.query}", follow_redirects=True)
    assert done.status_code == 200, done.text
    return str(done.json()["connection_id"])


@contextmanager
def running_hub(tmp_path: Path, **extra: Any) -> Iterator[TeamsHub]:
    """The hub on its own port, connected by admin consent, its two subscriptions made."""
    with graph_emulator() as graph:
        settings = Settings(
            data_dir=tmp_path / "var",
            providers_dir=graph.write_spec(tmp_path / "providers"),
            connectors={"microsoft": {"client_id": CLIENT_ID, "client_secret": SecretStr(CLIENT_SECRET)}},
            allow_private_urls=True,  # the emulator and our hook are on loopback
            webhook_retry_schedule="0.2",
            source_subscription_interval_seconds=3600,  # tests run maintenance themselves
            **{**FAST_JOB_SETTINGS, **extra},
        )
        rt = Runtime(settings)
        try:
            with serve(create_app(rt)) as base:
                rt.settings.public_url = base  # Graph must reach our hook for its validation handshake
                rt.start_embedded_worker()
                backend = Backend("embedded", rt, TestClient(create_app(rt)), rt.store.create_key("acme"))
                _connect(backend)  # a user of the organisation proves who they are first
                connection_id = _connect(backend, "admin_consent")
                rt.sources.subscriptions.maintain()  # (the worker's first sweep may have done it already)
                assert len(graph.graph.subscriptions) == 2  # getAllRecordings + getAllTranscripts
                yield TeamsHub(backend, graph, connection_id)
        finally:
            rt.close()


@pytest.fixture
def teams_hub(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[TeamsHub]:
    """On SQLite with the in-process worker."""
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")
    with running_hub(tmp_path) as hub:
        yield hub


@pytest.fixture
def teams_hub_pg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, pg_url: str) -> Iterator[TeamsHub]:
    """On PostgreSQL."""
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")
    with running_hub(tmp_path, database_url=pg_url) as hub:
        yield hub


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    with webhook_receiver() as r:
        yield r
