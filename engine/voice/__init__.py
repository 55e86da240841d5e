"""Voice modality: pitch, intensity, pace, pauses and hesitation, transcript, speaker turns, vocal VAD and
the Trust composite from one audio (or video) file. See docs/engine.md (Voice)."""

from .affect import GENERIC_BASELINE, VoiceBaseline
from .analyse import analyse_audio

__all__ = ["analyse_audio", "VoiceBaseline", "GENERIC_BASELINE"]
