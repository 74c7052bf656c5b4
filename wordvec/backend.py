"""The seam between the trainer and the hardware that does the arithmetic.

A backend is given the weights, the sampling tables and the settings once, and
then trains one chunk of encoded ids at a time with a given learning-rate range,
returning ``(loss sum, examples, words read, words kept)``.  Nothing above this
seam knows which backend ran; the numba CPU backend is the first.
"""
from __future__ import annotations

import numpy as np

from . import kernels
from .corpus import SENTENCE_END
from .tokenize import MAX_SENTENCE_TOKENS

_OBJECTIVES = {"ns": kernels.NEGATIVE_SAMPLING, "hs": kernels.HIERARCHICAL_SOFTMAX, "softmax": kernels.FULL_SOFTMAX}
_ARCHS = {"cbow": kernels.CBOW, "skipgram": kernels.SKIPGRAM}


def kernel_tables(tables: dict) -> kernels.Tables:
    """Fill the tables a loss does not use with 1-element stand-ins of the same
    type, so that every loss runs the same compiled kernel."""
    return kernels.Tables(
        keep_prob=np.ascontiguousarray(tables["keep_prob"], dtype=np.float32),
        noise_prob=np.ascontiguousarray(tables.get("noise_prob", np.ones(1)), dtype=np.float32),
        noise_alias=np.ascontiguousarray(tables.get("noise_alias", np.zeros(1)), dtype=np.int32),
        hs_points=np.ascontiguousarray(tables.get("hs_points", np.zeros((1, 1))), dtype=np.int32),
        hs_codes=np.ascontiguousarray(tables.get("hs_codes", np.zeros((1, 1))), dtype=np.int8),
        hs_lengths=np.ascontiguousarray(tables.get("hs_lengths", np.zeros(1)), dtype=np.int32),
    )


def make_scratch(seed: np.random.SeedSequence, dim: int, window: int, layer_rows: int, vocab_size: int,
                 softmax_batch: int) -> kernels.Scratch:
    """One thread's scratch space; ``layer_rows`` is the most output rows one
    example scores (``negative + 1``, or the depth of the Huffman tree); the
    softmax buffers are full size only when ``softmax_batch`` is above 0."""
    batch, vocab = (softmax_batch, vocab_size) if softmax_batch else (1, 1)
    return kernels.Scratch(
        rng=seed.generate_state(1, np.uint64),
        sentence=np.zeros(MAX_SENTENCE_TOKENS, dtype=np.int32),
        inputs=np.zeros(2 * window, dtype=np.int32),
        positions=np.zeros(2 * window, dtype=np.int32),
        context_rows=np.zeros((2 * window, dim), dtype=np.float32),
        position_steps=np.zeros((2 * window, dim), dtype=np.float32),
        noise=np.zeros(layer_rows, dtype=np.int64),
        scores=np.zeros(layer_rows, dtype=np.float32),
        hidden=np.zeros(dim, dtype=np.float32),
        grad_hidden=np.zeros(dim, dtype=np.float32),
        batch_inputs=np.zeros((batch, 2 * window), dtype=np.int32),
        batch_positions=np.zeros((batch, 2 * window), dtype=np.int32),
        batch_counts=np.zeros(batch, dtype=np.int32),
        batch_targets=np.zeros(batch, dtype=np.int32),
        batch_hidden=np.zeros((batch, dim), dtype=np.float32),
        batch_scores=np.zeros((batch, vocab), dtype=np.float32),
        batch_grad_hidden=np.zeros((batch, dim), dtype=np.float32),
        grad_output=np.zeros((vocab if softmax_batch else 1, dim), dtype=np.float32),
    )


class CpuBackend:
    """numba kernels on the CPU; one scratch space and random state per thread."""

    SOFTMAX_BATCH = 64

    def __init__(self, vectors: np.ndarray, output_weights: np.ndarray, tables: dict, arch: str, loss: str,
                 window: int, negative: int, cbow_mean: bool, threads: int, seed: int,
                 position_weights: np.ndarray | None = None):
        self.vectors = vectors
        self.output_weights = output_weights
        #: ``D``: one weight vector per context position (CBOW), or an unused stand-in.
        self.position_weights = np.ones((1, 1), np.float32) if position_weights is None else position_weights
        self.threads = threads
        self.tables = kernel_tables(tables)
        softmax_batch = self.SOFTMAX_BATCH if loss == "softmax" else 0
        self.settings = kernels.Settings(_ARCHS[arch], _OBJECTIVES[loss], int(window), int(negative),
                                         int(bool(cbow_mean)), softmax_batch, SENTENCE_END,
                                         int(position_weights is not None))
        seeds = np.random.SeedSequence(seed).spawn(threads)
        layer_rows = max(negative + 1, self.tables.hs_points.shape[1])
        self.scratch = [make_scratch(s, vectors.shape[1], window, layer_rows, len(vectors), softmax_batch)
                        for s in seeds]

    def train_chunk(self, slot: int, ids: np.ndarray, start: int, stop: int,
                    alpha_start: float, alpha_stop: float) -> tuple[float, int, int, int]:
        """Train ``ids[start:stop]`` with thread ``slot``'s scratch space."""
        return kernels.train_chunk(ids, start, stop, self.vectors, self.output_weights, self.tables,
                                   self.settings, self.scratch[slot], alpha_start, alpha_stop,
                                   self.position_weights)
