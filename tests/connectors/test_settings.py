"""Each connector declares its own settings; core finds them through the registry and holds no vendor's."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr

from core.delivery.sinks import SinkSettingsIn
from core.registry import ConnectorRegistry, connector_settings, get_registry
from core.settings import Settings

ROOT = Path(__file__).resolve().parents[2]


def _env_names(registry: ConnectorRegistry) -> list[str]:
    names = []
    for found in registry.all():
        model = getattr(found.connector, "settings_model", None)
        if model is not None:
            prefix = str(model.model_config.get("env_prefix", ""))
            names += [f"{prefix}{field}".upper() for field in model.model_fields]
    return names


def test_every_connector_setting_is_in_the_readme() -> None:
    readme = (ROOT / "README.md").read_text()
    names = _env_names(get_registry())
    assert len(names) >= 14
    assert [n for n in names if n not in readme] == []


def test_the_environment_names_keep_working(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ECHODEPTH_HUBSPOT_APP_ID", "123")
    monkeypatch.setenv("ECHODEPTH_HUBSPOT_DEVELOPER_API_KEY", "dev-key")
    monkeypatch.setenv("ECHODEPTH_MICROSOFT_CLIENT_ID", "entra-app")
    assert connector_settings("hubspot").for_setup() == {"app_id": "123", "developer_api_key": "dev-key"}
    assert connector_settings("microsoft").value("client_id") == "entra-app"  # the Teams connector's app


def test_the_connectors_setting_overrides_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ECHODEPTH_ZOOM_CHATBOT_JID", "from-env")
    settings = Settings(connectors={"zoom": {"chatbot_jid": "given", "webhook_secret_token": SecretStr("s")}})
    found = connector_settings("zoom", settings.connectors)
    assert found.value("chatbot_jid") == "given" and found.value("webhook_secret_token") == "s"


def test_a_provider_without_a_connector_model_reads_its_oauth_app(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ECHODEPTH_ACME_CLIENT_ID", "acme-app")
    assert connector_settings("acme").value("client_id") == "acme-app"


def test_core_settings_hold_no_vendor() -> None:
    vendors = {r.key for r in get_registry().all()} - {"webhook"} | {"microsoft"}  # webhook: our own
    fields = set(Settings.model_fields) | set(SinkSettingsIn.model_fields)
    assert [f for f in fields if f.split("_")[0] in vendors] == []
