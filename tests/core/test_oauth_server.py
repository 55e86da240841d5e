"""The OAuth 2.0 authorization server, driven by an independent client (authlib's requests client) against a
real ``echodepth serve``: authorization code + PKCE, scopes on the API, refresh rotation and reuse detection,
revocation (RFC 7009), introspection (RFC 7662) and metadata (RFC 8414)."""

from __future__ import annotations

import html
import re
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from authlib.common.security import generate_token
from authlib.integrations.base_client import OAuthError
from authlib.integrations.requests_client import OAuth2Session
from authlib.oauth2.rfc8414 import AuthorizationServerMetadata

from tests.sdk.live import BIN, free_port, server_env

PASSWORD = "correct horse battery"


@dataclass
class OAuthServer:
    """A real server, an admin API key of tenant acme and one user of acme."""

    base: str
    admin: httpx.Client
    email: str

    def register(self, public: bool, scopes: list[str]) -> dict[str, str]:
        body = {"name": "Notes app", "redirect_uris": [f"{self.base}/cb"], "public": public, "scopes": scopes}
        r = self.admin.post("/v1/oauth/clients", json=body)
        assert r.status_code == 201, r.text
        return dict(r.json())


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OAuthServer]:
    data_dir: Path = tmp_path_factory.mktemp("oauth")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**server_env(data_dir, port), "ECHODEPTH_PUBLIC_URL": base, "ECHODEPTH_RATE_LIMIT_PER_MINUTE": "0"}
    subprocess.run([str(BIN), "db", "upgrade"], env=env, check=True, capture_output=True)
    key = (
        subprocess.run(
            [str(BIN), "keys", "create", "--tenant", "acme"], env=env, check=True, capture_output=True
        )
        .stdout.decode()
        .split()[-1]
    )
    log = (data_dir / "serve.log").open("wb")
    proc = subprocess.Popen([str(BIN), "serve"], env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                assert time.monotonic() < deadline, "server did not start"
                time.sleep(0.2)
        admin = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {key}"})
        r = admin.post("/v1/oauth/users", json={"email": "ana@acme.test", "password": PASSWORD})
        assert r.status_code == 201, r.text
        yield OAuthServer(base, admin, "ana@acme.test")
        admin.close()
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def _sign_in(
    server: OAuthServer, url: str, password: str = PASSWORD, decision: str = "allow"
) -> httpx.Response:
    """What the user does in the browser: open the consent page, sign in, allow (the browser keeps the
    page's CSRF cookie and sends it back with the form)."""
    with httpx.Client() as browser:
        page = browser.get(url)
        assert page.status_code == 200, page.text
        assert page.headers["X-Frame-Options"] == "DENY"
        form = {**_hidden(page), "email": server.email, "password": password, "decision": decision}
        return browser.post(f"{server.base}/oauth/authorize", data=form)


def _hidden(page: httpx.Response) -> dict[str, str]:
    found = re.findall(r'type=hidden name="([^"]+)" value="([^"]*)"', page.text)
    return {k: html.unescape(v) for k, v in found}


def _dance(server: OAuthServer, client: dict[str, str], scope: str) -> tuple[OAuth2Session, dict[str, str]]:
    session = OAuth2Session(
        client["client_id"],
        client.get("client_secret"),
        scope=scope,
        redirect_uri=f"{server.base}/cb",
        code_challenge_method="S256",
        token_endpoint_auth_method="none" if client["public"] else "client_secret_basic",
    )
    verifier = generate_token(64)
    url, state = session.create_authorization_url(f"{server.base}/oauth/authorize", code_verifier=verifier)
    answer = _sign_in(server, url)
    assert answer.status_code == 302, answer.text
    location = answer.headers["location"]
    assert parse_qs(urlsplit(location).query)["state"] == [state]
    token = session.fetch_token(
        f"{server.base}/oauth/token", authorization_response=location, code_verifier=verifier
    )
    return session, dict(token)


def _api(server: OAuthServer, token: str) -> httpx.Client:
    return httpx.Client(base_url=server.base, headers={"Authorization": f"Bearer {token}"})


def test_metadata_is_rfc8414(server: OAuthServer) -> None:
    meta = httpx.get(f"{server.base}/.well-known/oauth-authorization-server").json()
    AuthorizationServerMetadata(meta).validate()
    assert meta["issuer"] == server.base
    assert meta["code_challenge_methods_supported"] == ["S256"]
    assert "analyse:write" in meta["scopes_supported"]


def test_public_client_dance_gives_a_token_the_api_accepts_with_its_scopes(server: OAuthServer) -> None:
    client = server.register(public=True, scopes=["analyse:write", "results:read", "admin"])
    assert client["client_secret"] is None
    session, token = _dance(server, client, "analyse:write results:read admin")
    assert token["token_type"].lower() == "bearer" and token["refresh_token"]
    assert set(token["scope"].split()) == {"analyse:write", "results:read"}  # the user cannot grant admin
    with _api(server, token["access_token"]) as api:
        job = api.post("/v1/analyse/text", json={"text": "I am delighted with this."})
        assert job.status_code == 202, job.text
        assert api.get(f"/v1/result/{job.json()['job_id']}").status_code == 200
        refused = api.get("/v1/audit")
        assert refused.status_code == 403 and refused.json()["code"] == "insufficient_scope"
        assert api.delete(f"/v1/result/{job.json()['job_id']}").json()["code"] == "insufficient_scope"
    audit = server.admin.get("/v1/audit", params={"action": "result.read"}).json()["data"]
    assert audit[0]["actor"] == f"oauth:{client['client_id']}"


def test_refresh_rotates_and_a_reused_refresh_token_revokes_the_grant(server: OAuthServer) -> None:
    client = server.register(public=True, scopes=["results:read"])
    session, first = _dance(server, client, "results:read")
    second = session.refresh_token(f"{server.base}/oauth/token", refresh_token=first["refresh_token"])
    assert second["refresh_token"] != first["refresh_token"]
    assert second["access_token"] != first["access_token"]
    assert _api(server, first["access_token"]).get("/v1/jobs").status_code == 401  # replaced
    assert _api(server, second["access_token"]).get("/v1/jobs").status_code == 200
    with pytest.raises(OAuthError) as reused:
        session.refresh_token(f"{server.base}/oauth/token", refresh_token=first["refresh_token"])
    assert reused.value.error == "invalid_grant"
    assert _api(server, second["access_token"]).get("/v1/jobs").status_code == 401  # whole grant revoked
    with pytest.raises(OAuthError):
        session.refresh_token(f"{server.base}/oauth/token", refresh_token=second["refresh_token"])


def test_revocation_and_introspection_for_a_confidential_client(server: OAuthServer) -> None:
    client = server.register(public=False, scopes=["results:read"])
    assert client["client_secret"].startswith("edcs_")
    session, token = _dance(server, client, "results:read")
    seen = session.introspect_token(f"{server.base}/oauth/introspect", token=token["access_token"]).json()
    assert seen["active"] is True and seen["scope"] == "results:read"
    assert seen["client_id"] == client["client_id"]
    assert (
        session.revoke_token(f"{server.base}/oauth/revoke", token=token["refresh_token"]).status_code == 200
    )
    assert _api(server, token["access_token"]).get("/v1/jobs").status_code == 401
    gone = session.introspect_token(f"{server.base}/oauth/introspect", token=token["access_token"]).json()
    assert gone == {"active": False}


def test_public_clients_must_use_pkce_s256(server: OAuthServer) -> None:
    client = server.register(public=True, scopes=["results:read"])
    plain = OAuth2Session(client["client_id"], scope="results:read", redirect_uri=f"{server.base}/cb")
    url, _ = plain.create_authorization_url(f"{server.base}/oauth/authorize")
    assert httpx.get(url).status_code == 400  # no code_challenge
    weak = OAuth2Session(
        client["client_id"],
        scope="results:read",
        redirect_uri=f"{server.base}/cb",
        code_challenge_method="plain",
    )
    url, _ = weak.create_authorization_url(f"{server.base}/oauth/authorize", code_verifier=generate_token(64))
    assert httpx.get(url).status_code == 400


def test_wrong_password_and_denial(server: OAuthServer) -> None:
    client = server.register(public=True, scopes=["results:read"])
    session = OAuth2Session(
        client["client_id"],
        scope="results:read",
        redirect_uri=f"{server.base}/cb",
        code_challenge_method="S256",
    )
    url, _ = session.create_authorization_url(
        f"{server.base}/oauth/authorize", code_verifier=generate_token(64)
    )
    assert _sign_in(server, url, password="wrong password").status_code == 401
    denied = _sign_in(server, url, decision="deny")
    assert denied.status_code == 302
    assert parse_qs(urlsplit(denied.headers["location"]).query)["error"] == ["access_denied"]


def test_registration_needs_the_admin_scope(server: OAuthServer) -> None:
    client = server.register(public=True, scopes=["results:read"])
    _, token = _dance(server, client, "results:read")
    r = _api(server, token["access_token"]).post(
        "/v1/oauth/clients", json={"name": "x", "redirect_uris": [f"{server.base}/cb"]}
    )
    assert r.status_code == 403 and r.json()["code"] == "insufficient_scope"
    bad = server.admin.post(
        "/v1/oauth/clients", json={"name": "x", "redirect_uris": ["http://evil.example/cb"]}
    )
    assert bad.status_code == 422
