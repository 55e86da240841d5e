"""The OAuth authorization server's own endpoints: a per-IP and per-client rate limit on ``/oauth/*``
(shared through Redis across API processes), and a CSRF token on the consent form."""

from __future__ import annotations

import base64
import hashlib
import html
import re
from collections.abc import Callable
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
from authlib.common.security import generate_token
from fastapi.testclient import TestClient

from core.api.app import create_app
from core.oauth.csrf import issue_csrf
from core.runtime import Runtime
from core.settings import Settings
from tests.conftest import FAST_JOB_SETTINGS, REDIS_URL, Backend

PASSWORD = "correct horse battery"
REDIRECT = "http://127.0.0.1:9/cb"


@pytest.fixture(autouse=True)
def _plain_http(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUTHLIB_INSECURE_TRANSPORT", "1")  # the test client speaks http://testserver


def _setup(b: Backend) -> dict[str, str]:
    """A public client and a user of tenant acme; the client's authorize URL."""
    r = b.client.post(
        "/v1/oauth/clients",
        json={"name": "Notes", "redirect_uris": [REDIRECT], "public": True, "scopes": ["results:read"]},
        headers=b.headers(),
    )
    assert r.status_code == 201, r.text
    u = b.client.post(
        "/v1/oauth/users", json={"email": "ana@acme.test", "password": PASSWORD}, headers=b.headers()
    )
    assert u.status_code == 201, u.text
    client_id = r.json()["client_id"]
    verifier = generate_token(64)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode()
    query = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": REDIRECT,
        "scope": "results:read",
        "state": "s1",
        "code_challenge": challenge.rstrip("="),
        "code_challenge_method": "S256",
    }
    return {"client_id": client_id, "url": "/oauth/authorize?" + urlencode(query)}


def _form(page: httpx.Response, decision: str = "allow") -> dict[str, str]:
    found = re.findall(r'type=hidden name="([^"]+)" value="([^"]*)"', page.text)
    fields = {k: html.unescape(v) for k, v in found}
    return {**fields, "email": "ana@acme.test", "password": PASSWORD, "decision": decision}


def _post(client: TestClient, form: dict[str, str]) -> httpx.Response:
    return client.post("/oauth/authorize", data=form, follow_redirects=False)


# CSRF ------------------------------------------------------------------------------------------


def test_consent_page_sets_a_strict_cookie_and_a_token(make_embedded: Callable[..., Backend]) -> None:
    b = make_embedded()
    page = b.client.get(_setup(b)["url"])
    assert page.status_code == 200
    assert _form(page)["csrf_token"]
    cookie = page.headers["set-cookie"].lower()
    assert "echodepth_csrf=" in cookie and "samesite=strict" in cookie and "httponly" in cookie


def test_a_valid_token_signs_in_once_and_its_replay_is_refused(make_embedded: Callable[..., Backend]) -> None:
    b = make_embedded()
    form = _form(b.client.get(_setup(b)["url"]))
    cookie = b.client.cookies.get("echodepth_csrf")
    ok = _post(b.client, form)
    assert ok.status_code == 302 and "code" in parse_qs(urlsplit(ok.headers["location"]).query)
    b.client.cookies.set("echodepth_csrf", str(cookie), path="/oauth/authorize")  # an attacker replays both
    again = _post(b.client, form)
    assert again.status_code == 403 and again.json()["code"] == "csrf_failed"


def test_a_post_without_the_token_or_from_another_site_is_refused(
    make_embedded: Callable[..., Backend],
) -> None:
    b = make_embedded()
    setup = _setup(b)
    form = _form(b.client.get(setup["url"]))
    no_token = _post(b.client, {k: v for k, v in form.items() if k != "csrf_token"})
    assert no_token.status_code == 403 and no_token.json()["code"] == "csrf_failed"
    assert no_token.headers["content-type"].startswith("application/problem+json")
    other_site = TestClient(create_app(b.runtime))  # a forged form: the victim's token, no cookie
    refused = _post(other_site, form)
    assert refused.status_code == 403 and refused.json()["code"] == "csrf_failed"
    forged = _post(b.client, {**form, "csrf_token": form["csrf_token"][:-4] + "0000"})
    assert forged.status_code == 403
    elsewhere = _post(b.client, {**form, "redirect_uri": "http://127.0.0.1:9/other"})
    assert elsewhere.status_code in (400, 403)  # bound to the request: never a code for another URI
    assert "location" not in elsewhere.headers
    assert _post(b.client, form).status_code == 302  # the genuine form still works


def test_wrong_password_gets_a_fresh_token(make_embedded: Callable[..., Backend]) -> None:
    b = make_embedded()
    url = _setup(b)["url"]
    form = _form(b.client.get(url))
    wrong = _post(b.client, {**form, "password": "nope nope nope"})
    assert wrong.status_code == 401
    fresh = _form(wrong)
    assert fresh["csrf_token"] != form["csrf_token"]
    assert _post(b.client, fresh).status_code == 302


def test_an_expired_token_is_refused(make_embedded: Callable[..., Backend]) -> None:
    b = make_embedded()
    setup = _setup(b)
    form = _form(b.client.get(setup["url"]))
    nonce, token = issue_csrf(b.runtime.vault.ring, (setup["client_id"], REDIRECT), -1)
    b.client.cookies.clear()
    b.client.cookies.set("echodepth_csrf", nonce, path="/oauth/authorize")
    r = _post(b.client, {**form, "csrf_token": token})
    assert r.status_code == 403 and r.json()["code"] == "csrf_failed" and "expired" in r.json()["detail"]


# rate limits -----------------------------------------------------------------------------------


def _token_call(client: TestClient, client_id: str | None = None, basic: bool = False) -> httpx.Response:
    data = {"grant_type": "authorization_code", "code": "nope"}
    headers = {}
    if client_id and basic:
        headers["Authorization"] = "Basic " + base64.b64encode(f"{client_id}:secret".encode()).decode()
    elif client_id:
        data["client_id"] = client_id
    return client.post("/oauth/token", data=data, headers=headers)


def test_oauth_endpoints_are_limited_per_ip(make_embedded: Callable[..., Backend]) -> None:
    b = make_embedded(oauth_rate_limit_per_ip_per_minute=3)
    answers = [
        _token_call(b.client, "a").status_code,
        b.client.post("/oauth/revoke", data={"token": "x"}).status_code,
        b.client.post("/oauth/introspect", data={"token": "x"}).status_code,
    ]
    assert 429 not in answers
    refused = b.client.get("/oauth/authorize?client_id=b")
    assert refused.status_code == 429
    assert refused.json()["code"] == "rate_limited"
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert 1 <= int(refused.headers["Retry-After"]) <= 20  # one request every 20 s
    assert b.client.get("/healthz").status_code == 200  # only /oauth/* is limited this way


def test_oauth_endpoints_are_limited_per_client(make_embedded: Callable[..., Backend]) -> None:
    b = make_embedded(oauth_rate_limit_per_ip_per_minute=0, oauth_rate_limit_per_client_per_minute=2)
    assert _token_call(b.client, "app-1").status_code != 429
    assert _token_call(b.client, "app-1", basic=True).status_code != 429  # Basic auth names the same client
    assert _token_call(b.client, "app-1").status_code == 429
    assert _token_call(b.client, "app-2").status_code != 429


def test_the_oauth_limit_is_shared_by_api_processes_through_redis(
    tmp_path: Path, redis_namespace: str
) -> None:
    settings = Settings(
        data_dir=tmp_path / "var",
        broker_url=REDIS_URL,
        broker_namespace=redis_namespace,
        oauth_rate_limit_per_ip_per_minute=4,
        **FAST_JOB_SETTINGS,
    )
    one, two = Runtime(settings), Runtime(settings)
    try:
        a, b = TestClient(create_app(one)), TestClient(create_app(two))
        codes = [_token_call(c).status_code for c in (a, b, a, b, a, b)]
        assert codes.count(429) == 2 and 429 not in codes[:4]
    finally:
        one.close()
        two.close()
