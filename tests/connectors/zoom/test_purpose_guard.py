"""The EU AI Act purpose guard also stops webhook-created Zoom jobs; Zoom still gets a 2xx."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.sources.service import HOOKS, REFUSED
from tests.connectors.zoom.conftest import ZoomHub
from tests.emulators.zoom import signed


def _declare(hub: ZoomHub, region: str, purposes: list[str]) -> None:
    rt = hub.runtime
    rt.policies.set_region(rt.store.ensure_tenant("acme"), region, "test")
    r = hub.client.put(
        "/v1/tenants/me/purposes",
        json={"purposes": purposes, "consent_basis": "legitimate_interests"},
        headers=hub.backend.headers(),
    )
    assert r.status_code == 200, r.text


def _refused() -> tuple[float, float]:
    return (
        HOOKS.labels("zoom", "purpose_not_permitted")._value.get(),
        REFUSED.labels("zoom", "purpose_not_permitted")._value.get(),
    )


@pytest.mark.parametrize("purposes", [["recruitment"], ["sales_calls", "workplace_monitoring"]])
def test_a_refused_tenant_gets_no_job_and_zoom_gets_a_2xx(
    zoom_hub: ZoomHub, meeting_mp4: Path, purposes: list[str]
) -> None:
    _declare(zoom_hub, "eu", purposes)
    hooks, refused = _refused()
    meeting = zoom_hub.zoom.add_recording(meeting_mp4)
    body = zoom_hub.zoom.recording_completed(meeting)
    r = zoom_hub.post_event(body, signed(body))
    assert r.status_code == 200  # answered, so Zoom does not retry the event for days
    assert r.json() == {"status": "purpose_not_permitted"}
    assert _refused() == (hooks + 1, refused + 1)
    assert zoom_hub.runtime.sources.catch_up() == 0  # catch-up is guarded too
    assert _refused() == (hooks + 1, refused + 2)
    assert zoom_hub.jobs() == []
    assert zoom_hub.zoom.state.downloads == [] and zoom_hub.zoom.state.participant_calls == 0


def test_the_same_declarations_outside_the_eu_and_medical_in_the_eu_are_analysed(
    zoom_hub: ZoomHub, meeting_mp4: Path
) -> None:
    for region, purposes in [("uk", ["recruitment"]), ("eu", ["medical"])]:
        _declare(zoom_hub, region, purposes)
        meeting = zoom_hub.zoom.add_recording(meeting_mp4)
        body = zoom_hub.zoom.recording_completed(meeting)
        assert zoom_hub.post_event(body, signed(body)).json() == {"status": "accepted"}, region
    assert len(zoom_hub.jobs()) == 2
