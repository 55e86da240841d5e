"""Fusion: several modality reports → confidence-weighted V/A/D, per-second fusion and the Trust Score
(docs/trust-score.md); ``trust`` is the one Trust composer the text and voice engines use too. Running the
engines on a mix of inputs is ``engine.multimodal``."""

from .fuse import fuse

__all__ = ["fuse"]
