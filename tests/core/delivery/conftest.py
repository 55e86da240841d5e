"""A hub for webhook tests: embedded, or PostgreSQL + Redis with a separate worker process."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from core.api.app import create_app
from core.runtime import Runtime
from core.settings import Settings
from tests.conftest import FAST_JOB_SETTINGS, REDIS_URL, Backend, start_worker
from tests.emulators.webhook_receiver import WebhookReceiver, webhook_receiver

WEBHOOK_SETTINGS: dict[str, Any] = {
    "allow_private_urls": True,
    "webhook_retry_schedule": "0.2,0.2,0.2",
    "webhook_timeout_seconds": 2,
}


def scaled_settings(tmp_path: Path, pg_url: str, namespace: str, **overrides: Any) -> Settings:
    """PostgreSQL + Redis settings with fast jobs and fast webhook retries."""
    return Settings(
        data_dir=tmp_path / "var",
        database_url=pg_url,
        broker_url=REDIS_URL,
        broker_namespace=namespace,
        **{**FAST_JOB_SETTINGS, **WEBHOOK_SETTINGS, **overrides},
    )


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    with webhook_receiver() as r:
        yield r


@pytest.fixture(params=["embedded", "postgres+redis"])
def hub(
    request: pytest.FixtureRequest, tmp_path: Path, make_embedded: Callable[..., Backend]
) -> Iterator[Backend]:
    """The API with webhook delivery on both deployments."""
    if request.param == "embedded":
        yield make_embedded(**WEBHOOK_SETTINGS)
        return
    settings = scaled_settings(
        tmp_path, request.getfixturevalue("pg_url"), request.getfixturevalue("redis_namespace")
    )
    rt = Runtime(settings)
    worker = start_worker(settings, tmp_path / "worker.log")
    try:
        yield Backend("postgres+redis", rt, TestClient(create_app(rt)), rt.store.create_key("acme"))
    finally:
        worker.stop()
        rt.close()


@pytest.fixture
def embedded_hub(make_embedded: Callable[..., Backend]) -> Callable[..., Backend]:
    """An embedded hub with webhook test settings plus ``overrides``."""

    def make(**overrides: Any) -> Backend:
        return make_embedded(**{**WEBHOOK_SETTINGS, **overrides})

    return make
