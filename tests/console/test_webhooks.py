"""The Webhooks page: in chromium, an endpoint is created (its secret shown once), a delivery fails against
the receiver emulator (500) into the dead-letter list and "recover" sends it again; under TestClient, scope
gating, CSRF refusal, https-only URLs, rotation and disabling."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from core.delivery.events import envelope
from core.delivery.store import NewEvent
from core.runtime import Runtime
from tests.conftest import embedded_settings
from tests.console.conftest import READER, ConsoleSite, Watched, add_users, screenshot, serve, sign_in
from tests.console.test_security import _page_token
from tests.console.test_security import sign_in as client_sign_in
from tests.emulators.webhook_receiver import Step, WebhookReceiver, webhook_receiver

Site = tuple[TestClient, Runtime, str]


@pytest.fixture(scope="module")
def hooks_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ConsoleSite]:
    """A running server that may post to 127.0.0.1 and gives up on a delivery after two quick attempts."""
    settings = embedded_settings(
        tmp_path_factory.mktemp("hooks"), allow_private_urls=True, webhook_retry_schedule="0.2"
    )
    with serve(settings) as running:
        running.tenant_id, running.users = add_users(running.runtime)
        yield running


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    with webhook_receiver() as running:
        yield running


def _emit(rt: Runtime, tenant_id: str) -> None:
    data = {"job_id": "job-1", "status": "completed", "trust_score": 61.0}
    rt.deliveries.emit(NewEvent(tenant_id, "analysis.completed", envelope("analysis.completed", data)))


def _wait_status(rt: Runtime, tenant_id: str, status: str, count: int = 1, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        rows = rt.deliveries.store.list_deliveries(tenant_id, None, status, 50)
        if len(rows) >= count:
            return
        time.sleep(0.1)
    raise AssertionError(f"no {status} delivery after {timeout} s")


@pytest.mark.browser
def test_create_an_endpoint_fail_a_delivery_and_recover_it(
    hooks_site: ConsoleSite, watched: Watched, receiver: WebhookReceiver
) -> None:
    page, rt = watched.page, hooks_site.runtime
    sign_in(page, hooks_site)
    page.get_by_role("link", name="Webhooks").click()
    page.get_by_label("URL (https)").fill(receiver.url)
    page.get_by_label("Description (optional)").fill("CRM bridge")
    page.get_by_role("button", name="Add endpoint").click()
    secret = page.locator("[data-secret] .secret-value").inner_text()
    assert secret.startswith("whsec_")
    receiver.secret = secret
    receiver.script = [Step(500), Step(500)]
    _emit(rt, hooks_site.tenant_id)
    _wait_status(rt, hooks_site.tenant_id, "dead")
    assert [r.verified for r in receiver.received] == [True, True] and not receiver.accepted
    page.get_by_role("table").get_by_role("link", name=receiver.url).click()
    assert "/console/webhooks/" in page.url and page.locator("[data-secret]").count() == 0  # shown once
    entry = page.locator("li[data-status=dead]").first
    entry.locator("summary").click()
    assert "HTTP 500" in entry.locator("[data-answer]").inner_text()
    assert '"trust_score": 61.0' in entry.locator("pre.body").inner_text()
    screenshot(page, "webhook")
    page.get_by_role("link", name="← Webhooks").click()
    page.get_by_role("button", name="Recover failed deliveries").click()
    assert page.locator("[data-recovered]").get_attribute("data-recovered") == "1"
    [payload] = receiver.wait_accepted(1)
    assert payload["data"]["job_id"] == "job-1"
    _wait_status(rt, hooks_site.tenant_id, "delivered")
    with page.expect_response(re.compile("/console/webhooks/recover")):
        page.get_by_role("button", name="Recover failed deliveries").click()
    assert page.locator("[data-recovered]").get_attribute("data-recovered") == "0"  # nothing left to recover
    screenshot(page, "webhooks")


def _create(client: TestClient, token: str, url: str) -> str:
    r = client.post(
        "/console/webhooks",
        data={"url": url, "events": ["analysis.completed"], "csrf_token": token},
    )
    return r.text if r.status_code == 201 else f"{r.status_code}: {r.text}"


def test_webhooks_need_the_scope_and_the_csrf_token(client_site: Site) -> None:
    client, rt, tenant_id = client_site
    client_sign_in(client, READER)
    assert client.get("/console/webhooks").status_code == 403
    client_sign_in(client)
    page = client.get("/console/webhooks")
    assert page.status_code == 200
    refused = client.post("/console/webhooks", data={"url": "https://hooks.example.com/x", "events": ["x"]})
    assert refused.status_code == 403
    assert rt.deliveries.store.list_endpoints(tenant_id) == []


def test_only_https_urls_and_the_secret_is_shown_once(client_site: Site) -> None:
    client, rt, tenant_id = client_site
    client_sign_in(client)
    token = _page_token(client.get("/console/webhooks").text)
    assert "webhook URLs must use https" in _create(client, token, "http://hooks.example.com/x")
    html = _create(client, token, "https://93.184.215.14/hook")
    secret = re.search(r'class="secret-value">(whsec_[^<]+)<', html)
    assert secret, html
    [endpoint] = rt.deliveries.store.list_endpoints(tenant_id)
    assert secret.group(1) not in client.get(f"/console/webhooks/{endpoint.id}").text
    rotated = client.post(f"/console/webhooks/{endpoint.id}/rotate", data={"csrf_token": token})
    new = re.search(r'class="secret-value">(whsec_[^<]+)<', rotated.text)
    assert new and new.group(1) != secret.group(1)
    client.post(f"/console/webhooks/{endpoint.id}/status", data={"status": "disabled", "csrf_token": token})
    assert rt.deliveries.store.get_endpoint(tenant_id, endpoint.id).status == "disabled"
    actions = [e.action for e in rt.audit.page(tenant_id, None, 10, None).entries]
    assert {"webhook.create", "webhook.rotate_secret", "webhook.update"} <= set(actions)
