"""What only one vendor does: Salesforce login hosts and instance_url, Microsoft's tenant-wide (admin consent
+ client credentials) connections, Slack's token answer shape."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import requests
from sqlalchemy import text

from tests.core.connections.conftest import Hub
from tests.emulators import microsoft, salesforce, slack


def _authorize(hub: Hub, **query: str) -> httpx.Response:
    return hub.client.get(
        f"/v1/connections/{hub.vendor.key}/authorize",
        params=query,
        headers=hub.headers(),
        follow_redirects=False,
    )


@pytest.mark.parametrize("hub", ["salesforce"], indirect=True)
@pytest.mark.parametrize("host", ["test", salesforce.MY_DOMAIN])
def test_salesforce_sandbox_and_my_domain_hosts_are_used_for_every_token_call(hub: Hub, host: str) -> None:
    prefix = "test" if host == "test" else f"mydomain/{host}"
    assert hub.connect(host=host)["status"] == "connected"
    [conn] = hub.connections()
    assert conn["account"]["instance_url"] == f"{hub.emulator.base}/instance"
    assert conn["account"]["organization_id"] == salesforce.ORG_ID
    hub.emulator.expire_access()
    assert hub.runtime.connections.tokens.call(conn["id"], hub.api).status_code == 200
    assert hub.client.delete(f"/v1/connections/{conn['id']}", headers=hub.headers()).status_code == 200
    assert hub.emulator.state.token_hosts == [prefix, prefix]  # code exchange and refresh
    assert hub.emulator.revoke_hosts == [prefix]


@pytest.mark.parametrize("hub", ["salesforce"], indirect=True)
def test_salesforce_refuses_a_host_that_is_not_salesforce(hub: Hub) -> None:
    for host in ("evil.example.com", "acme.my.salesforce.com.evil.example"):
        r = _authorize(hub, host=host)
        assert r.status_code == 422 and r.json()["code"] == "invalid_input"


@pytest.mark.parametrize("hub", ["salesforce"], indirect=True)
def test_salesforce_default_host_is_login(hub: Hub) -> None:
    assert urlsplit(_authorize(hub).headers["location"]).path == "/login/services/oauth2/authorize"


def _graph_user(hub: Hub, token: str) -> requests.Response:
    return requests.get(
        f"{hub.emulator.base}/v1.0/users/6e8b1c3f-0000-4000-8000-000000000001",
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )


@pytest.mark.parametrize("hub", ["microsoft"], indirect=True)
def test_microsoft_admin_consent_makes_an_app_only_connection(hub: Hub) -> None:
    assert hub.connect()["status"] == "connected"  # a user of the organisation proves who they are first
    start = _authorize(hub, flow="admin_consent")
    assert urlsplit(start.headers["location"]).path == "/organizations/v2.0/adminconsent"
    assert parse_qs(urlsplit(start.headers["location"]).query)["scope"] == [microsoft.GRAPH_DEFAULT]
    result = hub.connect(flow="admin_consent")
    assert result["status"] == "connected"
    app_only = next(c for c in hub.connections() if c["grant_type"] == "client_credentials")
    assert app_only["id"] == result["connection_id"]
    assert app_only["external_account_id"] == microsoft.TENANT_ID
    assert app_only["account"]["oauth_params"] == {"tenant": microsoft.TENANT_ID}
    assert len(hub.connections()) == 2
    tokens = hub.runtime.connections.tokens
    first = tokens.access_token(app_only["id"])
    hub.emulator.expire_access()
    calls = hub.emulator.state.refresh_calls
    # no refresh token: a new client-credentials token; app-only, the app reads users (GET /organization would
    # need Organization.Read.All, which it neither asks for nor needs)
    answer = tokens.call(app_only["id"], lambda token: _graph_user(hub, token))
    assert answer.status_code == 200 and hub.emulator.state.refresh_calls == calls + 1
    assert tokens.access_token(app_only["id"]) != first
    assert hub.emulator.tenants_seen == ["organizations"]


@pytest.mark.parametrize("hub", ["microsoft"], indirect=True)
def test_microsoft_admin_consent_needs_a_verified_organisation(hub: Hub) -> None:
    result = hub.connect(flow="admin_consent")
    assert result == {
        "status": "error",
        "provider": "microsoft",
        "connection_id": None,
        "code": "organisation_not_verified",
    }
    assert hub.connections() == []


@pytest.mark.parametrize("hub", ["microsoft"], indirect=True)
def test_microsoft_admin_consent_for_another_tenant_than_asked_is_refused(hub: Hub) -> None:
    hub.connect()
    asked = hub.emulator.admin_tenant
    hub.emulator.new_admin_tenant()  # the admin who answers belongs to another organisation
    start = _authorize(hub, flow="admin_consent", tenant=asked)
    back = urlsplit(httpx.get(start.headers["location"], follow_redirects=False).headers["location"])
    r = hub.client.get(f"{back.path}?{back.query}", follow_redirects=False)
    assert r.status_code == 400 and r.json()["code"] == "invalid_state"


@pytest.mark.parametrize("hub", ["microsoft"], indirect=True)
def test_microsoft_state_of_one_flow_is_refused_by_the_other(hub: Hub) -> None:
    start = _authorize(hub, flow="admin_consent")
    state = parse_qs(urlsplit(start.headers["location"]).query)["state"][0]
    r = hub.client.get(
        "/v1/oauth/callback/microsoft", params={"code": "x", "state": state}, follow_redirects=False
    )
    assert r.status_code == 400 and r.json()["code"] == "invalid_state"
    assert _authorize(hub, flow="implicit").status_code == 422


@pytest.mark.parametrize("hub", ["slack"], indirect=True)
def test_slack_comma_scopes_team_account_and_no_user_token_at_rest(hub: Hub) -> None:
    asked = ["chat:write", "chat:write.public", "channels:history", "groups:history"]  # as slack.yaml asks
    start = _authorize(hub)
    assert parse_qs(urlsplit(start.headers["location"]).query)["scope"] == [",".join(asked)]
    hub.connect()
    [conn] = hub.connections()
    assert sorted(conn["scopes"]) == sorted(asked)  # what Slack's answer says was granted
    assert conn["account"] == {
        "team_id": slack.TEAM_ID,
        "team_name": "Slack Softworks",
        "bot_user_id": "U0KRQLJ9H",
        "app_id": "A0KRD7HC3",
    }
    with hub.runtime.db.engine.connect() as c:
        dump = repr([tuple(r) for r in c.execute(text("SELECT * FROM connections"))])
    assert not any(t in dump for t in hub.emulator.user_tokens)
