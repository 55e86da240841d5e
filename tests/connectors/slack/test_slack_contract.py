"""The Slack emulator holds the Sink to what Slack documents (tests/contracts/slack/calls.yaml): each
installation's scopes, chat.postMessage's arguments and Block Kit as slack-sdk's models judge it, and
Slack's own error bodies."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from connectors.slack import CONNECTOR
from core.sdk import AuthError, PermanentError
from tests.connectors.slack.test_slack_sink import _message, _session, _spec
from tests.emulators import contract
from tests.emulators.oauth import consented_scopes
from tests.emulators.slack import SlackEmulator, slack_emulator

SAMPLES = Path(__file__).resolve().parents[2] / "contracts" / "slack" / "samples"


@pytest.fixture
def emulator() -> Iterator[SlackEmulator]:
    with slack_emulator() as emu:
        yield emu


def _token(emu: SlackEmulator, without: str = "") -> str:
    return emu.mint(with_refresh=False, scopes=consented_scopes("slack") - {without})[0]


def test_without_a_history_scope_the_sink_fails_with_slacks_missing_scope(emulator: SlackEmulator) -> None:
    session = _session(emulator, _token(emulator, without="channels:history"))
    emulator.state.scopes[str(session.credentials.access_token)] -= {"groups:history"}
    with pytest.raises(AuthError) as caught:  # the workspace must reinstall the app: needs_reauth
        CONNECTOR.deliver(session, _spec(emulator), _message(trust=10))
    assert caught.value.code == "missing_scope"
    assert emulator.messages("C0ALERTS") == []


def test_the_missing_scope_answer_has_slacks_documented_shape(emulator: SlackEmulator) -> None:
    token = _token(emulator, without="chat:write")
    r = httpx.post(
        f"{emulator.base}/api/chat.postMessage",
        json={"channel": "C0ALERTS", "text": "hi"},
        headers={"Authorization": f"Bearer {token}"},
    )
    documented = json.loads((SAMPLES / "missing_scope.json").read_text())
    assert r.status_code == 200 and set(r.json()) == set(documented)
    assert (r.json()["error"], r.json()["needed"]) == ("missing_scope", "chat:write")
    assert "chat:write" not in r.json()["provided"].split(",")


def test_every_consented_scope_is_one_a_listed_call_needs() -> None:
    needed = {s for c in contract.load("slack").calls for s in c.scopes}
    assert consented_scopes("slack") - needed == {
        "chat:write.public"
    }  # widens chat:write to unjoined channels
    assert consented_scopes("slack") & needed == {"chat:write", "channels:history", "groups:history"}


def _post(emulator: SlackEmulator, **params: Any) -> dict[str, Any]:
    r = httpx.post(
        f"{emulator.base}/api/chat.postMessage",
        json={"channel": "C0ALERTS", **params},
        headers={"Authorization": f"Bearer {_token(emulator)}"},
    )
    found: dict[str, Any] = r.json()
    return found


def test_block_kit_is_judged_by_slack_sdks_models(emulator: SlackEmulator) -> None:
    long_header = {"type": "header", "text": {"type": "plain_text", "text": "x" * 151}}
    answer = _post(emulator, text="t", blocks=[long_header])
    assert answer["error"] == "invalid_blocks" and "/blocks/0" in answer["errors"][0]
    assert _post(emulator, text="t", blocks=[{"type": "no_such_block"}])["error"] == "invalid_blocks"
    section = {"type": "section", "text": {"type": "mrkdwn", "text": "ok"}}
    assert _post(emulator, text="t", blocks=[section] * 51)["error"] == "invalid_blocks"
    assert _post(emulator, text="t", blocks=[section] * 50)["ok"] is True


def test_undocumented_arguments_and_overlong_text_are_refused(emulator: SlackEmulator) -> None:
    assert _post(emulator, text="t", colour="red")["error"] == "invalid_arguments"
    assert _post(emulator, text="x" * 40_001)["error"] == "msg_too_long"
    assert _post(emulator, text="t", metadata={"event_type": 1})["error"] == "invalid_metadata_format"
    assert _post(emulator)["error"] == "no_text"


def test_what_the_sink_sends_passes_every_check(emulator: SlackEmulator) -> None:
    before = contract.MADE[("slack", "chat.postMessage")]
    assert CONNECTOR.deliver(_session(emulator), _spec(emulator), _message(trust=10)).status_code == 200
    assert contract.MADE[("slack", "chat.postMessage")] == before + 1
    assert len(emulator.messages("C0ALERTS")) == 1


def test_a_rate_limited_post_answers_slacks_429(emulator: SlackEmulator) -> None:
    emulator.post_throttle_next, emulator.post_retry_after = 1, 30
    r = httpx.post(
        f"{emulator.base}/api/chat.postMessage",
        json={"channel": "C0ALERTS", "text": "t"},
        headers={"Authorization": f"Bearer {_token(emulator)}"},
    )
    assert (r.status_code, r.headers["retry-after"]) == (429, "30")
    assert r.json() == json.loads((SAMPLES / "ratelimited.json").read_text())


def test_a_method_no_row_lists_is_refused(emulator: SlackEmulator) -> None:
    before = len(contract.UNLISTED)
    session = _session(emulator)
    r = httpx.post(
        f"{emulator.base}/api/conversations.list",
        headers={"Authorization": f"Bearer {session.credentials.access_token}"},
    )
    assert r.status_code == 404 and r.json()["error"] == "unknown_method"
    assert contract.UNLISTED[before:] == [("slack", "POST", "/conversations.list")]
    contract.UNLISTED[before:] = []
    with pytest.raises(PermanentError):
        CONNECTOR.deliver(session, _spec(emulator, [{"channel": "C0GONE"}]), _message(trust=10))
