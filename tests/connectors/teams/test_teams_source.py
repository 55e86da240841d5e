"""Teams recordings end to end against the Graph emulator, driven by the real msgraph-sdk: a notification →
one job → a completed analysis → the tenant's webhook and the organiser's mail; forged notifications;
lifecycle notifications; renewal; the owner-summary SLA with a controllable clock."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from core.sources.records import OwnerSummaryRecord, SourceSubscription
from core.sources.service import HOOKS
from core.sources.summaries import SLA_MISSED
from core.storage.models import utcnow
from tests.connectors.teams.conftest import VTT, TeamsHub
from tests.emulators.graph import ORGANIZER_ID, ORGANIZER_MAIL, RESOURCES
from tests.emulators.webhook_receiver import WebhookReceiver


def _count(outcome: str) -> float:
    return float(HOOKS.labels("teams", outcome)._value.get())


def _until(check: Callable[[], Any], timeout: float = 60) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


def _rows(hub: TeamsHub) -> dict[str, SourceSubscription]:
    return {r.resource: r for r in hub.runtime.sources.subscriptions.listed(_tenant(hub), "teams")}


def _tenant(hub: TeamsHub) -> str:
    return str(hub.runtime.connections.store.by_id(hub.connection_id).tenant_id)  # type: ignore[union-attr]


def _summary_row(hub: TeamsHub, job_id: str) -> OwnerSummaryRecord | None:
    with hub.runtime.db.session() as s:
        return s.get(OwnerSummaryRecord, job_id)


def test_subscriptions_are_created_validated_and_sealed(teams_hub: TeamsHub) -> None:
    graph = teams_hub.graph.graph
    assert sorted(s["resource"] for s in graph.subscriptions.values()) == sorted(RESOURCES)
    assert all(status == 200 for _, status in graph.validations) and len(graph.validations) == 2
    rows = _rows(teams_hub)
    for resource, row in rows.items():
        sub = teams_hub.graph.subscription_for(resource)
        assert row.external_id == sub["id"] and row.status == "active"
        assert sub["notificationUrl"].endswith("/v1/hooks/teams")
        assert sub["lifecycleNotificationUrl"] == sub["notificationUrl"]
        assert teams_hub.runtime.vault.get(str(row.client_state_secret_id)) == sub["clientState"]
        assert len(sub["clientState"]) <= 128


def test_validation_handshake_echoes_the_decoded_token_as_text(teams_hub: TeamsHub) -> None:
    r = teams_hub.client.post("/v1/hooks/teams?validationToken=Validation%3A%20Testing%20a%2Bb")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/plain")
    assert r.text == "Validation: Testing a+b"


@pytest.mark.parametrize("hub", ["teams_hub", "teams_hub_pg"])
def test_notification_gives_one_analysis_one_delivery_and_one_owner_mail(
    hub: str, request: pytest.FixtureRequest, receiver: WebhookReceiver, meeting_mp4: Path
) -> None:
    teams_hub: TeamsHub = request.getfixturevalue(hub)
    teams_hub.subscribe(receiver, ["analysis.completed"])
    rec = teams_hub.graph.add_recording(meeting_mp4, subject="Quarterly review", transcript=VTT)
    started = time.monotonic()
    r = teams_hub.graph.notify(rec)
    assert r.status_code == 202, r.text
    assert time.monotonic() - started < 3  # Graph's deadline; the work is queued
    [job] = teams_hub.jobs()
    result = teams_hub.backend.wait(job["job_id"], timeout=180)
    assert result["status"] == "completed", result
    assert result["modality"] == "multimodal"  # the meeting's transcript replaces ASR
    source = result["metadata"]["source"]
    assert source["provider"] == "teams" and source["recording_id"] == rec.recording_id
    assert source["meeting_id"] == rec.meeting_id
    # the tenant-wide notification names no organiser: the worker read it from the recording
    assert source["organizer_id"] == "" and rec.recording_id in teams_hub.graph.graph.organizer_lookups
    assert teams_hub.graph.graph.content_auth and teams_hub.graph.graph.content_auth[0].startswith("Bearer ")
    [delivered] = receiver.wait_accepted(1)
    assert delivered["data"]["job_id"] == job["job_id"]
    [mail] = _until(lambda: teams_hub.graph.graph.mails)
    assert mail["sender"] == ORGANIZER_ID
    message = mail["message"]
    assert message["toRecipients"][0]["emailAddress"]["address"] == ORGANIZER_MAIL
    assert message["subject"] == "EchoDepth analysis: Quarterly review"
    text = message["body"]["content"]
    assert "Trust Score" in text and "not a lie detector" in text and job["job_id"] in text
    row = _until(
        lambda: (found := _summary_row(teams_hub, job["job_id"])) and found.status == "delivered" and found
    )
    assert row.delivered_at is not None
    assert teams_hub.runtime.spool.files() == []
    time.sleep(0.5)
    assert len(teams_hub.graph.graph.mails) == 1 and len(receiver.accepted) == 1


def test_wrong_client_state_or_unknown_subscription_is_refused_and_queues_nothing(
    teams_hub: TeamsHub, meeting_mp4: Path
) -> None:
    rec = teams_hub.graph.add_recording(meeting_mp4)
    before = _count("refused")
    r = teams_hub.graph.notify(rec, client_state="guessed-" + "x" * 40)
    assert r.status_code == 401 and r.json()["code"] == "invalid_client_state"
    sub = dict(teams_hub.graph.subscription_for(RESOURCES[0]), id="00000000-0000-0000-0000-000000000000")
    r = teams_hub.graph.post(sub["notificationUrl"], teams_hub.graph.notification_body(sub, rec))
    assert r.status_code == 401
    r = teams_hub.client.post("/v1/hooks/teams", content=b"{not json")
    assert r.status_code == 400
    assert _count("refused") == before + 3
    assert teams_hub.jobs() == []


def test_a_replayed_notification_creates_no_second_job(teams_hub: TeamsHub, meeting_mp4: Path) -> None:
    rec = teams_hub.graph.add_recording(meeting_mp4)
    before = _count("duplicate")
    assert teams_hub.graph.notify(rec).json() == {"outcomes": ["accepted"]}
    assert teams_hub.graph.notify(rec).json() == {"outcomes": ["duplicate"]}
    assert _count("duplicate") == before + 1
    assert len(teams_hub.jobs()) == 1


def test_reauthorization_required_renews_the_subscription(teams_hub: TeamsHub) -> None:
    sub = teams_hub.graph.subscription_for(RESOURCES[0])
    r = teams_hub.graph.lifecycle(RESOURCES[0], "reauthorizationRequired")
    assert r.status_code == 202 and r.json() == {"outcomes": ["reauthorizationRequired"]}
    _until(lambda: sub["id"] in teams_hub.graph.graph.patched)
    _until(lambda: _rows(teams_hub)[RESOURCES[0]].action is None)


def test_subscription_removed_is_recreated_with_a_new_client_state(teams_hub: TeamsHub) -> None:
    graph = teams_hub.graph
    old = graph.remove(RESOURCES[0])  # Graph dropped it, then tells us
    r = graph.post(old["lifecycleNotificationUrl"], graph.lifecycle_body(old, "subscriptionRemoved"))
    assert r.status_code == 202 and r.json() == {"outcomes": ["subscriptionRemoved"]}

    def recreated() -> dict[str, Any] | None:
        return next((s for s in graph.graph.subscriptions.values() if s["resource"] == RESOURCES[0]), None)

    new = _until(recreated)
    row = _until(lambda: (found := _rows(teams_hub)[RESOURCES[0]]).external_id == new["id"] and found)
    assert new["id"] != old["id"] and new["clientState"] != old["clientState"]
    assert teams_hub.runtime.vault.get(str(row.client_state_secret_id)) == new["clientState"]
    stale = graph.notification_body(old, graph.add_recording(Path(__file__)))
    assert graph.post(old["notificationUrl"], stale).status_code == 401  # the old subscription is gone


def test_missed_runs_catch_up_for_recordings_without_a_notification(
    teams_hub: TeamsHub, meeting_mp4: Path
) -> None:
    rec = teams_hub.graph.add_recording(meeting_mp4, subject="Board sync")
    r = teams_hub.graph.lifecycle(RESOURCES[0], "missed")
    assert r.status_code == 202
    [job] = _until(teams_hub.jobs)
    full = teams_hub.client.get(f"/v1/result/{job['job_id']}", headers=teams_hub.backend.headers()).json()
    assert full["metadata"]["source"]["recording_id"] == rec.recording_id
    assert full["metadata"]["source"]["event"] == "catch_up"
    assert teams_hub.graph.notify(rec).json() == {"outcomes": ["duplicate"]}  # the same job


def test_renewal_job_renews_only_subscriptions_near_expiry(teams_hub: TeamsHub) -> None:
    subs = teams_hub.runtime.sources.subscriptions
    assert subs.maintain() == 0  # fresh: nothing to do
    assert teams_hub.graph.graph.patched == []
    before = {k: r.expires_at for k, r in _rows(teams_hub).items()}
    # subscriptions live 4200 min (70 h) and are renewed 24 h before they expire
    assert subs.maintain(now=utcnow() + timedelta(hours=45)) == 0
    assert teams_hub.graph.graph.patched == []
    time.sleep(0.01)
    assert subs.maintain(now=utcnow() + timedelta(hours=47)) == 2
    assert len(teams_hub.graph.graph.patched) == 2
    after = {k: r.expires_at for k, r in _rows(teams_hub).items()}
    assert all(after[k] is not None and before[k] is not None and after[k] > before[k] for k in before)  # type: ignore[operator]


def test_sla_alert_fires_once_for_an_undelivered_summary_and_the_retry_delivers_it(
    teams_hub: TeamsHub, receiver: WebhookReceiver, meeting_mp4: Path
) -> None:
    teams_hub.subscribe(receiver, ["analysis.sla_missed"])
    teams_hub.graph.graph.mail_status = 503  # the summary cannot be sent: retried, then dead-lettered
    rec = teams_hub.graph.add_recording(meeting_mp4)
    assert teams_hub.graph.notify(rec).status_code == 202
    [job] = teams_hub.jobs()
    assert teams_hub.backend.wait(job["job_id"], timeout=180)["status"] == "completed"
    summaries = teams_hub.runtime.sources.summaries
    row = _until(lambda: (found := _summary_row(teams_hub, job["job_id"])) and found.delivery_id and found)
    _until(
        lambda: (
            teams_hub.runtime.deliveries.store.get_delivery(
                _tenant(teams_hub), str(_summary_row(teams_hub, job["job_id"]).delivery_id)
            ).status
            == "dead"
        )
    )  # type: ignore[union-attr]
    missed = SLA_MISSED.labels("teams")._value.get()
    assert summaries.check_sla(now=row.recorded_at + timedelta(hours=23, minutes=59)) == []
    teams_hub.graph.graph.mail_status = 202
    assert summaries.check_sla(now=row.recorded_at + timedelta(hours=24, seconds=1)) == [job["job_id"]]
    assert SLA_MISSED.labels("teams")._value.get() == missed + 1
    [alert] = receiver.wait_accepted(1)
    assert alert["type"] == "analysis.sla_missed" and alert["data"]["job_id"] == job["job_id"]
    assert alert["data"]["sla_hours"] == 24 and alert["data"]["job_status"] == "completed"
    assert summaries.check_sla(now=row.recorded_at + timedelta(hours=30)) == []  # alerted once
    _until(lambda: teams_hub.graph.graph.mails)  # the replayed dead summary went out
    _until(lambda: _summary_row(teams_hub, job["job_id"]).status == "delivered")  # type: ignore[union-attr]


def test_tenant_sla_setting_shortens_the_deadline(teams_hub: TeamsHub, meeting_mp4: Path) -> None:
    r = teams_hub.client.put(
        "/v1/sources/teams/settings", json={"summary_sla_hours": 2}, headers=teams_hub.backend.headers()
    )
    assert r.status_code == 200, r.text
    teams_hub.graph.graph.mail_status = 503
    rec = teams_hub.graph.add_recording(meeting_mp4)
    teams_hub.graph.notify(rec)
    [job] = teams_hub.jobs()
    row = _summary_row(teams_hub, job["job_id"])
    assert row is not None
    summaries = teams_hub.runtime.sources.summaries
    assert summaries.check_sla(now=row.recorded_at + timedelta(hours=1)) == []
    assert summaries.check_sla(now=row.recorded_at + timedelta(hours=2, seconds=1)) == [job["job_id"]]


def test_subscriptions_route_lists_the_tenants_subscriptions_without_secrets(teams_hub: TeamsHub) -> None:
    r = teams_hub.client.post("/v1/sources/teams/subscriptions", headers=teams_hub.backend.headers())
    assert r.status_code == 200, r.text
    listed = r.json()["data"]
    assert sorted(s["resource"] for s in listed) == sorted(RESOURCES)
    assert {s["id"] for s in listed} == set(teams_hub.graph.graph.subscriptions)
    assert all(s["status"] == "active" and s["connection_id"] == teams_hub.connection_id for s in listed)
    assert "clientState" not in r.text and "client_state" not in r.text
    other = teams_hub.backend.new_key("other-tenant")
    r = teams_hub.client.post("/v1/sources/teams/subscriptions", headers=teams_hub.backend.headers(other))
    assert r.status_code == 200 and r.json()["data"] == []
