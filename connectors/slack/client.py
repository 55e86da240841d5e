"""slack-sdk's ``WebClient`` sending through our ``HttpSession``; the one place Slack errors become ours.

slack-sdk builds and parses every Web API call; only the transport is swapped (``_perform_urllib_http_request
_internal``), so each request passes the SSRF guard and the session's pinned address. Slack answers rate
limits with 429 and ``Retry-After`` (https://docs.slack.dev/apis/web-api/rate-limits): a short wait is
retried in process by slack-sdk's ``RateLimitErrorRetryHandler``, a longer one goes back to the delivery
queue as a TransientError carrying ``retry_after``.
"""

from __future__ import annotations

from typing import Any
from urllib.request import Request

import httpx
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.http_retry import RateLimitErrorRetryHandler, RetryState
from slack_sdk.http_retry.request import HttpRequest as RetryRequest
from slack_sdk.http_retry.response import HttpResponse as RetryResponse
from slack_sdk.web import SlackResponse

from core.sdk import AuthError, HttpSession, PermanentError, TransientError

__all__ = ["SessionWebClient", "call"]

VENDOR = "slack"
# Web API error codes (https://docs.slack.dev/reference/methods/chat.postMessage#errors)
_AUTH_ERRORS = frozenset(
    {"not_authed", "invalid_auth", "token_revoked", "token_expired", "account_inactive", "missing_scope"}
)
_GONE_ERRORS = frozenset({"channel_not_found", "is_archived", "not_in_channel"})


class _ShortRetryAfter(RateLimitErrorRetryHandler):
    """Retry a 429 in process only when Slack asks for a short wait."""

    def __init__(self, max_wait: float) -> None:
        super().__init__(max_retry_count=1)
        self.max_wait = max_wait

    def _can_retry(
        self,
        *,
        state: RetryState,
        request: RetryRequest,
        response: RetryResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        wait = _retry_after(dict(response.headers)) if response is not None else None
        return (
            response is not None
            and response.status_code == 429
            and wait is not None
            and wait <= self.max_wait
        )


class SessionWebClient(WebClient):
    """A WebClient whose HTTP goes through an ``HttpSession``."""

    def __init__(self, session: HttpSession, base_url: str, timeout: float, max_inline_wait: float) -> None:
        super().__init__(
            token=session.credentials.access_token,
            base_url=base_url.rstrip("/") + "/",
            timeout=int(timeout),
            retry_handlers=[_ShortRetryAfter(max_inline_wait)],
        )
        self.http_session = session

    def _perform_urllib_http_request_internal(self, url: str, req: Request) -> dict[str, Any]:
        data = req.data if isinstance(req.data, bytes) else None
        response = self.http_session.request(
            "POST", url, headers=dict(req.header_items()), content=data, timeout=self.timeout
        )
        return {"status": response.status_code, "headers": dict(response.headers), "body": response.text}


def _retry_after(headers: dict[str, Any]) -> float | None:
    lower = {k.lower(): v for k, v in headers.items()}
    value = lower.get("retry-after")
    value = value[0] if isinstance(value, list) else value
    return float(value) if isinstance(value, str) and value.strip().isdigit() else None


def _api_error(exc: SlackApiError) -> Exception:
    status = exc.response.status_code
    data = exc.response.data if isinstance(exc.response.data, dict) else {}
    error = str(data.get("error", f"http_{status}"))
    if status == 429 or error == "ratelimited":
        return TransientError(VENDOR, "rate_limited", error, 429, _retry_after(dict(exc.response.headers)))
    if status >= 500 or status == 408:
        return TransientError(VENDOR, "http_error", f"Slack answered HTTP {status}", status)
    if error in _AUTH_ERRORS:
        return AuthError(VENDOR, error, "Slack refused the token", status)
    if status == 410 or error in _GONE_ERRORS:
        return PermanentError(VENDOR, error, "the channel cannot be posted to", status)
    if status != 200:
        return PermanentError(VENDOR, "http_error", f"Slack answered HTTP {status}", status)
    return PermanentError(VENDOR, error, "Slack refused the call", status)


def call(client: SessionWebClient, method: str, form: bool = False, **params: Any) -> SlackResponse:
    """One Web API call (JSON body, or a form body for read methods); Slack's failures as our typed errors."""
    try:
        if form:
            return client.api_call(method, data={k: str(v) for k, v in params.items()})
        return client.api_call(method, json=params)
    except SlackApiError as exc:
        raise _api_error(exc) from exc
    except httpx.TimeoutException as exc:
        raise TransientError(VENDOR, "timeout", "Slack did not answer in time") from exc
    except httpx.HTTPError as exc:
        raise TransientError(VENDOR, "connection_failed", type(exc).__name__) from exc
    except (SlackClientError, ValueError) as exc:  # an answer that is not Slack JSON
        raise TransientError(VENDOR, "bad_answer", str(exc)[:200]) from exc
