"""A per-job ``webhook_url`` is vetted when the job is submitted (422 url_not_allowed), not when it ends."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.conftest import Backend

REFUSED = [
    "http://127.0.0.1:9/hook",  # loopback
    "https://10.0.0.7/hook",  # private
    "https://169.254.169.254/latest/meta-data",  # cloud metadata
    "http://93.184.216.34/hook",  # public, but not https
]


def _jobs(hub: Backend) -> list[object]:
    found: list[object] = hub.client.get("/v1/jobs", headers=hub.headers()).json()["data"]
    return found


@pytest.mark.parametrize("url", REFUSED)
def test_text_route_refuses_a_webhook_url_that_is_not_allowed(
    make_embedded: Callable[..., Backend], url: str
) -> None:
    hub = make_embedded()
    r = hub.client.post("/v1/analyse/text", json={"text": "fine", "webhook_url": url}, headers=hub.headers())
    assert r.status_code == 422 and r.json()["code"] == "url_not_allowed", r.text
    assert _jobs(hub) == []


@pytest.mark.parametrize("url", REFUSED)
def test_media_routes_refuse_a_webhook_url_that_is_not_allowed(
    make_embedded: Callable[..., Backend], url: str
) -> None:
    hub = make_embedded()
    as_json = hub.client.post(
        "/v1/analyse/audio",
        json={"url": "https://93.184.216.34/clip.wav", "webhook_url": url},
        headers=hub.headers(),
    )
    assert as_json.status_code == 422 and as_json.json()["code"] == "url_not_allowed", as_json.text
    upload = hub.client.post(
        "/v1/analyse/audio",
        files={"file": ("clip.wav", b"RIFF0000WAVE", "audio/wav")},
        data={"webhook_url": url},
        headers=hub.headers(),
    )
    assert upload.status_code == 422 and upload.json()["code"] == "url_not_allowed", upload.text
    assert _jobs(hub) == []
    assert not any(hub.runtime.settings.spool_dir.glob("*/*"))  # the upload was dropped


def test_private_webhook_urls_are_accepted_when_allowed(make_embedded: Callable[..., Backend]) -> None:
    hub = make_embedded(allow_private_urls=True)
    r = hub.client.post(
        "/v1/analyse/text",
        json={"text": "fine", "webhook_url": "http://127.0.0.1:9/hook"},
        headers=hub.headers(),
    )
    assert r.status_code == 202, r.text
