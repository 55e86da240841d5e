"""Slack rules that target a speaker: ``speaker: external|internal`` tests that speaker's own Trust Score and
the alert names them (slack-sdk against the Slack emulator, Block Kit checked by slack-sdk's models)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from connectors.slack import CONNECTOR
from connectors.slack.models import AlertRule
from core.delivery.session import GuardedSession
from core.registry import load_provider_spec
from core.sdk import ConfigError, Credentials, OutboundMessage, ProviderSpec
from tests.core.two_speaker_result import speaker, two_speaker_result
from tests.emulators.slack import SlackEmulator, slack_emulator


@pytest.fixture
def emulator() -> Iterator[SlackEmulator]:
    with slack_emulator() as emu:
        yield emu


def _spec(emu: SlackEmulator, rules: list[dict[str, Any]]) -> ProviderSpec:
    base = load_provider_spec("slack")
    merged = {**base.settings, "rules": rules, "result_url": "https://app.test/results/{job_id}"}
    return base.model_copy(update={"api_base_url": f"{emu.base}/api", "settings": merged})


def _session(emu: SlackEmulator) -> GuardedSession:
    return GuardedSession(
        Credentials(access_token=emu.mint(with_refresh=False)[0]), allow_private=True, timeout=5
    )


def _message(data: dict[str, Any], msg_id: str = "msg_1") -> OutboundMessage:
    payload = {"type": "analysis.completed", "data": data}
    return OutboundMessage(msg_id, "analysis.completed", datetime.now(UTC), "slack", payload)


def _deliver(emu: SlackEmulator, rules: list[dict[str, Any]], data: dict[str, Any]) -> None:
    CONNECTOR.deliver(_session(emu), _spec(emu, rules), _message(data))


def test_an_external_rule_alerts_on_the_prospects_own_low_score_and_names_her(
    emulator: SlackEmulator,
) -> None:
    # the meeting's 55 would not pass trust_below 40; the prospect's own 38 does
    _deliver(
        emulator, [{"channel": "C0ALERTS", "trust_below": 40, "speaker": "external"}], two_speaker_result()
    )
    [posted] = emulator.messages("C0ALERTS")
    assert posted["text"] == "EchoDepth analysis job-2p: Jane Buyer Trust Score 38 (audio)"
    blob = str(posted["blocks"])
    assert "External speaker(s) the rule matched" in blob
    assert "*Jane Buyer* (external): Trust Score 38, V/A/D 0.31 / 0.72 / 0.40, talk 42%" in blob
    assert "Alex Rep" not in blob


def test_the_same_threshold_on_the_meeting_does_not_alert(emulator: SlackEmulator) -> None:
    _deliver(emulator, [{"channel": "C0ALERTS", "trust_below": 40}], two_speaker_result())
    assert emulator.messages("C0ALERTS") == []


def test_an_internal_rule_tests_the_reps_own_score(emulator: SlackEmulator) -> None:
    rules = [
        {"channel": "C0SALES", "trust_above": 80, "speaker": "internal"},
        {"channel": "C0ALERTS", "trust_below": 50, "speaker": "internal"},
    ]
    _deliver(emulator, rules, two_speaker_result())
    [posted] = emulator.messages("C0SALES")
    assert "*Alex Rep* (internal): Trust Score 81" in str(posted["blocks"])
    assert "Jane Buyer" not in str(posted["blocks"])
    assert emulator.messages("C0ALERTS") == []


def test_a_speaker_rule_does_not_match_a_result_without_named_speakers(emulator: SlackEmulator) -> None:
    data = two_speaker_result()
    data["speakers"] = [
        speaker("S1", None, None, None, 20.0, 0.5),
        speaker("S2", None, None, None, 20.0, 0.5),
    ]
    _deliver(emulator, [{"channel": "C0ALERTS", "speaker": "external"}], data)
    assert emulator.messages("C0ALERTS") == []


def test_an_any_rule_keeps_the_meeting_score_and_lists_the_named_speakers(emulator: SlackEmulator) -> None:
    _deliver(emulator, [{"channel": "C0SALES", "trust_above": 50}], two_speaker_result())
    [posted] = emulator.messages("C0SALES")
    assert posted["text"] == "EchoDepth analysis job-2p: Trust Score 55 (audio)"
    blob = str(posted["blocks"])
    assert "*Alex Rep* (internal)" in blob and "*Jane Buyer* (external)" in blob


def test_without_named_speakers_an_any_alert_is_as_before(emulator: SlackEmulator) -> None:
    data = two_speaker_result()
    data["speakers"] = []
    _deliver(emulator, [{"channel": "C0SALES"}], data)
    [posted] = emulator.messages("C0SALES")
    assert "Speakers" not in str(posted["blocks"])


def test_an_unknown_speaker_target_is_a_config_error(emulator: SlackEmulator) -> None:
    with pytest.raises(ConfigError):
        _deliver(emulator, [{"channel": "C0ALERTS", "speaker": "prospect"}], two_speaker_result())
    assert AlertRule(channel="C0").speaker == "any"
