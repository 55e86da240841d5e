"""Live streams: per-frame face analysis with a persistent VIDEO-mode landmarker, incremental voice analysis
of 16 kHz PCM, per-second fusion over a rolling window and a whole-stream summary. Pure: bytes in, dicts and
reports out; the WebSocket, queues and storage live in core. See docs/streaming.md."""

from .face import FRAME_FORMATS, FaceStream, face_dict
from .session import WINDOW_S, StreamAnalysis
from .voice import VoiceStream, pcm_to_float

__all__ = [
    "FRAME_FORMATS",
    "WINDOW_S",
    "FaceStream",
    "StreamAnalysis",
    "VoiceStream",
    "face_dict",
    "pcm_to_float",
]
