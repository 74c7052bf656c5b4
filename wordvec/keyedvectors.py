"""Words and their vectors, and the questions people ask of them.

Queries are numpy only (one matrix product over the unit-normalised vectors);
nothing here imports numba or the trainer.
"""
from __future__ import annotations

import difflib
from typing import Iterable, Sequence

import numpy as np

from .errors import WordvecError


class UnknownWordError(WordvecError, KeyError):
    """A word that is not in the vocabulary; the message suggests close spellings."""

    def __init__(self, word: str, vocabulary: Sequence[str]):
        close = difflib.get_close_matches(word, vocabulary, n=5, cutoff=0.75)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        super().__init__(f"'{word}' is not in the vocabulary{hint}")
        self.word = word
        self.suggestions = close

    def __str__(self) -> str:  # KeyError would quote the message
        return self.args[0]


class KeyedVectors:
    """``words[i]`` has vector ``vectors[i]``; words are in frequency order."""

    def __init__(self, words: list[str], vectors: np.ndarray):
        if len(words) != len(vectors):
            raise WordvecError(f"{len(words)} words but {len(vectors)} vectors")
        self.words = list(words)
        self.vectors = vectors
        self.index = {w: i for i, w in enumerate(self.words)}
        self._unit = None

    def __len__(self) -> int:
        return len(self.words)

    def __contains__(self, word: str) -> bool:
        return word in self.index

    def __getitem__(self, word: str) -> np.ndarray:
        return self.vectors[self.id(word)]

    def id(self, word: str) -> int:
        """The row of ``word``; raises :class:`UnknownWordError` with suggestions."""
        try:
            return self.index[word]
        except KeyError:
            raise UnknownWordError(word, self.words) from None

    @property
    def unit_vectors(self) -> np.ndarray:
        """The vectors scaled to length 1 (zero vectors stay zero)."""
        if self._unit is None:
            vectors = np.asarray(self.vectors, dtype=np.float32)
            norms = np.linalg.norm(vectors, axis=1, keepdims=True)
            self._unit = vectors / np.maximum(norms, 1e-12)
        return self._unit

    def similarity(self, first: str, second: str) -> float:
        """Cosine similarity of two words."""
        unit = self.unit_vectors
        return float(unit[self.id(first)] @ unit[self.id(second)])

    def most_similar(self, positive: Iterable[str] | str = (), negative: Iterable[str] | str = (),
                     topn: int = 10) -> list[tuple[str, float]]:
        """Words closest by cosine to the mean of the unit vectors of ``positive``
        minus those of ``negative`` (3CosAdd), the query words left out."""
        positive = [positive] if isinstance(positive, str) else list(positive)
        negative = [negative] if isinstance(negative, str) else list(negative)
        if not positive and not negative:
            raise WordvecError("give at least one word")
        unit = self.unit_vectors
        ids = [self.id(w) for w in positive + negative]
        weights = np.array([1.0] * len(positive) + [-1.0] * len(negative), dtype=np.float32)
        query = weights @ unit[ids]
        return self.similar_by_vector(query, topn, exclude=ids)

    def similar_by_vector(self, vector: np.ndarray, topn: int = 10, exclude: Iterable[int] = ()) -> list[tuple[str, float]]:
        """Words closest by cosine to ``vector``."""
        vector = np.asarray(vector, dtype=np.float32)
        scores = self.unit_vectors @ (vector / max(float(np.linalg.norm(vector)), 1e-12))
        return self._top(scores, topn, exclude)

    def analogy(self, a: str, b: str, c: str, topn: int = 1, method: str = "3cosadd") -> list[tuple[str, float]]:
        """"``a`` is to ``b`` as ``c`` is to ?": 3CosAdd ranks by
        ``cos(x, b) − cos(x, a) + cos(x, c)``; 3CosMul (Levy & Goldberg 2014) by
        ``cos'(x, b) · cos'(x, c) / (cos'(x, a) + 0.001)`` with ``cos' = (cos + 1) / 2``."""
        ids = [self.id(w) for w in (a, b, c)]
        unit = self.unit_vectors
        if method == "3cosadd":
            scores = unit @ (unit[ids[1]] - unit[ids[0]] + unit[ids[2]])
        elif method == "3cosmul":
            cosines = (unit @ unit[ids].T + 1.0) / 2.0
            scores = cosines[:, 1] * cosines[:, 2] / (cosines[:, 0] + 1e-3)
        else:
            raise WordvecError(f"unknown analogy method '{method}' (use 3cosadd or 3cosmul)")
        return self._top(scores, topn, exclude=ids)

    def _top(self, scores: np.ndarray, topn: int, exclude: Iterable[int]) -> list[tuple[str, float]]:
        scores = np.array(scores, dtype=np.float32)
        scores[list(exclude)] = -np.inf
        topn = min(topn, len(scores))
        best = np.argpartition(-scores, topn - 1)[:topn] if topn < len(scores) else np.arange(len(scores))
        best = best[np.argsort(-scores[best], kind="stable")]
        return [(self.words[i], float(scores[i])) for i in best if np.isfinite(scores[i])]
