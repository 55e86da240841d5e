"""The Integrations page: in chromium, HubSpot is connected through the emulator's OAuth pages (the API's
connect flow, back to the console), its mapping edited and checked at the vendor, the missing properties
created, and it is disconnected; under TestClient, scope gating, the vendor list from the registry and
alert rules with a test alert."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from core.app import create_app
from core.console.integrations import mapping_changes, mapping_rows
from core.runtime import Runtime
from core.sdk.errors import InputError
from tests.conftest import embedded_settings
from tests.console.conftest import (
    READER,
    ConsoleSite,
    Watched,
    add_users,
    free_port,
    screenshot,
    serve,
    sign_in,
)
from tests.console.test_security import _page_token
from tests.console.test_security import sign_in as client_sign_in
from tests.emulators import crm
from tests.emulators.hubspot import HubSpotEmulator, hubspot_emulator
from tests.emulators.slack import slack_emulator

Site = tuple[TestClient, Runtime, str]


@pytest.fixture(scope="module")
def hubspot() -> Iterator[HubSpotEmulator]:
    with hubspot_emulator() as emulator:
        yield emulator


@pytest.fixture(scope="module")
def crm_site(tmp_path_factory: pytest.TempPathFactory, hubspot: HubSpotEmulator) -> Iterator[ConsoleSite]:
    """A running server whose HubSpot app points at the emulator (its public URL is the server's own)."""
    tmp, port = tmp_path_factory.mktemp("crm"), free_port()
    settings = embedded_settings(
        tmp,
        public_url=f"http://127.0.0.1:{port}",
        providers_dir=crm.providers_dir(tmp / "providers", [hubspot]),
        allow_private_urls=True,
        connectors={
            "hubspot": {"client_id": hubspot.client_id, "client_secret": SecretStr(hubspot.client_secret)}
        },
    )
    with pytest.MonkeyPatch.context() as patch, serve(settings, port) as running:
        patch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")  # the emulator speaks plain http on loopback
        running.tenant_id, running.users = add_users(running.runtime)
        yield running


@pytest.mark.browser
def test_connect_hubspot_edit_its_mapping_create_the_fields_and_disconnect(
    crm_site: ConsoleSite, watched: Watched, hubspot: HubSpotEmulator
) -> None:
    page, rt = watched.page, crm_site.runtime
    sign_in(page, crm_site)
    page.get_by_role("link", name="Integrations").click()
    assert page.locator("li[data-provider=hubspot] button").inner_text() == "Connect HubSpot"
    page.get_by_role("button", name="Connect HubSpot").click()  # emulator consent, API callback, back here
    page.wait_for_selector("[data-outcome=connected]")
    assert "/console/integrations?" in page.url
    [conn] = rt.connections.store.list(crm_site.tenant_id)
    row = page.locator(f"tr[data-connection='{conn.id}']")
    assert row.locator("[data-state]").inner_text() == "connected"
    screenshot(page, "integrations")
    row.get_by_role("link", name="HubSpot").click()
    page.get_by_label("contacts echodepth_trust_score filled from").select_option("valence")
    page.locator("input[name=new_name]").fill("echodepth_arousal_copy")
    page.locator("select[name=new_from]").select_option("arousal")
    page.get_by_role("button", name="Save mapping").click()
    page.wait_for_selector("[data-saved]")
    mapping = rt.deliveries.sinks.read(conn.id)["mapping"]
    assert mapping["contacts"]["echodepth_trust_score"]["from"] == "valence"
    assert mapping["contacts"]["echodepth_arousal_copy"]["from"] == "arousal"
    missing = page.locator("[data-missing]").all_inner_texts()
    assert "contacts.echodepth_arousal_copy (number)" in missing
    screenshot(page, "connection")
    page.get_by_role("button", name="Create missing fields").click()
    page.wait_for_selector("[data-created]")
    assert "echodepth_arousal_copy" in hubspot.properties["contacts"]
    page.get_by_role("button", name="Check fields at the vendor").click()
    page.wait_for_selector("[data-all-present]")
    page.get_by_role("link", name="← Integrations").click()
    page.once("dialog", lambda d: d.accept())
    page.get_by_role("button", name="Disconnect HubSpot").click()
    page.wait_for_selector("[data-outcome=disconnected]")
    assert rt.connections.store.list(crm_site.tenant_id) == []


def test_integrations_need_the_scope_and_list_the_registry_vendors(client_site: Site) -> None:
    client, _, _ = client_site
    client_sign_in(client, READER)
    assert client.get("/console/integrations").status_code == 403
    client_sign_in(client)
    html = client.get("/console/integrations").text
    for name in ("Zoom", "Microsoft Teams", "Salesforce", "HubSpot", "Slack"):
        assert f"<strong>{name}</strong>" in html, name
    assert "ECHODEPTH_HUBSPOT_CLIENT_ID" in html  # not set up on this server: the page says how


def test_alert_rules_are_saved_and_a_test_alert_is_delivered(tmp_path: Path) -> None:
    with slack_emulator() as slack:
        settings = embedded_settings(
            tmp_path,
            providers_dir=crm.providers_dir(tmp_path / "providers", [slack]),
            allow_private_urls=True,
        )
        rt = Runtime(settings)
        rt.start_embedded_worker()
        try:
            tenant_id, _ = add_users(rt)
            conn_id = crm.connect(rt, tenant_id, slack)
            client = TestClient(create_app(rt))
            client_sign_in(client)
            token = _page_token(client.get(f"/console/integrations/connections/{conn_id}").text)
            form = {
                "csrf_token": token,
                "new.channel": "C0ALERTS",
                "new.modality": "text",
                "new.trust_below": "40",
            }
            saved = client.post(f"/console/integrations/connections/{conn_id}/rules", data=form)
            assert saved.status_code == 200, saved.text
            rules = rt.deliveries.sinks.read(conn_id)["rules"]
            assert rules == [{"channel": "C0ALERTS", "modalities": ["text"], "trust_below": 40.0}]
            bad = {**form, "new.trust_below": "140"}
            assert (
                client.post(f"/console/integrations/connections/{conn_id}/rules", data=bad).status_code == 422
            )
            tested = client.post(f"/console/integrations/connections/{conn_id}/rules/0/test", data=form)
            assert "data-tested" in tested.text
            _until(lambda: len(slack.messages("C0ALERTS")) == 1)
        finally:
            rt.close()


def _until(check: Callable[[], bool], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def test_mapping_changes_keep_unchanged_fields_as_defaults_and_refuse_unknown_sources() -> None:
    defaults = {
        "group": {"name": "g"},
        "people": {"a": {"from": "valence", "type": "number", "round": 3}},
        "speaker_fields": {"valence": {"from": "vad.valence"}},  # no vendor type: not a vendor field
    }
    rows = mapping_rows(defaults, {})
    assert [(r.section, r.name) for r in rows] == [("people", "a")]
    assert mapping_changes(rows, {"from.people.a": "valence"}, ["valence", "arousal"]) == {}
    changed = mapping_changes(rows, {"from.people.a": "arousal"}, ["valence", "arousal"])
    assert changed == {"people": {"a": {"from": "arousal", "type": "number", "round": 3}}}
    with pytest.raises(InputError):
        mapping_changes(rows, {"from.people.a": "password"}, ["valence"])
    with pytest.raises(InputError):
        mapping_changes(
            rows, {"new_name": "1bad", "new_section": "people", "new_from": "valence"}, ["valence"]
        )
