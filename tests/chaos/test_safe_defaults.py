"""Safe defaults, as a new operator meets them: nothing configured but the data directory, a real server on a
socket, plain clients. A fresh key meets a 429 under a burst; a 300 kB text body gets its 413 in urllib
(not a connection reset); OPTIONS answers with ``Allow``."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from core.api.app import create_app
from core.runtime import Runtime
from core.settings import Settings
from tests.emulators.server import serve


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, str]]:
    """(base URL, a fresh API key) of an embedded deployment with default settings."""
    rt = Runtime(Settings(data_dir=tmp_path / "var"))
    rt.start_embedded_worker()
    try:
        with serve(create_app(rt)) as base:
            yield base, rt.store.create_key("fresh")
    finally:
        rt.close()


def test_a_fresh_key_meets_a_429_under_a_burst(server: tuple[str, str]) -> None:
    base, key = server
    statuses: list[int] = []
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {key}"}, timeout=10) as client:
        for _ in range(1000):  # the standard tier's burst is 600
            r = client.get("/v1/jobs")
            statuses.append(r.status_code)
            if r.status_code == 429:
                assert r.json()["code"] == "rate_limited" and int(r.headers["retry-after"]) >= 1
                break
    assert 429 in statuses, f"{len(statuses)} requests on a fresh key, none refused"


@pytest.mark.parametrize("content_type", ["application/json", "text/plain"])
def test_a_300_kb_text_body_gets_its_413_in_urllib(server: tuple[str, str], content_type: str) -> None:
    base, key = server
    text = "The quarter went well and the team is pleased. " * 6500  # ~310 kB, over max_text_chars
    body = json.dumps({"text": text}).encode() if content_type == "application/json" else text.encode()
    request = urllib.request.Request(
        f"{base}/v1/analyse/text",
        data=body,
        method="POST",
        headers={"Authorization": f"Bearer {key}", "Content-Type": content_type},
    )
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(request, timeout=30)
    assert caught.value.code == 413
    assert json.loads(caught.value.read())["code"] == "payload_too_large"


@pytest.mark.parametrize(
    ("why", "status", "code"),
    [("wrong key", 401, "unauthorized"), ("wrong type", 415, "unsupported_media_type")],
)
def test_an_early_refusal_of_a_10_mb_upload_reaches_urllib(
    server: tuple[str, str], why: str, status: int, code: str
) -> None:
    base, key = server
    headers = {
        "Authorization": f"Bearer {key if why != 'wrong key' else 'edk_wrong'}",
        "Content-Type": "text/csv" if why == "wrong type" else "multipart/form-data; boundary=x",
    }
    body = b"--x\r\n" + b"\0" * 10_000_000  # more than loopback socket buffers hold, less than DRAIN_BYTES
    request = urllib.request.Request(f"{base}/v1/analyse/audio", data=body, method="POST", headers=headers)
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(request, timeout=30)
    assert caught.value.code == status
    assert json.loads(caught.value.read())["code"] == code


@pytest.mark.parametrize("path", ["/v1/analyse/text", "/v1/jobs", "/v1/webhooks"])
def test_options_answers_with_allow(server: tuple[str, str], path: str) -> None:
    base, key = server
    r = httpx.request("OPTIONS", base + path, headers={"Authorization": f"Bearer {key}"})
    assert r.status_code in (200, 204, 405), r.text
    allowed = {m.strip() for m in r.headers.get("allow", "").split(",") if m.strip()}
    assert allowed - {"OPTIONS"}, r.headers  # the methods the path does answer
