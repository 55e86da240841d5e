"""The Live page in chromium with its fake camera and microphone: frames go to WS /v1/stream/video with a
stream token and come back, the round trip is shown, the V/A/D plot scrolls, and stopping stores a summary;
under TestClient, the stream token needs the scope, the CSRF token and a permitted purpose."""

from __future__ import annotations

import time
from typing import Any

import pytest
from fastapi.testclient import TestClient

from core.runtime import Runtime
from tests.console.conftest import READER, ConsoleSite, Watched, screenshot, sign_in
from tests.console.test_security import _page_token
from tests.console.test_security import sign_in as client_sign_in

Site = tuple[TestClient, Runtime, str]


def _wait_for(page: Any, condition: str, seconds: float = 120) -> None:
    """Wait for ``condition`` on the page (the first stream of a process loads the face model, slowly on a
    loaded machine); the failure says what the page showed."""
    deadline = time.monotonic() + seconds
    while not page.evaluate(f"() => {condition}"):
        shown = page.locator("[data-live]").inner_text()
        assert time.monotonic() < deadline, f"{condition} not reached; the page shows: {shown}"
        page.wait_for_timeout(250)


@pytest.mark.browser
def test_camera_frames_come_back_with_their_round_trip_and_a_summary(
    site: ConsoleSite, watched: Watched
) -> None:
    page = watched.page
    sign_in(page, site)
    page.get_by_role("link", name="Live").click()
    page.get_by_role("button", name="Start camera and microphone").click()
    _wait_for(page, "Number(document.querySelector('[data-live-frames]').textContent) >= 3")
    rtt = int(str(page.locator("[data-live]").get_attribute("data-rtt")))
    assert 0 < rtt < 30_000
    assert page.locator("[data-live-rtt]").inner_text().isdigit()  # shown, and updated per frame
    _wait_for(page, "Number(document.querySelector('[data-live]').dataset.seconds || 0) >= 1")
    screenshot(page, "live")
    page.get_by_role("button", name="Stop").click()
    page.wait_for_selector("[data-live-summary]:not([hidden])", timeout=120_000)
    href = str(page.locator("[data-live-summary] a").get_attribute("href"))
    job = site.runtime.store.get_job(site.tenant_id, href.rsplit("/", 1)[1])
    assert job is not None and job[0].modality == "stream"


def test_the_stream_token_needs_the_scope_the_csrf_token_and_a_permitted_purpose(client_site: Site) -> None:
    client, rt, tenant_id = client_site
    client_sign_in(client, READER)
    assert client.get("/console/live").status_code == 403
    client_sign_in(client)
    token = _page_token(client.get("/console/live").text)
    assert client.post("/console/live/token").status_code == 403  # no CSRF token
    issued = client.post("/console/live/token", headers={"X-CSRF-Token": token, "Accept": "application/json"})
    assert issued.status_code == 201 and issued.json()["url"].startswith("/v1/stream/video?token=")
    rt.policies.set_region(tenant_id, "eu", "test")
    rt.policies.set_purposes(tenant_id, ["recruitment"], None, "test")
    refused = client.post(
        "/console/live/token", headers={"X-CSRF-Token": token, "Accept": "application/json"}
    )
    assert refused.status_code == 403 and refused.json()["code"] == "purpose_not_permitted"
