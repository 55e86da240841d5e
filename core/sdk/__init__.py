"""What connectors may import from core: contracts, typed errors and the result schema."""

from core.sdk.contracts import (
    EVENT_TYPES,
    Credentials,
    DeliveryReceipt,
    HookReply,
    HttpSession,
    MediaItem,
    OutboundMessage,
    ProviderSpec,
    Sink,
    Source,
    SourceEvent,
)
from core.sdk.errors import (
    AuthError,
    ConfigError,
    ConnectorError,
    EchoDepthError,
    EngineError,
    InputError,
    PermanentError,
    SkipItem,
    TransientError,
)
from core.sdk.schema import SCHEMA_VERSION, JobStatus, ResultV1

__all__ = [
    "EVENT_TYPES",
    "Credentials",
    "DeliveryReceipt",
    "HookReply",
    "HttpSession",
    "MediaItem",
    "SourceEvent",
    "OutboundMessage",
    "ProviderSpec",
    "Sink",
    "Source",
    "AuthError",
    "ConfigError",
    "ConnectorError",
    "EchoDepthError",
    "EngineError",
    "InputError",
    "PermanentError",
    "SkipItem",
    "TransientError",
    "SCHEMA_VERSION",
    "JobStatus",
    "ResultV1",
]
