"""The /v1/webhooks API: validation, tenant scoping, problem+json codes."""

from __future__ import annotations

from collections.abc import Callable
from typing import get_args

import pytest

from core.api.webhooks import EventType
from core.sdk import EVENT_TYPES
from tests.conftest import Backend


@pytest.fixture
def hub(make_embedded: Callable[..., Backend]) -> Backend:
    return make_embedded(allow_private_urls=True)


def _create(hub: Backend, **body: object) -> dict[str, object]:
    payload = {"url": "http://127.0.0.1:9/hook", "events": ["analysis.completed"], **body}
    r = hub.client.post("/v1/webhooks", json=payload, headers=hub.headers())
    assert r.status_code == 201, r.text
    created: dict[str, object] = r.json()
    return created


def test_api_event_names_are_the_sdk_event_names() -> None:
    assert set(get_args(EventType)) == set(EVENT_TYPES)


def test_secret_is_shown_on_create_only(hub: Backend) -> None:
    created = _create(hub, description="CRM bridge")
    assert str(created["secret"]).startswith("whsec_")
    shown = hub.client.get(f"/v1/webhooks/{created['id']}", headers=hub.headers()).json()
    listed = hub.client.get("/v1/webhooks", headers=hub.headers()).json()["data"]
    assert "secret" not in shown and all("secret" not in e for e in listed)
    assert shown["description"] == "CRM bridge" and shown["status"] == "active"


def test_update_and_delete(hub: Backend) -> None:
    created = _create(hub)
    r = hub.client.patch(
        f"/v1/webhooks/{created['id']}",
        json={"events": ["analysis.failed", "connection.needs_reauth"], "description": "new"},
        headers=hub.headers(),
    )
    assert r.status_code == 200, r.text
    assert r.json()["events"] == ["analysis.failed", "connection.needs_reauth"]
    assert r.json()["url"] == created["url"]
    assert hub.client.delete(f"/v1/webhooks/{created['id']}", headers=hub.headers()).status_code == 204
    assert hub.client.get(f"/v1/webhooks/{created['id']}", headers=hub.headers()).status_code == 404
    assert hub.client.get("/v1/webhooks", headers=hub.headers()).json()["data"] == []


def test_other_tenants_endpoints_are_not_found(hub: Backend) -> None:
    created = _create(hub)
    other = hub.new_key("globex")
    for method, path in (
        ("GET", f"/v1/webhooks/{created['id']}"),
        ("DELETE", f"/v1/webhooks/{created['id']}"),
        ("POST", f"/v1/webhooks/{created['id']}/rotate-secret"),
        ("GET", f"/v1/webhooks/{created['id']}/deliveries"),
        ("POST", "/v1/webhooks/deliveries/nope/replay"),
    ):
        r = hub.client.request(method, path, headers=hub.headers(other))
        assert r.status_code == 404, (method, path, r.text)
        assert r.json()["code"] == "not_found"
    assert hub.client.get("/v1/webhooks", headers=hub.headers(other)).json()["data"] == []


@pytest.mark.parametrize(
    "body",
    [
        {"url": "http://127.0.0.1:9/hook", "events": []},
        {"url": "http://127.0.0.1:9/hook", "events": ["job.done"]},
        {"url": "ftp://example.com/x", "events": ["analysis.failed"]},
        {"events": ["analysis.failed"]},
    ],
)
def test_invalid_registrations_are_refused(hub: Backend, body: dict[str, object]) -> None:
    r = hub.client.post("/v1/webhooks", json=body, headers=hub.headers())
    assert r.status_code == 422
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["code"] == "invalid_input"


@pytest.mark.parametrize(
    "url",
    ["http://127.0.0.1:9/hook", "https://127.0.0.1:9/hook", "https://10.1.2.3/x", "http://example.com/x"],
)
def test_private_or_plain_http_targets_are_refused_by_default(
    make_embedded: Callable[..., Backend], url: str
) -> None:
    hub = make_embedded()
    r = hub.client.post(
        "/v1/webhooks", json={"url": url, "events": ["analysis.failed"]}, headers=hub.headers()
    )
    assert r.status_code == 422, r.text
    assert r.json()["code"] == "url_not_allowed"


def test_webhooks_need_an_api_key(hub: Backend) -> None:
    r = hub.client.get("/v1/webhooks")
    assert r.status_code == 401 and r.json()["code"] == "unauthorized"
