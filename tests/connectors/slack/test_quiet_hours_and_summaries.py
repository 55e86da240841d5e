"""Slack quiet hours (held, then posted when they end) and daily / weekly summaries, on a controlled clock."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from connectors.slack.sink import SUMMARY_METADATA_EVENT, SlackSink
from core.registry import load_provider_spec
from core.sdk import OutboundMessage, ProviderSpec, TransientError
from core.sdk.summaries import SUMMARY_EVENT
from tests.connectors.slack.test_slack_sink import _message, _session, _spec
from tests.emulators.slack import SlackEmulator, slack_emulator

QUIET: dict[str, Any] = {"start": "19:00", "end": "08:00"}
# 22:30 in London is 17:30 in New York (winter): quiet in one zone, office hours in the other
EVENING_UTC = datetime(2026, 11, 24, 22, 30, tzinfo=UTC)


@pytest.fixture
def emulator() -> Iterator[SlackEmulator]:
    with slack_emulator() as emu:
        yield emu


class Clock:
    """A clock the test moves."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def test_an_alert_in_quiet_hours_is_held_until_they_end_then_posted_once(emulator: SlackEmulator) -> None:
    clock = Clock(EVENING_UTC)
    sink = SlackSink(clock)
    spec = _spec(emulator, [{"channel": "C0ALERTS", "quiet_hours": QUIET}], timezone="Europe/London")
    with pytest.raises(TransientError) as held:
        sink.deliver(_session(emulator), spec, _message(trust=10))
    assert held.value.code == "quiet_hours"
    # until 08:00 London (= 08:00 UTC in November), plus the small margin
    assert held.value.retry_after == pytest.approx(9.5 * 3600 + 2)
    assert emulator.messages("C0ALERTS") == [] and emulator.api_calls == []
    clock.now = EVENING_UTC + timedelta(seconds=held.value.retry_after or 0)
    for _ in range(2):  # the retry, then a replay
        assert sink.deliver(_session(emulator), spec, _message(trust=10)).status_code == 200
    assert len(emulator.messages("C0ALERTS")) == 1


def test_quiet_hours_follow_the_tenant_time_zone(emulator: SlackEmulator) -> None:
    sink = SlackSink(Clock(EVENING_UTC))
    spec = _spec(emulator, [{"channel": "C0ALERTS", "quiet_hours": QUIET}], timezone="America/New_York")
    sink.deliver(_session(emulator), spec, _message(trust=10))
    assert len(emulator.messages("C0ALERTS")) == 1
    rule_zone = [{"channel": "C0SALES", "quiet_hours": {**QUIET, "timezone": "Europe/London"}}]
    with pytest.raises(TransientError):
        sink.deliver(
            _session(emulator), _spec(emulator, rule_zone, timezone="America/New_York"), _message(10)
        )


def test_a_quiet_channel_is_held_while_the_others_are_posted(emulator: SlackEmulator) -> None:
    clock = Clock(EVENING_UTC)
    sink = SlackSink(clock)
    rules = [{"channel": "C0ALERTS", "quiet_hours": QUIET}, {"channel": "C0SALES"}]
    spec = _spec(emulator, rules, timezone="Europe/London")
    with pytest.raises(TransientError):
        sink.deliver(_session(emulator), spec, _message(trust=10))
    assert len(emulator.messages("C0SALES")) == 1 and emulator.messages("C0ALERTS") == []
    clock.now = datetime(2026, 11, 25, 8, 0, 5, tzinfo=UTC)
    sink.deliver(_session(emulator), spec, _message(trust=10))
    assert len(emulator.messages("C0SALES")) == 1 and len(emulator.messages("C0ALERTS")) == 1


def test_a_rule_without_quiet_hours_on_the_same_channel_is_not_held(emulator: SlackEmulator) -> None:
    rules = [{"channel": "C0ALERTS", "quiet_hours": QUIET}, {"channel": "C0ALERTS", "trust_below": 50}]
    sink = SlackSink(Clock(EVENING_UTC))
    sink.deliver(_session(emulator), _spec(emulator, rules, timezone="Europe/London"), _message(trust=10))
    assert len(emulator.messages("C0ALERTS")) == 1


def test_summary_periods_are_the_last_complete_local_day_or_week() -> None:
    rules = [
        {"channel": "C0ALERTS", "summary": "daily", "alerts": False},
        {"channel": "C0SALES", "summary": "weekly", "modalities": ["video"]},
        {"channel": "C0OTHER"},
    ]
    spec = _spec_without_emulator(rules, timezone="America/New_York")
    # 01:00 UTC on Wednesday 25 Nov is still Tuesday evening in New York
    daily, weekly = SlackSink().summaries_due(spec, datetime(2026, 11, 25, 1, 0, tzinfo=UTC))
    assert daily.target == "C0ALERTS" and daily.label == "Monday 23 November 2026"
    assert daily.start.isoformat() == "2026-11-23T00:00:00-05:00" and daily.end - daily.start == timedelta(1)
    assert daily.key.startswith("C0ALERTS:daily:2026-11-23:")
    assert weekly.start.isoformat() == "2026-11-16T00:00:00-05:00" and weekly.modalities == ("video",)
    later = SlackSink().summaries_due(spec, datetime(2026, 11, 25, 6, 0, tzinfo=UTC))[0]
    assert later.key.startswith("C0ALERTS:daily:2026-11-24:")


def _spec_without_emulator(rules: list[dict[str, Any]], **settings: Any) -> ProviderSpec:
    base = load_provider_spec("slack")
    return base.model_copy(update={"settings": {**base.settings, "rules": rules, **settings}})


def _summary_message(msg_id: str = "sum_1") -> OutboundMessage:
    data = {
        "key": "C0ALERTS:daily:2026-11-23:abcd1234",
        "target": "C0ALERTS",
        "label": "Monday 23 November 2026",
        "count": 3,
        "mean_trust_score": 52.5,
        "lowest": [
            {
                "job_id": "job-1",
                "trust_score": 21.0,
                "title": "Acme pricing call",
                "link": "https://app.test/r/1",
            },
            {"job_id": "job-2", "trust_score": 84.0, "title": "", "link": None},
        ],
    }
    payload = {"type": SUMMARY_EVENT, "data": data}
    return OutboundMessage(msg_id, SUMMARY_EVENT, datetime.now(UTC), "slack", payload)


def test_a_summary_is_one_block_kit_message_and_a_redelivery_posts_nothing(emulator: SlackEmulator) -> None:
    spec = _spec(emulator, [{"channel": "C0ALERTS", "summary": "daily", "trust_below": 40}])
    for _ in range(3):
        SlackSink().deliver(_session(emulator), spec, _summary_message())
    [posted] = emulator.messages("C0ALERTS")
    blob = str(posted["blocks"])
    assert (
        "Monday 23 November 2026" in blob and "*Analyses*\\n3" in blob and "*Mean Trust Score*\\n52" in blob
    )
    assert (
        "<https://app.test/r/1|Acme pricing call>: Trust Score 21" in blob and "job-2: Trust Score 84" in blob
    )
    assert posted["metadata"]["event_type"] == SUMMARY_METADATA_EVENT


def test_a_summary_waits_for_the_end_of_quiet_hours(emulator: SlackEmulator) -> None:
    rules = [{"channel": "C0ALERTS", "summary": "daily", "quiet_hours": {"start": "00:00", "end": "09:00"}}]
    sink = SlackSink(Clock(datetime(2026, 11, 24, 0, 5, tzinfo=UTC)))
    with pytest.raises(TransientError) as held:
        sink.deliver(_session(emulator), _spec(emulator, rules), _summary_message())
    assert held.value.retry_after == pytest.approx(8 * 3600 + 55 * 60 + 2)
    assert emulator.messages("C0ALERTS") == []


def test_a_summary_only_rule_posts_no_alerts(emulator: SlackEmulator) -> None:
    spec = _spec(emulator, [{"channel": "C0ALERTS", "summary": "weekly", "alerts": False}])
    SlackSink().deliver(_session(emulator), spec, _message(trust=10))
    assert emulator.messages("C0ALERTS") == []
