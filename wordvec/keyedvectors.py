"""Words and their vectors, and the questions people ask of them.

Every query is cosine similarity: ``cos(x, q) = W[x]·q / (‖W[x]‖ ‖q‖)``, computed
as one matrix product of the vectors with the (batched) queries, divided by the
row norms, which are computed once.  Queries are numpy only: nothing here
imports numba or the trainer.
"""
from __future__ import annotations

import os
from collections import deque
from typing import Iterable, Sequence

import numpy as np

from .checks import whole_number
from .errors import WordvecError

#: Scores of one query block stay under this many floats (64 MB).
BLOCK_SCORES = 16_000_000
ANALOGY_METHODS = ("3cosadd", "3cosmul")
#: ε of 3CosMul, as gensim's ``most_similar_cosmul``.
COSMUL_EPSILON = 1e-6
_SCANS_BEFORE_INDEX = 4
#: A sum of unit vectors with no coordinate above this is the zero vector (``king − king``, up to rounding).
ZERO_QUERY = 1e-6


class UnknownWordError(WordvecError, KeyError):
    """A word that is not in the vocabulary; the message suggests close spellings."""

    def __init__(self, word: str, vocabulary: Sequence[str], why: str = ""):
        close = close_words(word, vocabulary)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        super().__init__(f"'{word}' is not in the vocabulary{' ' + why if why else ''}{hint}")
        self.word = word
        self.suggestions = close

    def __str__(self) -> str:  # KeyError would quote the message
        return self.args[0]


def close_words(word: str, vocabulary: Sequence[str], n: int = 5, cutoff: float = 0.75,
                limit: int = 20_000) -> list[str]:
    """Up to ``n`` spellings in ``vocabulary`` that difflib rates at least
    ``cutoff`` alike, best first.  Only words whose length allows that rating
    (``2·min(len) / (len + len) ≥ cutoff``) are compared, and of those the
    ``limit`` most frequent, so a miss costs milliseconds on any vocabulary."""
    import difflib

    lengths = np.fromiter(map(len, vocabulary), dtype=np.int64, count=len(vocabulary))
    possible = 2 * np.minimum(lengths, len(word)) >= cutoff * (lengths + len(word))
    candidates = [vocabulary[i] for i in np.flatnonzero(possible)[:limit]]
    return difflib.get_close_matches(word, candidates, n=n, cutoff=cutoff)


_GROUP = 64  # columns a group in :func:`top_columns`


def top_columns(scores: np.ndarray, k: int) -> np.ndarray:
    """The columns of the ``k`` largest scores of every row, largest first.

    Wide rows are read once, not partitioned: take the maximum of every group
    of 64 columns and let ``t`` be the k-th largest of those maxima.  At least k
    scores reach ``t`` (those k maxima), and every score that reaches ``t`` lies
    in a group whose maximum does, so the k best are among the few groups whose
    maximum reaches ``t``; only those are sorted.  (Scores of −inf, the excluded
    words, take part like any other.)
    """
    rows, width = scores.shape
    k = min(k, width)
    groups = width // _GROUP
    maxima = None
    if groups >= 4 * k:  # a (rows, groups, 64) view of the full groups: no copy of the scores
        grouped = np.lib.stride_tricks.as_strided(
            scores, (rows, groups, _GROUP), (scores.strides[0], _GROUP * scores.strides[1], scores.strides[1]))
        maxima = grouped.max(axis=2)
    if maxima is None or np.isnan(maxima).any() or np.isnan(scores[:, groups * _GROUP:]).any():
        best = np.argpartition(-scores, k - 1, axis=1)[:, :k] if k < width else np.tile(np.arange(width), (rows, 1))
    else:
        threshold = np.partition(maxima, groups - k, axis=1)[:, groups - k]
        row_of, group_of = np.nonzero(maxima >= threshold[:, None])
        row_of = np.repeat(row_of, _GROUP)
        columns = (group_of[:, None] * _GROUP + np.arange(_GROUP)).ravel()
        tail = np.arange(groups * _GROUP, width)  # a last, partial group: all candidates
        row_of = np.concatenate([row_of, np.repeat(np.arange(rows), len(tail))])
        columns = np.concatenate([columns, np.tile(tail, rows)])
        values = scores[row_of, columns]
        reach = values >= threshold[row_of]  # at least k a row; usually few more
        row_of, columns, values = row_of[reach], columns[reach], values[reach]
        order = np.lexsort((-values, row_of))
        row_of, columns = row_of[order], columns[order]
        rank = np.arange(len(row_of)) - np.searchsorted(row_of, row_of)
        best = columns[rank < k].reshape(rows, k)
    chosen = np.take_along_axis(scores, best, axis=1)
    return np.take_along_axis(best, np.argsort(-chosen, axis=1, kind="stable"), axis=1)


#: What names a row besides a word: its number, as in gensim's ``wv[0]``.
ROW_NUMBER_TYPES = (int, np.integer)


def _is_one_key(keys) -> bool:
    """Whether ``keys`` is one word or row number, or something that is no list of them
    (refused by the look-up, by name), rather than a list of keys."""
    return isinstance(keys, (str, *ROW_NUMBER_TYPES)) or not isinstance(keys, Iterable)


def _as_list(keys) -> list:
    """One query key (a word, a row number or a vector) as a list of one; a list as itself."""
    if _is_one_key(keys) or (isinstance(keys, np.ndarray) and keys.ndim == 1):
        return [keys]
    return list(keys)


class KeyedVectors:
    """``words[i]`` has vector ``vectors[i]``; words are in frequency order.

    ``counts`` (corpus counts) is known for models wordvec trained, ``None`` for
    vectors read from other tools' files.  A query word that is not found as
    written is looked up again as the tokenizer would have written it: in NFC
    form and, for a model trained lower-cased (``lowercase``), lower-cased, and
    words written apart as the phrase they were joined into (``"New York"`` as
    ``new_york``, :mod:`wordvec.phrases`); such look-ups are listed in :attr:`folded`.

    With ``subwords`` (a :class:`~wordvec.subwords.Subwords`: a fastText-style
    model) a word outside the vocabulary still has a vector, built from its
    character n-grams, and every query takes it (those words are listed in
    :attr:`built`).  ``word in vectors``, ``len``, :attr:`words` and :attr:`vectors`
    stay the vocabulary's, so that iterating, counting and the matrix agree;
    :meth:`has_vector` says whether a word can be given a vector at all.
    """

    def __init__(self, words: list[str], vectors: np.ndarray, counts: np.ndarray | None = None,
                 lowercase: bool = False, subwords=None):
        if len(words) != len(vectors):
            raise WordvecError(f"{len(words)} words but {len(vectors)} vectors")
        if np.ndim(vectors) != 2:
            raise WordvecError(f"vectors must be a matrix, not an array of shape {np.shape(vectors)}")
        self.words = list(words)
        self.vectors = vectors
        self.counts = counts
        #: The words were lower-cased in training, so queries are too.
        self.lowercase = lowercase
        #: ``(asked, found)`` for the latest query words found only after folding them.
        self.folded: deque[tuple[str, str]] = deque(maxlen=100)
        #: The n-gram vectors of a subword model, or ``None``.
        self.subwords = subwords
        #: The latest query words outside the vocabulary whose vectors were built from n-grams.
        self.built: deque[str] = deque(maxlen=100)
        self._index = None
        self._scans = 0
        self._norms = None

    @property
    def index(self) -> dict[str, int]:
        """``word -> row``, built on first use; a word found twice is an error."""
        if self._index is None:
            index = dict(zip(self.words, range(len(self.words))))
            if len(index) != len(self.words):
                from .io.word2vec import check_unique

                check_unique(self.words)
            self._index = index
        return self._index

    # -- files --------------------------------------------------------------------
    @classmethod
    def load(cls, path: str | os.PathLike, format: str | None = None, limit: int | None = None,
             encoding: str = "utf-8", unicode_errors: str = "strict") -> "KeyedVectors":
        """Read vectors from a native model or a word2vec text/binary or GloVe file
        (the format is found from the file unless given); see :func:`wordvec.io.read_vectors`."""
        from .io import read_vectors

        found = read_vectors(path, format, limit, encoding, unicode_errors)
        return cls(found.words, found.vectors, found.counts, lowercase=bool(found.settings.get("lowercase", False)),
                   subwords=found.subwords)

    def save(self, path: str | os.PathLike, format: str | None = None) -> None:
        """Write the vectors atomically: ``native``, ``word2vec-bin``, ``word2vec-txt`` or
        ``fasttext-bin`` (by default, the one the file name's suffix asks for; ``.bin``
        is fastText's for a subword model); native files keep the n-grams."""
        from .io import write_vectors

        write_vectors(path, self.words, self.vectors, self.counts, format, subwords=self.subwords)

    # -- lookup -------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.words)

    def __contains__(self, word: str) -> bool:
        """Whether ``word`` is in the vocabulary exactly as written (see :meth:`has_vector`)."""
        return word in self.index

    def has_vector(self, word: str) -> bool:
        """Whether ``word`` has a vector: it is in the vocabulary (as written or
        folded), or the model has subwords and one of its n-grams was trained."""
        try:
            found = self._id_or_none(word)
        except WordvecError:  # not in the vocabulary, or a row number outside it
            return False
        return found is not None or self.subwords.has_ngrams(word)

    def __getitem__(self, words: str | int | Sequence[str | int]) -> np.ndarray:
        """The vector of a word or row number, or the matrix of vectors of a list of them."""
        if _is_one_key(words):
            return self._vectors_of([words])[0]
        return self._vectors_of(list(words))

    def vector(self, word: str) -> np.ndarray:
        """The vector of ``word``: its row, or with subwords, for a word outside
        the vocabulary, the one built from its n-grams (see :mod:`wordvec.subwords`)."""
        return self._vectors_of([word])[0]

    def _vectors_of(self, words: list[str]) -> np.ndarray:
        """The vectors of ``words``: rows of the vocabulary, and those of the
        words outside it built from their n-grams in one pass; a built vector of
        zeros (no trained n-gram) is an :class:`UnknownWordError`."""
        ids = [self._id_or_none(w) for w in words]
        result = np.empty((len(words), self.dim), dtype=np.float32)
        known = [k for k, i in enumerate(ids) if i is not None]
        result[known] = np.asarray(self.vectors)[[ids[k] for k in known]]
        unseen = [k for k, i in enumerate(ids) if i is None]
        if unseen:
            result[unseen] = self.subwords.word_vectors([words[k] for k in unseen])
            for k in unseen:
                if not result[k].any():
                    raise UnknownWordError(words[k], self.words, "and none of its character n-grams was trained")
                self.built.append(words[k])
        return result

    def _id_or_none(self, word: str) -> int | None:
        """``id(word)``, or ``None`` for a word outside the vocabulary of a subword
        model (its vector is built from n-grams); else :class:`UnknownWordError`."""
        try:
            return self.id(word)
        except UnknownWordError:
            if self.subwords is None:
                raise
            return None

    @property
    def dim(self) -> int:
        return self.vectors.shape[1]

    def id(self, word: str | int) -> int:
        """The row of ``word``, or of its folded form (see the class); raises
        :class:`UnknownWordError` with suggestions.  A row number stands for its
        row (gensim's ``get_index``), counted from the end when negative."""
        if isinstance(word, ROW_NUMBER_TYPES) and not isinstance(word, bool):
            if not -len(self) <= word < len(self):
                raise WordvecError(f"row {word} is outside the vocabulary's {len(self):,} rows")
            return int(word) % len(self)
        if not isinstance(word, str):
            raise WordvecError(f"a word is asked for by its text or its row number, not {word!r}")
        found = self._find(word)
        if found is None:
            from .tokenize import normalise

            folded = normalise(word, self.lowercase)
            if len(folded.split()) > 1:
                folded = "_".join(folded.split())  # a phrase, as wordvec phrases joins it
            found = self._find(folded) if folded != word else None
            if found is None:
                raise UnknownWordError(word, self.words)
            self.folded.append((word, folded))
        return found

    def _find(self, word: str) -> int | None:
        if self._index is None and self._scans < _SCANS_BEFORE_INDEX:
            # A command asks for a word or two: scanning the list beats hashing every word.
            self._scans += 1
            try:
                return self.words.index(word)
            except ValueError:
                return None
        return self.index.get(word)

    @property
    def norms(self) -> np.ndarray:
        """Length of every vector (float32), computed once."""
        if self._norms is None:
            vectors = np.asarray(self.vectors, dtype=np.float32)
            self._norms = np.sqrt(np.einsum("ij,ij->i", vectors, vectors))
        return self._norms

    def unit(self, word) -> np.ndarray:
        """The vector of ``word`` (a word, a row number, or a vector given as is) scaled to length 1."""
        if not isinstance(word, np.ndarray):
            return _normalise(np.asarray(self.vector(word), dtype=np.float32))
        if word.shape != (self.dim,) or not np.isfinite(word).all():
            raise WordvecError(f"a query vector must hold {self.dim} finite numbers; this one has shape {word.shape}"
                               + ("" if word.shape != (self.dim,) else " and holds NaN or infinity"))
        return _normalise(word.astype(np.float32))

    def _ids_of(self, words: Iterable) -> list[int]:
        """The vocabulary ids of the query keys that have one (to leave out of answers)."""
        ids = (self._id_or_none(w) for w in words if not isinstance(w, np.ndarray))
        return [i for i in ids if i is not None]

    # -- similarity ---------------------------------------------------------------
    def similarity(self, first: str, second: str) -> float:
        """Cosine similarity of two words."""
        return float(self.unit(first) @ self.unit(second))

    def cosines(self, queries: np.ndarray, restrict_vocab: int | None = None) -> np.ndarray:
        """``cos(W[x], q)`` for every word ``x`` (the first ``restrict_vocab``
        only, if given) and every row ``q`` of ``queries``: shape (len(queries), words)."""
        if restrict_vocab is not None and not whole_number(restrict_vocab, 1):
            raise WordvecError(f"restrict_vocab must be a whole number of at least 1, not {restrict_vocab!r}")
        queries = np.atleast_2d(np.asarray(queries, dtype=np.float32))
        queries = queries / np.maximum(np.linalg.norm(queries, axis=1, keepdims=True), 1e-12)
        stop = len(self) if restrict_vocab is None else min(restrict_vocab, len(self))
        vectors = np.asarray(self.vectors[:stop], dtype=np.float32)
        scores = queries @ vectors.T
        scores *= 1.0 / np.maximum(self.norms[:stop], 1e-12)
        return scores

    def nearest(self, queries: np.ndarray, topn: int = 10, exclude: Sequence[Iterable[int]] | None = None,
                restrict_vocab: int | None = None) -> list[list[tuple[str, float]]]:
        """The ``topn`` words closest by cosine to each row of ``queries``, best
        first, leaving out the ids in ``exclude[i]`` for query ``i``.

        All queries go through one matrix product per block of queries (blocks
        keep the score matrix under 64 MB).
        """
        _check_topn(topn)
        queries = np.atleast_2d(np.asarray(queries, dtype=np.float32))
        if queries.shape[1] != self.dim:
            raise WordvecError(f"a query vector has {queries.shape[1]} dimensions; these vectors have {self.dim}")
        if not np.isfinite(queries).all():
            raise WordvecError("a query vector holds NaN or infinity")
        block = max(1, BLOCK_SCORES // max(len(self), 1))
        results = []
        for start in range(0, len(queries), block):
            scores = self.cosines(queries[start:start + block], restrict_vocab)
            for row, ids in enumerate(exclude[start:start + block] if exclude is not None else ()):
                ids = [i for i in ids if i < scores.shape[1]]
                scores[row, ids] = -np.inf
            results.extend(self._best(scores, topn))
        return results

    def _best(self, scores: np.ndarray, topn: int) -> list[list[tuple[str, float]]]:
        """Per row of ``scores``, the ``topn`` best ``(word, score)`` in order (none for 0, or of no words)."""
        if topn == 0 or scores.shape[1] == 0:
            return [[] for _ in range(len(scores))]
        best = top_columns(scores, topn)
        chosen = np.take_along_axis(scores, best, axis=1)
        return [[(self.words[i], float(s)) for i, s in zip(ids, row) if np.isfinite(s)]
                for ids, row in zip(best.tolist(), chosen.tolist())]

    def most_similar(self, positive: Iterable[str] | str = (), negative: Iterable[str] | str = (),
                     topn: int = 10, restrict_vocab: int | None = None) -> list[tuple[str, float]]:
        """Words closest by cosine to the sum of the unit vectors of ``positive``
        minus those of ``negative`` (as gensim and the C tool's ``distance``),
        the query words left out; only the ``restrict_vocab`` most frequent
        words are candidates, if given.  As in gensim, a row number or a vector
        may stand in for a word."""
        positive, negative = _as_list(positive), _as_list(negative)
        if not positive and not negative:
            raise WordvecError("give at least one word")
        query = sum(self.unit(w) for w in positive) - sum(self.unit(w) for w in negative)
        if not np.any(np.abs(query) > ZERO_QUERY):
            raise WordvecError("the query is the zero vector (its words cancel out, or have vectors of zeros): "
                               "no word is closer to it than another")
        return self.nearest(query, topn, [self._ids_of(positive + negative)], restrict_vocab)[0]

    def most_similar_batch(self, words: Sequence[str], topn: int = 10,
                           restrict_vocab: int | None = None) -> list[list[tuple[str, float]]]:
        """``most_similar(word)`` for every word in ``words``, in one matrix product."""
        queries = np.asarray(self[list(words)], dtype=np.float32)
        return self.nearest(queries, topn, [self._ids_of([w]) for w in words], restrict_vocab)

    def similar_by_vector(self, vector: np.ndarray, topn: int = 10,
                          restrict_vocab: int | None = None) -> list[tuple[str, float]]:
        """Words closest by cosine to ``vector``."""
        return self.nearest(vector, topn, None, restrict_vocab)[0]

    def analogy(self, a: str, b: str, c: str, topn: int = 1, method: str = "3cosadd",
                restrict_vocab: int | None = None, epsilon: float = COSMUL_EPSILON) -> list[tuple[str, float]]:
        """"``a`` is to ``b`` as ``c`` is to ?", the three words left out.

        3CosAdd ranks ``x`` by ``cos(x, b) − cos(x, a) + cos(x, c)`` (the
        direction of ``b̂ − â + ĉ``; the reported score is the cosine with it);
        3CosMul (Levy & Goldberg 2014) by ``cos'(x, b) · cos'(x, c) / (cos'(x, a) + ε)``
        with ``cos' = (cos + 1) / 2`` and ε = ``epsilon`` (1e-6, gensim's
        ``most_similar_cosmul``; Levy & Goldberg used 0.001).
        """
        _check_topn(topn)
        units = [self.unit(w)[None, :] for w in (a, b, c)]
        scores = self._analogy_from_units(*units, method, restrict_vocab, epsilon)
        scores[0, [i for i in self._ids_of((a, b, c)) if i < scores.shape[1]]] = -np.inf
        return self._best(scores, topn)[0]

    def analogy_scores(self, questions, method: str = "3cosadd", restrict_vocab: int | None = None,
                       epsilon: float = COSMUL_EPSILON) -> np.ndarray:
        """For each row ``(a, b, c)`` of word ids, every candidate word's score as
        the answer (the formulas of :meth:`analogy`), one row per question; the
        question's own words score −inf."""
        questions = np.atleast_2d(np.asarray(questions, dtype=np.int64))
        vectors = np.asarray(self.vectors, dtype=np.float32)
        a, b, c = (vectors[ids] / np.maximum(self.norms[ids], 1e-12)[:, None] for ids in questions.T)
        scores = self._analogy_from_units(a, b, c, method, restrict_vocab, epsilon)
        rows = np.arange(len(questions))
        for ids in questions.T:
            inside = ids < scores.shape[1]
            scores[rows[inside], ids[inside]] = -np.inf
        return scores

    def _analogy_from_units(self, a, b, c, method: str, restrict_vocab, epsilon) -> np.ndarray:
        """Every candidate's score for the questions whose unit vectors are the rows of ``a``, ``b``, ``c``."""
        if method not in ANALOGY_METHODS:
            raise WordvecError(f"unknown analogy method '{method}' (use {' or '.join(ANALOGY_METHODS)})")
        if method == "3cosadd":
            return self.cosines(b - a + c, restrict_vocab)
        cos_a, cos_b, cos_c = ((self.cosines(unit, restrict_vocab) + 1.0) / 2.0 for unit in (a, b, c))
        return cos_b * cos_c / (cos_a + epsilon)

    def classes(self, k: int, top: int | None = None, seed: int = 0) -> np.ndarray:
        """Word classes, as the C tool's ``-classes``: k-means over the unit vectors
        of the ``top`` most frequent words (all words if not given).

        Returns one class per word of ``words[:top]``.  Classes are numbered in
        the order of their most frequent word (class 0 holds ``words[0]``), so
        the same seed gives the same numbers.  scikit-learn's ``KMeans`` runs up
        to 20,000 words, ``MiniBatchKMeans`` beyond.
        """
        if top is not None and not whole_number(top, 1):
            raise WordvecError(f"top must be a whole number of at least 1, not {top!r}")
        stop = len(self) if top is None else min(top, len(self))
        if not isinstance(k, (int, np.integer)) or not 1 <= k <= stop:
            raise WordvecError(f"the number of classes must be between 1 and the {stop:,} words clustered, not {k!r}")
        from sklearn.cluster import KMeans, MiniBatchKMeans

        units = np.asarray(self.vectors[:stop], dtype=np.float32) / np.maximum(self.norms[:stop], 1e-12)[:, None]
        if stop <= 20_000:
            clustering = KMeans(n_clusters=k, n_init=1, random_state=seed)
        else:
            clustering = MiniBatchKMeans(n_clusters=k, n_init=3, batch_size=4096, random_state=seed)
        labels = clustering.fit_predict(units)
        first_word = np.full(k, stop, dtype=np.int64)
        np.minimum.at(first_word, labels, np.arange(stop))
        renumber = np.empty(k, dtype=np.int64)
        renumber[np.argsort(first_word, kind="stable")] = np.arange(k)
        return renumber[labels]

    def doesnt_match(self, words: Iterable[str]) -> str:
        """The word of ``words`` least similar to the mean of their unit vectors."""
        words = _as_list(words)
        if not words:
            raise WordvecError("give at least one word")
        units = np.stack([self.unit(w) for w in words])
        return words[int(np.argmin(units @ _normalise(units.mean(axis=0))))]

    def rank(self, first: str, second: str) -> int:
        """The place of ``second`` among the neighbours of ``first``: 1 if no
        other word is closer to ``first``."""
        scores = self.cosines(self.unit(first))[0]
        scores[self._ids_of([first])] = -np.inf
        known = self._id_or_none(second)
        reached = scores[known] if known is not None else float(self.unit(first) @ self.unit(second))
        return int(np.count_nonzero(scores > reached)) + 1


def _check_topn(topn) -> None:
    """Checked before any score is computed, so a bad value costs nothing."""
    if not whole_number(topn, 0):
        raise WordvecError(f"topn must be a whole number, 0 or more, not {topn!r}")


def _normalise(vector: np.ndarray) -> np.ndarray:
    return vector / max(float(np.linalg.norm(vector)), 1e-12)


def load_vectors(path: str | os.PathLike, format: str | None = None, limit: int | None = None,
                 encoding: str = "utf-8", unicode_errors: str = "strict") -> KeyedVectors:
    """Vectors from any supported file; see :meth:`KeyedVectors.load`."""
    return KeyedVectors.load(path, format, limit, encoding, unicode_errors)
