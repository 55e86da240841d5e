"""slack-sdk's ``WebClient`` sending through our ``HttpSession``; the one place Slack errors become ours.

slack-sdk builds and parses every Web API call; only the transport is swapped (``_perform_urllib_http_request
_internal`` → ``core.sdk.http.send_urllib``), so each request passes the SSRF guard, the session's pinned
address and the pacer (``rate_limit`` in config/providers/slack.yaml: one message a second per channel).
Slack answers rate limits with 429 and ``Retry-After`` (https://docs.slack.dev/apis/web-api/rate-limits): a
short wait is retried in process by slack-sdk's ``RateLimitErrorRetryHandler``, a longer one goes back to
the delivery queue as a TransientError carrying ``retry_after``. What each Web API error means is data
(``errors`` in the same file).
"""

from __future__ import annotations

from typing import Any, cast
from urllib.request import Request

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.http_retry import RateLimitErrorRetryHandler, RetryState
from slack_sdk.http_retry.request import HttpRequest as RetryRequest
from slack_sdk.http_retry.response import HttpResponse as RetryResponse
from slack_sdk.web import SlackResponse

from core.sdk import HttpSession, ProviderSpec, TransientError
from core.sdk.http import Answer, paced, retry_after, send_urllib
from core.sdk.http import call as sdk_call

__all__ = ["SessionWebClient", "call"]

VENDOR = "slack"


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
        wait = retry_after(dict(response.headers)) if response is not None else None
        return (
            response is not None
            and response.status_code == 429
            and wait is not None
            and wait <= self.max_wait
        )


class SessionWebClient(WebClient):
    """A WebClient on the spec's API base URL whose HTTP goes through an ``HttpSession``."""

    def __init__(self, session: HttpSession, spec: ProviderSpec, max_inline_wait: float) -> None:
        super().__init__(
            token=session.credentials.access_token,
            base_url=str(spec.api_base_url).rstrip("/") + "/",
            timeout=int(spec.timeout_seconds),
            retry_handlers=[_ShortRetryAfter(max_inline_wait)],
        )
        self.http_session = paced(session, spec)
        self.spec = spec

    def _perform_urllib_http_request_internal(self, url: str, req: Request) -> dict[str, Any]:
        return send_urllib(self.http_session, url, req, self.timeout)


def _answer(exc: SlackApiError) -> Answer:
    return Answer(exc.response.status_code, dict(exc.response.headers), exc.response.data)


def call(client: SessionWebClient, method: str, form: bool = False, **params: Any) -> SlackResponse:
    """One Web API call (JSON body, or a form body for read methods); Slack's failures as our typed errors."""

    def send() -> SlackResponse:
        if form:
            return client.api_call(method, data={k: str(v) for k, v in params.items()})
        return client.api_call(method, json=params)

    try:
        return cast(SlackResponse, sdk_call(client.spec, send, (SlackApiError,), read=_answer))
    except (SlackClientError, ValueError) as exc:  # an answer that is not Slack JSON
        raise TransientError(VENDOR, "bad_answer", str(exc)[:200]) from exc
