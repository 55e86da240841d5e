"""Every bad input gets its problem code, nothing is written, and the server stays up."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import func, select

from core.storage.models import Job, JobInput
from tests.conftest import Backend


@pytest.fixture
def api(make_embedded: Callable[..., Backend]) -> Iterator[Backend]:
    b = make_embedded(max_text_chars=200, max_request_bytes=4096)
    yield b
    with b.runtime.db.session() as s:
        assert s.scalar(select(func.count()).select_from(Job)) == 0, "a bad request wrote a job"
        assert s.scalar(select(func.count()).select_from(JobInput)) == 0
    assert b.client.get("/healthz").status_code == 200


def _problem(r: Any, status: int, code: str) -> None:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    body = r.json()
    assert body["code"] == code and body["status"] == status
    assert body["type"].endswith("/" + code)
    assert "Traceback" not in r.text


@pytest.mark.parametrize(
    ("kwargs", "status", "code"),
    [
        ({"json": {"text": ""}}, 422, "invalid_input"),
        ({"json": {"text": "   \n\t "}}, 422, "invalid_input"),
        ({"json": {"text": "x" * 201}}, 413, "payload_too_large"),
        ({"content": b"y" * 5000, "headers": {"content-type": "text/plain"}}, 413, "payload_too_large"),
        (
            {"content": b'{"text": "caf\xe9"}', "headers": {"content-type": "application/json"}},
            400,
            "invalid_encoding",
        ),
        ({"content": b"caf\xe9 \xff", "headers": {"content-type": "text/plain"}}, 400, "invalid_encoding"),
        (
            {"content": b"<xml/>", "headers": {"content-type": "application/xml"}},
            415,
            "unsupported_media_type",
        ),
        ({"content": b"hello", "headers": {}}, 415, "unsupported_media_type"),
        ({"content": b'{"text": "hi"', "headers": {"content-type": "application/json"}}, 400, "invalid_json"),
        ({"content": b'["text"]', "headers": {"content-type": "application/json"}}, 422, "invalid_input"),
        ({"json": {"text": "hello", "colour": "red"}}, 422, "invalid_input"),
        ({"json": {"text": 12}}, 422, "invalid_input"),
        ({"json": {"text": "hello", "webhook_url": "ftp://x"}}, 422, "invalid_input"),
        ({"json": {"text": "hello", "metadata": {"k": "v" * 20000}}}, 413, "payload_too_large"),
    ],
    ids=[
        "empty",
        "whitespace",
        "too-long",
        "body-too-big",
        "json-bad-utf8",
        "plain-bad-utf8",
        "xml",
        "no-content-type",
        "malformed-json",
        "json-not-object",
        "unknown-field",
        "wrong-type",
        "bad-webhook-scheme",
        "huge-metadata",
    ],
)
def test_bad_text_requests_get_their_problem_code(
    api: Backend, kwargs: dict[str, Any], status: int, code: str
) -> None:
    headers = {**api.headers(), **kwargs.pop("headers", {})}
    _problem(api.client.post("/v1/analyse/text", headers=headers, **kwargs), status, code)


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer edk_not-a-real-key-000000000000"},
        {"X-API-Key": "nonsense"},
        {"Authorization": "Basic dXNlcjpwYXNz"},
    ],
    ids=["missing", "wrong-bearer", "wrong-x-api-key", "basic-scheme"],
)
def test_missing_or_wrong_key_is_401(api: Backend, headers: dict[str, str]) -> None:
    r = api.client.post("/v1/analyse/text", json={"text": "hello there"}, headers=headers)
    _problem(r, 401, "unauthorized")
    assert r.headers["www-authenticate"].startswith("Bearer")
    _problem(api.client.get("/v1/jobs", headers=headers), 401, "unauthorized")


def test_job_id_that_is_not_a_uuid_is_invalid_input(api: Backend) -> None:
    _problem(api.client.get("/v1/result/not-a-uuid", headers=api.headers()), 422, "invalid_input")
    _problem(api.client.delete("/v1/result/1234", headers=api.headers()), 422, "invalid_input")


def test_unknown_route_and_bad_cursor_and_limit(api: Backend) -> None:
    _problem(api.client.get("/v1/nope", headers=api.headers()), 404, "not_found")
    _problem(api.client.get("/v1/jobs?cursor=%%%", headers=api.headers()), 422, "invalid_input")
    _problem(api.client.get("/v1/jobs?limit=0", headers=api.headers()), 422, "invalid_input")
    _problem(api.client.get("/v1/jobs?limit=1000", headers=api.headers()), 422, "invalid_input")
    _problem(api.client.get("/v1/jobs?status=lost", headers=api.headers()), 422, "invalid_input")


def test_plain_text_upload_is_accepted(make_embedded: Callable[..., Backend]) -> None:
    b = make_embedded()
    r = b.client.post(
        "/v1/analyse/text",
        content=b"Plain text works too. It is great.",
        headers={**b.headers(), "content-type": "text/plain; charset=utf-8"},
    )
    assert r.status_code == 202
    body = b.wait(r.json()["job_id"])
    assert body["status"] == "completed" and len(body["segments"]) == 2
