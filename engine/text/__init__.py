"""Text modality: sentence split, VAD (MiniLM int8 ONNX + VADER + TF-IDF ridge), named emotions, hedges and
certainty markers, per-sentence credibility and the Trust composite. See docs/text-engine.md."""

from .analyser import TextAnalyser, analyse_text, get_analyser

__all__ = ["TextAnalyser", "analyse_text", "get_analyser"]
