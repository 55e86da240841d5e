""" "Posted to Zoom": the owner summary as a Team Chat chatbot message to the host, sent through a real
guarded session (the one ``Sources.summary_session`` builds) against the Zoom emulator; opt-in per tenant."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from core.sdk import DeliveryReceipt, OwnerNotifier, OwnerSummary, PermanentError, TransientError
from core.sdk.contracts import HttpSession
from tests.connectors.zoom.conftest import ZoomHub
from tests.emulators.zoom import ACCOUNT_ID, CLIENT_ID, HOST_JID, ROBOT_JID, signed

TEXT = "Trust Score 71 of 100 (quality: good). Scores describe signals in the recording, not a verdict."


def _summary(owner: str = "host@example.com") -> OwnerSummary:
    return OwnerSummary(
        tenant_id="t1",
        job_id="job-1",
        source="zoom",
        account_id=ACCOUNT_ID,
        meeting_id="85000000000",
        topic="Quarterly review",
        owner=owner,
        trust_score=71.0,
        quality="good",
        text=TEXT,
        result_url="http://testserver/v1/result/job-1",
    )


def _notifier(hub: ZoomHub) -> OwnerNotifier:
    source = hub.runtime.sources.source("zoom")
    assert isinstance(source, OwnerNotifier)
    return source


def _send(
    hub: ZoomHub, summary: OwnerSummary, session: Callable[[str], HttpSession] | None = None
) -> DeliveryReceipt:
    """Send as core does: the connection's token (refreshed once on a 401) and the app's chatbot values."""
    rt = hub.runtime
    spec = rt.connections.catalog.spec("zoom")
    build = session or (lambda token: rt.sources.summary_session("zoom", token))
    return rt.sources.with_token(
        hub.connection_id, lambda token, _: _notifier(hub).send_summary(build(token), spec, summary)
    )


@pytest.mark.parametrize("owner", ["host@example.com", "user_1"])
def test_summary_is_a_chatbot_message_to_the_host(zoom_hub: ZoomHub, owner: str) -> None:
    receipt = _send(zoom_hub, _summary(owner))
    assert receipt.status_code == 201 and HOST_JID in receipt.detail
    [posted] = zoom_hub.zoom.state.chat_messages
    assert (posted["robot_jid"], posted["to_jid"], posted["account_id"]) == (ROBOT_JID, HOST_JID, ACCOUNT_ID)
    assert posted["user_jid"] == HOST_JID  # user-managed app: the user who authorised it
    assert "Quarterly review" in posted["content"]["head"]["text"]
    [text, link] = posted["content"]["body"]
    assert text == {"type": "message", "text": TEXT}
    assert link["link"] == "http://testserver/v1/result/job-1"
    assert zoom_hub.zoom.state.chatbot_token_calls == 1


def test_a_rejected_connection_token_is_refreshed_once_before_the_host_lookup(zoom_hub: ZoomHub) -> None:
    calls = zoom_hub.zoom.state.refresh_calls
    for token in zoom_hub.zoom.state.access:
        zoom_hub.zoom.state.access[token] = 0  # 401 {"code": 124}
    assert _send(zoom_hub, _summary()).status_code == 201
    assert zoom_hub.zoom.state.refresh_calls == calls + 1
    assert len(zoom_hub.zoom.state.chat_messages) == 1


def test_without_the_chatbot_settings_nothing_is_sent(zoom_hub: ZoomHub) -> None:
    with pytest.raises(PermanentError) as caught:
        _send(zoom_hub, _summary(), session=lambda token: zoom_hub.runtime.sources.session(token))
    assert caught.value.code == "chatbot_not_configured"
    assert zoom_hub.zoom.state.chat_messages == [] and zoom_hub.zoom.state.chatbot_token_calls == 0


def test_a_wrong_app_secret_is_permanent_and_leaves_the_connection_alone(zoom_hub: ZoomHub) -> None:
    extra = {"client_id": CLIENT_ID, "client_secret": "not-the-secret", "chatbot_jid": ROBOT_JID}
    with pytest.raises(PermanentError) as caught:
        _send(zoom_hub, _summary(), session=lambda token: zoom_hub.runtime.sources.session(token, extra))
    assert caught.value.code == "chatbot_unauthorised"
    conns = zoom_hub.client.get("/v1/connections", headers=zoom_hub.backend.headers()).json()["data"]
    assert [c["status"] for c in conns] == ["active"]
    assert zoom_hub.zoom.state.chat_messages == []


def test_a_rate_limited_chatbot_is_transient_and_honours_retry_after(zoom_hub: ZoomHub) -> None:
    zoom_hub.zoom.state.chat_status = 429
    with pytest.raises(TransientError) as caught:
        _send(zoom_hub, _summary())
    assert caught.value.retry_after == 1
    zoom_hub.zoom.state.chat_status = None
    assert _send(zoom_hub, _summary()).status_code == 201


def test_posting_to_zoom_is_opt_in_per_tenant(zoom_hub: ZoomHub) -> None:
    source: Any = _notifier(zoom_hub)
    headers = zoom_hub.backend.headers()
    stored = zoom_hub.client.get("/v1/sources/zoom/settings", headers=headers).json()
    assert stored["post_summary"] is None
    assert source.wants_summary({}) is False and source.wants_summary(stored) is False
    r = zoom_hub.client.put("/v1/sources/zoom/settings", json={"post_summary": True}, headers=headers)
    assert r.status_code == 200, r.text
    tenant = zoom_hub.runtime.store.ensure_tenant("acme")
    assert source.wants_summary(zoom_hub.runtime.sources.policy(tenant, "zoom").model_dump()) is True


def test_a_completed_recording_posts_one_summary_only_once_the_tenant_opted_in(
    zoom_hub: ZoomHub, meeting_mp4: Path
) -> None:
    jobs: list[str] = []
    for opted_in in (False, True):
        if opted_in:
            r = zoom_hub.client.put(
                "/v1/sources/zoom/settings", json={"post_summary": True}, headers=zoom_hub.backend.headers()
            )
            assert r.status_code == 200, r.text
        meeting = zoom_hub.zoom.add_recording(meeting_mp4, topic=f"Review {len(jobs)}")
        body = zoom_hub.zoom.recording_completed(meeting)
        assert zoom_hub.post_event(body, signed(body)).json() == {"status": "accepted"}
        job_id = next(j["job_id"] for j in zoom_hub.jobs() if j["job_id"] not in jobs)
        assert zoom_hub.backend.wait(job_id, timeout=120)["status"] == "completed"
        jobs.append(job_id)
    deadline = time.monotonic() + 30
    while not zoom_hub.zoom.state.chat_messages and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(1)  # a second (wrong) summary would have arrived by now
    [posted] = zoom_hub.zoom.state.chat_messages
    assert posted["to_jid"] == HOST_JID and "Review 1" in posted["content"]["head"]["text"]
    assert posted["content"]["body"][1]["link"].endswith(f"/v1/result/{jobs[1]}")
