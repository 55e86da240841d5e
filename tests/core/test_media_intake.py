"""Media intake: streamed uploads with a cap, SSRF-guarded URL fetches, and an empty spool afterwards."""

from __future__ import annotations

import ipaddress
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from sqlalchemy import func, select

from core.media import outbound
from core.media.outbound import check_url, fetch_to_file
from core.sdk.errors import InputError
from core.storage.models import Job
from tests.conftest import Backend


class _Handler(BaseHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        port = self.server.server_address[1]
        routes: dict[str, Callable[[], None]] = {
            "/ok.bin": lambda: self._send(200, b"\x00" * 5000),
            "/missing": lambda: self._send(404, b"nope"),
            "/big": lambda: self._send(200, b"\x01" * 200_000),
            "/to-private": lambda: self._redirect(f"http://127.0.0.2:{port}/ok.bin"),
            "/to-ok": lambda: self._redirect("/ok.bin"),
            "/loop": lambda: self._redirect("/loop"),
            "/slow": self._slow,
        }
        routes.get(self.path, lambda: self._send(404, b""))()

    def _send(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _redirect(self, where: str) -> None:
        self.send_response(302)
        self.send_header("Location", where)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _slow(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", "10000")
        self.end_headers()
        for _ in range(100):
            self.wfile.write(b"x" * 100)
            self.wfile.flush()
            time.sleep(0.05)


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: object, client_address: object) -> None:
        pass  # clients that give up mid-body (the point of some tests) are not errors here


@pytest.fixture(scope="module")
def media_server() -> Iterator[str]:
    server = _QuietServer(("0.0.0.0", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/x",
        "http://localhost/x",
        "http://10.0.0.8/x",
        "http://192.168.1.1/x",
        "http://172.16.5.4/x",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/x",
        "http://[::ffff:127.0.0.1]/x",
        "http://0.0.0.0/x",
        "http://100.64.0.1/x",
        "http://[fd00:ec2::254]/",
        "http://metadata.google.internal/computeMetadata/v1/",
    ],
)
def test_private_loopback_link_local_and_metadata_addresses_are_refused(url: str) -> None:
    with pytest.raises(InputError) as err:
        check_url(url, allow_private=False)
    assert err.value.code == "url_not_allowed"


@pytest.mark.parametrize(
    "url",
    [
        "ftp://example.com/a.wav",
        "file:///etc/passwd",
        "gopher://x/",
        "http://",
        "http://user:pw@example.com/a.wav",
    ],
)
def test_only_plain_http_and_https_urls_are_accepted(url: str) -> None:
    with pytest.raises(InputError) as err:
        check_url(url, allow_private=True)
    assert err.value.code == "url_not_allowed"


def test_fetch_follows_redirects_and_streams_to_disk(media_server: str, tmp_path: Path) -> None:
    got = fetch_to_file(
        f"{media_server}/to-ok",
        tmp_path / "a",
        max_bytes=10_000,
        timeout=5,
        total_seconds=10,
        allow_private=True,
    )
    assert got.size == 5000 and (tmp_path / "a").read_bytes() == b"\x00" * 5000
    assert got.final_url.endswith("/ok.bin")


def test_every_redirect_hop_is_checked_again(
    media_server: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Treat only 127.0.0.1 as "public" here, so the first hop passes and the redirect to 127.0.0.2 does not.
    monkeypatch.setattr(outbound, "_public", lambda ip: ip == ipaddress.ip_address("127.0.0.1"))
    with pytest.raises(InputError) as err:
        fetch_to_file(
            f"{media_server}/to-private",
            tmp_path / "a",
            max_bytes=10_000,
            timeout=5,
            total_seconds=10,
            allow_private=False,
        )
    assert err.value.code == "url_not_allowed"
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("path", "code", "kwargs"),
    [
        ("/missing", "url_fetch_failed", {}),
        ("/loop", "url_fetch_failed", {}),
        ("/big", "payload_too_large", {}),
        ("/slow", "url_fetch_failed", {"total_seconds": 0.5}),
    ],
)
def test_fetch_failures_have_codes_and_leave_nothing(
    media_server: str, tmp_path: Path, path: str, code: str, kwargs: dict[str, float]
) -> None:
    opts = {"max_bytes": 100_000, "timeout": 5.0, "total_seconds": 10.0, **kwargs}
    with pytest.raises(InputError) as err:
        fetch_to_file(f"{media_server}{path}", tmp_path / "a", allow_private=True, **opts)  # type: ignore[arg-type]
    assert err.value.code == code
    assert list(tmp_path.iterdir()) == []


def test_unreachable_host_is_url_fetch_failed(tmp_path: Path) -> None:
    with pytest.raises(InputError) as err:
        fetch_to_file(
            "http://127.0.0.1:1/a.wav",
            tmp_path / "a",
            max_bytes=10,
            timeout=2,
            total_seconds=5,
            allow_private=True,
        )
    assert err.value.code == "url_fetch_failed"


def _jobs(b: Backend) -> int:
    with b.runtime.db.session() as s:
        return int(s.scalar(select(func.count()).select_from(Job)) or 0)


def test_upload_over_the_cap_is_413_and_leaves_nothing(make_embedded: Callable[..., Backend]) -> None:
    b = make_embedded(max_upload_bytes=100_000)
    r = b.client.post(
        "/v1/analyse/audio", files={"file": ("a.wav", b"\x00" * 150_000, "audio/wav")}, headers=b.headers()
    )
    assert r.status_code == 413 and r.json()["code"] == "payload_too_large"
    assert b.runtime.spool.files() == [] and _jobs(b) == 0


@pytest.mark.parametrize(
    ("kwargs", "status", "code"),
    [
        ({"files": {"other": ("a.wav", b"123", "audio/wav")}}, 422, "invalid_input"),
        ({"files": {"file": ("a.wav", b"", "audio/wav")}}, 422, "invalid_input"),
        (
            {"files": {"file": ("a.wav", b"123", "audio/wav")}, "data": {"metadata": "[1]"}},
            422,
            "invalid_input",
        ),
        ({"content": b"raw bytes", "headers": {"content-type": "audio/wav"}}, 415, "unsupported_media_type"),
        ({"json": {"url": "http://127.0.0.1/secret.wav"}}, 422, "url_not_allowed"),
        ({"json": {"url": "http://169.254.169.254/latest"}}, 422, "url_not_allowed"),
        ({"json": {}}, 422, "invalid_input"),
        ({"json": {"url": "https://example.com/a.wav", "extra": 1}}, 422, "invalid_input"),
        ({"content": b"{oops", "headers": {"content-type": "application/json"}}, 400, "invalid_json"),
    ],
    ids=[
        "unknown-part",
        "empty-file",
        "bad-metadata",
        "raw-body",
        "loopback-url",
        "metadata-url",
        "no-url",
        "unknown-field",
        "malformed-json",
    ],
)
def test_bad_media_requests_get_codes_and_write_nothing(
    make_embedded: Callable[..., Backend], kwargs: dict[str, object], status: int, code: str
) -> None:
    b = make_embedded()
    headers = {**b.headers(), **kwargs.pop("headers", {})}  # type: ignore[dict-item]
    r = b.client.post("/v1/analyse/audio", headers=headers, **kwargs)  # type: ignore[arg-type]
    assert r.status_code == status, r.text
    assert r.json()["code"] == code
    assert b.runtime.spool.files() == [] and _jobs(b) == 0


def test_url_job_that_cannot_be_fetched_fails_with_code_and_empty_spool(
    make_embedded: Callable[..., Backend], media_server: str
) -> None:
    b = make_embedded(allow_private_urls=True)
    r = b.client.post("/v1/analyse/audio", json={"url": f"{media_server}/missing"}, headers=b.headers())
    assert r.status_code == 202
    body = b.wait(r.json()["job_id"])
    assert body["status"] == "failed" and body["error"]["code"] == "url_fetch_failed"
    assert b.runtime.spool.files() == []
