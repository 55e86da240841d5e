"""The HTTP toolkit every connector uses: transports for the vendor SDKs, one ``retry_after`` parser, one
error classifier driven by the provider's ``errors:`` map, one pacer that keeps its ``rate_limit``.

A connector builds its SDK client on ``paced(session, spec)`` through one of the transports
(``RequestsAdapter`` for requests-based SDKs, ``Urllib3Pool`` for generated OpenAPI clients,
``AsyncTransport`` for httpx-based async SDKs, ``send_urllib`` for urllib-based ones), and sends with
``call(spec, send, <the SDK's error types>)`` or ``raise_for(spec, response)`` for plain responses. What a
refusal means is data: ``config/providers/<key>.yaml`` ``errors.rules`` (status and/or vendor code →
action), checked by ``ErrorMap`` when the spec is loaded, then the defaults below.

Exceptions raised (``core.sdk.errors``)::

    ConnectorError(vendor, code, message, status, retry_after)
    ├── AuthError        action ``auth``: 401 by default; the connection needs re-authorisation
    ├── TransientError   actions ``retry`` (408, 5xx; and transport failures: ``timeout``,
    │                    ``connection_failed``) and ``rate_limited`` (429); ``retry_after`` from
    │                    ``Retry-After`` (seconds or HTTP-date, capped), else the rule's own wait
    ├── PermanentError   action ``permanent``: any other 4xx; dead-letter
    └── SkipItem         action ``skip``: the resource is gone

The error's ``code`` is the rule's ``reason``, else the vendor's code when the map says ``keep_code``, else
``token_rejected`` / ``rate_limited`` / ``http_error`` / ``not_found`` by action.
"""

from core.sdk.http._errors import (
    MAX_RETRY_AFTER,
    Answer,
    answer_of,
    call,
    classify,
    dig,
    patiently,
    raise_for,
    retry_after,
    transport_errors,
)
from core.sdk.http._pacer import PACER, PacedSession, Pacer, paced
from core.sdk.http._transports import (
    AsyncTransport,
    RequestsAdapter,
    Urllib3Pool,
    requests_session,
    send_urllib,
)

__all__ = [
    "MAX_RETRY_AFTER",
    "Answer",
    "answer_of",
    "call",
    "dig",
    "classify",
    "patiently",
    "raise_for",
    "retry_after",
    "transport_errors",
    "PACER",
    "PacedSession",
    "Pacer",
    "paced",
    "AsyncTransport",
    "RequestsAdapter",
    "Urllib3Pool",
    "requests_session",
    "send_urllib",
]
