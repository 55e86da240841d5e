"""After analysing every modality no media bytes remain: not in the database, spool, broker or logs."""

from __future__ import annotations

import base64
import json
import logging
import time
from pathlib import Path
from typing import Any

import pytest
import redis
from sqlalchemy import inspect, select, table, text

from tests.conftest import REDIS_URL, Backend
from tests.engine.media_factory import SPEECH_WAV, talking_head

JPEG = Path(__file__).resolve().parents[1] / "fixtures" / "faces" / "london_030_smiling.jpg"
_WINDOW = 32


def _needles(data: bytes, count: int = 24) -> list[bytes]:
    """Distinctive slices of ``data`` (and of its base64 form): any copy of the file would contain them."""
    raw = [
        data[i : i + _WINDOW]
        for i in range(len(data) // 10, len(data) - _WINDOW, max(1, (len(data) * 8 // 10) // count))
    ]
    raw = [w for w in raw if len(set(w)) >= 16][:count]  # skip silence and padding: they match anything
    b64 = base64.b64encode(data)
    step = max(4, len(b64) // count // 4 * 4)
    encoded = [b64[i : i + 44] for i in range(len(b64) // 10 // 4 * 4, len(b64) - 44, step)]
    assert len(raw) >= count // 2
    return raw + encoded[:count] + [w.hex().encode() for w in raw[:4]]


def _value_bytes(value: Any) -> bytes:
    if value is None:
        return b""
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value)
    if isinstance(value, dict | list):
        return json.dumps(value).encode()
    return str(value).encode()


def _database_bytes(b: Backend) -> dict[str, bytes]:
    """Every value of every column of every table, per table."""
    found: dict[str, bytes] = {}
    engine = b.runtime.db.engine
    with engine.connect() as conn:
        for name in inspect(engine).get_table_names():
            columns = [c["name"] for c in inspect(engine).get_columns(name)]
            rows = conn.execute(select(*[text(f'"{c}"') for c in columns]).select_from(table(name))).all()
            found[name] = b"\x00".join(_value_bytes(v) for row in rows for v in row)
    return found


def _redis_bytes(namespace: str) -> dict[str, bytes]:
    client = redis.Redis.from_url(REDIS_URL)
    found: dict[str, bytes] = {}
    for key in client.scan_iter(f"{namespace}*"):
        kind = client.type(key).decode()
        if kind == "string":
            parts = [client.get(key) or b""]
        elif kind == "hash":
            parts = [x for kv in client.hgetall(key).items() for x in kv]
        elif kind == "list":
            parts = list(client.lrange(key, 0, -1))
        elif kind == "set":
            parts = list(client.smembers(key))
        elif kind == "zset":
            parts = [m for m, _ in client.zrange(key, 0, -1, withscores=True)]
        else:
            parts = []
        found[key.decode()] = b"\x00".join(parts)
    client.close()
    return found


def _files_bytes(root: Path) -> dict[str, bytes]:
    return {str(p): p.read_bytes() for p in root.rglob("*") if p.is_file()}


@pytest.mark.timeout(900)
def test_no_media_bytes_remain_anywhere_after_every_modality(
    backend: Backend, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    b = backend
    clip = talking_head(tmp_path / "clip.mp4", seconds=2.0, size=(480, 270)).read_bytes()
    wav, jpeg = SPEECH_WAV.read_bytes(), JPEG.read_bytes()
    requests: list[tuple[str, dict[str, Any]]] = [
        ("text", {"json": {"text": "I am pleased with how the demo went, honestly."}}),
        ("audio", {"files": [("file", ("a.wav", wav, "audio/wav"))]}),
        ("video", {"files": [("file", ("v.mp4", clip, "video/mp4"))]}),
        ("image", {"files": [("file", ("i.jpg", jpeg, "image/jpeg"))]}),
        ("multimodal", {
            "data": {"text": "We will ship it next week."},
            "files": [
                ("video", ("v.mp4", clip, "video/mp4")),
                ("audio", ("a.wav", wav, "audio/wav")),
                ("image", ("i.jpg", jpeg, "image/jpeg")),
            ],
        }),
    ]
    job_ids = []
    for modality, request in requests:
        r = b.client.post(f"/v1/analyse/{modality}", headers=b.headers(), **request)
        assert r.status_code == 202, (modality, r.text)
        job_ids.append(r.json()["job_id"])
    for job_id, (modality, _) in zip(job_ids, requests, strict=True):
        body = b.wait(job_id, timeout=600)
        assert body["status"] == "completed", (modality, body.get("error"))
    time.sleep(1)  # let the worker finish its clean-up and log lines

    places: dict[str, bytes] = {}
    places.update({f"db:{k}": v for k, v in _database_bytes(b).items()})
    places.update({f"file:{k}": v for k, v in _files_bytes(b.runtime.settings.data_dir).items()})
    if b.name == "postgres+redis":
        places.update({f"redis:{k}": v for k, v in _redis_bytes(b.runtime.settings.broker_namespace).items()})
        places["log:worker"] = (tmp_path / "worker.log").read_bytes()
        assert any(k.startswith("redis:") for k in places)
    places["log:api"] = caplog.text.encode()
    assert b.runtime.spool.files() == []
    assert "db:results" in places and len(places["db:results"]) > 1000

    for name, media in (("wav", wav), ("mp4", clip), ("jpeg", jpeg)):
        for needle in _needles(media):
            hits = [where for where, content in places.items() if needle in content]
            assert hits == [], f"{name} bytes found in {hits}"
