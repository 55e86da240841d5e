"""The Salesforce Sink's batch delivery: many analyses in a few sObject Collections calls."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from connectors.salesforce import CONNECTOR
from core.delivery.session import GuardedSession
from core.registry import load_provider_spec
from core.sdk import (
    BatchSink,
    Credentials,
    DeliveryReceipt,
    OutboundMessage,
    PermanentError,
    ProviderSpec,
    TransientError,
)
from tests.emulators.salesforce import SalesforceEmulator, salesforce_emulator


@pytest.fixture
def emulator() -> Iterator[SalesforceEmulator]:
    with salesforce_emulator() as emu:
        yield emu


def _spec() -> ProviderSpec:
    base = load_provider_spec("salesforce")
    settings = {**base.settings, "result_url": "https://app.test/results/{job_id}"}
    return base.model_copy(update={"settings": settings})


def _session(emu: SalesforceEmulator) -> GuardedSession:
    token = emu.mint(with_refresh=False)[0]
    creds = Credentials(access_token=token, extra={"instance_url": f"{emu.base}/instance"})
    return GuardedSession(creds, allow_private=True, timeout=10)


def _message(n: int, emails: list[str], when: str = "2026-11-24T10:00:00+00:00") -> OutboundMessage:
    data = {
        "job_id": f"job-{n}",
        "modality": "audio",
        "trust_score": float(n % 100),
        "vad": {"valence": 0.1, "arousal": 0.2, "dominance": 0.3},
        "completed_at": when,
        "metadata": {"crm": {"emails": emails}, "duration_seconds": 60},
    }
    return OutboundMessage(f"msg_{n}", "analysis.completed", datetime.now(UTC), "salesforce", {"data": data})


def _tasks(emu: SalesforceEmulator) -> list[dict[str, Any]]:
    return list(emu.records.get("Task", {}).values())


def test_the_sink_is_a_batch_sink_of_sobject_collections_size() -> None:
    assert isinstance(CONNECTOR, BatchSink) and CONNECTOR.max_batch == 200


def test_two_hundred_analyses_sync_fields_in_a_few_calls_with_one_task_each(
    emulator: SalesforceEmulator,
) -> None:
    contacts = [emulator.add("Contact", Email=f"p{i}@acme.io") for i in range(200)]
    opp = emulator.add("Opportunity", Name="Renewal", IsClosed=False)
    emulator.add("OpportunityContactRole", ContactId=contacts[0], OpportunityId=opp, CreatedDate="2026-01-01")
    messages = [_message(i, [f"p{i}@acme.io"]) for i in range(200)]
    outcomes = CONNECTOR.deliver_batch(_session(emulator), _spec(), messages)
    assert all(isinstance(o, DeliveryReceipt) for o in outcomes)
    assert dict(emulator.kinds) == {  # no Lead query: every participant was a contact
        "query Contact": 1,
        "query OpportunityContactRole": 1,
        "PATCH composite/sobjects": 2,  # 200 contacts + 1 opportunity
        "query Task": 1,
        "PATCH composite/sobjects/Task/EchoDepth_Key__c": 1,
    }
    assert emulator.records["Contact"][contacts[57]]["EchoDepth_Trust_Score__c"] == 57.0
    assert emulator.records["Opportunity"][opp]["EchoDepth_Trust_Score__c"] == 0.0
    tasks = _tasks(emulator)
    assert len(tasks) == 200 and {t["WhoId"] for t in tasks} == set(contacts)
    assert [t["WhatId"] for t in tasks if "WhatId" in t] == [opp]


def test_a_replayed_batch_makes_no_second_task(emulator: SalesforceEmulator) -> None:
    for i in range(5):
        emulator.add("Contact", Email=f"p{i}@acme.io")
    messages = [_message(i, [f"p{i}@acme.io"]) for i in range(5)]
    CONNECTOR.deliver_batch(_session(emulator), _spec(), messages)
    again = CONNECTOR.deliver_batch(_session(emulator), _spec(), [*messages, messages[0]])
    assert all(isinstance(o, DeliveryReceipt) for o in again)
    assert len(_tasks(emulator)) == 5


def test_a_refused_record_fails_only_the_analyses_that_wrote_it(emulator: SalesforceEmulator) -> None:
    ana = emulator.add("Contact", Email="ana@acme.io")
    emulator.add("Lead", Email="bo@newco.io", IsConverted=False)
    emulator.missing_fields["Lead"] = {"EchoDepth_Valence__c"}  # the org lacks a mapped Lead field
    good, bad = _message(1, ["ana@acme.io"]), _message(2, ["bo@newco.io"])
    outcomes = CONNECTOR.deliver_batch(_session(emulator), _spec(), [good, bad])
    assert (
        isinstance(outcomes[0], DeliveryReceipt)
        and outcomes[0].detail
        == "1 of 1 participants matched; meeting-level figures: no speaker named with an e-mail"
    )
    assert isinstance(outcomes[1], PermanentError) and outcomes[1].code == "INVALID_FIELD"
    [task] = _tasks(emulator)
    assert task["WhoId"] == ana and task["EchoDepth_Key__c"] == "echodepth-job-1"


def test_a_record_two_analyses_touch_gets_the_newest_values_once(emulator: SalesforceEmulator) -> None:
    ana = emulator.add("Contact", Email="ana@acme.io")
    newer = _message(42, ["ana@acme.io"], when="2026-11-24T12:00:00+00:00")
    older = _message(7, ["ana@acme.io"], when="2026-11-24T09:00:00+00:00")
    outcomes = CONNECTOR.deliver_batch(_session(emulator), _spec(), [newer, older])
    assert all(isinstance(o, DeliveryReceipt) for o in outcomes)
    assert emulator.records["Contact"][ana]["EchoDepth_Trust_Score__c"] == 42.0
    assert emulator.kinds["PATCH composite/sobjects"] == 1 and len(_tasks(emulator)) == 2


def test_analyses_without_matchable_participants_cost_no_call(emulator: SalesforceEmulator) -> None:
    outcomes = CONNECTOR.deliver_batch(_session(emulator), _spec(), [_message(1, ["joe@gmail.com"])])
    assert outcomes == [
        DeliveryReceipt(
            200, "0 of 0 participants matched; meeting-level figures: no speaker named with an e-mail"
        )
    ]
    assert emulator.api_calls == []


def test_the_spent_daily_limit_is_refused_and_retried_later(emulator: SalesforceEmulator) -> None:
    emulator.add("Contact", Email="ana@acme.io")
    emulator.api_used = emulator.api_max
    with pytest.raises(TransientError) as caught:
        CONNECTOR.deliver_batch(_session(emulator), _spec(), [_message(1, ["ana@acme.io"])])
    assert caught.value.code == "REQUEST_LIMIT_EXCEEDED" and caught.value.status == 403
    assert emulator.limited == 1 and _tasks(emulator) == []


def test_mixed_types_go_grouped_by_type_and_never_past_ten_chunks(emulator: SalesforceEmulator) -> None:
    """Contacts, Leads and Opportunities interleaved per analysis would make hundreds of chunks (Salesforce
    takes 10 a request): the fields go sorted by type, so each request holds at most three chunks."""
    messages = []
    for i in range(200):
        opp = emulator.add("Opportunity", Name=f"Deal {i}", IsClosed=False)
        if i % 2:
            emulator.add("Lead", Email=f"l{i}@newco.io", LastName="L", Company="Newco")
        else:
            emulator.add("Contact", Email=f"c{i}@acme.io", LastName="C")
        email = f"l{i}@newco.io" if i % 2 else f"c{i}@acme.io"
        message = _message(i, [email])
        message.payload["data"]["metadata"]["crm"]["opportunity_id"] = opp
        messages.append(message)
    outcomes = CONNECTOR.deliver_batch(_session(emulator), _spec(), messages)
    assert all(isinstance(o, DeliveryReceipt) for o in outcomes)
    field_writes = [types for types in emulator.collections if "Task" not in types]
    assert len(field_writes) == 2  # 100 contacts + 100 leads + 200 opportunities, 200 a request
    for types in field_writes:
        assert types == sorted(types)  # contiguous: one chunk per type
    tasks = _tasks(emulator)
    assert len(tasks) == 200
    assert all(("WhatId" in t) == t["WhoId"].startswith("003") for t in tasks)  # a Lead's Task has no WhatId
    calls = sum(emulator.kinds.values())
    assert calls / len(messages) <= 0.05, f"{calls} Salesforce calls for {len(messages)} analyses"
    assert calls == 6  # Contact + Lead queries, 2 field writes, Task query, Task upsert
