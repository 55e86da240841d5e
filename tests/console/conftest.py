"""The console against a real server: the app on uvicorn (127.0.0.1, a free port) with its embedded worker,
a tenant with users of different scopes, and headless Debian chromium driven by Playwright."""

from __future__ import annotations

import os
import re
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from fastapi.testclient import TestClient

from core.api.scopes import SCOPES
from core.app import create_app
from core.oauth.store import OAuthStore
from core.runtime import Runtime
from core.settings import Settings
from tests.conftest import embedded_settings

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
PASSWORD = "correct horse battery"
ADMIN = "admin@acme.test"
# a fake camera and microphone (a test pattern and a tone), allowed without a prompt, for the Live page
CHROMIUM_ARGS = ["--no-sandbox", "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream"]
READER = "reader@acme.test"  # results:read only: sees Jobs and results, cannot analyse or erase


@dataclass
class ConsoleSite:
    """A running server: its base URL and runtime, and the tenant the test users belong to."""

    url: str
    runtime: Runtime
    tenant_id: str
    users: dict[str, str] = field(default_factory=dict)  # email -> user id


def add_users(rt: Runtime, tenant: str = "acme") -> tuple[str, dict[str, str]]:
    """The tenant and its two users (every scope; results:read only)."""
    tenant_id = rt.ensure_tenant(tenant)
    store = OAuthStore(rt.db)
    admin = store.create_user(tenant_id, ADMIN, PASSWORD, list(SCOPES))
    reader = store.create_user(tenant_id, READER, PASSWORD, ["results:read"])
    return tenant_id, {ADMIN: admin.id, READER: reader.id}


def free_port() -> int:
    """A TCP port free on 127.0.0.1 now (for settings that must name the server's own URL)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serve(settings: Settings, port: int | None = None) -> Iterator[ConsoleSite]:
    """The API with the console on uvicorn (127.0.0.1, ``port`` or a free one), its embedded worker on."""
    rt = Runtime(settings)
    rt.start_embedded_worker()
    port = port or free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(rt), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    try:
        yield ConsoleSite(f"http://127.0.0.1:{port}", rt, "")
    finally:
        server.should_exit = True
        thread.join(timeout=15)
        rt.close()


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ConsoleSite]:
    """A running server with the tenant ``acme`` and its two users."""
    with serve(embedded_settings(tmp_path_factory.mktemp("console"))) as running:
        running.tenant_id, running.users = add_users(running.runtime)
        yield running


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Headless chromium (Debian's; Playwright's own download is never used)."""
    if not Path(CHROMIUM).exists():
        pytest.skip("chromium is not installed (scripts/install_chromium.sh)")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@dataclass
class Watched:
    """A page and every console error, failed request or uncaught exception it produced."""

    page: Any
    errors: list[str]


@pytest.fixture
def watched(browser: Any) -> Iterator[Watched]:
    """A fresh browser context at 1280 px; the test fails if any page logged an error."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(f"console: {m.text}") if m.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(f"page error: {exc}"))
    yield Watched(page, errors)
    context.close()
    assert not errors, errors


def screenshot(page: Any, name: str) -> None:
    """Save the whole page as ``<name>.png`` in ``$ECHODEPTH_CONSOLE_SCREENSHOTS`` (docs/console), if set."""
    folder = os.environ.get("ECHODEPTH_CONSOLE_SCREENSHOTS")
    if folder:
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)


def sign_in(page: Any, site: ConsoleSite, email: str = ADMIN, password: str = PASSWORD) -> None:
    """Sign in through the form and wait for the landing page."""
    page.goto(f"{site.url}/console/sign-in")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"/console/(analyse|jobs|live|integrations|webhooks|settings|account)"))


@pytest.fixture
def client_site(tmp_path: Path) -> Iterator[tuple[TestClient, Runtime, str]]:
    """The app under TestClient (no worker needed), with the two users; for header and cookie tests."""
    rt = Runtime(embedded_settings(tmp_path))
    tenant_id, _ = add_users(rt)
    try:
        yield TestClient(create_app(rt)), rt, tenant_id
    finally:
        rt.close()
