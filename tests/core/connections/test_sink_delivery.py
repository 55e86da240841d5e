"""Sink connections (Slack, HubSpot, Salesforce) delivered like webhooks, end to end against emulators:
one message / timeline event / Task per analysis, also on replay, and a rejected token is refreshed."""

from __future__ import annotations

import subprocess
import time
from typing import Any

import pytest
from pydantic import SecretStr

from tests.conftest import ECHODEPTH_BIN, settings_env
from tests.core.connections.conftest import Hub
from tests.emulators import hubspot

SINKS = ["hubspot", "salesforce", "slack"]
EMAIL = "ana@acme.io"


def _prepare(hub: Hub, connection_id: str) -> None:
    """Vendor records to match and the connection settings each Sink needs."""
    settings: dict[str, Any] = {}
    if hub.vendor.key == "slack":
        settings = {"rules": [{"channel": "C0ALERTS", "modalities": ["text"]}]}
    elif hub.vendor.key == "hubspot":
        hub.emulator.add("contacts", email=EMAIL)
        settings = {"event_template_id": "1001298"}
    else:
        hub.emulator.add("Contact", Email=EMAIL)
    r = hub.client.put(f"/v1/connections/{connection_id}/mapping", json=settings, headers=hub.headers())
    assert r.status_code == 200, r.text


def _written(hub: Hub) -> int:
    """How many Slack messages, timeline events or Tasks the vendor holds."""
    if hub.vendor.key == "slack":
        return len(hub.emulator.messages("C0ALERTS"))
    if hub.vendor.key == "hubspot":
        return len(hub.emulator.timeline)
    return len(hub.emulator.records.get("Task", {}))


def _sink_delivery(hub: Hub, timeout: float = 30, not_id: str | None = None) -> dict[str, Any]:
    """The newest delivery to the Sink connection once it is delivered or dead."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        rows = hub.client.get("/v1/webhooks/deliveries", headers=hub.headers()).json()["data"]
        mine = [d for d in rows if d["url"].startswith("connection:") and d["id"] != not_id]
        if mine and mine[0]["status"] in ("delivered", "dead"):
            return dict(mine[0])
        time.sleep(0.05)
    raise AssertionError("the sink delivery did not finish")


def _analyse(hub: Hub) -> str:
    hub.runtime.queue.start_worker()  # the hub runs deliveries only; an analysis needs the job worker
    job_id = hub.backend.submit(
        "I am not sure the price works for us.", metadata={"crm": {"emails": [EMAIL]}}
    )
    hub.backend.wait(job_id)
    return job_id


@pytest.mark.parametrize("hub", SINKS, indirect=True)
def test_an_analysis_lands_once_and_a_replay_writes_nothing_new(hub: Hub) -> None:
    connection_id = hub.connect()["connection_id"]
    _prepare(hub, connection_id)
    _analyse(hub)
    first = _sink_delivery(hub)
    assert first["status"] == "delivered", first["last_error"]
    assert first["endpoint_id"] == connection_id
    assert _written(hub) == 1
    r = hub.client.post(f"/v1/webhooks/deliveries/{first['id']}/replay", headers=hub.headers())
    assert r.status_code == 202, r.text
    again = _sink_delivery(hub, not_id=first["id"])
    assert again["status"] == "delivered" and again["replay_of"] == first["id"]
    assert _written(hub) == 1


@pytest.mark.parametrize("hub", SINKS, indirect=True)
def test_a_rejected_token_is_refreshed_through_the_vault_and_delivered(hub: Hub) -> None:
    connection_id = hub.connect()["connection_id"]
    _prepare(hub, connection_id)
    hub.emulator.expire_access()
    _analyse(hub)
    done = _sink_delivery(hub)
    assert done["status"] == "delivered", done["last_error"]
    assert hub.emulator.state.refresh_calls == 1
    assert _written(hub) == 1


@pytest.mark.parametrize("hub", ["hubspot"], indirect=True)
def test_mapping_is_editable_through_the_api(hub: Hub) -> None:
    connection_id = hub.connect()["connection_id"]
    body = {"mapping": {"contacts": {"echodepth_trust_score": {"from": "trust_score", "type": "number"}}}}
    r = hub.client.put(f"/v1/connections/{connection_id}/mapping", json=body, headers=hub.headers())
    assert r.status_code == 200, r.text
    got = hub.client.get(f"/v1/connections/{connection_id}/mapping", headers=hub.headers()).json()
    assert got["settings"]["mapping"] == body["mapping"]
    bad = hub.client.put(
        f"/v1/connections/{connection_id}/mapping", json={"colour": 1}, headers=hub.headers()
    )
    assert bad.status_code == 422
    other = hub.client.put("/v1/connections/nope/mapping", json={}, headers=hub.headers())
    assert other.status_code == 404


@pytest.mark.parametrize("hub", ["hubspot", "salesforce"], indirect=True)
def test_setup_route_checks_then_creates_the_mapped_fields(hub: Hub) -> None:
    connection_id = hub.connect()["connection_id"]
    url = f"/v1/connections/{connection_id}/setup"
    checked = hub.client.post(url, params={"create": "false"}, headers=hub.headers()).json()
    assert checked["missing"] and not checked["created"]
    made = hub.client.post(url, headers=hub.headers()).json()
    assert made["created"] and not made["missing"]
    again = hub.client.post(url, headers=hub.headers()).json()
    assert not again["created"] and not again["missing"] and again["present"]


@pytest.mark.parametrize("hub", ["salesforce"], indirect=True)
def test_cli_setup_creates_the_fields_and_says_what_the_admin_must_do(hub: Hub) -> None:
    connection_id = hub.connect()["connection_id"]
    env = settings_env(hub.runtime.settings)
    cmd = [ECHODEPTH_BIN, "connectors", "setup", "salesforce", "--connection", connection_id]
    first = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=60)
    assert first.returncode == 1, first.stderr  # field-level security is left to the admin
    assert "created: Contact.EchoDepth_Trust_Score__c" in first.stdout
    assert "field-level security" in first.stdout
    second = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=60)
    assert second.returncode == 0, second.stdout + second.stderr
    assert "present: Task.EchoDepth_Key__c" in second.stdout


@pytest.mark.parametrize("hub", ["hubspot"], indirect=True)
def test_setup_creates_the_timeline_template_once_and_deliveries_use_its_id(
    hub: Hub, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = hub.runtime.settings
    app = {"app_id": str(hubspot.APP_ID), "developer_api_key": SecretStr(hubspot.DEVELOPER_API_KEY)}
    monkeypatch.setitem(settings.connectors, "hubspot", {**settings.connectors["hubspot"], **app})
    connection_id = hub.connect()["connection_id"]
    made = hub.client.post(f"/v1/connections/{connection_id}/setup", headers=hub.headers()).json()
    # one template per object type (contacts, deals): a legacy v3 timeline app (docs/vendors.md, HubSpot)
    kinds = {i: t["objectType"] for i, t in hub.emulator.templates.items()}  # those setup created
    template_id = next(i for i, kind in kinds.items() if kind == "contacts")
    assert sorted(kinds.values()) == ["contacts", "deals"]
    assert f"timeline event template {template_id}" in made["created"] and not made["manual"]
    stored = hub.client.get(f"/v1/connections/{connection_id}/mapping", headers=hub.headers()).json()
    assert stored["settings"]["event_template_id"] == template_id
    again = hub.client.post(f"/v1/connections/{connection_id}/setup", headers=hub.headers()).json()
    assert f"timeline event template {template_id}" in again["present"] and len(hub.emulator.templates) == 2
    hub.emulator.add("contacts", email=EMAIL)
    _analyse(hub)
    done = _sink_delivery(hub)
    assert done["status"] == "delivered", done["last_error"]
    [event] = hub.emulator.timeline.values()  # the contact has no open deal: one event, on the contact
    assert event["eventTemplateId"] == template_id
