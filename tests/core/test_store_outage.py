"""A lost store is an outage, not a bug: 503 problem+json ``not_ready`` naming the store, with Retry-After
(clients and both SDKs retry 503), never 500. tests/chaos/test_store_restarts.py restarts real stores."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import redis.exceptions
import sqlalchemy.exc
from fastapi.testclient import TestClient

from core.api.problems import unreachable_store
from tests.conftest import Backend


def _db_down(*args: object, **kwargs: object) -> None:
    raise sqlalchemy.exc.OperationalError("INSERT", {}, ConnectionRefusedError("connection refused"))


def test_a_submit_while_the_database_is_down_is_503_with_retry_after(
    make_embedded: Callable[..., Backend], monkeypatch: pytest.MonkeyPatch
) -> None:
    b = make_embedded()
    monkeypatch.setattr(b.runtime.store, "create_job", _db_down)
    client = TestClient(b.client.app, raise_server_exceptions=False)  # as a real server answers
    r = client.post("/v1/analyse/text", json={"text": "The database is away."}, headers=b.headers())
    assert r.status_code == 503, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["code"] == "not_ready" and r.json()["store"] == "database"
    assert int(r.headers["retry-after"]) >= 1


@pytest.mark.parametrize(
    ("exc", "store"),
    [
        (redis.exceptions.ConnectionError("Connection refused"), "broker"),
        (redis.exceptions.TimeoutError("Timeout reading from socket"), "broker"),
        (sqlalchemy.exc.OperationalError("SELECT 1", {}, OSError("server closed it")), "database"),
        (RuntimeError("wrapped"), None),
    ],
)
def test_store_errors_are_told_apart_from_bugs(exc: Exception, store: str | None) -> None:
    assert unreachable_store(exc) == store
    try:
        raise ValueError("while handling") from exc
    except ValueError as outer:
        assert unreachable_store(outer) == store
