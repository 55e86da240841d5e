"""Any mix of video, audio, text and images → one fused report: each input through its engine, then
``engine.fusion``. It sits above the modality packages and fusion, so none of them imports it."""

from .analyse import analyse_multimodal

__all__ = ["analyse_multimodal"]
