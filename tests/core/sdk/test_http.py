"""core.sdk.http: one Retry-After parser, one classifier driven by each provider's errors map, one pacer."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import httpx
import pytest
import yaml

from config import CONFIG_DIR
from core.registry import load_provider_spec
from core.sdk import AuthError, ConfigError, Credentials, PermanentError, SkipItem, TransientError
from core.sdk.contracts import RateLimitSpec
from core.sdk.http import Answer, PacedSession, Pacer, classify, retry_after


def test_retry_after_reads_seconds_http_dates_and_millisecond_headers_and_caps_them() -> None:
    now = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
    assert retry_after({"Retry-After": "7"}) == 7.0
    assert retry_after({"retry-after": ["2"]}) == 2.0  # slack-sdk keeps header values as lists
    assert retry_after({"Retry-After": format_datetime(now + timedelta(seconds=90))}, now=now) == 90.0
    assert retry_after({"Retry-After": format_datetime(now - timedelta(seconds=5))}, now=now) == 0.0
    assert retry_after({"Retry-After": "86400"}, cap=3600) == 3600
    assert retry_after({"X-Window-Ms": "2500"}, ms_headers=["x-window-ms"]) == 2.5
    assert retry_after({"Retry-After": "soon"}) is None and retry_after(None) is None


@pytest.mark.parametrize(
    ("vendor", "status", "body", "kind", "code"),
    [
        ("hubspot", 403, {"category": "MISSING_SCOPES"}, AuthError, "missing_scopes"),
        ("hubspot", 403, {"category": "OBJECT_NOT_ACCESSIBLE"}, PermanentError, "forbidden"),
        ("teams", 403, {"error": {"code": "Forbidden"}}, PermanentError, "forbidden"),
        ("teams", 404, {"error": {"code": "NotFound"}}, SkipItem, "not_found"),
        (
            "salesforce",
            403,
            [{"errorCode": "REQUEST_LIMIT_EXCEEDED", "message": "x"}],
            TransientError,
            "REQUEST_LIMIT_EXCEEDED",
        ),
        (
            "salesforce",
            401,
            [{"errorCode": "INVALID_SESSION_ID", "message": "x"}],
            AuthError,
            "INVALID_SESSION_ID",
        ),
        ("slack", 200, {"ok": False, "error": "missing_scope"}, AuthError, "missing_scope"),
        ("slack", 200, {"ok": False, "error": "is_archived"}, PermanentError, "is_archived"),
        ("zoom", 400, {"code": 4711, "message": "does not contain scopes"}, AuthError, "missing_scope"),
        ("zoom", 403, {"code": 200, "message": "no permission"}, PermanentError, "http_error"),
        ("webhook", 403, "nope", TransientError, "http_error"),  # Standard Webhooks: retried
        ("webhook", 410, "", PermanentError, "endpoint_gone"),
    ],
)
def test_each_vendor_decides_its_refusals_in_its_provider_file(
    vendor: str, status: int, body: object, kind: type[Exception], code: str
) -> None:
    typed = classify(load_provider_spec(vendor), Answer(status, {}, body))
    assert type(typed) is kind and typed.code == code and typed.vendor == vendor


def test_a_rate_limit_waits_what_the_answer_says_else_the_rule() -> None:
    spec = load_provider_spec("hubspot")
    assert classify(spec, Answer(429, {"Retry-After": "3"}, {})).retry_after == 3.0
    assert classify(spec, Answer(429, {}, {"policyName": "SECONDLY"})).retry_after == 1.0
    assert classify(spec, Answer(429, {}, {"policyName": "TEN_SECONDLY_ROLLING"})).retry_after == 10.0


def test_an_errors_map_is_checked_where_provider_files_are(tmp_path: Path) -> None:
    data = yaml.safe_load((CONFIG_DIR / "providers" / "webhook.yaml").read_text())
    data["errors"]["rules"].append({"status": 400, "action": "shrug"})
    (tmp_path / "webhook.yaml").write_text(yaml.safe_dump(data))
    with pytest.raises(ConfigError):
        load_provider_spec("webhook", tmp_path)


class _Echo:
    """An HttpSession that answers 200 at once, with the headers given."""

    def __init__(self, headers: dict[str, str] | None = None) -> None:
        self.credentials = Credentials(access_token="t")
        self.headers = headers or {}

    def request(self, method: str, url: str, **_: object) -> httpx.Response:
        return httpx.Response(200, headers=self.headers)

    def download(self, url: str, dest: Path, **_: object) -> int:
        return 0


def _spend(session: PacedSession, url: str, calls: int, content: bytes | None = None) -> float:
    start = time.monotonic()
    for _ in range(calls):
        session.request("POST", url, content=content)
    return time.monotonic() - start


def test_the_pacer_keeps_the_rate_limit_its_buckets_and_what_answers_state() -> None:
    limit = RateLimitSpec.model_validate(
        {
            "requests": 2,
            "per_seconds": 0.3,
            "paths": ["^/api/"],
            "buckets": {"s": {"requests": 1, "per_seconds": 0.3, "path": "/search$"}},
        }
    )
    paced = PacedSession(_Echo(), "v", limit, Pacer())
    assert _spend(paced, "https://x.test/api/a", 2) < 0.2  # within the budget: no wait
    assert _spend(paced, "https://x.test/api/a", 1) >= 0.25  # the third waits for the window
    assert _spend(paced, "https://x.test/other", 5) < 0.2  # not counted
    assert _spend(paced, "https://x.test/api/search", 2) >= 0.25  # its own, narrower budget
    learned = RateLimitSpec.model_validate(
        {"requests": 1, "per_seconds": 0.3, "learn": {"requests_header": "X-Max", "window_ms_header": "X-Ms"}}
    )
    told = PacedSession(_Echo({"X-Max": "10", "X-Ms": "300"}), "v", learned, Pacer())
    assert _spend(told, "https://x.test/a", 1) < 0.2
    assert _spend(told, "https://x.test/a", 5) < 0.2  # the answer raised the budget to 10


def test_a_per_field_budget_is_kept_for_each_value() -> None:
    limit = RateLimitSpec.model_validate({"requests": 1, "per_seconds": 0.3, "per_field": "channel"})
    paced = PacedSession(_Echo(), "v", limit, Pacer())
    assert _spend(paced, "https://x.test/a", 1, b'{"channel": "C1"}') < 0.2
    assert _spend(paced, "https://x.test/a", 1, b'{"channel": "C2"}') < 0.2  # another channel's budget
    assert _spend(paced, "https://x.test/a", 1, b'{"channel": "C1"}') >= 0.25
