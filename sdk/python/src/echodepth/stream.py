"""Real-time analysis over ``WS /v1/stream/video``: ``VideoStream`` (blocking) and ``AsyncVideoStream``.

The protocol is in ``_stream.py`` and docs/streaming.md; the sessions are written once in
``_async/stream.py`` and the blocking one is generated from it into ``_sync/``.
"""

from echodepth._async.stream import AsyncVideoStream
from echodepth._stream import AUDIO, FRAME, ws_url
from echodepth._sync.stream import VideoStream

__all__ = ["VideoStream", "AsyncVideoStream", "FRAME", "AUDIO", "ws_url"]
