"""Zoom's own sample payloads (tests/contracts/zoom/samples, each with its page), signed and fed to our
webhook route, give the expected answer, job or deletion."""

from __future__ import annotations

import hashlib
import hmac
import json
from pathlib import Path
from typing import Any

from tests.connectors.zoom.conftest import ZoomHub
from tests.emulators.zoom import ACCOUNT_ID, WEBHOOK_SECRET, signed

SAMPLES = Path(__file__).resolve().parents[2] / "contracts" / "zoom" / "samples"


def _sample(name: str) -> dict[str, Any]:
    found: dict[str, Any] = json.loads((SAMPLES / f"{name}.json").read_text())
    return found


def test_the_documented_url_validation_is_answered_with_the_hmac_of_its_plain_token(
    zoom_hub: ZoomHub,
) -> None:
    body = (SAMPLES / "endpoint.url_validation.json").read_bytes()
    r = zoom_hub.post_event(body, signed(body))
    plain = _sample("endpoint.url_validation")["payload"]["plainToken"]
    expected = hmac.new(WEBHOOK_SECRET.encode(), plain.encode(), hashlib.sha256).hexdigest()
    assert (r.status_code, r.json()) == (200, {"plainToken": plain, "encryptedToken": expected})


def test_the_documented_recording_completed_gives_one_job_for_that_meeting(
    zoom_hub: ZoomHub, meeting_mp4: Path
) -> None:
    sample = _sample("recording.completed")
    body = zoom_hub.zoom.adopt_sample(sample, {"MP4": meeting_mp4, "M4A": meeting_mp4})
    assert zoom_hub.post_event(body, signed(body)).json() == {"status": "accepted"}
    [job] = zoom_hub.jobs()
    result = zoom_hub.backend.wait(job["job_id"], timeout=120)  # the analysis itself is the engine's
    assert result["modality"] == "video"  # the MP4 of the two files
    source = result["metadata"]["source"]
    meeting = sample["payload"]["object"]
    assert (source["meeting_uuid"], source["meeting_id"]) == (meeting["uuid"], str(meeting["id"]))
    assert (source["topic"], source["host_email"]) == (meeting["topic"], meeting["host_email"])
    [download] = zoom_hub.zoom.state.downloads
    assert download == {"file_id": "388ffb46-1541-460d-8447-4624451a1db7", "auth": "download_token"}


def test_the_documented_app_deauthorized_deletes_the_connection_and_its_data(
    zoom_hub: ZoomHub, meeting_mp4: Path
) -> None:
    meeting = zoom_hub.zoom.add_recording(meeting_mp4)
    first = zoom_hub.zoom.recording_completed(meeting)
    zoom_hub.post_event(first, signed(first))
    [job] = zoom_hub.jobs()
    zoom_hub.backend.wait(job["job_id"], timeout=120)
    sample = _sample("app_deauthorized")
    sample["payload"]["account_id"] = ACCOUNT_ID  # the sample's account is Zoom's placeholder
    body = json.dumps(sample).encode()
    assert sample["payload"]["user_data_retention"] == "false"
    assert zoom_hub.post_event(body, signed(body)).json() == {"status": "deauthorized"}
    assert zoom_hub.client.get("/v1/connections", headers=zoom_hub.backend.headers()).json()["data"] == []
    assert zoom_hub.jobs() == []
