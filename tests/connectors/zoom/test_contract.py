"""The Zoom emulator holds the connector to what Zoom documents (tests/contracts/zoom/calls.yaml): granted
scopes per token, documented limits and fields, Zoom's error bodies, and only the calls the table lists."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import httpx
import pytest

from connectors.zoom import client
from core.delivery.session import GuardedSession
from core.registry import load_provider_spec
from core.sdk import AuthError, Credentials, PermanentError
from tests.connectors.zoom.conftest import ZoomHub
from tests.connectors.zoom.test_owner_summary import _send, _summary
from tests.emulators import contract
from tests.emulators.oauth import consented_scopes
from tests.emulators.zoom import ZoomEmulator, zoom_emulator

SAMPLES = Path(__file__).resolve().parents[2] / "contracts" / "zoom" / "samples"


@pytest.fixture
def zoom() -> Iterator[ZoomEmulator]:
    with zoom_emulator() as emulator:
        yield emulator


def _get(zoom: ZoomEmulator, path: str, token: str) -> httpx.Response:
    return httpx.get(f"{zoom.base}/v2{path}", headers={"Authorization": f"Bearer {token}"})


def test_a_token_without_a_granted_scope_is_refused_as_zoom_does(zoom: ZoomEmulator) -> None:
    granted = consented_scopes("zoom") - {"user:read:user"}
    answer = zoom.mint(granted)
    assert set(str(answer["scope"]).split()) == granted  # the token answer names what was granted
    r = _get(zoom, "/users/me", str(answer["access_token"]))
    documented = json.loads((SAMPLES / "error.missing_scope.json").read_text())
    assert r.status_code == 400 and r.json()["code"] == documented["code"] == 4711
    assert r.json()["message"] == "Invalid access token, does not contain scopes:[user:read:user]."
    full = zoom.mint()
    assert _get(zoom, "/users/me", str(full["access_token"])).status_code == 200


def test_every_consented_scope_is_one_a_listed_call_needs() -> None:
    needed = {s for c in contract.load("zoom").calls for s in c.scopes}
    assert consented_scopes("zoom") == needed  # nothing asked for that no call uses


@pytest.mark.parametrize(
    ("path", "detail"),
    [
        ("/users/me/recordings?page_size=301", "page_size"),
        ("/users/me/recordings?from=2026-01-01&to=2026-03-01", "within a month"),
        ("/users/me/recordings?from=01/01/2026", "yyyy-mm-dd"),
        ("/users/me/recordings?pagesize=30", "pagesize"),
    ],
)
def test_queries_outside_the_documented_limits_are_refused(
    zoom: ZoomEmulator, path: str, detail: str
) -> None:
    r = _get(zoom, path, str(zoom.mint()["access_token"]))
    assert r.status_code == 400 and r.json()["code"] == 300 and detail in r.json()["message"]


def test_catch_up_over_more_than_a_month_asks_a_month_at_a_time(zoom: ZoomEmulator, tmp_path: Path) -> None:
    spec = load_provider_spec("zoom").model_copy(update={"api_base_url": f"{zoom.base}/v2"})
    session = GuardedSession(
        Credentials(access_token=str(zoom.mint()["access_token"])), allow_private=True, timeout=5
    )
    until = date(2026, 11, 30)
    pages = list(client.recording_pages(session, spec, until - timedelta(days=75), until, 30))
    assert len(pages) == 3 and zoom.state.list_calls == 3


def test_a_call_no_row_lists_is_refused_and_remembered(zoom: ZoomEmulator) -> None:
    before = len(contract.UNLISTED)
    r = _get(zoom, "/users/me/meetings", str(zoom.mint()["access_token"]))
    assert r.status_code == 501
    assert contract.UNLISTED[before:] == [("zoom", "GET", "/users/me/meetings")]
    contract.UNLISTED[before:] = []  # refused on purpose: the session hook must not fail the run


def test_a_chatbot_message_with_an_undocumented_field_is_refused(zoom: ZoomEmulator) -> None:
    token = httpx.post(
        f"{zoom.base}/oauth/token?grant_type=client_credentials",
        auth=("zoom-client-id", "zoom-client-secret-do-not-log"),
    ).json()["access_token"]
    body = {
        "robot_jid": "x",
        "to_jid": "y",
        "account_id": "z",
        "content": {"head": {"text": "hi"}},
        "colour": 1,
    }
    r = httpx.post(
        f"{zoom.base}/v2/im/chat/messages", json=body, headers={"Authorization": f"Bearer {token}"}
    )
    assert (r.status_code, r.json()["code"]) == (400, 300) and "colour" in r.json()["message"]


def test_a_chatbot_without_imchat_bot_is_the_apps_configuration(zoom_hub: ZoomHub) -> None:
    zoom_hub.zoom.state.chatbot_feature = False  # its token has no imchat:bot: 400 code 4711
    with pytest.raises(PermanentError) as caught:
        _send(zoom_hub, _summary())
    assert caught.value.code == "chatbot_unauthorised" and zoom_hub.zoom.state.chat_messages == []


def test_past_participants_without_their_scope_is_an_auth_error(zoom_hub: ZoomHub, meeting_mp4: Path) -> None:
    meeting = zoom_hub.zoom.add_recording(meeting_mp4)
    for token in list(zoom_hub.zoom.state.scopes):
        zoom_hub.zoom.state.scopes[token] -= {"meeting:read:list_past_participants"}
    rt = zoom_hub.runtime
    spec = rt.connections.catalog.spec("zoom")
    source = rt.sources.source("zoom")
    info = {"meeting_uuid": meeting["uuid"], "meeting_id": str(meeting["id"])}
    with pytest.raises(AuthError) as caught:
        rt.sources.with_token(
            zoom_hub.connection_id,
            lambda token, _: source.participants(rt.sources.session(token), spec, info),  # type: ignore[attr-defined]
        )
    assert caught.value.code == "missing_scope"
