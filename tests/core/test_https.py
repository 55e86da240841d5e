"""HTTPS: a real TLS server with a local CA (trustme); plain HTTP refused in production; proxies; HSTS."""

from __future__ import annotations

import os
import socket
import ssl
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
import trustme
from fastapi.testclient import TestClient

from core.api.app import create_app
from tests.conftest import ECHODEPTH_BIN, Backend

ZOOM_APP = {"client_id": "zoom-app", "client_secret": "zoom-secret"}
ZOOM = {"connectors": {"zoom": ZOOM_APP}}  # Settings overrides (connector settings: core.registry)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def tls_server(tmp_path: Path) -> Iterator[tuple[str, str, trustme.CA]]:
    """``echodepth serve --ssl-certfile --ssl-keyfile`` in production mode; (base URL, API key, CA)."""
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    certfile, keyfile = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert.private_key_and_cert_chain_pem.write_to_path(str(certfile))
    cert.private_key_pem.write_to_path(str(keyfile))
    env = {k: v for k, v in os.environ.items() if not k.startswith("ECHODEPTH_")}
    env.update({
        "ECHODEPTH_DATA_DIR": str(tmp_path / "var"),
        "ECHODEPTH_REQUIRE_HTTPS": "true",
        "ECHODEPTH_ZOOM_CLIENT_ID": ZOOM_APP["client_id"],
        "ECHODEPTH_ZOOM_CLIENT_SECRET": ZOOM_APP["client_secret"],
    })
    key = subprocess.run(
        [ECHODEPTH_BIN, "keys", "create", "--tenant", "acme"], env=env, capture_output=True, text=True,
        check=True,
    ).stdout.strip()
    port = _free_port()
    cmd = [ECHODEPTH_BIN, "serve", "--port", str(port), "--ssl-certfile", str(certfile),
           "--ssl-keyfile", str(keyfile)]
    log = (tmp_path / "serve.log").open("wb")
    server = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"https://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                httpx.get(f"{base}/healthz", verify=_ctx(ca))
                break
            except httpx.TransportError:
                assert server.poll() is None, (tmp_path / "serve.log").read_text()
                time.sleep(0.3)
        yield base, key, ca
    finally:
        server.terminate()
        server.wait(timeout=30)


def _ctx(ca: trustme.CA) -> ssl.SSLContext:
    ctx = ssl.create_default_context()
    ca.configure_trust(ctx)
    return ctx


def test_serve_speaks_tls_with_hsts_and_secure_cookies(tls_server: tuple[str, str, trustme.CA]) -> None:
    base, key, ca = tls_server
    headers = {"Authorization": f"Bearer {key}"}
    with httpx.Client(base_url=base, verify=_ctx(ca), timeout=30) as client:
        health = client.get("/healthz")
        assert health.status_code == 200
        assert health.headers["strict-transport-security"] == "max-age=31536000"
        r = client.post("/v1/analyse/text", json={"text": "Encrypted all the way."}, headers=headers)
        assert r.status_code == 202, r.text
        assert r.headers["strict-transport-security"] == "max-age=31536000"
        connect = client.get("/v1/connections/zoom/authorize", headers=headers, follow_redirects=False)
        assert connect.status_code == 302, connect.text
        cookie = connect.headers["set-cookie"].lower()
        assert "echodepth_oauth=" in cookie and "secure" in cookie and "httponly" in cookie
    with pytest.raises(httpx.ConnectError):  # a client that does not trust the local CA refuses the server
        httpx.get(f"{base}/healthz")


def test_plain_http_is_refused_in_production_but_probes_stay_open(
    make_embedded: Callable[..., Backend],
) -> None:
    b = make_embedded(require_https=True)
    r = b.client.post("/v1/analyse/text", json={"text": "In the clear."}, headers=b.headers())
    assert r.status_code == 403
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["code"] == "https_required"
    assert b.client.get("/v1/jobs", headers=b.headers()).status_code == 403
    health = b.client.get("/healthz")
    assert health.status_code == 200 and "strict-transport-security" not in health.headers


@pytest.mark.parametrize(
    ("peer", "forwarded", "allowed"),
    [
        ("10.1.2.3", "https", True),
        ("10.1.2.3", "https, http", True),
        ("10.1.2.3", None, False),
        ("10.1.2.3", "http", False),
        ("192.0.2.7", "https", False),  # not a trusted proxy: its header is not believed
    ],
)
def test_only_trusted_proxies_forwarding_https_get_through(
    make_embedded: Callable[..., Backend], peer: str, forwarded: str | None, allowed: bool
) -> None:
    b = make_embedded(require_https=True, trusted_proxies="127.0.0.1, 10.0.0.0/8", **ZOOM)
    client = TestClient(create_app(b.runtime), client=(peer, 40000))
    headers = {**b.headers(), **({"X-Forwarded-Proto": forwarded} if forwarded else {})}
    r = client.get("/v1/connections/zoom/authorize", headers=headers, follow_redirects=False)
    if allowed:
        assert r.status_code == 302, r.text
        assert r.headers["strict-transport-security"] == "max-age=31536000"
        assert "secure" in r.headers["set-cookie"].lower()
    else:
        assert r.status_code == 403 and r.json()["code"] == "https_required"


def test_without_production_mode_plain_http_works_and_cookies_are_not_secure(
    make_embedded: Callable[..., Backend],
) -> None:
    b = make_embedded(**ZOOM)
    r = b.client.get("/v1/connections/zoom/authorize", headers=b.headers(), follow_redirects=False)
    assert r.status_code == 302
    assert "secure" not in r.headers["set-cookie"].lower()
    assert "strict-transport-security" not in r.headers


def test_hsts_can_be_switched_off(make_embedded: Callable[..., Backend]) -> None:
    b = make_embedded(trusted_proxies="10.0.0.1", hsts_max_age_seconds=0)
    client = TestClient(create_app(b.runtime), client=("10.0.0.1", 40000))
    r = client.get("/healthz", headers={"X-Forwarded-Proto": "https"})
    assert r.status_code == 200 and "strict-transport-security" not in r.headers
