"""The vocabulary: word counts and every table derived from them.

Words are kept in frequency order (most frequent first, ties broken by the
word itself so that every machine agrees on the ids).  From the counts come the
subsampling keep-probabilities, the noise distribution ``count^0.75`` with an
O(1) alias sampler, and the Huffman tree for hierarchical softmax.  Nothing here
knows about training.
"""
from __future__ import annotations

import heapq
from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from .errors import WordvecError
from .tokenize import MAX_SENTENCE_TOKENS


@dataclass
class Vocabulary:
    """Words in id order with their corpus counts."""

    words: list[str]
    counts: np.ndarray  # int64, one per word, non-increasing
    index: dict[str, int] = field(init=False, repr=False)

    def __post_init__(self):
        self.counts = np.asarray(self.counts, dtype=np.int64)
        if len(self.words) != len(self.counts):
            raise WordvecError(f"vocabulary has {len(self.words)} words but {len(self.counts)} counts")
        self.index = {word: i for i, word in enumerate(self.words)}
        if len(self.index) != len(self.words):
            raise WordvecError("vocabulary lists a word twice")

    @classmethod
    def from_counts(cls, counts: Counter | dict, min_count: int = 5, max_size: int | None = None) -> "Vocabulary":
        """Keep words seen at least ``min_count`` times, the ``max_size`` most
        frequent of them, ordered by count then by word."""
        kept = sorted(((-n, w) for w, n in counts.items() if n >= min_count))
        if max_size is not None:
            kept = kept[:max_size]
        return cls([w for _, w in kept], np.array([-n for n, _ in kept], dtype=np.int64))

    def __len__(self) -> int:
        return len(self.words)

    def __contains__(self, word: str) -> bool:
        return word in self.index

    @property
    def total(self) -> int:
        """Number of corpus tokens that are in the vocabulary."""
        return int(self.counts.sum())

    def keep_probabilities(self, sample: float) -> np.ndarray:
        """word2vec's subsampling: word ``i`` with frequency ``f_i = count_i / total``
        is kept with probability ``min(1, (sqrt(f_i / sample) + 1) · sample / f_i)``.
        ``sample = 0`` keeps every word."""
        if sample <= 0:
            return np.ones(len(self), dtype=np.float32)
        frequency = self.counts / self.total
        keep = (np.sqrt(frequency / sample) + 1.0) * sample / frequency
        return np.minimum(keep, 1.0).astype(np.float32)

    def noise_distribution(self, power: float = 0.75) -> np.ndarray:
        """The negative-sampling distribution ``P(i) ∝ count_i^power`` (float64)."""
        weights = self.counts.astype(np.float64) ** power
        return weights / weights.sum()

    def huffman_tree(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The Huffman tree over the counts, for hierarchical softmax.

        Returns ``(points, codes, lengths)``: row ``i`` of ``points`` (int32)
        lists the inner nodes ``0 .. |V|−2`` on the path from the root to word
        ``i``, row ``i`` of ``codes`` (int8) the branch taken at each, and
        ``lengths[i]`` how many of the row are used.  Frequent words get short
        paths.
        """
        return huffman_tree(self.counts)

    def training_memory(self, dim: int, loss: str = "ns", threads: int = 1, softmax_batch: int = 64) -> int:
        """Bytes of memory that training will need, before it starts: the two
        weight matrices (|V| x d float32 each), the sampling tables and each
        thread's scratch space, which for the full softmax holds a |V| x d
        gradient and ``softmax_batch`` x |V| scores.  The encoded ids (4 bytes
        a token) are not counted: they are a memory-mapped file whose pages the
        system can drop."""
        n = len(self)
        tables = n * 4  # keep-probabilities
        if loss == "ns":
            tables += n * 8  # alias table
        elif loss == "hs":
            tables += n * (4 + 5 * (int(np.log2(max(n, 2))) + 8))  # paths and codes, an estimate of their depth
        scratch = 4 * MAX_SENTENCE_TOKENS + (4 * n * (dim + softmax_batch) if loss == "softmax" else 0)
        return 2 * n * dim * 4 + tables + threads * scratch


def alias_table(probabilities: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Walker's alias table for drawing from ``probabilities`` in O(1).

    Returns ``(keep, alias)``: draw a column ``i`` uniformly, return ``i`` with
    probability ``keep[i]``, else ``alias[i]``.  Built in O(n) (Vose's method).
    """
    n = len(probabilities)
    scaled = (np.asarray(probabilities, dtype=np.float64) * n).tolist()  # Python floats: a third faster here
    keep = [1.0] * n
    alias = list(range(n))
    small = [i for i, p in enumerate(scaled) if p < 1.0]
    large = [i for i, p in enumerate(scaled) if p >= 1.0]
    while small and large:
        s, big = small.pop(), large.pop()
        keep[s] = scaled[s]
        alias[s] = big
        scaled[big] -= 1.0 - scaled[s]
        (small if scaled[big] < 1.0 else large).append(big)
    return np.array(keep, dtype=np.float32), np.array(alias, dtype=np.int32)


def huffman_tree(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """See :meth:`Vocabulary.huffman_tree`."""
    n = len(counts)
    if n < 2:
        return np.zeros((n, 1), np.int32), np.zeros((n, 1), np.int8), np.zeros(n, np.int32)
    # Nodes 0..n-1 are leaves, n..2n-2 inner nodes; ties broken by node id.  Python lists
    # while merging (numpy scalars are slower), then every word's path a level at a time.
    heap = list(zip(np.asarray(counts, dtype=np.int64).tolist(), range(n)))
    heapq.heapify(heap)
    parent, branch = [0] * (2 * n - 1), [0] * (2 * n - 1)
    for inner in range(n, 2 * n - 1):
        count_a, a = heapq.heappop(heap)
        count_b, b = heapq.heappop(heap)
        parent[a] = parent[b] = inner
        branch[b] = 1
        heapq.heappush(heap, (count_a + count_b, inner))
    depth = [0] * (2 * n - 1)
    for node in range(2 * n - 3, -1, -1):  # parents have larger ids than children; the root's depth is 0
        depth[node] = depth[parent[node]] + 1
    parent, branch = np.array(parent, dtype=np.int64), np.array(branch, dtype=np.int8)
    lengths = np.array(depth[:n], dtype=np.int32)
    points = np.zeros((n, int(lengths.max())), dtype=np.int32)
    codes = np.zeros((n, int(lengths.max())), dtype=np.int8)
    node = np.arange(n)  # where each word's walk up the tree has reached
    for step in range(points.shape[1]):  # from each word up: level lengths − 1 − step
        below = lengths > step
        at, level, current = np.flatnonzero(below), lengths[below] - 1 - step, node[below]
        codes[at, level] = branch[current]
        node[below] = parent[current]
        points[at, level] = parent[current] - n
    return points, codes, lengths
