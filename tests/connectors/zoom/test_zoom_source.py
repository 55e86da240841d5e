"""Zoom recordings end to end: signed webhook → one job → a completed analysis → the tenant's sink."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from datetime import timedelta
from pathlib import Path

import av
import pytest

from core.sources.service import HOOKS
from core.storage.models import utcnow
from tests.connectors.zoom.conftest import ZoomHub
from tests.emulators.webhook_receiver import WebhookReceiver
from tests.emulators.zoom import ACCOUNT_ID, WEBHOOK_SECRET, event_body, signed


def _wait(hub: ZoomHub, job_id: str, timeout: float = 120) -> dict[str, object]:
    return hub.backend.wait(job_id, timeout=timeout)


def _subscribe(hub: ZoomHub, receiver: WebhookReceiver) -> None:
    r = hub.client.post(
        "/v1/webhooks",
        json={"url": receiver.url, "events": ["analysis.completed"]},
        headers=hub.backend.headers(),
    )
    assert r.status_code == 201, r.text
    receiver.secret = r.json()["secret"]


def _count(outcome: str) -> float:
    return HOOKS.labels("zoom", outcome)._value.get()


def test_url_validation_answers_with_the_hmac_of_the_plain_token(zoom_hub: ZoomHub) -> None:
    body = event_body("endpoint.url_validation", {"plainToken": "qgg8vlvZRS6UYooatFL8Aw"})
    r = zoom_hub.post_event(body, signed(body))
    assert r.status_code == 200
    expected = hmac.new(WEBHOOK_SECRET.encode(), b"qgg8vlvZRS6UYooatFL8Aw", hashlib.sha256).hexdigest()
    assert r.json() == {"plainToken": "qgg8vlvZRS6UYooatFL8Aw", "encryptedToken": expected}


def test_unsigned_url_validation_is_refused_so_it_cannot_be_a_signing_oracle(zoom_hub: ZoomHub) -> None:
    body = event_body("endpoint.url_validation", {"plainToken": "v0:1700000000:{}"})
    r = zoom_hub.post_event(body, {"content-type": "application/json"})
    assert r.status_code == 401


def test_recording_completed_gives_one_completed_analysis_delivered_to_the_sink(
    any_zoom_hub: ZoomHub, receiver: WebhookReceiver, meeting_mp4: Path
) -> None:
    zoom_hub = any_zoom_hub  # embedded, and PostgreSQL + Redis + a worker process
    _subscribe(zoom_hub, receiver)
    meeting = zoom_hub.zoom.add_recording(meeting_mp4, topic="Quarterly review", duration=42)
    body = zoom_hub.zoom.recording_completed(meeting)
    started = time.monotonic()
    r = zoom_hub.post_event(body, signed(body))
    assert r.status_code == 200 and r.json() == {"status": "accepted"}
    assert time.monotonic() - started < 3  # Zoom's deadline; the download and analysis are queued
    [job] = zoom_hub.jobs()
    result = _wait(zoom_hub, job["job_id"])
    assert result["status"] == "completed", result
    assert result["modality"] == "video"
    source = result["metadata"]["source"]  # type: ignore[index]
    assert source["meeting_uuid"] == meeting["uuid"] and source["topic"] == "Quarterly review"
    assert source["host_email"] == "host@example.com" and source["duration_minutes"] == 42
    emails = [p["email"] for p in result["metadata"]["participants"]]  # type: ignore[index]
    assert emails == ["host@example.com", "jane.buyer@buyer-corp.example", None]  # the rejoin merged
    assert zoom_hub.zoom.state.downloads[0]["auth"] == "download_token"
    assert zoom_hub.zoom.state.cdn_saw_authorization == [False]
    [delivered] = receiver.wait_accepted(1)
    assert delivered["data"]["job_id"] == job["job_id"]
    assert delivered["data"]["metadata"]["participants"][1]["name"] == "Jane Buyer"  # what CRM sinks match
    assert zoom_hub.runtime.spool.files() == []  # the recording left the spool with the analysis


def test_retried_deliveries_of_one_event_create_one_job(zoom_hub: ZoomHub, meeting_mp4: Path) -> None:
    meeting = zoom_hub.zoom.add_recording(meeting_mp4)
    body = zoom_hub.zoom.recording_completed(meeting)
    before = _count("duplicate")
    answers = [zoom_hub.post_event(body, signed(body)).json()["status"] for _ in range(3)]
    assert answers == ["accepted", "duplicate", "duplicate"]
    assert len(zoom_hub.jobs()) == 1
    assert _count("duplicate") == before + 2


def test_transcript_replaces_asr(zoom_hub: ZoomHub, meeting_mp4: Path, meeting_vtt: Path) -> None:
    meeting = zoom_hub.zoom.add_recording(meeting_mp4, transcript=meeting_vtt)
    body = zoom_hub.zoom.recording_completed(meeting)
    assert zoom_hub.post_event(body, signed(body)).json() == {"status": "accepted"}
    [job] = zoom_hub.jobs()
    result = _wait(zoom_hub, job["job_id"])
    assert result["status"] == "completed", result
    assert result["modality"] == "multimodal"
    assert "text" in json.dumps(result["modalities"])
    assert len(zoom_hub.zoom.state.downloads) == 2


def test_audio_only_meeting_is_analysed_from_the_m4a(
    zoom_hub: ZoomHub, meeting_mp4: Path, tmp_path: Path
) -> None:
    m4a = _audio_only(meeting_mp4, tmp_path / "meeting.m4a")
    meeting = zoom_hub.zoom.add_recording(m4a, file_type="M4A")
    body = zoom_hub.zoom.recording_completed(meeting)
    assert zoom_hub.post_event(body, signed(body)).json() == {"status": "accepted"}
    [job] = zoom_hub.jobs()
    result = _wait(zoom_hub, job["job_id"])
    assert result["status"] == "completed", result
    assert result["modality"] == "audio"


def _audio_only(mp4: Path, out: Path) -> Path:
    """The AAC track of ``mp4`` in an M4A (MPEG-4 audio) file, as Zoom's audio-only recordings are."""
    with av.open(str(mp4)) as src, av.open(str(out), "w", format="mp4") as dst:
        audio = src.streams.audio[0]
        stream = dst.add_stream_from_template(audio)
        for packet in src.demux(audio):
            if packet.dts is not None:
                packet.stream = stream
                dst.mux(packet)
    return out


@pytest.mark.parametrize(
    "forge",
    ["bad_signature", "stale_timestamp", "no_signature", "other_secret", "body_changed"],
)
def test_forged_webhooks_are_refused_counted_and_enqueue_nothing(
    zoom_hub: ZoomHub, meeting_mp4: Path, forge: str
) -> None:
    meeting = zoom_hub.zoom.add_recording(meeting_mp4)
    body = zoom_hub.zoom.recording_completed(meeting)
    headers = {
        "bad_signature": {**signed(body), "x-zm-signature": "v0=" + "0" * 64},
        "stale_timestamp": signed(body, timestamp=int(time.time()) - 301),
        "no_signature": {"content-type": "application/json"},
        "other_secret": signed(body, secret="not-the-secret"),
        "body_changed": signed(body),
    }[forge]
    sent = body.replace(b"Quarterly", b"Quarterlx") if forge == "body_changed" else body
    before = _count("refused")
    r = zoom_hub.post_event(sent, headers)
    assert r.status_code == 401
    assert r.json()["code"] == "invalid_signature"
    assert _count("refused") == before + 1
    assert zoom_hub.jobs() == []


def test_event_for_an_unknown_account_enqueues_nothing(zoom_hub: ZoomHub, meeting_mp4: Path) -> None:
    meeting = zoom_hub.zoom.add_recording(meeting_mp4)
    body = zoom_hub.zoom.recording_completed(meeting).replace(ACCOUNT_ID.encode(), b"acct_someone_else")
    assert zoom_hub.post_event(body, signed(body)).json() == {"status": "unknown_account"}
    assert zoom_hub.jobs() == []


def test_tenant_settings_choose_which_meetings_are_analysed(zoom_hub: ZoomHub, meeting_mp4: Path) -> None:
    r = zoom_hub.client.put(
        "/v1/sources/zoom/settings",
        json={"meetings": "opt_in_keyword", "opt_in_keyword": "#echodepth", "min_duration_minutes": 10},
        headers=zoom_hub.backend.headers(),
    )
    assert r.status_code == 200, r.text
    cases = [
        ("Standup", 30, "filtered"),
        ("Sales #echodepth", 5, "filtered"),
        ("Sales #echodepth", 30, "accepted"),
    ]
    for topic, minutes, expected in cases:
        meeting = zoom_hub.zoom.add_recording(meeting_mp4, topic=topic, duration=minutes)
        body = zoom_hub.zoom.recording_completed(meeting)
        assert zoom_hub.post_event(body, signed(body)).json() == {"status": expected}, topic
    assert len(zoom_hub.jobs()) == 1
    got = zoom_hub.client.get("/v1/sources/zoom/settings", headers=zoom_hub.backend.headers()).json()
    assert got["opt_in_keyword"] == "#echodepth"


def test_consent_required_skips_meetings_without_the_marker(zoom_hub: ZoomHub, meeting_mp4: Path) -> None:
    zoom_hub.client.put(
        "/v1/sources/zoom/settings", json={"consent_required": True}, headers=zoom_hub.backend.headers()
    )
    for topic, expected in [("Review", "filtered"), ("Review #consent", "accepted")]:
        meeting = zoom_hub.zoom.add_recording(meeting_mp4, topic=topic)
        body = zoom_hub.zoom.recording_completed(meeting)
        assert zoom_hub.post_event(body, signed(body)).json() == {"status": expected}


def test_catch_up_enqueues_missed_recordings_across_pages_once(zoom_hub: ZoomHub, meeting_mp4: Path) -> None:
    zoom_hub.zoom.state.max_page_size = 2
    delivered = zoom_hub.zoom.add_recording(meeting_mp4, topic="delivered")
    body = zoom_hub.zoom.recording_completed(delivered)
    assert zoom_hub.post_event(body, signed(body)).json() == {"status": "accepted"}
    for n in range(4):
        zoom_hub.zoom.add_recording(meeting_mp4, topic=f"missed {n}")
    assert zoom_hub.runtime.sources.catch_up() == 4
    assert zoom_hub.zoom.state.list_calls == 3  # 5 meetings, 2 per page
    assert zoom_hub.runtime.sources.catch_up() == 0  # idempotent on meeting uuid + file id
    jobs = zoom_hub.jobs()
    assert len(jobs) == 5
    result = _wait(zoom_hub, jobs[0]["job_id"])
    assert result["status"] == "completed", result
    assert {"bearer"} <= {d["auth"] for d in zoom_hub.zoom.state.downloads}


def test_download_refreshes_a_rejected_token_once(zoom_hub: ZoomHub, meeting_mp4: Path) -> None:
    meeting = zoom_hub.zoom.add_recording(meeting_mp4)
    body = zoom_hub.zoom.recording_completed(meeting, download_token=False)
    calls = zoom_hub.zoom.state.refresh_calls
    for token in zoom_hub.zoom.state.access:
        zoom_hub.zoom.state.access[token] = 0  # every access token issued so far is rejected (401 code 124)
    assert zoom_hub.post_event(body, signed(body)).json() == {"status": "accepted"}
    [job] = zoom_hub.jobs()
    assert _wait(zoom_hub, job["job_id"])["status"] == "completed"
    assert zoom_hub.zoom.state.refresh_calls == calls + 1


@pytest.mark.parametrize("retention", [True, False])
def test_app_deauthorized_deletes_tokens_and_data_unless_retained(
    zoom_hub: ZoomHub, meeting_mp4: Path, retention: bool
) -> None:
    meeting = zoom_hub.zoom.add_recording(meeting_mp4)
    body = zoom_hub.zoom.recording_completed(meeting)
    zoom_hub.post_event(body, signed(body))
    [job] = zoom_hub.jobs()
    _wait(zoom_hub, job["job_id"])
    gone = event_body(
        "app_deauthorized",
        {
            "account_id": ACCOUNT_ID,
            "user_id": "user_1",
            "signature": "ignored",
            "deauthorization_time": (utcnow() - timedelta(seconds=1)).isoformat(),
            "client_id": "zoom-client-id",
            "user_data_retention": "true" if retention else "false",
        },
    )
    assert zoom_hub.post_event(gone, signed(gone)).json() == {"status": "deauthorized"}
    assert zoom_hub.client.get("/v1/connections", headers=zoom_hub.backend.headers()).json()["data"] == []
    assert len(zoom_hub.jobs()) == (1 if retention else 0)
