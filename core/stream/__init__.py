"""Live analysis over WebSocket (``WS /v1/stream/video``): stream tokens, the wire protocol, and the
session that bounds every queue and stores the summary job. See docs/streaming.md."""

from core.stream.session import StreamService, StreamStores
from core.stream.tokens import SpentTokens, issue_token, verify_token

__all__ = ["SpentTokens", "StreamService", "StreamStores", "issue_token", "verify_token"]
