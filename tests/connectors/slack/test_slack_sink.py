"""The Slack Sink driven through slack-sdk against the Slack emulator."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from connectors.slack import CONNECTOR
from core.delivery.session import GuardedSession
from core.registry import load_provider_spec
from core.sdk import AuthError, Credentials, OutboundMessage, PermanentError, ProviderSpec, TransientError
from tests.emulators.slack import SlackEmulator, slack_emulator

RULES: list[dict[str, Any]] = [
    {"channel": "C0ALERTS", "trust_below": 40},
    {"channel": "C0SALES", "modalities": ["video"]},
]


@pytest.fixture
def emulator() -> Iterator[SlackEmulator]:
    with slack_emulator() as emu:
        yield emu


def _spec(emu: SlackEmulator, rules: list[dict[str, Any]] = RULES, **settings: Any) -> ProviderSpec:
    base = load_provider_spec("slack")
    merged = {**base.settings, "rules": rules, "result_url": "https://app.test/results/{job_id}", **settings}
    return base.model_copy(update={"api_base_url": f"{emu.base}/api", "settings": merged})


def _session(emu: SlackEmulator, token: str | None = None) -> GuardedSession:
    access = token or emu.mint(with_refresh=False)[0]
    return GuardedSession(Credentials(access_token=access), allow_private=True, timeout=5)


def _message(trust: float, modality: str = "audio", msg_id: str = "msg_1") -> OutboundMessage:
    data = {
        "job_id": "job-42",
        "status": "completed",
        "modality": modality,
        "trust_score": trust,
        "trust": {
            "band": "low",
            "components": [{"evidence": [{"detail": "pitch rose on the price question", "value": 0.8}]}],
        },
        "vad": {"valence": 0.31, "arousal": 0.72, "dominance": 0.4},
        "emotions": {"joy": 0.1, "fear": 0.6},
    }
    payload = {"type": "analysis.completed", "data": data}
    return OutboundMessage(msg_id, "analysis.completed", datetime.now(UTC), "slack", payload)


def test_posts_a_block_kit_alert_with_scores_and_a_link(emulator: SlackEmulator) -> None:
    receipt = CONNECTOR.deliver(_session(emulator), _spec(emulator), _message(trust=25))
    assert receipt.status_code == 200
    [posted] = emulator.messages("C0ALERTS")
    assert "job-42" in posted["text"]
    blob = str(posted["blocks"])
    assert "25" in blob and "fear" in blob and "pitch rose" in blob
    assert "https://app.test/results/job-42" in blob
    assert emulator.messages("C0SALES") == []  # audio does not match the video rule


def test_rules_filter_by_trust_threshold_and_modality(emulator: SlackEmulator) -> None:
    CONNECTOR.deliver(_session(emulator), _spec(emulator), _message(trust=80, modality="video"))
    assert emulator.messages("C0ALERTS") == []
    assert len(emulator.messages("C0SALES")) == 1


def test_redelivery_never_posts_a_second_message(emulator: SlackEmulator) -> None:
    session, spec = _session(emulator), _spec(emulator)
    for _ in range(3):
        CONNECTOR.deliver(session, spec, _message(trust=10))
    assert len(emulator.messages("C0ALERTS")) == 1
    CONNECTOR.deliver(session, spec, _message(trust=10, msg_id="msg_2"))
    assert len(emulator.messages("C0ALERTS")) == 2


def test_a_short_retry_after_is_waited_for_in_process(emulator: SlackEmulator) -> None:
    emulator.post_throttle_next, emulator.post_retry_after = 1, 1
    started = time.monotonic()
    CONNECTOR.deliver(_session(emulator), _spec(emulator), _message(trust=10))
    assert time.monotonic() - started >= 1
    assert len(emulator.messages("C0ALERTS")) == 1


def test_a_long_retry_after_goes_back_to_the_queue(emulator: SlackEmulator) -> None:
    emulator.post_throttle_next, emulator.post_retry_after = 1, 30
    with pytest.raises(TransientError) as caught:
        CONNECTOR.deliver(_session(emulator), _spec(emulator), _message(trust=10))
    assert caught.value.retry_after == 30 and caught.value.status == 429
    assert emulator.messages("C0ALERTS") == []


def test_an_expired_token_is_an_auth_error(emulator: SlackEmulator) -> None:
    session = _session(emulator)
    emulator.expire_access()
    with pytest.raises(AuthError) as caught:
        CONNECTOR.deliver(session, _spec(emulator), _message(trust=10))
    assert caught.value.code == "token_expired"


def test_an_unknown_channel_is_a_permanent_error(emulator: SlackEmulator) -> None:
    with pytest.raises(PermanentError):
        CONNECTOR.deliver(_session(emulator), _spec(emulator, [{"channel": "C0GONE"}]), _message(trust=10))


def test_no_matching_rule_posts_nothing(emulator: SlackEmulator) -> None:
    receipt = CONNECTOR.deliver(_session(emulator), _spec(emulator, []), _message(trust=10))
    assert receipt.status_code == 200 and emulator.api_calls == []
