"""The Source half of the contract suite, parametrised over the registry's Sources (Zoom, later Teams).

Kept beside ``test_contract.py`` (the Sink half and the registry checks): each Source must refuse unsigned or
malformed input, ignore what it does not understand, and download only through the guarded session, with
vendor refusals mapped to the typed errors.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from core.delivery.session import GuardedSession
from core.registry import Registered, get_registry
from core.sdk import (
    AuthError,
    Credentials,
    MediaItem,
    PermanentError,
    SkipItem,
    Source,
    TransientError,
)

SOURCES = [r for r in get_registry().all() if r.kind == "source"]
CREDENTIALS = Credentials(access_token="tok-contract")
ITEM = MediaItem(external_id="m1:f1", download_url="http://127.0.0.1:9/rec/f1", kind="video", size=4)
SECRET = "contract-secret"


def _ids(r: Registered) -> str:
    return r.key


def _source(found: Registered) -> Source:
    assert isinstance(found.connector, Source)
    return found.connector


def _session(
    handler: Callable[[httpx.Request], httpx.Response], allow_private: bool = True
) -> GuardedSession:
    return GuardedSession(
        CREDENTIALS, allow_private=allow_private, timeout=5, transport=httpx.MockTransport(handler)
    )


def test_zoom_is_a_registered_source() -> None:
    assert "zoom" in [r.key for r in SOURCES]


@pytest.mark.parametrize("found", SOURCES, ids=_ids)
@pytest.mark.parametrize("body", [b"", b"{}", b"not json", b'{"event": 1}'])
def test_source_refuses_unsigned_input_and_ignores_what_it_cannot_parse(
    found: Registered, body: bytes
) -> None:
    source = _source(found)
    assert source.verify({}, body, SECRET) is False
    assert source.handshake({}, {}, body, SECRET) is None
    assert source.event({}, body) is None
    assert source.parse({}, body) == []


@pytest.mark.parametrize("found", SOURCES, ids=_ids)
def test_source_downloads_through_the_session_into_dest(found: Registered, tmp_path: Path) -> None:
    seen: list[httpx.Request] = []

    def ok(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, content=b"MDAT")

    dest = _source(found).download(_session(ok), found.spec, ITEM, tmp_path / "0")
    assert dest.read_bytes() == b"MDAT"
    assert len(seen) == 1


@pytest.mark.parametrize("found", SOURCES, ids=_ids)
@pytest.mark.parametrize(
    ("status", "error"),
    [(401, AuthError), (404, SkipItem), (429, TransientError), (503, TransientError), (400, PermanentError)],
)
def test_source_maps_download_refusals_to_typed_errors(
    found: Registered, tmp_path: Path, status: int, error: type[Exception]
) -> None:
    with pytest.raises(error):
        _source(found).download(_session(lambda r: httpx.Response(status)), found.spec, ITEM, tmp_path / "0")
    assert not (tmp_path / "0").exists()


@pytest.mark.parametrize("found", SOURCES, ids=_ids)
def test_source_cannot_download_from_private_addresses(found: Registered, tmp_path: Path) -> None:
    session = _session(lambda r: httpx.Response(200, content=b"x"), allow_private=False)
    with pytest.raises(PermanentError):
        _source(found).download(session, found.spec, ITEM, tmp_path / "0")


@pytest.mark.parametrize("found", SOURCES, ids=_ids)
def test_source_catch_up_follows_every_page(found: Registered) -> None:
    calls: list[httpx.Request] = []

    def empty(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return httpx.Response(200, json={})

    spec = found.spec.model_copy(update={"api_base_url": "http://127.0.0.1:9/api"})
    since = datetime.now(UTC) - timedelta(days=1)
    assert _source(found).recordings(_session(empty), spec, "acct", since) == []
    assert len(calls) == 1
