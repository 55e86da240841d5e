"""Graph's own material against the connector: the documented sample notifications through our webhook route,
both resource shapes, and Graph's refusals (a missing application permission, an organiser the application
access policy does not cover, a body the schema does not allow) as typed errors."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from connectors.teams import CONNECTOR
from connectors.teams.models import meeting_resource
from core.sdk import AuthError, MediaItem, PermanentError
from core.storage.models import utcnow
from tests.connectors.teams.conftest import TeamsHub
from tests.contracts.graph import csdl
from tests.emulators.graph import ORGANIZER_ID, RESOURCES, sample


def _live(hub: TeamsHub, item: dict[str, Any]) -> bytes:
    """A documented sample addressed to our live recordings subscription (ids core checks)."""
    sub = hub.graph.subscription_for(RESOURCES[0])
    item = {
        **item,
        "subscriptionId": sub["id"],
        "clientState": sub["clientState"],
        "tenantId": hub.graph.admin_tenant,
    }
    return json.dumps({"value": [item]}).encode()


def _drop(hub: TeamsHub, permission: str) -> None:
    """Every live token loses ``permission`` (as if the admin had not consented to it)."""
    for token, scopes in list(hub.graph.state.scopes.items()):
        hub.graph.state.scopes[token] = scopes - {permission}


def _with_token(hub: TeamsHub, act: Any) -> Any:
    sources = hub.runtime.sources
    return sources.with_token(hub.connection_id, lambda t, _: act(sources.session(t), sources.spec("teams")))


def test_tenant_level_sample_notification_gives_a_job_for_that_meeting(teams_hub: TeamsHub) -> None:
    documented = sample("recording-created.json")
    r = teams_hub.client.post("/v1/hooks/teams", content=_live(teams_hub, documented))
    assert r.status_code == 202 and r.json() == {"outcomes": ["accepted"]}, r.text
    [job] = teams_hub.jobs()
    full = teams_hub.client.get(f"/v1/result/{job['job_id']}", headers=teams_hub.backend.headers()).json()
    where = meeting_resource(documented["resource"])
    assert where is not None and where.user_id is None
    source = full["metadata"]["source"]
    assert source["meeting_id"] == where.meeting_id and source["recording_id"] == where.item_id


def test_transcript_sample_announces_nothing_and_resource_data_sample_announces_its_recording() -> None:
    transcript = json.dumps({"value": [sample("transcript-created.json")]}).encode()
    [n] = CONNECTOR.notifications(transcript) or []
    assert n.event is None and n.lifecycle is None
    [n] = (
        CONNECTOR.notifications(json.dumps(sample("recording-created-with-resource-data.json")).encode())
        or []
    )
    decrypted = sample("recording-decrypted.json")
    assert n.event is not None and n.event.metadata["meeting_id"] == decrypted["meetingId"]
    assert n.event.metadata["recording_id"] == decrypted["id"]
    [n] = CONNECTOR.notifications(json.dumps(sample("reauthorization-required.json")).encode()) or []
    assert n.lifecycle == "reauthorizationRequired"


def test_user_level_resource_names_the_organiser() -> None:
    found = meeting_resource("users('u-1')/onlineMeetings('MSo1')/recordings('VjIj')")
    assert found is not None and (found.user_id, found.meeting_id, found.item_id) == ("u-1", "MSo1", "VjIj")
    tenant = meeting_resource("communications/onlineMeetings('MSo1')/transcripts('MSMj')")
    assert tenant is not None and tenant.user_id is None and tenant.kind == "transcripts"


def test_download_reads_the_organiser_from_the_recording(teams_hub: TeamsHub, tmp_path: Path) -> None:
    rec = teams_hub.graph.add_recording(Path(__file__))
    [n] = (
        CONNECTOR.notifications(
            teams_hub.graph.notification_body(teams_hub.graph.subscription_for(RESOURCES[0]), rec)
        )
        or []
    )
    assert n.event is not None
    video = next(i for i in n.event.items if i.kind == "video")
    _with_token(teams_hub, lambda s, spec: CONNECTOR.download(s, spec, video, tmp_path / "r.mp4"))
    assert (tmp_path / "r.mp4").read_bytes() == Path(__file__).read_bytes()
    assert teams_hub.graph.graph.organizer_lookups == [rec.recording_id]


def test_an_organiser_outside_the_access_policy_stops_the_download_for_the_admin(
    teams_hub: TeamsHub, tmp_path: Path
) -> None:
    rec = teams_hub.graph.add_recording(Path(__file__))
    teams_hub.graph.graph.policy_users = {"someone-else"}
    ids = {"user_id": ORGANIZER_ID, "meeting_id": rec.meeting_id, "recording_id": rec.recording_id}
    item = MediaItem("x", "", "video", None, ids)
    # the content is streamed by core's guarded download, which makes a 403 an AuthError (needs an admin)
    with pytest.raises(AuthError) as err:
        _with_token(teams_hub, lambda s, spec: CONNECTOR.download(s, spec, item, tmp_path / "r.mp4"))
    assert err.value.status == 403


@pytest.mark.parametrize("permission", ["User.Read.All", "OnlineMeetingRecording.Read.All"])
def test_a_permission_the_admin_did_not_consent_to_is_a_permanent_error(
    teams_hub: TeamsHub, permission: str
) -> None:
    teams_hub.graph.add_recording(Path(__file__))
    _drop(teams_hub, permission)
    since = utcnow() - timedelta(hours=1)
    with pytest.raises(PermanentError) as err:
        _with_token(
            teams_hub, lambda s, spec: CONNECTOR.recordings(s, spec, teams_hub.graph.admin_tenant, since)
        )
    assert err.value.status == 403 and err.value.code == "forbidden"


def test_a_subscription_body_graph_does_not_know_is_refused_with_its_error(teams_hub: TeamsHub) -> None:
    token = next(
        t
        for t, s in teams_hub.graph.state.scopes.items()
        if "Mail.Send" in s and teams_hub.graph.access_ok(t)
    )
    body = {
        "changeType": "created",
        "resource": RESOURCES[0],
        "notificationUrl": "https://x.example/h",
        "expirationDateTime": "2030-01-01T00:00:00Z",
        "includeResourceData": "yes",
    }
    r = httpx.post(
        f"{teams_hub.graph.base}/v1.0/subscriptions", json=body, headers={"Authorization": f"Bearer {token}"}
    )
    assert r.status_code == 400 and r.json()["error"]["code"] == "BadRequest"
    assert "includeResourceData" in r.json()["error"]["message"]
    assert csdl.problems("subscription", {**body, "includeResourceData": True}) == []
