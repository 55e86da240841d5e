"""HubSpot timeline activities (app events v4, legacy v3 on deals too), scopes, and the emulator's contract
checks, all through hubspot-api-client against the validating emulator."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from connectors.hubspot import CONNECTOR
from core.delivery.session import GuardedSession
from core.registry import load_provider_spec
from core.sdk import AuthError, Credentials, OutboundMessage, PermanentError, ProviderSpec, TransientError
from core.sdk.http import Answer, classify
from tests.emulators import hubspot
from tests.emulators.hubspot import HubSpotEmulator, hubspot_emulator
from tests.emulators.oauth import consented_scopes

CONTACT_TYPE, DEAL_TYPE = "ae62515_echodepth-analysis-contact", "ae62515_echodepth-analysis-deal"


@pytest.fixture
def emulator() -> Iterator[HubSpotEmulator]:
    with hubspot_emulator() as emu:
        emu.app_event_types = {CONTACT_TYPE: "contacts", DEAL_TYPE: "deals"}
        yield emu


def _spec(emu: HubSpotEmulator, app_events: bool = True, **settings: Any) -> ProviderSpec:
    base = load_provider_spec("hubspot")
    mapping = {"app_events": {"contacts": CONTACT_TYPE, "deals": DEAL_TYPE}} if app_events else {}
    merged = {**base.settings, "event_template_id": "", "mapping": mapping, **settings}
    return base.model_copy(update={"api_base_url": emu.base, "settings": merged})


def _session(emu: HubSpotEmulator, scopes: set[str] | None = None) -> GuardedSession:
    token = emu.mint(with_refresh=False, scopes=scopes)[0]
    return GuardedSession(Credentials(access_token=token), allow_private=True, timeout=5)


def _message(n: int, emails: list[str]) -> OutboundMessage:
    data = {
        "job_id": f"job-{n}",
        "trust_score": 40.0 + n,
        "vad": {"valence": 0.5, "arousal": 0.25, "dominance": 0.75},
        "completed_at": "2026-11-24T10:00:00Z",
        "metadata": {"crm": {"emails": emails}},
    }
    return OutboundMessage(f"msg_{n}", "analysis.completed", datetime.now(UTC), "hubspot", {"data": data})


def _buyers(emu: HubSpotEmulator, n: int) -> tuple[list[str], list[str]]:
    """``n`` contacts, each with one open deal."""
    contacts, deals = [], []
    for i in range(n):
        contacts.append(emu.add("contacts", email=f"p{i}@acme.io"))
        deals.append(emu.add("deals", dealname=f"D{i}", hs_is_closed="false"))
        emu.associations.add((contacts[-1], deals[-1]))
    return contacts, deals


def test_app_events_put_one_occurrence_on_each_contact_and_deal(emulator: HubSpotEmulator) -> None:
    contacts, deals = _buyers(emulator, 3)
    messages = [_message(i, [f"p{i}@acme.io"]) for i in range(3)]
    session, spec = _session(emulator), _spec(emulator)
    for _ in range(2):  # a replay makes no second occurrence
        assert all(not isinstance(o, Exception) for o in CONNECTOR.deliver_batch(session, spec, messages))
    assert emulator.api_calls.count("POST /integrators/timeline/v4/events/batch") == 2
    on_contacts, on_deals = emulator.events_on("contacts"), emulator.events_on("deals")
    assert sorted(e["objectId"] for e in on_contacts) == sorted(contacts)
    assert sorted(e["objectId"] for e in on_deals) == sorted(deals)
    event = emulator.timeline[f"msg_1-deal-{deals[1]}"]
    assert event["eventTypeName"] == DEAL_TYPE and event["properties"]["trust_score"] == "41.0"
    assert event["timestamp"] == "2026-11-24T10:00:00Z"
    assert emulator.objects["deals"][deals[1]]["echodepth_trust_score"] == "41.0"


def test_a_single_delivery_writes_its_contact_and_deal_occurrences_in_one_call(
    emulator: HubSpotEmulator,
) -> None:
    [contact], [deal] = _buyers(emulator, 1)
    CONNECTOR.deliver(_session(emulator), _spec(emulator), _message(0, ["p0@acme.io"]))
    assert emulator.api_calls.count("POST /integrators/timeline/v4/events/batch") == 1
    assert {(e["objectType"], e["objectId"]) for e in emulator.timeline.values()} == {
        ("contacts", contact),
        ("deals", deal),
    }


def test_legacy_v3_templates_put_events_on_deals_too(emulator: HubSpotEmulator) -> None:
    _, deals = _buyers(emulator, 2)
    spec = _spec(emulator, app_events=False, event_template_id="1001298", deal_event_template_id="1001299")
    CONNECTOR.deliver_batch(_session(emulator), spec, [_message(i, [f"p{i}@acme.io"]) for i in range(2)])
    assert emulator.api_calls.count("POST /integrators/timeline/v3/events/batch/create") == 1
    assert sorted(e["objectId"] for e in emulator.events_on("deals")) == sorted(deals)
    assert emulator.timeline[f"msg_0-deal-{deals[0]}"]["eventTemplateId"] == "1001299"


def test_without_event_types_only_the_properties_are_written(emulator: HubSpotEmulator) -> None:
    contacts, _ = _buyers(emulator, 1)
    outcomes = CONNECTOR.deliver_batch(
        _session(emulator), _spec(emulator, app_events=False), [_message(0, ["p0@acme.io"])]
    )
    assert not isinstance(outcomes[0], Exception) and emulator.timeline == {}
    assert emulator.objects["contacts"][contacts[0]]["echodepth_trust_score"] == "40.0"


def test_an_event_type_hubspot_does_not_know_fails_only_its_analyses(emulator: HubSpotEmulator) -> None:
    _buyers(emulator, 2)
    emulator.app_event_types = {CONTACT_TYPE: "contacts"}  # the deal type was never approved
    outcomes = CONNECTOR.deliver_batch(
        _session(emulator), _spec(emulator), [_message(i, [f"p{i}@acme.io"]) for i in range(2)]
    )
    assert all(isinstance(o, PermanentError) and o.code == "VALIDATION_ERROR" for o in outcomes)
    assert len(emulator.events_on("contacts")) == 2  # written; a retry counts them as done


@pytest.mark.parametrize(
    ("scope", "call"),
    [
        ("crm.objects.deals.write", "POST /crm/v3/objects/deals/batch/update"),
        ("crm.objects.deals.read", "POST /crm/v3/objects/deals/search"),
        ("crm.objects.contacts.write", "POST /crm/v3/objects/contacts/batch/update"),
        ("timeline", "POST /integrators/timeline/v4/events/batch"),
    ],
)
def test_a_token_without_a_needed_scope_is_an_auth_error_naming_it(
    emulator: HubSpotEmulator, scope: str, call: str
) -> None:
    """HubSpot's 403 MISSING_SCOPES marks the connection needs_reauth (re-consent), not a dead letter."""
    _buyers(emulator, 1)
    session = _session(emulator, set(consented_scopes("hubspot")) - {scope})
    with pytest.raises(AuthError) as caught:
        CONNECTOR.deliver_batch(session, _spec(emulator), [_message(0, ["p0@acme.io"])])
    assert caught.value.code == "missing_scopes" and caught.value.status == 403
    assert scope in str(caught.value) and emulator.api_calls[-1] == call


def test_setup_without_the_schema_write_scope_is_an_auth_error(emulator: HubSpotEmulator) -> None:
    session = _session(emulator, set(consented_scopes("hubspot")) - {"crm.schemas.deals.write"})
    with pytest.raises(AuthError) as caught:
        CONNECTOR.setup(session, _spec(emulator))
    assert "crm.schemas.deals.write" in str(caught.value)
    assert "echodepth_trust_score" in emulator.properties["contacts"]  # contacts had their scope


def _post(emu: HubSpotEmulator, path: str, body: Any) -> httpx.Response:
    token = emu.mint(with_refresh=False)[0]
    return httpx.post(f"{emu.base}{path}", json=body, headers={"Authorization": f"Bearer {token}"})


def _sample_keys(name: str) -> set[str]:
    return set(json.loads((hubspot.SAMPLES / f"{name}.json").read_text())["body"])


@pytest.mark.parametrize(
    ("path", "body", "said"),
    [
        ("/crm/v3/objects/contacts/batch/update", {"inputs": [{"id": "1", "properties": {}, "x": 1}]}, '"x"'),
        ("/crm/v3/objects/contacts/batch/update", {"inputs": [{"id": "1", "properties": {"a": 2}}]}, "str"),
        ("/crm/v3/objects/deals/batch/update", {"inputs": [{"properties": {}}]}, "`id`"),
        ("/crm/v3/objects/contacts/search", {"filterGroups": [{"filters": [{"propertyName": "email",
         "operator": "IN", "values": [str(i) for i in range(101)]}]}]}, "100 values"),
        ("/crm/v3/objects/contacts/search", {"limit": 201}, "200"),
        ("/crm/v3/objects/contacts/search", {"filterGroups": [{"filters": [{"propertyName": "email",
         "operator": "LIKE", "value": "a"}]}]}, "operator"),
        ("/crm/v3/objects/contacts/batch/update", {"inputs": [{"id": str(i), "properties": {}}
         for i in range(101)]}, "at most 100"),
        ("/crm/v4/associations/contacts/deals/batch/read", {"inputs": [{"id": str(i)}
         for i in range(1001)]}, "at most 1000"),
        ("/integrators/timeline/v4/events/batch", {"inputs": [{"eventTypeName": CONTACT_TYPE,
         "objectId": 5}]}, "objectId"),
    ],
)  # fmt: skip
def test_the_emulator_refuses_what_hubspot_refuses_with_its_validation_body(
    emulator: HubSpotEmulator, path: str, body: Any, said: str
) -> None:
    refused = _post(emulator, path, body)
    assert refused.status_code == 400 and refused.json()["category"] == "VALIDATION_ERROR"
    assert set(refused.json()) == _sample_keys("validation_error_400") and said in refused.json()["message"]


def test_a_call_no_contract_row_lists_is_refused(emulator: HubSpotEmulator) -> None:
    from tests.emulators import contract

    before = len(contract.UNLISTED)
    answer = _post(emulator, "/crm/v3/objects/contacts/batch/archive", {"inputs": []})
    assert answer.status_code == 404 and contract.UNLISTED[before:] == [
        ("hubspot", "POST", "/crm/v3/objects/contacts/batch/archive")
    ]
    contract.UNLISTED[before:] = []  # refused on purpose: the session hook must not fail the run


def test_the_missing_scopes_answer_is_the_documented_body(emulator: HubSpotEmulator) -> None:
    token = emulator.mint(with_refresh=False, scopes={"oauth"})[0]
    answer = httpx.post(
        f"{emulator.base}/crm/v3/objects/deals/search", json={}, headers={"Authorization": f"Bearer {token}"}
    )
    body = answer.json()
    assert answer.status_code == 403 and set(body) == _sample_keys("missing_scopes_403")
    assert body["category"] == "MISSING_SCOPES"
    assert body["errors"][0]["context"]["requiredGranularScopes"] == ["crm.objects.deals.read"]


@pytest.mark.parametrize(
    ("name", "kind", "code", "retry_after"),
    [
        ("missing_scopes_403", AuthError, "missing_scopes", None),
        ("expired_authentication_401", AuthError, "token_rejected", None),
        ("rate_limit_ten_secondly_429", TransientError, "rate_limited", 10.0),
        ("rate_limit_secondly_429", TransientError, "rate_limited", 1.0),
        ("validation_error_400", PermanentError, "http_error", None),
    ],
)
def test_each_documented_error_sample_becomes_the_typed_error_that_means_its_action(
    name: str, kind: type[Exception], code: str, retry_after: float | None
) -> None:
    raw = json.loads((hubspot.SAMPLES / f"{name}.json").read_text())
    spec = load_provider_spec("hubspot")
    typed = classify(spec, Answer(raw["status"], raw.get("headers") or {}, json.dumps(raw["body"])))
    assert isinstance(typed, kind) and typed.code == code  # type: ignore[attr-defined]
    assert typed.retry_after == retry_after  # type: ignore[attr-defined]
