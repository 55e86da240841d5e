"""Fusion: several modality reports → confidence-weighted V/A/D, per-second fusion and the Trust Score
(docs/trust-score.md); ``analyse_multimodal`` runs any mix of video, audio, text and images."""

from .fuse import fuse
from .multimodal import analyse_multimodal

__all__ = ["fuse", "analyse_multimodal"]
