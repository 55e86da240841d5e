"""POST /v1/analyse/audio end to end: upload and URL, real decoded media, nothing kept afterwards."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import redis
from sqlalchemy import text

from tests.conftest import REDIS_URL, Backend

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "audio"
SPEECH = FIXTURES / "speech_pauses_um.wav"


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def fixture_server() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(_Quiet, directory=str(FIXTURES)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def _assert_voice_result(body: dict[str, object]) -> None:
    assert body["status"] == "completed", body
    assert body["modality"] == "audio"
    voice = body["voice"]
    assert isinstance(voice, dict)
    for key in ("f0_mean_hz", "f0_sd_hz", "jitter_local", "shimmer_local", "hnr_db", "speech_rate",
                "articulation_rate", "pauses", "filled_pauses", "hesitation_index", "talk_ratio"):
        assert key in voice, key
    assert voice["pauses"]["count"] >= 1
    segments = body["segments"]
    assert isinstance(segments, list) and len(segments) >= 10
    assert any(s["speech"] for s in segments) and any(s["pause"] for s in segments)
    assert 0 <= body["trust_score"] <= 100  # type: ignore[operator]


def _no_media_bytes_anywhere(b: Backend, probe: bytes) -> None:
    assert b.runtime.spool.files() == []
    with b.runtime.db.session() as s:
        rows = s.execute(text("SELECT count(*) FROM job_inputs")).scalar_one()
        assert rows == 0
    if b.runtime.settings.broker_url:
        client = redis.Redis.from_url(REDIS_URL)
        ns = b.runtime.settings.broker_namespace
        for key in client.scan_iter(f"{ns}*"):
            kind = client.type(key)
            values: list[bytes] = []
            if kind == b"string":
                values = [client.get(key) or b""]
            elif kind == b"hash":
                values = list(client.hgetall(key).values())
            elif kind == b"list":
                values = client.lrange(key, 0, -1)
            elif kind in (b"set", b"zset"):
                values = list(client.zrange(key, 0, -1) if kind == b"zset" else client.smembers(key))
            assert not any(probe in v for v in values), key


def test_uploaded_audio_is_analysed_and_nothing_is_kept(backend: Backend) -> None:
    data = SPEECH.read_bytes()
    r = backend.client.post(
        "/v1/analyse/audio",
        files={"file": ("call.wav", data, "audio/wav")},
        data={"metadata": '{"call": "7"}'},
        headers=backend.headers(),
    )
    assert r.status_code == 202, r.text
    body = backend.wait(r.json()["job_id"], timeout=120)
    _assert_voice_result(body)
    assert body["metadata"] == {"call": "7"}
    _no_media_bytes_anywhere(backend, data[4000:4064])


def test_audio_from_url_is_fetched_and_analysed(
    make_embedded: Callable[..., Backend], fixture_server: str
) -> None:
    b = make_embedded(allow_private_urls=True)
    r = b.client.post("/v1/analyse/audio", json={"url": f"{fixture_server}/two_speakers.flac"},
                      headers=b.headers())
    assert r.status_code == 202, r.text
    body = b.wait(r.json()["job_id"], timeout=120)
    assert body["status"] == "completed", body
    assert len(body["speakers"]) == 2
    assert b.runtime.spool.files() == []


@pytest.mark.parametrize(
    ("payload", "code"),
    [
        (b"", None),
        (b"RIFF\x24\x00\x00\x00WAVEfmt " + b"\x00" * 40, "media_corrupt"),
        (b"%PDF-1.4 this is not audio at all " * 50, "media_not_audio"),
    ],
    ids=["empty", "corrupt-wav", "not-audio"],
)
def test_bad_audio_fails_with_its_code_and_empty_spool(
    make_embedded: Callable[..., Backend], payload: bytes, code: str | None
) -> None:
    b = make_embedded()
    r = b.client.post("/v1/analyse/audio", files={"file": ("x.wav", payload, "audio/wav")},
                      headers=b.headers())
    if code is None:
        assert r.status_code == 422 and r.json()["code"] == "invalid_input"
    else:
        assert r.status_code == 202
        body = b.wait(r.json()["job_id"], timeout=60)
        assert body["status"] == "failed" and body["error"]["code"] == code, body
    assert b.runtime.spool.files() == []


def test_truncated_audio_fails_with_a_code(make_embedded: Callable[..., Backend]) -> None:
    b = make_embedded()
    data = (FIXTURES / "two_speakers.flac").read_bytes()
    r = b.client.post("/v1/analyse/audio", files={"file": ("x.flac", data[: len(data) // 3], "audio/flac")},
                      headers=b.headers())
    body = b.wait(r.json()["job_id"], timeout=60)
    assert body["status"] == "failed" and body["error"]["code"] == "media_corrupt", body


def test_audio_over_the_duration_cap_fails_with_media_too_long(make_embedded: Callable[..., Backend]) -> None:
    b = make_embedded(max_media_seconds=3)
    r = b.client.post("/v1/analyse/audio", files={"file": ("x.wav", SPEECH.read_bytes(), "audio/wav")},
                      headers=b.headers())
    body = b.wait(r.json()["job_id"], timeout=60)
    assert body["status"] == "failed" and body["error"]["code"] == "media_too_long"
    assert b.runtime.spool.files() == []


def test_silence_is_a_result_flagged_no_speech(make_embedded: Callable[..., Backend], tmp_path: Path) -> None:
    import wave

    path = tmp_path / "silence.wav"
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes(b"\x00\x00" * 16000 * 3)
    b = make_embedded()
    r = b.client.post("/v1/analyse/audio", files={"file": ("s.wav", path.read_bytes(), "audio/wav")},
                      headers=b.headers())
    body = b.wait(r.json()["job_id"], timeout=60)
    assert body["status"] == "completed"
    assert "no_speech" in body["quality"]["flags"] and body["trust_score"] is None
