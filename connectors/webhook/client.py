"""The one place where a webhook receiver's answers become our typed errors.

Per the Standard Webhooks spec any answer but 2xx is a failure worth retrying, except 410 Gone, which
asks us to stop (the endpoint is disabled). 429 and 503 carry ``Retry-After``, which we honour.
"""

from __future__ import annotations

import httpx

from core.sdk import DeliveryReceipt, HttpSession, PermanentError, TransientError

__all__ = ["post"]

VENDOR = "webhook"


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after", "").strip()
    return float(value) if value.isdigit() else None


def _raise_for(response: httpx.Response) -> None:
    status = response.status_code
    if 200 <= status < 300:
        return
    if status == 410:
        raise PermanentError(VENDOR, "endpoint_gone", "the receiver answered 410 Gone", status)
    code = "rate_limited" if status == 429 else "http_error"
    raise TransientError(VENDOR, code, f"the receiver answered HTTP {status}", status, _retry_after(response))


def post(
    session: HttpSession, url: str, headers: dict[str, str], body: bytes, timeout: float
) -> DeliveryReceipt:
    """POST ``body``; a receipt on 2xx, otherwise a TransientError or PermanentError."""
    try:
        response = session.request("POST", url, headers=headers, content=body, timeout=timeout)
    except httpx.TimeoutException as exc:
        raise TransientError(VENDOR, "timeout", f"no answer within {timeout:g}s") from exc
    except httpx.HTTPError as exc:
        raise TransientError(VENDOR, "connection_failed", type(exc).__name__) from exc
    _raise_for(response)
    return DeliveryReceipt(response.status_code, response.text[:200])
