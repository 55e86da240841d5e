"""A hub wired to one vendor's OAuth emulator, and a browser that walks the connect flow."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
import requests
from fastapi.testclient import TestClient
from pydantic import SecretStr

from core.api.app import create_app
from core.runtime import Runtime
from core.settings import Settings
from tests.conftest import FAST_JOB_SETTINGS, REDIS_URL, Backend, delivering
from tests.emulators import hubspot, microsoft, salesforce, slack
from tests.emulators.oauth import OAuthEmulator
from tests.emulators.webhook_receiver import WebhookReceiver, webhook_receiver


@dataclass(frozen=True)
class Vendor:
    """One provider under test: its emulator, who connects, and an API call that needs a valid token."""

    key: str
    start: Callable[[], AbstractContextManager[Any]]
    account_id: str
    api_path: str  # GET {emulator}{api_path} with the access token


VENDORS = {
    "microsoft": Vendor("microsoft", microsoft.microsoft_emulator, microsoft.TENANT_ID, "/v1.0/organization"),
    "salesforce": Vendor(
        "salesforce",
        salesforce.salesforce_emulator,
        salesforce.ORG_ID,
        "/instance/services/data/v62.0/limits",
    ),
    "hubspot": Vendor("hubspot", hubspot.hubspot_emulator, str(hubspot.HUB_ID), "/crm/v3/objects/contacts"),
    "slack": Vendor("slack", slack.slack_emulator, slack.TEAM_ID, "/api/auth.test"),
}


@dataclass
class Hub:
    """A deployment plus the vendor emulator it is pointed at."""

    backend: Backend
    vendor: Vendor
    emulator: Any

    @property
    def runtime(self) -> Runtime:
        return self.backend.runtime

    @property
    def client(self) -> TestClient:
        return self.backend.client

    def headers(self, key: str | None = None) -> dict[str, str]:
        return self.backend.headers(key)

    def connect(self, **query: str) -> dict[str, Any]:
        """Walk the flow as a browser would: our redirect, the vendor's page, our callback, the result."""
        start = self.client.get(
            f"/v1/connections/{self.vendor.key}/authorize",
            params=query,
            headers=self.headers(),
            follow_redirects=False,
        )
        assert start.status_code == 302, start.text
        vendor_page = httpx.get(start.headers["location"], follow_redirects=False)
        assert vendor_page.status_code == 302, vendor_page.text
        back = urlsplit(vendor_page.headers["location"])
        assert back.netloc == "testserver"
        done = self.client.get(f"{back.path}?{back.query}", follow_redirects=True)
        assert done.status_code == 200, done.text
        result: dict[str, Any] = done.json()
        return result

    def connections(self) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = self.client.get("/v1/connections", headers=self.headers()).json()[
            "data"
        ]
        return found

    def api(self, token: str) -> requests.Response:
        """The vendor API call the vendor's connector would make."""
        return requests.get(
            f"{self.emulator.base}{self.vendor.api_path}",
            headers={"Authorization": f"Bearer {token}"},
            timeout=10,
        )


def hub_settings(tmp_path: Path, emulator: OAuthEmulator, **extra: Any) -> Settings:
    """Settings with this vendor's client credentials and its spec pointed at the emulator."""
    app = {"client_id": emulator.client_id, "client_secret": SecretStr(emulator.client_secret)}
    connectors = {**extra.pop("connectors", {}), emulator.key: app}
    return Settings(
        data_dir=tmp_path / "var",
        public_url="http://testserver",
        providers_dir=emulator.write_spec(tmp_path / "providers"),
        allow_private_urls=True,
        webhook_retry_schedule="0.2",
        connectors=connectors,
        **{**FAST_JOB_SETTINGS, **extra},
    )


@pytest.fixture(autouse=True)
def _plain_http_oauth(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")  # the emulators speak plain http on loopback


def _run(tmp_path: Path, vendor: Vendor, request: pytest.FixtureRequest, scaled: bool) -> Iterator[Hub]:
    extra: dict[str, Any] = {}
    if scaled:
        extra = {
            "database_url": request.getfixturevalue("pg_url"),
            "broker_url": REDIS_URL,
            "broker_namespace": request.getfixturevalue("redis_namespace"),
        }
    with vendor.start() as emulator:
        rt = Runtime(hub_settings(tmp_path, emulator, **extra))
        try:
            with delivering(rt):
                backend = Backend("scaled" if scaled else "embedded", rt, TestClient(create_app(rt)), "")
                backend.key = rt.store.create_key("acme")
                yield Hub(backend, vendor, emulator)
        finally:
            rt.close()


@pytest.fixture(params=sorted(VENDORS))
def hub(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Hub]:
    """Each of the four providers against its emulator, on the embedded deployment (parametrise it
    indirectly with one key for vendor-specific tests)."""
    yield from _run(tmp_path, VENDORS[request.param], request, scaled=False)


@pytest.fixture(params=sorted(VENDORS))
def scaled_hub(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Hub]:
    """Each provider on PostgreSQL + Redis (the refresh lock is Redis ``SET NX PX``)."""
    yield from _run(tmp_path, VENDORS[request.param], request, scaled=True)


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    with webhook_receiver() as r:
        yield r
