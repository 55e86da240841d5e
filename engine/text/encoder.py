"""MiniLM sentence encoder: int8 ONNX graph (mean pooling + L2 norm inside) tokenised with ``tokenizers``.

The graph's one output is a row of 384-d blocks, each L2-normalised: the final-layer sentence embedding first,
then the mean-pooled states of some intermediate layers (``scripts/train_text_model.py``, ``EXTRA_LAYERS``).
No torch at run time. Inputs are sorted by token length and batched to cut padding.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

MAX_TOKENS = 256  # sentence-transformers' max_seq_length for all-MiniLM-L6-v2
EMBEDDING_DIM = 384  # one block: the sentence embedding of all-MiniLM-L6-v2


def renormalise_blocks(x: np.ndarray) -> np.ndarray:
    """L2-normalise each 384-d block of each row (e.g. after averaging sentence rows into a text row)."""
    blocks = x.reshape(x.shape[0], -1, EMBEDDING_DIM)
    norms = np.maximum(np.linalg.norm(blocks, axis=2, keepdims=True), 1e-9)
    return (blocks / norms).reshape(x.shape).astype(x.dtype)


def _default_threads() -> int:
    env = os.environ.get("ECHODEPTH_TEXT_THREADS")
    if env and env.isdigit() and int(env) > 0:
        return int(env)
    return max(1, min(os.cpu_count() or 1, 4))


class MiniLMEncoder:
    """Encodes texts into L2-normalised 384-d embeddings with the shipped int8 ONNX model."""

    def __init__(
        self,
        model_path: str | Path,
        tokenizer_path: str | Path,
        *,
        max_tokens: int = MAX_TOKENS,
        batch_size: int = 32,
        threads: int | None = None,
    ) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        self.max_tokens = max_tokens
        self.batch_size = batch_size
        tok = Tokenizer.from_file(str(tokenizer_path))
        tok.no_padding()
        tok.enable_truncation(max_length=max_tokens)
        self._tok = tok
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads or _default_threads()
        opts.inter_op_num_threads = 1
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        opts.enable_mem_pattern = False  # shapes vary batch to batch; pattern planning only costs time
        # no busy-waiting between ops: on a shared 2-core box spinning threads halved throughput
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
        opts.log_severity_level = 3
        self._sess = ort.InferenceSession(str(model_path), opts, providers=["CPUExecutionProvider"])
        self._input_names = {i.name for i in self._sess.get_inputs()}
        self.dim = self._output_dim()

    def _output_dim(self) -> int:
        """Width of the output row (384 × number of blocks), from the graph or from one probe run."""
        width = self._sess.get_outputs()[0].shape[-1]
        if isinstance(width, int):
            return width
        ones = np.ones((1, 2), dtype=np.int64)
        feeds = {"input_ids": ones, "attention_mask": ones}
        if "token_type_ids" in self._input_names:
            feeds["token_type_ids"] = np.zeros((1, 2), dtype=np.int64)
        return int(self._sess.run(None, feeds)[0].shape[-1])

    def encode(self, texts: list[str]) -> tuple[np.ndarray, list[bool]]:
        """Return (embeddings [n, dim] float32, truncated flags) for ``texts``."""
        n = len(texts)
        out = np.zeros((n, self.dim), dtype=np.float32)
        if n == 0:
            return out, []
        encs = self._tok.encode_batch([t if t.strip() else "." for t in texts])
        truncated = [len(e.overflowing) > 0 for e in encs]
        ids_list = [e.ids for e in encs]
        lengths = np.fromiter((len(x) for x in ids_list), dtype=np.int64, count=n)
        order = np.argsort(lengths, kind="stable")
        for b in range(0, n, self.batch_size):
            idx = order[b : b + self.batch_size]
            width = int(lengths[idx].max())
            ids = np.zeros((len(idx), width), dtype=np.int64)
            mask = np.zeros((len(idx), width), dtype=np.int64)
            for row, j in enumerate(idx):
                seq = ids_list[j]
                ids[row, : len(seq)] = seq
                mask[row, : len(seq)] = 1
            feeds = {"input_ids": ids, "attention_mask": mask}
            if "token_type_ids" in self._input_names:
                feeds["token_type_ids"] = np.zeros_like(ids)
            out[idx] = self._sess.run(None, feeds)[0]
        return out, truncated

    def token_counts(self, texts: list[str]) -> list[int]:
        """Number of tokens (after truncation) of each text."""
        return [len(e.ids) for e in self._tok.encode_batch(texts)]
