"""The Settings page: purposes and lawful basis, region, retention, usage and the audit log (admin only)."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from core.runtime import Runtime
from tests.console.conftest import ConsoleSite, Watched, screenshot, sign_in
from tests.console.test_security import _page_token
from tests.console.test_security import sign_in as client_sign_in

Site = tuple[TestClient, Runtime, str]


@pytest.mark.browser
def test_an_admin_declares_purposes_sets_retention_and_reads_usage_and_audit(
    site: ConsoleSite, watched: Watched
) -> None:
    page, rt = watched.page, site.runtime
    sign_in(page, site)
    page.get_by_role("link", name="Settings").click()
    assert page.locator("[data-region]").inner_text().startswith("UK")
    page.get_by_label("sales calls").check()
    page.get_by_label("Lawful basis (GDPR Art. 6(1))").select_option("legitimate_interests")
    page.get_by_role("button", name="Save purposes").click()
    page.wait_for_selector("[data-saved=purposes]")
    policy = rt.policies.get(site.tenant_id)
    assert "sales_calls" in policy.purposes and policy.consent_basis == "legitimate_interests"
    page.get_by_label(re.compile("Retention in days")).fill("30")
    page.get_by_role("button", name="Save retention").click()
    page.wait_for_selector("[data-saved=retention]")
    assert page.locator("[data-retention]").inner_text() == "30 days after their job ends"
    assert rt.policies.get(site.tenant_id).retention_days == 30
    assert page.locator("[data-tier]").inner_text() != ""
    actions = page.locator("#audit-log [data-audit]").evaluate_all("rows => rows.map(r => r.dataset.audit)")
    assert actions[:2] == ["tenant.retention.set", "tenant.purposes.set"]
    page.get_by_label("Action").fill("tenant.purposes.set")
    page.get_by_label("Action").press("Enter")
    page.wait_for_function("() => document.querySelectorAll('#audit-log [data-audit]').length === 1")
    screenshot(page, "settings")


def test_settings_need_admin_and_refuse_bad_input(client_site: Site) -> None:
    client, rt, tenant_id = client_site
    client_sign_in(client, "reader@acme.test")
    assert client.get("/console/settings").status_code == 403
    client_sign_in(client)
    token = _page_token(client.get("/console/settings").text)
    bad = client.post("/console/settings/retention", data={"days": "0", "csrf_token": token})
    assert bad.status_code == 422 and "between 1 and 3650" in bad.text
    assert client.post("/console/settings/retention", data={"days": "9"}).status_code == 403  # no CSRF token
    saved = client.post("/console/settings/purposes", data={"purposes": ["medical"], "csrf_token": token})
    assert saved.status_code == 200
    assert list(rt.policies.get(tenant_id).purposes) == ["medical"]
