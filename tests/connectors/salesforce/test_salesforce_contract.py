"""The Salesforce emulator holds the connector to what Salesforce documents (tests/contracts/salesforce/):
OAuth scopes per call, the sObject Collections rules (200 records, 10 chunks, attributes.type, known fields
of the right type), the Task WhoId/WhatId rule, the query URI limit and the documented error bodies, all
driven through simple-salesforce and the connector."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import requests
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceError

from connectors.salesforce import CONNECTOR, client
from core.connections.oauth import TokenSet, account_of
from core.delivery.session import GuardedSession
from core.registry import load_provider_spec
from core.sdk import AuthError, Credentials, DeliveryReceipt, OutboundMessage, PermanentError, ProviderSpec
from tests.emulators.oauth import consented_scopes
from tests.emulators.salesforce import (
    ORG_ID,
    USER_ID,
    SalesforceEmulator,
    documented,
    salesforce_emulator,
)


@pytest.fixture
def emulator() -> Iterator[SalesforceEmulator]:
    with salesforce_emulator() as emu:
        yield emu


def _spec() -> ProviderSpec:
    base = load_provider_spec("salesforce")
    return base.model_copy(
        update={"settings": {**base.settings, "result_url": "https://app.test/r/{job_id}"}}
    )


def _session(emu: SalesforceEmulator, scopes: set[str] | None = None) -> GuardedSession:
    token = emu.mint(with_refresh=False, scopes=scopes)[0]
    creds = Credentials(access_token=token, extra={"instance_url": f"{emu.base}/instance"})
    return GuardedSession(creds, allow_private=True, timeout=10)


def _sf(emu: SalesforceEmulator) -> Salesforce:
    """simple-salesforce on the emulator through the connector's own transport."""
    sf, _ = client.connect(_session(emu), load_provider_spec("salesforce"))
    return sf


def _message(emails: list[str], job: str = "job-1", **crm: Any) -> OutboundMessage:
    data = {
        "job_id": job,
        "modality": "audio",
        "trust_score": 55.0,
        "completed_at": "2026-11-24T10:00:00+00:00",
        "metadata": {"crm": {"emails": emails, **crm}, "duration_seconds": 60},
    }
    return OutboundMessage(
        f"msg_{job}", "analysis.completed", datetime.now(UTC), "salesforce", {"data": data}
    )


def _refused(sf: Salesforce, method: str, body: Any, path: str = "composite/sobjects") -> tuple[int, Any]:
    with pytest.raises(SalesforceError) as caught:
        sf.restful(path, method=method, json=body)
    return caught.value.status, caught.value.content


def _documented(name: str) -> tuple[int, str]:
    raw = documented()["request"][name]
    return int(raw["status"]), str(raw["body"][0]["errorCode"])


def _contact(n: int) -> dict[str, Any]:
    return {"attributes": {"type": "Contact"}, "LastName": f"P{n}"}


def _lead(n: int) -> dict[str, Any]:
    return {"attributes": {"type": "Lead"}, "LastName": f"L{n}", "Company": "Initech"}


# scopes -----------------------------------------------------------------------------------------------


def test_the_provider_file_asks_for_api_refresh_token_and_id() -> None:
    assert {"api", "refresh_token", "id"} <= consented_scopes("salesforce")


def test_a_grant_without_the_api_scope_fails_delivery_with_an_auth_error(
    emulator: SalesforceEmulator,
) -> None:
    emulator.add("Contact", Email="ana@acme.io")
    session = _session(emulator, scopes={"refresh_token", "id"})  # the connected app lacks "api"
    with pytest.raises(AuthError) as caught:
        CONNECTOR.deliver(session, _spec(), _message(["ana@acme.io"]))
    assert caught.value.code == "api_scope_missing" and caught.value.status == 401
    assert emulator.refused["scope query"] == 1 and "Task" not in emulator.records


def test_the_identity_url_needs_the_id_scope(emulator: SalesforceEmulator) -> None:
    spec = load_provider_spec("salesforce")
    url = f"{emulator.base}/id/{ORG_ID}/{USER_ID}"
    with_id = TokenSet(emulator.mint(with_refresh=False)[0], None, None, [], {"id": url})
    assert account_of(spec, with_id)[0] == ORG_ID  # the connection's account lookup, as core makes it
    without = TokenSet(emulator.mint(with_refresh=False, scopes={"api"})[0], None, None, [], {"id": url})
    with pytest.raises(PermanentError) as caught:
        account_of(spec, without)
    assert caught.value.status == 403 and emulator.refused["scope identity.get"] == 1


def test_a_refresh_token_is_issued_only_to_a_grant_with_refresh_token_or_offline_access(
    emulator: SalesforceEmulator,
) -> None:
    assert emulator.mint(scopes={"api", "id"})[1] is None
    assert emulator.mint(scopes={"api", "offline_access"})[1] is not None
    assert emulator.mint()[1] is not None  # what the provider file asks for


def test_limits_and_every_answer_carry_the_documented_usage(emulator: SalesforceEmulator) -> None:
    token = emulator.mint(with_refresh=False)[0]
    answer = requests.get(
        f"{emulator.base}/instance/services/data/v62.0/limits",
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    assert answer.status_code == 200
    assert answer.json()["DailyApiRequests"] == {"Max": 15000, "Remaining": 14999}
    header = documented()["headers"]["limit_info"]
    assert answer.headers[header["name"]] == header["format"].format(used=1, max=15000)
    sf, _ = client.connect(_session(emulator), load_provider_spec("salesforce"))
    sf.query("SELECT Id FROM Contact")
    assert client.usage_share(sf) == 2 / 15000  # simple-salesforce parses the same header


def test_a_call_not_in_the_contract_table_is_refused(emulator: SalesforceEmulator) -> None:
    from tests.emulators import contract

    before = len(contract.UNLISTED)
    token = emulator.mint(with_refresh=False)[0]
    answer = requests.delete(
        f"{emulator.base}/instance/services/data/v62.0/sobjects/Contact/003xx",
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    assert answer.status_code == 501
    assert contract.UNLISTED[before:] == [
        ("salesforce", "DELETE", "/services/data/v62.0/sobjects/Contact/003xx")
    ]
    contract.UNLISTED[before:] = []  # refused on purpose: the session hook must not fail the run


# sObject Collections ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("case", "method", "body", "name"),
    [
        ("201 records", "POST", {"records": [_contact(n) for n in range(201)]}, "too_many_records"),
        (
            "11 chunks",
            "POST",
            {"records": [[_contact, _lead][n % 2](n) for n in range(11)]},
            "too_many_chunks",
        ),
        ("unknown body key", "POST", {"records": [_contact(1)], "allornone": False}, "json_parser"),
        ("allOrNone not a boolean", "POST", {"allOrNone": "false", "records": [_contact(1)]}, "json_parser"),
        ("no attributes.type", "POST", {"records": [{"LastName": "X"}]}, "no_type"),
        ("unknown sObject", "POST", {"records": [{"attributes": {"type": "Contakt"}}]}, "unknown_type"),
        ("unknown field", "POST", {"records": [{**_contact(1), "Nickname__c": "x"}]}, "no_such_column"),
        (
            "text into a number",
            "PATCH",
            {"records": [{"attributes": {"type": "Contact"}, "Id": "003x", "EchoDepth_Valence__c": "high"}]},
            "json_parser",
        ),
    ],
)
def test_collections_refuse_what_salesforce_refuses_with_its_documented_body(
    emulator: SalesforceEmulator, case: str, method: str, body: dict[str, Any], name: str
) -> None:
    status, content = _refused(_sf(emulator), method, body)
    assert (status, content[0]["errorCode"]) == _documented(name), case
    assert emulator.records.get("Contact", {}) == {}


def test_ten_chunks_of_contiguous_types_are_accepted(emulator: SalesforceEmulator) -> None:
    records = [[_contact, _lead][n % 2](n) for n in range(10)]
    results = _sf(emulator).restful("composite/sobjects", method="POST", json={"records": records})
    assert [r["success"] for r in results] == [True] * 10
    assert len(emulator.records["Contact"]) == 5 and len(emulator.records["Lead"]) == 5


def test_an_id_on_create_and_none_on_update_are_refused_per_record(emulator: SalesforceEmulator) -> None:
    sf = _sf(emulator)
    [made] = sf.restful(
        "composite/sobjects", method="POST", json={"records": [{**_contact(1), "Id": "003x"}]}
    )
    [patched] = sf.restful("composite/sobjects", method="PATCH", json={"records": [_contact(2)]})
    codes = [made["errors"][0]["statusCode"], patched["errors"][0]["statusCode"]]
    assert codes == [
        documented()["record"][n]["statusCode"] for n in ("id_in_insert", "id_missing_in_update")
    ]


def test_a_task_relating_a_lead_to_an_opportunity_is_refused(emulator: SalesforceEmulator) -> None:
    lead = emulator.add("Lead", Email="bo@newco.io", LastName="Bo", Company="Newco")
    opp = emulator.add("Opportunity", Name="Renewal", IsClosed=False)
    task = {"attributes": {"type": "Task"}, "EchoDepth_Key__c": "k1", "WhoId": lead, "WhatId": opp}
    [result] = _sf(emulator).restful(
        "composite/sobjects/Task/EchoDepth_Key__c", method="PATCH", json={"records": [task]}
    )
    assert result["success"] is False
    assert result["errors"][0]["statusCode"] == "FIELD_INTEGRITY_EXCEPTION"
    assert "Task" not in emulator.records


@pytest.mark.parametrize("batch", [False, True])
def test_a_leads_task_never_carries_the_named_opportunity(emulator: SalesforceEmulator, batch: bool) -> None:
    lead = emulator.add("Lead", Email="bo@newco.io", LastName="Bo", Company="Newco")
    opp = emulator.add("Opportunity", Name="Renewal", IsClosed=False)
    message = _message(["bo@newco.io"], opportunity_id=opp)
    if batch:
        [outcome] = CONNECTOR.deliver_batch(_session(emulator), _spec(), [message])
    else:
        outcome = CONNECTOR.deliver(_session(emulator), _spec(), message)
    assert isinstance(outcome, DeliveryReceipt)
    [task] = emulator.records["Task"].values()
    assert task["WhoId"] == lead and "WhatId" not in task
    assert emulator.records["Opportunity"][opp]["EchoDepth_Trust_Score__c"] == 55.0  # still written


# queries ----------------------------------------------------------------------------------------------


def test_a_query_naming_a_field_the_org_lacks_is_invalid_field(emulator: SalesforceEmulator) -> None:
    with pytest.raises(SalesforceError) as caught:
        _sf(emulator).query("SELECT Id, Nickname__c FROM Contact")
    assert (caught.value.status, caught.value.content[0]["errorCode"]) == _documented("no_such_query_column")


def test_a_query_uri_over_16384_bytes_is_refused(emulator: SalesforceEmulator) -> None:
    emails = ", ".join(f"'person{n:05d}@a-rather-long-customer-domain.example'" for n in range(400))
    with pytest.raises(SalesforceError) as caught:
        _sf(emulator).query(f"SELECT Id, Email FROM Contact WHERE Email IN ({emails})")
    assert caught.value.status == 414 and emulator.refused["uri_too_long"] == 1


def test_long_participant_lists_are_queried_in_parts_under_the_uri_limit(
    emulator: SalesforceEmulator,
) -> None:
    domain = "a-rather-long-customer-domain-name-for-this-test.example"
    emails = [f"participant.number.{n:04d}@{domain}" for n in range(200)]
    for email in emails:
        emulator.add("Contact", Email=email, LastName="X")
    messages = [_message([e], job=f"job-{n}") for n, e in enumerate(emails)]
    outcomes = CONNECTOR.deliver_batch(_session(emulator), _spec(), messages)
    assert all(isinstance(o, DeliveryReceipt) for o in outcomes)
    assert emulator.kinds["query Contact"] == 2 and emulator.refused["uri_too_long"] == 0
    assert len(emulator.records["Task"]) == 200
