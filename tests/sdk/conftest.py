"""Fixtures of the SDK tests: one live server per session, media for URL inputs, a webhook receiver."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.engine.media_factory import FACES, SPEECH_WAV, talking_head
from tests.sdk.live import LiveServer, Receiver, serve_directory, start_receiver, start_server


@pytest.fixture(scope="session")
def media_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Small inputs: a 2 s talking-head MP4, a speech WAV and two face photos."""
    d = tmp_path_factory.mktemp("sdk-media")
    talking_head(d / "talk.mp4", seconds=2.0)
    shutil.copy(SPEECH_WAV, d / "speech.wav")
    shutil.copy(FACES / "london_008_neutral.jpg", d / "neutral.jpg")
    shutil.copy(FACES / "london_008_smiling.jpg", d / "smiling.jpg")
    return d


@pytest.fixture(scope="session")
def media_url(media_dir: Path) -> Iterator[str]:
    """Where ``media_dir`` is served over HTTP (URL inputs; the server allows private URLs in tests)."""
    server, url = serve_directory(media_dir)
    yield url
    server.shutdown()


@pytest.fixture(scope="session")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """``echodepth serve`` in embedded mode on a free port with a temporary data dir."""
    server = start_server(tmp_path_factory.mktemp("sdk-server") / "var")
    yield server
    server.stop()


@pytest.fixture(scope="session")
def api_key(live: LiveServer) -> str:
    return live.create_key("sdk-python")


@pytest.fixture(scope="session")
def receiver() -> Iterator[Receiver]:
    r = start_receiver()
    yield r
    r.server.shutdown()
