"""The contract every registered connector keeps, parametrised over the registry."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from datetime import UTC, datetime
from importlib.metadata import EntryPoint
from typing import Any

import httpx
import pytest

from core.delivery.session import GuardedSession
from core.registry import ENTRY_POINT_GROUP, ConnectorRegistry, Registered, get_registry, load_provider_spec
from core.sdk import (
    EVENT_TYPES,
    ConfigError,
    Credentials,
    OutboundMessage,
    PermanentError,
    ProviderSpec,
    Sink,
    Source,
    TransientError,
)
from tests.conftest import ECHODEPTH_BIN

REGISTERED = get_registry().all()
SINKS = [r for r in REGISTERED if r.kind == "sink"]
SOURCES = [r for r in REGISTERED if r.kind == "source"]
CREDENTIALS = Credentials(
    access_token="tok-contract",
    signing_secrets=("whsec_" + "A" * 44,),
    extra={"instance_url": "http://127.0.0.1:9"},
)
DESTINATION = "http://127.0.0.1:9/contract"
# What a vendor API answers on success, for SDK-driven sinks (any call; the webhook takes plain "ok").
SUCCESS_BODIES: dict[str, Any] = {
    "slack": {"ok": True, "channel": "C0CONTRACT", "ts": "1.000001", "messages": []},
    "hubspot": {"total": 0, "results": []},
    "salesforce": {"totalSize": 0, "done": True, "records": []},
}
# Per-sink settings that make the contract message reach the vendor (a rule matching every analysis).
SINK_SETTINGS: dict[str, dict[str, Any]] = {"slack": {"rules": [{"channel": "C0CONTRACT"}]}}
NOT_A_CONNECTOR = object()


def _ids(r: Registered) -> str:
    return r.key


def _message() -> OutboundMessage:
    data = {
        "job_id": "j1",
        "modality": "audio",
        "trust_score": 30.0,
        "metadata": {"crm": {"emails": ["ana@acme.io"]}},
    }
    return OutboundMessage(
        id="msg_contract",
        type="analysis.completed",
        timestamp=datetime.now(UTC),
        destination=DESTINATION,
        payload={"type": "analysis.completed", "data": data},
    )


def _spec(found: Registered) -> ProviderSpec:
    """The sink's spec pointed at the contract's address, with settings that make it call the vendor."""
    settings = {**found.spec.settings, **SINK_SETTINGS.get(found.key, {})}
    return found.spec.model_copy(update={"api_base_url": "http://127.0.0.1:9", "settings": settings})


def _session(handler: Callable[[httpx.Request], httpx.Response]) -> GuardedSession:
    return GuardedSession(CREDENTIALS, allow_private=True, timeout=5, transport=httpx.MockTransport(handler))


def test_the_webhook_connector_is_registered() -> None:
    assert "webhook" in get_registry().keys()  # noqa: SIM118 - keys() is a list


@pytest.mark.parametrize("found", REGISTERED, ids=_ids)
def test_connector_keeps_the_contract_of_its_kind(found: Registered) -> None:
    expected = Sink if found.kind == "sink" else Source
    assert isinstance(found.connector, expected)
    assert found.connector.key == found.key == found.spec.key
    assert found.connector.display_name


@pytest.mark.parametrize("found", REGISTERED, ids=_ids)
def test_provider_spec_file_validates(found: Registered) -> None:
    assert load_provider_spec(found.key) == found.spec


@pytest.mark.parametrize("found", SINKS, ids=_ids)
def test_sink_subscribes_only_to_known_events(found: Registered) -> None:
    assert isinstance(found.connector, Sink)
    assert found.connector.events and found.connector.events <= EVENT_TYPES


@pytest.mark.parametrize("found", SINKS, ids=_ids)
def test_sink_returns_a_receipt_on_success(found: Registered) -> None:
    seen: list[httpx.Request] = []

    def ok(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if found.key in SUCCESS_BODIES:
            return httpx.Response(200, json=SUCCESS_BODIES[found.key])
        return httpx.Response(200, text="ok")

    assert isinstance(found.connector, Sink)
    receipt = found.connector.deliver(_session(ok), _spec(found), _message())
    assert receipt.status_code == 200
    assert len(seen) == 1 if found.key == "webhook" else len(seen) >= 1


@pytest.mark.parametrize("found", SINKS, ids=_ids)
@pytest.mark.parametrize("status", [500, 502, 503])
def test_sink_raises_transient_error_on_server_errors(found: Registered, status: int) -> None:
    assert isinstance(found.connector, Sink)
    with pytest.raises(TransientError) as caught:
        found.connector.deliver(_session(lambda r: httpx.Response(status)), _spec(found), _message())
    assert caught.value.status == status


@pytest.mark.parametrize("found", SINKS, ids=_ids)
def test_sink_honours_retry_after_on_429(found: Registered) -> None:
    assert isinstance(found.connector, Sink)
    limited = httpx.Response(429, headers={"Retry-After": "7"})
    with pytest.raises(TransientError) as caught:
        found.connector.deliver(_session(lambda r: limited), _spec(found), _message())
    assert caught.value.retry_after == 7


@pytest.mark.parametrize("found", SINKS, ids=_ids)
def test_sink_raises_transient_error_on_timeout(found: Registered) -> None:
    def slow(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("too slow", request=request)

    assert isinstance(found.connector, Sink)
    with pytest.raises(TransientError):
        found.connector.deliver(_session(slow), _spec(found), _message())


@pytest.mark.parametrize("found", SINKS, ids=_ids)
def test_sink_raises_permanent_error_on_410(found: Registered) -> None:
    assert isinstance(found.connector, Sink)
    with pytest.raises(PermanentError):
        found.connector.deliver(_session(lambda r: httpx.Response(410)), _spec(found), _message())


@pytest.mark.parametrize("found", SINKS, ids=_ids)
def test_sink_cannot_reach_private_addresses_through_its_session(found: Registered) -> None:
    session = GuardedSession(CREDENTIALS, allow_private=False, timeout=5)
    assert isinstance(found.connector, Sink)
    with pytest.raises(PermanentError):
        found.connector.deliver(session, _spec(found), _message())


@pytest.mark.parametrize("found", SOURCES, ids=_ids)
def test_source_rejects_an_unsigned_event(found: Registered) -> None:
    assert isinstance(found.connector, Source)
    assert found.connector.verify({}, b"{}", "secret") is False


def test_registry_refuses_an_entry_point_that_is_not_a_connector() -> None:
    ep = EntryPoint(
        name="webhook", value="tests.connectors.test_contract:NOT_A_CONNECTOR", group=ENTRY_POINT_GROUP
    )
    with pytest.raises(ConfigError, match="contract"):
        ConnectorRegistry.discover([ep])


def test_registry_refuses_a_connector_without_a_provider_spec() -> None:
    ep = EntryPoint(name="nospec", value="connectors.webhook:CONNECTOR", group=ENTRY_POINT_GROUP)
    with pytest.raises(ConfigError, match="provider spec"):
        ConnectorRegistry.discover([ep])


def test_unknown_connector_key_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="no connector"):
        get_registry().get("fax")


def test_cli_lists_installed_connectors() -> None:
    env = {**os.environ, "COLUMNS": "300"}
    out = subprocess.run(
        [ECHODEPTH_BIN, "connectors", "list"], env=env, capture_output=True, text=True, check=True
    )
    row = next(line for line in out.stdout.splitlines() if " webhook " in line)
    assert "sink" in row and "connectors.webhook:CONNECTOR" in row
