"""The console's session cookie, CSRF checks, security headers and scope gating, under TestClient."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from core.console.auth_views import SIGN_IN_COOKIE
from core.console.security import CONTENT_SECURITY_POLICY
from core.console.sessions import SESSION_COOKIE
from core.runtime import Runtime
from core.storage.models import utcnow
from core.storage.oauth_models import OAuthToken
from core.storage.store import NewInput
from tests.console.conftest import ADMIN, PASSWORD, READER

Site = tuple[TestClient, Runtime, str]


def _form_token(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, html
    return found.group(1)


def _page_token(html: str) -> str:
    found = re.search(r'<meta name="csrf-token" content="([^"]+)"', html)
    assert found, html
    return found.group(1)


def _sign_in_form(client: TestClient) -> str:
    """The sign-in form's token, its nonce cookie set in ``client`` (a signed-in client skips the form)."""
    probe = TestClient(client.app, base_url=str(client.base_url))
    token = _form_token(probe.get("/console/sign-in").text)
    client.cookies.set(SIGN_IN_COOKIE, str(probe.cookies.get(SIGN_IN_COOKIE)), path="/console")
    return token


def sign_in(client: TestClient, email: str = ADMIN, password: str = PASSWORD) -> str:
    """Sign in through the form; the session cookie's value."""
    token = _sign_in_form(client)
    r = client.post(
        "/console/sign-in",
        data={"email": email, "password": password, "csrf_token": token},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    return str(client.cookies.get(SESSION_COOKIE))


def _set_cookie(response: object, name: str) -> str:
    headers = response.headers.get_list("set-cookie")  # type: ignore[attr-defined]
    return next(h for h in headers if h.startswith(f"{name}="))


def test_the_session_cookie_is_httponly_lax_scoped_and_expires(client_site: Site) -> None:
    client, _, _ = client_site
    token = _form_token(client.get("/console/sign-in").text)
    r = client.post(
        "/console/sign-in",
        data={"email": ADMIN, "password": PASSWORD, "csrf_token": token},
        follow_redirects=False,
    )
    cookie = _set_cookie(r, SESSION_COOKIE).lower()
    assert "httponly" in cookie and "samesite=lax" in cookie and "path=/console" in cookie
    assert "max-age=28800" in cookie
    assert "secure" not in cookie  # plain HTTP on loopback


def test_the_session_cookie_is_secure_under_https(client_site: Site) -> None:
    _, rt, _ = client_site
    client = TestClient(client_site[0].app, base_url="https://testserver")
    token = _form_token(client.get("/console/sign-in").text)
    r = client.post(
        "/console/sign-in",
        data={"email": ADMIN, "password": PASSWORD, "csrf_token": token},
        follow_redirects=False,
    )
    assert "; secure" in _set_cookie(r, SESSION_COOKIE).lower()


def test_signing_in_again_rotates_the_session_and_revokes_the_old_one(client_site: Site) -> None:
    client, _, _ = client_site
    first = sign_in(client)
    second = sign_in(client)
    assert first != second
    other = TestClient(client.app)
    other.cookies.set(SESSION_COOKIE, first, path="/console")
    assert other.get("/console/jobs", follow_redirects=False).status_code == 303  # to the sign-in page


def test_signing_out_revokes_the_session_on_the_server(client_site: Site) -> None:
    client, _, _ = client_site
    secret = sign_in(client)
    token = _page_token(client.get("/console/jobs").text)
    r = client.post("/console/sign-out", data={"csrf_token": token}, follow_redirects=False)
    assert r.status_code == 303
    replay = TestClient(client.app)
    replay.cookies.set(SESSION_COOKIE, secret, path="/console")
    assert (
        replay.get("/console/jobs", follow_redirects=False).headers["location"].startswith("/console/sign-in")
    )


def test_an_expired_session_is_refused(client_site: Site) -> None:
    client, rt, _ = client_site
    sign_in(client)
    with rt.db.session() as s:
        s.execute(update(OAuthToken).values(access_expires_at=utcnow() - timedelta(seconds=1)))
        s.commit()
    assert client.get("/console/jobs", follow_redirects=False).status_code == 303


def test_the_session_cookie_is_no_api_credential(client_site: Site) -> None:
    client, _, _ = client_site
    secret = sign_in(client)
    r = client.get("/v1/jobs", headers={"Authorization": f"Bearer {secret}"})
    assert r.status_code == 401


def test_a_wrong_password_gives_no_session(client_site: Site) -> None:
    client, _, _ = client_site
    token = _form_token(client.get("/console/sign-in").text)
    r = client.post(
        "/console/sign-in", data={"email": ADMIN, "password": "wrong password", "csrf_token": token}
    )
    assert r.status_code == 401 and "Wrong email or password." in r.text
    assert SESSION_COOKIE not in client.cookies


def test_the_sign_in_form_refuses_a_post_without_its_csrf_token(client_site: Site) -> None:
    client, _, _ = client_site
    client.get("/console/sign-in")
    r = client.post("/console/sign-in", data={"email": ADMIN, "password": PASSWORD}, follow_redirects=False)
    assert r.status_code == 403
    assert SESSION_COOKIE not in client.cookies


@pytest.mark.parametrize(
    ("path", "data"),
    [
        ("/console/analyse/text", {"text": "A forged analysis request."}),
        ("/console/analyse/url", {"url": "https://example.com/a.mp4", "modality": "video"}),
        ("/console/sign-out", {}),
    ],
)
def test_forged_posts_without_the_csrf_token_are_refused(
    client_site: Site, path: str, data: dict[str, str]
) -> None:
    client, rt, tenant_id = client_site
    sign_in(client)
    r = client.post(path, data=data, follow_redirects=False)
    assert r.status_code == 403
    r = client.post(path, data={**data, "csrf_token": "k1.forged"}, headers={"HX-Request": "true"})
    assert r.status_code == 403 and "csrf_failed" in r.text
    assert rt.store.list_jobs(tenant_id, None, 10, None).jobs == []


def test_an_upload_without_the_csrf_header_is_refused(client_site: Site) -> None:
    client, rt, tenant_id = client_site
    sign_in(client)
    files = {"file": ("a.wav", b"RIFF....WAVE", "audio/wav")}
    r = client.post("/console/analyse/audio", files=files, headers={"Accept": "application/json"})
    assert r.status_code == 403 and r.json()["code"] == "csrf_failed"
    assert rt.store.list_jobs(tenant_id, None, 10, None).jobs == []


def test_erasing_a_job_needs_the_token_of_this_session(client_site: Site) -> None:
    client, rt, tenant_id = client_site
    job = rt.store.create_job(tenant_id, "text", NewInput(text="keep me"), {}, None)
    sign_in(client)
    other = TestClient(client.app)
    sign_in(other)
    stolen = _page_token(other.get("/console/jobs").text)  # a token of another session
    assert client.post(f"/console/jobs/{job.id}/delete", headers={"X-CSRF-Token": stolen}).status_code == 403
    assert rt.store.get_job(tenant_id, job.id) is not None
    token = _page_token(client.get("/console/jobs").text)
    assert client.post(f"/console/jobs/{job.id}/delete", headers={"X-CSRF-Token": token}).status_code == 200
    assert rt.store.get_job(tenant_id, job.id) is None


@pytest.mark.parametrize("path", ["/console/sign-in", "/console/jobs", "/console/static/console.js"])
def test_every_console_response_carries_the_strict_csp(client_site: Site, path: str) -> None:
    client, _, _ = client_site
    sign_in(client)
    r = client.get(path)
    assert r.status_code == 200
    csp = r.headers["content-security-policy"]
    assert csp == CONTENT_SECURITY_POLICY
    assert "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert r.headers["x-frame-options"] == "DENY" and r.headers["x-content-type-options"] == "nosniff"


def test_pages_are_not_cached_and_have_no_inline_script_or_style(client_site: Site) -> None:
    client, _, _ = client_site
    sign_in(client)
    for path in ("/console/sign-in", "/console/analyse", "/console/jobs", "/console/account"):
        r = client.get(path)
        assert r.headers["cache-control"] == "no-store"
        assert not re.search(r"<script(?![^>]*\bsrc=)", r.text), path
        assert not re.search(r"<style|\sstyle=|\son[a-z]+=", r.text), path


def test_the_api_keeps_its_own_headers(client_site: Site) -> None:
    client, _, _ = client_site
    assert "content-security-policy" not in client.get("/healthz").headers


def test_a_reader_may_read_but_not_analyse_or_erase(client_site: Site) -> None:
    client, rt, tenant_id = client_site
    job = rt.store.create_job(tenant_id, "text", NewInput(text="keep me"), {}, None)
    sign_in(client, READER)
    page = client.get("/console/jobs")
    assert (
        page.status_code == 200 and 'href="/console/analyse"' not in page.text and "Delete" not in page.text
    )
    assert client.get("/console/analyse").status_code == 403
    token = _page_token(page.text)
    r = client.post("/console/analyse/text", data={"text": "hello there", "csrf_token": token})
    assert r.status_code == 403
    assert client.post(f"/console/jobs/{job.id}/delete", headers={"X-CSRF-Token": token}).status_code == 403
    assert rt.store.get_job(tenant_id, job.id) is not None


def test_another_tenants_result_is_not_found(client_site: Site) -> None:
    client, rt, _ = client_site
    other = rt.ensure_tenant("globex")
    job = rt.store.create_job(other, "text", NewInput(text="not yours"), {}, None)
    sign_in(client)
    assert client.get(f"/console/result/{job.id}").status_code == 404
    assert client.get(f"/console/result/{job.id}/json").status_code == 404


def test_sign_in_never_redirects_off_the_console(client_site: Site) -> None:
    client, _, _ = client_site
    html = client.get("/console/sign-in?next=//evil.example/console/").text
    token = _form_token(html)
    r = client.post(
        "/console/sign-in",
        data={"email": ADMIN, "password": PASSWORD, "csrf_token": token, "next": "//evil.example/"},
        follow_redirects=False,
    )
    assert r.headers["location"] == "/console/analyse"
