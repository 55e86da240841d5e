"""Video modality: PyAV-streamed frames → face timeline, audio track → engine.voice, fused per second."""

from .analyse import DEFAULT_FPS, analyse_video, video_parts

__all__ = ["DEFAULT_FPS", "analyse_video", "video_parts"]
