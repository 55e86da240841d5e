"""The one place where a webhook receiver's answers become our typed errors.

Per the Standard Webhooks spec any answer but 2xx is a failure worth retrying, except 410 Gone, which
asks us to stop (the endpoint is disabled); 429 and 503 carry ``Retry-After``, which we honour. The rules
are data: ``errors`` in config/providers/webhook.yaml.
"""

from __future__ import annotations

from core.sdk import DeliveryReceipt, HttpSession, ProviderSpec
from core.sdk.http import raise_for, transport_errors

__all__ = ["post"]


def post(
    session: HttpSession, spec: ProviderSpec, url: str, headers: dict[str, str], body: bytes
) -> DeliveryReceipt:
    """POST ``body``; a receipt on 2xx, otherwise a TransientError or PermanentError."""
    with transport_errors(spec.key, spec.timeout_seconds):
        response = session.request("POST", url, headers=headers, content=body, timeout=spec.timeout_seconds)
    raise_for(spec, response, f"the receiver answered HTTP {response.status_code}")
    return DeliveryReceipt(response.status_code, response.text[:200])
