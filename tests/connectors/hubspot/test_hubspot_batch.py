"""The HubSpot Sink's batch delivery: many analyses in a few batch calls, each with its own outcome."""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from connectors.hubspot import CONNECTOR
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
from tests.emulators.hubspot import HubSpotEmulator, hubspot_emulator


@pytest.fixture
def emulator() -> Iterator[HubSpotEmulator]:
    with hubspot_emulator() as emu:
        yield emu


def _spec(emu: HubSpotEmulator) -> ProviderSpec:
    base = load_provider_spec("hubspot")
    settings = {**base.settings, "event_template_id": "1001298", "result_url": "https://app.test/r/{job_id}"}
    return base.model_copy(update={"api_base_url": emu.base, "settings": settings})


def _session(emu: HubSpotEmulator) -> GuardedSession:
    token = emu.mint(with_refresh=False)[0]
    return GuardedSession(Credentials(access_token=token), allow_private=True, timeout=10)


def _message(n: int, emails: list[str], **crm: Any) -> OutboundMessage:
    data = {
        "job_id": f"job-{n}",
        "trust_score": float(n),
        "completed_at": f"2026-11-24T10:{n % 60:02d}:00Z",
        "metadata": {"crm": {"emails": emails, **crm}},
    }
    return OutboundMessage(f"msg_{n}", "analysis.completed", datetime.now(UTC), "hubspot", {"data": data})


def _kinds(emu: HubSpotEmulator) -> list[str]:
    return sorted(set(emu.api_calls))


def test_the_sink_takes_two_hundred_deliveries_at_once() -> None:
    assert isinstance(CONNECTOR, BatchSink) and CONNECTOR.max_batch == 200


def test_two_hundred_analyses_share_their_lookups_and_deal_writes(emulator: HubSpotEmulator) -> None:
    """Each call keeps to its own limit (100 per update or search, 1,000 per associations read); the deal
    steps, which only some analyses need, are shared by all 200: 7 field-sync calls, 0.035 per analysis."""
    contacts = [emulator.add("contacts", email=f"p{i}@acme.io") for i in range(200)]
    for i in range(0, 200, 5):  # every fifth buyer has an open deal
        deal = emulator.add("deals", dealname=f"D{i}", hs_is_closed="false")
        emulator.associations.add((contacts[i], deal))
    outcomes = CONNECTOR.deliver_batch(
        _session(emulator), _spec(emulator), [_message(i, [f"p{i}@acme.io"]) for i in range(200)]
    )
    assert all(isinstance(o, DeliveryReceipt) for o in outcomes)
    field_sync = [c for c in emulator.api_calls if "/timeline/" not in c]
    assert sorted(field_sync) == sorted(
        ["POST /crm/v3/objects/contacts/search"] * 2
        + ["POST /crm/v4/associations/contacts/deals/batch/read"]
        + ["POST /crm/v3/objects/deals/search"]
        + ["POST /crm/v3/objects/contacts/batch/update"] * 2
        + ["POST /crm/v3/objects/deals/batch/update"]
    )
    assert len(emulator.timeline) == 200
    assert all(emulator.objects["deals"][d].get("echodepth_trust_score") for _, d in emulator.associations)


def test_a_search_429_waits_one_second_not_the_ten_second_window(
    emulator: HubSpotEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    emulator.add("contacts", email="ana@acme.io")
    emulator.search_rate_max = 0  # every search is over HubSpot's per-second limit
    monkeypatch.setattr("connectors.hubspot.batch.RATE_LIMIT_PATIENCE", 0.0)
    with pytest.raises(TransientError) as caught:
        CONNECTOR.deliver_batch(_session(emulator), _spec(emulator), [_message(1, ["ana@acme.io"])])
    assert caught.value.status == 429 and caught.value.retry_after == 1.0
    assert emulator.limited["SECONDLY"] == 1


def test_a_hundred_analyses_take_one_call_per_step_and_one_event_each(emulator: HubSpotEmulator) -> None:
    contacts = [emulator.add("contacts", email=f"p{i}@acme.io") for i in range(100)]
    deal = emulator.add("deals", dealname="Renewal", hs_is_closed="false")
    emulator.associations.add((contacts[3], deal))
    outcomes = CONNECTOR.deliver_batch(
        _session(emulator), _spec(emulator), [_message(i, [f"p{i}@acme.io"]) for i in range(100)]
    )
    assert all(isinstance(o, DeliveryReceipt) for o in outcomes)
    assert sorted(emulator.api_calls) == sorted(
        [
            "POST /crm/v3/objects/contacts/search",
            "POST /crm/v4/associations/contacts/deals/batch/read",
            "POST /crm/v3/objects/deals/search",
            "POST /crm/v3/objects/contacts/batch/update",
            "POST /crm/v3/objects/deals/batch/update",
            "POST /integrators/timeline/v3/events/batch/create",
        ]
    )
    assert emulator.objects["contacts"][contacts[42]]["echodepth_trust_score"] == "42.0"
    assert emulator.objects["deals"][deal]["echodepth_trust_score"] == "3.0"
    assert len(emulator.timeline) == 100
    assert emulator.timeline[f"msg_7-{contacts[7]}"]["objectId"] == contacts[7]


def test_a_replayed_batch_makes_no_second_timeline_event(emulator: HubSpotEmulator) -> None:
    for i in range(3):
        emulator.add("contacts", email=f"p{i}@acme.io")
    messages = [_message(i, [f"p{i}@acme.io"]) for i in range(3)]
    CONNECTOR.deliver_batch(_session(emulator), _spec(emulator), messages[:2])
    again = CONNECTOR.deliver_batch(_session(emulator), _spec(emulator), messages)
    assert all(isinstance(o, DeliveryReceipt) for o in again)  # the two known ids count as delivered
    assert len(emulator.timeline) == 3


def test_an_unknown_deal_fails_only_its_analysis(emulator: HubSpotEmulator) -> None:
    for i in range(4):
        emulator.add("contacts", email=f"p{i}@acme.io")
    deal = emulator.add("deals", dealname="Real")
    messages = [_message(i, [f"p{i}@acme.io"], deal_id=deal) for i in range(3)]
    messages.append(_message(3, ["p3@acme.io"], deal_id="999999"))  # gone from HubSpot
    outcomes = CONNECTOR.deliver_batch(_session(emulator), _spec(emulator), messages)
    assert [type(o) for o in outcomes[:3]] == [DeliveryReceipt] * 3
    assert isinstance(outcomes[3], PermanentError) and outcomes[3].status == 404
    assert emulator.objects["deals"][deal]["echodepth_trust_score"] == "2.0"  # the newest of the three
    assert len(emulator.timeline) == 3  # the failed analysis gets its event when it is retried


def _spent_elsewhere(emulator: HubSpotEmulator) -> None:
    """Another app or process has just used the account's whole budget: our pacer cannot know."""
    emulator.call_times.extend([time.monotonic()] * emulator.rate_max)


def test_calls_are_paced_inside_the_budget_hubspot_states(emulator: HubSpotEmulator) -> None:
    """Three threads delivering at once against a budget of 6 calls per second and 5 searches per second:
    the pacer learns the budget from the answers' headers and no call is refused."""
    emulator.rate_max, emulator.rate_window = 6, 1.0
    for i in range(12):
        contact = emulator.add("contacts", email=f"p{i}@acme.io")
        deal = emulator.add("deals", dealname=f"D{i}", hs_is_closed="false")
        emulator.associations.add((contact, deal))
    session, spec = _session(emulator), _spec(emulator)
    CONNECTOR.deliver_batch(session, spec, [_message(99, ["p0@acme.io"])])  # an answer states the budget
    batches = [[_message(i, [f"p{i}@acme.io"])] for i in range(12)]
    started = time.monotonic()
    with ThreadPoolExecutor(3) as pool:
        outcomes = [
            o for got in pool.map(lambda b: CONNECTOR.deliver_batch(session, spec, b), batches) for o in got
        ]
    assert len(outcomes) == 12 and all(isinstance(o, DeliveryReceipt) for o in outcomes)
    assert sum(emulator.limited.values()) == 0
    non_search = [c for c in emulator.api_calls if not c.endswith("/search")]
    assert time.monotonic() - started >= (len(non_search) - 6 * 2) / 6  # it did have to wait


def test_a_short_429_is_waited_out_in_place_without_new_lookups(emulator: HubSpotEmulator) -> None:
    emulator.add("contacts", email="ana@acme.io")
    emulator.rate_max, emulator.rate_window = 2, 1.0  # a 1 s window: its 429 asks for a 1 s wait
    _spent_elsewhere(emulator)
    outcomes = CONNECTOR.deliver_batch(_session(emulator), _spec(emulator), [_message(1, ["ana@acme.io"])])
    assert [type(o) for o in outcomes] == [DeliveryReceipt]
    assert emulator.limited["TEN_SECONDLY_ROLLING"] >= 1
    searches = [c for c in emulator.api_calls if c.endswith("/crm/v3/objects/contacts/search")]
    assert len(searches) == 1  # the contact lookup was not repeated for the 429
    assert len(emulator.timeline) == 1


def test_the_ten_second_limit_answers_429_with_rate_limit_headers(
    emulator: HubSpotEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("connectors.hubspot.batch.RATE_LIMIT_PATIENCE", 0.0)  # no waiting in place
    emulator.add("contacts", email="ana@acme.io")
    emulator.rate_max = 2  # search has its own limit; the updates spend this one
    _spent_elsewhere(emulator)
    with pytest.raises(TransientError) as caught:
        CONNECTOR.deliver_batch(_session(emulator), _spec(emulator), [_message(1, ["ana@acme.io"])])
    assert caught.value.status == 429 and caught.value.retry_after == 10
    assert emulator.limited["TEN_SECONDLY_ROLLING"] == 1
    token = emulator.mint(with_refresh=False)[0]
    refused = httpx.post(
        f"{emulator.base}/crm/v3/objects/contacts/batch/update",
        json={"inputs": []},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert refused.status_code == 429 and refused.json()["policyName"] == "TEN_SECONDLY_ROLLING"
    assert refused.headers["X-HubSpot-RateLimit-Max"] == "2"
    assert refused.headers["X-HubSpot-RateLimit-Remaining"] == "0"
    assert refused.headers["X-HubSpot-RateLimit-Interval-Milliseconds"] == "10000"
