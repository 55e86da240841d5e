"""Media intake for the engine: decode any audio file or the audio track of any video (PyAV)."""

from .decode import SAMPLE_RATE, MediaInfo, decode_audio, iter_audio, probe

__all__ = ["SAMPLE_RATE", "MediaInfo", "decode_audio", "iter_audio", "probe"]
