"""WS /v1/stream/video against a real uvicorn server, driven by the ``websockets`` client library."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
import redis
import uvicorn
from PIL import Image
from threadpoolctl import threadpool_info
from websockets.asyncio.client import ClientConnection, connect
from websockets.client import ClientProtocol
from websockets.exceptions import ConnectionClosed
from websockets.protocol import State
from websockets.uri import parse_uri

from core.api.app import create_app
from core.runtime import Runtime
from core.stream import StreamService
from core.stream.tokens import issue_token
from engine.stream import FaceStream
from tests.conftest import REDIS_URL, embedded_settings
from tests.engine.media_factory import FACES, SPEECH_WAV, _audio_blocks, _canvas

RATE = 16_000


@dataclass
class Server:
    """A running API: its runtime, base URLs and one API key."""

    runtime: Runtime
    http: str
    ws: str
    key: str

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}


@pytest.fixture
def start_server(tmp_path: Path) -> Iterator[Callable[..., Server]]:
    """Start uvicorn (embedded mode) in a thread with settings overrides; stopped at teardown."""
    running: list[tuple[uvicorn.Server, threading.Thread, Runtime]] = []

    def start(sndbuf: int | None = None, **overrides: Any) -> Server:
        rt = Runtime(embedded_settings(tmp_path / f"s{len(running)}", **overrides))
        rt.start_embedded_worker()
        sock = socket.socket()
        if sndbuf:  # accepted sockets inherit it (and lose autotuning, which grows to 4 MB on loopback)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, sndbuf)
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
        config = uvicorn.Config(create_app(rt), log_level="warning")
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
        thread.start()
        deadline = time.monotonic() + 30
        while not server.started:
            assert time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.05)
        running.append((server, thread, rt))
        return Server(rt, f"http://127.0.0.1:{port}", f"ws://127.0.0.1:{port}", rt.store.create_key("acme"))

    yield start
    for server, thread, rt in running:
        server.should_exit = True
        thread.join(timeout=30)
        rt.close()


@pytest.fixture(scope="module", autouse=True)
def _engine_imported() -> None:
    """Import MediaPipe and load its model once: the first import takes seconds (more on a busy machine),
    during which a stream's frames are dropped as ``behind``; the tests here are about the protocol."""
    with FaceStream():
        pass


@lru_cache(maxsize=4)
def _jpeg(photo: str, size: tuple[int, int] = (640, 360)) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(_canvas(FACES / photo, size)).save(buf, "JPEG", quality=85)
    return buf.getvalue()


@lru_cache(maxsize=1)
def _speech() -> bytes:
    return _audio_blocks(6.0, SPEECH_WAV).astype("<i2").tobytes()


def _frame(ts_ms: int, image: bytes) -> bytes:
    return b"\x01" + ts_ms.to_bytes(8, "big") + image


def _audio(ts_ms: int, pcm: bytes) -> bytes:
    return b"\x02" + ts_ms.to_bytes(8, "big") + pcm


def _start(fps: float = 10, audio: bool = False, **extra: Any) -> str:
    return json.dumps({"type": "start", "fps": fps, "audio": audio, "metadata": {"call": "t1"}, **extra})


async def _collect(ws: ClientConnection) -> tuple[list[dict[str, Any]], int | None]:
    """Every message until the server closes, and the close code."""
    out: list[dict[str, Any]] = []
    try:
        async for raw in ws:
            out.append(json.loads(raw))
    except ConnectionClosed:
        pass
    code = ws.close_code
    return out, code


async def _stream_clip(ws: ClientConnection, seconds: float, fps: int, audio: bool, pace: bool) -> None:
    """Send ``seconds`` of frames (two photos alternating each second) and 100 ms PCM chunks."""
    photos = ("london_008_neutral.jpg", "london_008_smiling.jpg")
    pcm = _speech()
    t0 = time.monotonic()
    for i in range(int(seconds * fps)):
        ts = int(i * 1000 / fps)
        if pace:
            await asyncio.sleep(max(0.0, t0 + ts / 1000 - time.monotonic()))
        await ws.send(_frame(ts, _jpeg(photos[(ts // 1000) % 2])))
        if audio and i % max(1, fps // 10) == 0:
            k = ts * RATE // 1000 * 2
            await ws.send(_audio(ts, pcm[k : k + RATE // 10 * 2]))


def _result(server: Server, job_id: str) -> dict[str, Any]:
    r = httpx.get(f"{server.http}/v1/result/{job_id}", headers=server.headers())
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def test_live_stream_gets_frames_seconds_and_a_stored_summary(start_server: Callable[..., Server]) -> None:
    server = start_server()

    async def run() -> tuple[list[dict[str, Any]], int | None]:
        async with connect(f"{server.ws}/v1/stream/video", additional_headers=server.headers()) as ws:
            await ws.send(_start(fps=10, audio=True))
            await _stream_clip(ws, 4.0, 10, audio=True, pace=True)
            await ws.send(json.dumps({"type": "end"}))
            return await _collect(ws)

    messages, code = asyncio.run(run())
    assert code == 1000
    frames = [m for m in messages if m["type"] == "frame"]
    dropped = [m for m in messages if m["type"] == "dropped"]
    assert len(frames) + sum(m["count"] for m in dropped) == 40 and len(frames) >= 20
    assert {m["reason"] for m in dropped} <= {"behind"}  # a paced client is never throttled
    face = frames[-1]["faces"][0]
    assert set(face) == {"id", "box", "au_map", "vad", "emotions"}
    assert face["id"] == "face_1" and set(face["au_map"]["AU12"]) == {"intensity", "presence"}
    assert frames[-1]["vad"] == face["vad"] and frames[-1]["latency_ms"] > 0
    smiling = [f for f in frames if (f["ts"] // 1000) % 2 == 1]
    neutral = [f for f in frames if (f["ts"] // 1000) % 2 == 0]
    assert np.mean([f["faces"][0]["au_map"]["AU12"]["intensity"] for f in smiling]) > np.mean(
        [f["faces"][0]["au_map"]["AU12"]["intensity"] for f in neutral]
    )
    seconds = [m for m in messages if m["type"] == "second"]
    assert [s["t"] for s in seconds] == [0, 1, 2, 3]
    for s in seconds:
        assert {"vad", "credibility", "trust_score", "voice", "words"} <= set(s)
    assert seconds[-1]["vad"] is not None and seconds[-1]["voice"]["speech"] is True
    assert any(s["words"] for s in seconds)
    summary = messages[-1]
    assert summary["type"] == "summary"
    result = _result(server, summary["job_id"])
    assert result["status"] == "completed" and result["modality"] == "stream"
    assert result["metadata"] == {"call": "t1"}
    assert len(result["segments"]) == 4 and result["au_map"] and result["transcript"]
    assert result["modalities"]["stream"]["frames_analysed"] == len(frames)
    data_dir = server.runtime.settings.data_dir
    assert not [p for p in data_dir.rglob("*") if p.is_file() and p.suffix in (".jpg", ".pcm", ".wav")]
    assert not any(server.runtime.settings.spool_dir.glob("*/*"))


@pytest.mark.parametrize("spent_in", ["process", "redis"])
def test_browser_token_from_post_opens_one_stream_only(
    start_server: Callable[..., Server], spent_in: str, request: pytest.FixtureRequest
) -> None:
    redis_settings: dict[str, Any] = {}
    if spent_in == "redis":  # the broker is Redis: every API process sees a spent token
        namespace = request.getfixturevalue("redis_namespace")
        redis_settings = {"broker_url": REDIS_URL, "broker_namespace": namespace}
    server = start_server(**redis_settings)
    r = httpx.post(f"{server.http}/v1/stream/tokens", headers=server.headers())
    assert r.status_code == 201, r.text
    token = r.json()["token"]
    assert r.json()["url"] == f"/v1/stream/video?token={token}"

    async def run() -> tuple[list[dict[str, Any]], int | None]:
        async with connect(f"{server.ws}/v1/stream/video?token={token}") as ws:
            await ws.send(_start(fps=5))
            await _stream_clip(ws, 1.0, 5, audio=False, pace=False)
            await ws.send(json.dumps({"type": "end"}))
            return await _collect(ws)

    messages, code = asyncio.run(run())
    assert code == 1000 and messages[-1]["type"] == "summary"
    assert _result(server, messages[-1]["job_id"])["modality"] == "stream"

    messages, code = _refused(server, f"/v1/stream/video?token={token}")  # the same token again
    assert code == 1008
    assert [m["type"] for m in messages] == ["error"] and messages[0]["code"] == "unauthorized"
    assert len(httpx.get(f"{server.http}/v1/jobs", headers=server.headers()).json()["data"]) == 1
    if spent_in == "redis":
        client = redis.Redis.from_url(REDIS_URL)
        keys = list(client.scan_iter(f"{redis_settings['broker_namespace']}:stream-token:*"))
        assert len(keys) == 1 and 0 < client.ttl(keys[0]) <= 61  # kept until the token expires, not forever
        client.close()


def _refused(
    server: Server, path: str, headers: dict[str, str] | None = None
) -> tuple[list[Any], int | None]:
    async def run() -> tuple[list[dict[str, Any]], int | None]:
        async with connect(f"{server.ws}{path}", additional_headers=headers or {}) as ws:
            # The server may already have refused and closed before these arrive: that is the point.
            with contextlib.suppress(ConnectionClosed):
                await ws.send(_start())
                await ws.send(_frame(0, _jpeg("london_030_smiling.jpg")))
            return await _collect(ws)

    return asyncio.run(run())


def test_missing_bad_forged_or_expired_credentials_close_1008_before_analysis(
    start_server: Callable[..., Server],
) -> None:
    server = start_server()
    ring = server.runtime.vault.ring
    tenant = server.runtime.store.authenticate(server.key)
    assert tenant is not None
    expired, _ = issue_token(ring, tenant, -5)
    forged = issue_token(ring, tenant, 60)[0][:-4] + "AAAA"
    cases = [
        ("/v1/stream/video", None),
        ("/v1/stream/video", {"Authorization": "Bearer edk_not_a_real_key_at_all"}),
        (f"/v1/stream/video?token={expired}", None),
        (f"/v1/stream/video?token={forged}", None),
    ]
    for path, headers in cases:
        messages, code = _refused(server, path, headers)
        assert code == 1008, path
        assert [m["type"] for m in messages] == ["error"] and messages[0]["code"] == "unauthorized"
    r = httpx.get(f"{server.http}/v1/jobs", headers=server.headers())
    assert r.json()["data"] == []  # nothing was analysed or stored


async def _violate(server: Server, script: Callable[[ClientConnection], Any]) -> tuple[list[Any], int | None]:
    async with connect(f"{server.ws}/v1/stream/video", additional_headers=server.headers()) as ws:
        await script(ws)
        return await _collect(ws)


async def _oversize(ws: ClientConnection) -> None:
    await ws.send(_start())
    await ws.send(_frame(0, b"\xff" * 70_000))


async def _unknown_kind(ws: ClientConnection) -> None:
    await ws.send(_start())
    await ws.send(b"\x07" + (0).to_bytes(8, "big") + b"data")


async def _start_twice(ws: ClientConnection) -> None:
    await ws.send(_start())
    await ws.send(_start())


async def _odd_pcm(ws: ClientConnection) -> None:
    await ws.send(_start(audio=True))
    await ws.send(_audio(0, b"\x00\x01\x02"))


async def _no_start(ws: ClientConnection) -> None:
    await ws.send(_frame(0, _jpeg("london_030_smiling.jpg")))


async def _end_first(ws: ClientConnection) -> None:
    await ws.send(json.dumps({"type": "end"}))


async def _undeclared_audio(ws: ClientConnection) -> None:
    await ws.send(_start(audio=False))
    await ws.send(_audio(0, b"\x00\x00" * 160))


async def _idle(ws: ClientConnection) -> None:
    await ws.send(_start())
    await asyncio.sleep(1.6)


async def _not_json(ws: ClientConnection) -> None:
    await ws.send("hello")


@pytest.mark.parametrize(
    ("script", "code", "close"),
    [
        (_oversize, "frame_too_large", 1009),
        (_unknown_kind, "unknown_kind", 1003),
        (_start_twice, "unexpected_message", 1008),
        (_odd_pcm, "audio_odd_length", 1003),
        (_no_start, "start_expected", 1008),
        (_end_first, "start_expected", 1008),
        (_undeclared_audio, "audio_not_declared", 1008),
        (_idle, "idle_timeout", 1008),
        (_not_json, "invalid_json", 1003),
    ],
)
def test_bad_input_gets_its_error_then_its_close_code_and_others_stream_on(
    start_server: Callable[..., Server], script: Callable[[ClientConnection], Any], code: str, close: int
) -> None:
    # 2 s, not 1: the good stream shares a fresh server with the bad one, and both load the model at once
    server = start_server(stream_max_frame_bytes=65_536, stream_idle_timeout_seconds=2.0)

    async def good() -> tuple[list[dict[str, Any]], int | None]:
        async with connect(f"{server.ws}/v1/stream/video", additional_headers=server.headers()) as ws:
            await ws.send(_start(fps=10))
            await _stream_clip(ws, 2.0, 10, audio=False, pace=True)
            await ws.send(json.dumps({"type": "end"}))
            return await _collect(ws)

    async def both() -> tuple[tuple[list[Any], int | None], tuple[list[Any], int | None]]:
        return await asyncio.gather(_violate(server, script), good())

    (bad, bad_close), (ok, ok_close) = asyncio.run(both())
    errors = [m for m in bad if m["type"] == "error"]
    assert errors and errors[-1]["code"] == code and bad_close == close
    assert ok_close == 1000 and ok[-1]["type"] == "summary", [m for m in ok if m["type"] == "error"]
    # every frame of the good stream is answered or reported dropped as "behind" (newest kept); how many are
    # answered depends on the machine's load, so only "most of them" is asserted, not a count
    frames = [m for m in ok if m["type"] == "frame"]
    behind = sum(m["count"] for m in ok if m["type"] == "dropped" and m["reason"] == "behind")
    assert len(frames) + behind == 20 and len(frames) >= 10
    assert httpx.get(f"{server.http}/healthz").status_code == 200


def test_non_image_bytes_get_an_error_and_the_stream_continues(start_server: Callable[..., Server]) -> None:
    server = start_server()

    async def run() -> tuple[list[dict[str, Any]], int | None]:
        async with connect(f"{server.ws}/v1/stream/video", additional_headers=server.headers()) as ws:
            await ws.send(_start(fps=5))
            await ws.send(_frame(0, b"this is not an image at all"))
            await asyncio.sleep(0.3)
            await ws.send(_frame(400, _jpeg("london_030_smiling.jpg")))
            await ws.send(json.dumps({"type": "end"}))
            return await _collect(ws)

    messages, code = asyncio.run(run())
    assert [m["type"] for m in messages][:2] == ["error", "frame"]
    assert messages[0]["code"] == "media_not_image" and messages[0]["ts"] == 0
    assert code == 1000 and messages[-1]["type"] == "summary"


def test_frames_over_the_declared_fps_are_throttled_and_reported(start_server: Callable[..., Server]) -> None:
    server = start_server()

    async def run() -> tuple[list[dict[str, Any]], int | None]:
        async with connect(f"{server.ws}/v1/stream/video", additional_headers=server.headers()) as ws:
            await ws.send(_start(fps=5))
            await _stream_clip(ws, 1.0, 30, audio=False, pace=False)  # 30 frames at once, 5 fps declared
            await ws.send(json.dumps({"type": "end"}))
            return await _collect(ws)

    messages, code = asyncio.run(run())
    dropped = [m for m in messages if m["type"] == "dropped"]
    over = sum(m["count"] for m in dropped if m["reason"] == "over_fps")
    analysed = [m for m in messages if m["type"] == "frame"]
    assert over >= 20 and len(analysed) + sum(m["count"] for m in dropped) == 30
    assert code == 1000
    stats = _result(server, messages[-1]["job_id"])["modalities"]["stream"]
    assert stats["dropped"]["over_fps"] == over


def test_analysis_falling_behind_keeps_the_newest_frame(start_server: Callable[..., Server]) -> None:
    server = start_server(stream_max_fps=60)
    big = _jpeg("london_008_smiling.jpg", (1280, 720))

    async def run() -> tuple[list[dict[str, Any]], int | None]:
        async with connect(f"{server.ws}/v1/stream/video", additional_headers=server.headers()) as ws:
            await ws.send(_start(fps=60))
            for i in range(20):  # within the fps budget (burst), faster than frames can be analysed
                await ws.send(_frame(i * 16, big))
            await ws.send(json.dumps({"type": "end"}))
            return await _collect(ws)

    messages, code = asyncio.run(run())
    behind = sum(m["count"] for m in messages if m["type"] == "dropped" and m["reason"] == "behind")
    frames = [m for m in messages if m["type"] == "frame"]
    assert behind > 0 and frames[-1]["ts"] == 19 * 16  # the newest frame is always analysed
    assert code == 1000


def _raw_client(server: Server) -> tuple[socket.socket, ClientProtocol]:
    """A WebSocket client that never reads: websockets' sans-I/O protocol over a blocking socket."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", int(server.http.rsplit(":", 1)[1])))
    proto = ClientProtocol(parse_uri(f"{server.ws}/v1/stream/video"))
    request = proto.connect()
    request.headers["Authorization"] = f"Bearer {server.key}"
    proto.send_request(request)
    sock.sendall(b"".join(proto.data_to_send()))
    while proto.handshake_exc is None and proto.state is State.CONNECTING:
        proto.receive_data(sock.recv(4096))
    assert proto.state is State.OPEN
    return sock, proto


def test_a_client_that_never_reads_is_closed_and_the_server_stays_up(
    start_server: Callable[..., Server],
) -> None:
    server = start_server(sndbuf=8192, stream_send_queue=4, stream_max_fps=60)
    frame = _jpeg("london_030_smiling.jpg", (640, 360))
    sock, proto = _raw_client(server)
    sock.settimeout(15)  # generous: on a loaded machine the server may take a while to notice
    t0 = time.monotonic()
    proto.send_text(_start(fps=60).encode())
    try:
        for i in range(60 * 60):  # send for up to a minute, never read
            proto.send_binary(_frame(i * 17, frame))
            sock.sendall(b"".join(proto.data_to_send()))
            time.sleep(1 / 60)
    except OSError:  # reset or blocked: the server hung up on us
        pass
    finally:
        sock.close()
    assert time.monotonic() - t0 < 30
    deadline = time.monotonic() + 20
    while not (jobs := httpx.get(f"{server.http}/v1/jobs", headers=server.headers()).json()["data"]):
        assert time.monotonic() < deadline, "no summary job stored"
        time.sleep(0.2)
    stats = _result(server, jobs[0]["job_id"])["modalities"]["stream"]
    assert stats["ended_by"] == "client_not_reading"
    assert httpx.get(f"{server.http}/healthz").status_code == 200


def test_a_frame_waiting_for_a_busy_face_thread_is_replaced_by_a_newer_one(
    start_server: Callable[..., Server], monkeypatch: pytest.MonkeyPatch
) -> None:
    pool = ThreadPoolExecutor(1)  # the only face thread, which the test keeps busy
    monkeypatch.setattr(StreamService, "face_pool", lambda self: pool)
    server = start_server()
    frame = _jpeg("london_008_smiling.jpg")
    busy = threading.Event()

    async def run() -> tuple[list[dict[str, Any]], int | None]:
        async with connect(f"{server.ws}/v1/stream/video", additional_headers=server.headers()) as ws:
            await ws.send(_start(fps=10))
            await ws.send(_frame(0, frame))
            while json.loads(await ws.recv())["type"] != "frame":  # analysed: the landmarker is loaded
                pass
            pool.submit(busy.wait)
            for i in (1, 2, 3):  # the first is handed to the busy pool; the next two replace it
                await ws.send(_frame(i * 100, frame))
            await asyncio.sleep(1.0)  # all three received while the face thread is busy
            busy.set()
            await ws.send(json.dumps({"type": "end"}))
            return await _collect(ws)

    try:
        messages, code = asyncio.run(run())
    finally:
        busy.set()
        pool.shutdown()
    assert [m["ts"] for m in messages if m["type"] == "frame"] == [300]  # not 100, which waited longest
    assert sum(m["count"] for m in messages if m["type"] == "dropped" and m["reason"] == "behind") == 2
    assert code == 1000


def test_a_stream_leaves_numpy_on_one_blas_thread(start_server: Callable[..., Server]) -> None:
    server = start_server()

    async def run() -> tuple[list[dict[str, Any]], int | None]:
        async with connect(f"{server.ws}/v1/stream/video", additional_headers=server.headers()) as ws:
            await ws.send(_start(fps=5))
            await ws.send(_frame(0, _jpeg("london_030_smiling.jpg")))
            await ws.send(json.dumps({"type": "end"}))
            return await _collect(ws)

    _, code = asyncio.run(run())
    assert code == 1000
    blas = [p for p in threadpool_info() if p["user_api"] == "blas"]
    assert blas and all(p["num_threads"] == 1 for p in blas)  # no idle BLAS worker spinning beside frames
