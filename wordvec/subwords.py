"""Words as bags of character n-grams: fastText's subword model (Bojanowski et al. 2017).

A word ``w`` is written ``<w>`` (the marks ``<`` and ``>`` show where it starts
and ends) and every run of ``minn ≤ n ≤ maxn`` characters of that string is one
of its n-grams: ``where`` with n = 3 gives ``<wh``, ``whe``, ``her``, ``ere``,
``re>``.  Characters are Unicode code points, found from the UTF-8 bytes: a byte
``10xxxxxx`` continues the character before it.  An n-gram's bucket is
``FNV-1a(its UTF-8 bytes) mod bucket``, with the 32-bit FNV-1a of fastText,
which xors each byte in as a *signed* char (a byte ≥ 0x80 is sign-extended to
32 bits first), so fastText's files and wordvec agree on every n-gram's row.
As in fastText, an n-gram is listed as often as it occurs in ``<w>``, one-
character n-grams never stand for the marks alone, and the sentence-end word
``</s>`` has no n-grams.

Only the buckets that some vocabulary word's n-grams fall in are ever
trained, so :class:`Subwords` keeps just those (``buckets``, sorted, and one
row of ``vectors`` each).  A word's vector is the mean of its own row and the
rows of its n-grams; a word outside the vocabulary has only n-grams, and its
vector is their mean, where an n-gram whose bucket was never trained counts as
a zero vector (fastText's full table holds the random values it started with
there; the mean divides by the same number of n-grams, so the two agree up to
that noise, and exactly once the untrained rows of fastText's table are zero).

Everything here is numpy: queries for unseen words import no numba.
"""
from __future__ import annotations

import numpy as np

from .errors import WordvecError

#: fastText's defaults.
MINN, MAXN, BUCKET = 3, 6, 2_000_000
#: The word fastText writes at every line end; it has no n-grams.
SENTENCE_END_WORD = "</s>"
_FNV_OFFSET, _FNV_PRIME = 2166136261, 16777619
#: Words whose n-grams are hashed at once (bounds the temporary arrays).
_WORDS_PER_BLOCK = 65_536


def fasttext_hash(data: bytes) -> int:
    """fastText's 32-bit FNV-1a of ``data``: each byte xored in as a signed char."""
    h = _FNV_OFFSET
    for byte in data:
        h = ((h ^ (byte | 0xFFFFFF00 if byte >= 0x80 else byte)) * _FNV_PRIME) & 0xFFFFFFFF
    return h


def ngrams(word: str, minn: int = MINN, maxn: int = MAXN) -> list[str]:
    """The character n-grams of ``<word>``, in fastText's order (by start, then length)."""
    if word == SENTENCE_END_WORD or maxn < 1:
        return []
    marked = f"<{word}>"
    found = []
    for start in range(len(marked)):
        for n in range(1, maxn + 1):
            stop = start + n
            if stop > len(marked):
                break
            if n >= minn and not (n == 1 and (start == 0 or stop == len(marked))):
                found.append(marked[start:stop])
    return found


def check_settings(minn: int, maxn: int, bucket: int) -> None:
    """n-gram lengths and the bucket count must make sense together."""
    for name, value, least in (("minn", minn, 1), ("maxn", maxn, 1), ("bucket", bucket, 1)):
        if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < least:
            raise WordvecError(f"{name} must be a whole number of at least {least}, not {value!r}")
    if minn > maxn:
        raise WordvecError(f"minn ({minn}) must not be above maxn ({maxn})")
    if bucket >= 2**31:
        raise WordvecError(f"bucket must be below 2**31 (fastText's files store it as int32), not {bucket:,}")


def ngram_buckets(words: list[str], minn: int, maxn: int, bucket: int) -> tuple[np.ndarray, np.ndarray]:
    """The buckets of every word's n-grams as flat arrays: word ``i``'s are
    ``buckets[offsets[i]:offsets[i + 1]]``, in the order of :func:`ngrams`.
    Vectorised over blocks of words: one numpy pass per byte of the longest n-gram."""
    offsets, parts = [np.zeros(1, np.int64)], []
    for first in range(0, len(words), _WORDS_PER_BLOCK):
        block_offsets, block_buckets = _block_buckets(words[first:first + _WORDS_PER_BLOCK], minn, maxn, bucket)
        offsets.append(block_offsets[1:] + (offsets[-1][-1] if len(offsets[-1]) else 0))
        parts.append(block_buckets)
    return np.concatenate(offsets), (np.concatenate(parts) if parts else np.zeros(0, np.int64))


def _block_buckets(words: list[str], minn: int, maxn: int, bucket: int) -> tuple[np.ndarray, np.ndarray]:
    marked = [f"<{w}>" if w != SENTENCE_END_WORD else "" for w in words]
    data = np.frombuffer("".join(marked).encode("utf-8"), dtype=np.uint8)
    # Character starts (bytes that do not continue a character), and one past the end.
    char_starts = np.append(np.flatnonzero((data & 0xC0) != 0x80), len(data))
    chars = np.fromiter(map(len, marked), dtype=np.int64, count=len(marked))
    word_end = np.repeat(np.cumsum(chars), chars)  # for each character: the index one past its word's last
    char_index = np.arange(len(char_starts) - 1)
    first_char = char_index == np.repeat(np.cumsum(chars) - chars, chars)
    lengths = np.arange(minn, min(maxn, int(chars.max(initial=0))) + 1)  # none longer than the longest word
    stop = char_index[:, None] + lengths[None, :]  # (characters, lengths): (start, n) in fastText's order
    valid = stop <= word_end[:, None]
    if minn == 1:  # a one-character n-gram may not be a mark alone
        valid[:, 0] &= ~first_char & (stop[:, 0] != word_end)
    starts = np.broadcast_to(char_index[:, None], stop.shape)[valid]
    stop = stop[valid]
    byte_start, byte_stop = char_starts[starts], char_starts[stop]
    signed = data.view(np.int8).astype(np.int32).view(np.uint32)  # fastText's signed-char quirk
    h = np.full(len(byte_start), _FNV_OFFSET, dtype=np.uint32)
    for k in range(int((byte_stop - byte_start).max(initial=0))):
        inside = np.flatnonzero(byte_start + k < byte_stop)
        h[inside] = (h[inside] ^ signed[byte_start[inside] + k]) * np.uint32(_FNV_PRIME)
    per_word = np.bincount(np.repeat(np.arange(len(words)), chars)[starts], minlength=len(words))
    offsets = np.concatenate([[0], np.cumsum(per_word)]).astype(np.int64)
    return offsets, (h % np.uint32(bucket)).astype(np.int64)


class Subwords:
    """The n-gram half of a subword model: settings, the buckets kept and their vectors.

    ``buckets`` is sorted; ``vectors[k]`` is the vector of bucket ``buckets[k]``.
    A bucket not in ``buckets`` was never trained and has no vector.
    """

    def __init__(self, minn: int, maxn: int, bucket: int, buckets: np.ndarray, vectors: np.ndarray):
        check_settings(minn, maxn, bucket)
        buckets = np.asarray(buckets)
        if buckets.ndim != 1 or vectors.ndim != 2 or len(buckets) != len(vectors):
            raise WordvecError(f"{len(buckets)} n-gram buckets but n-gram vectors of shape {np.shape(vectors)}")
        if len(buckets) and (buckets[0] < 0 or buckets[-1] >= bucket or np.any(np.diff(buckets) <= 0)):
            raise WordvecError(f"the n-gram buckets must rise strictly within 0..{bucket - 1}")
        self.minn, self.maxn, self.bucket = int(minn), int(maxn), int(bucket)
        self.buckets = buckets
        self.vectors = vectors

    @property
    def settings(self) -> dict:
        return {"minn": self.minn, "maxn": self.maxn, "bucket": self.bucket}

    def rows(self, words: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """``(offsets, rows)``: word ``i``'s n-grams are the rows ``rows[offsets[i]:offsets[i + 1]]``
        of :attr:`vectors`, −1 where the bucket has no vector."""
        offsets, buckets = ngram_buckets(words, self.minn, self.maxn, self.bucket)
        if not len(self.buckets):
            return offsets, np.full(len(buckets), -1, dtype=np.int64)
        found = np.minimum(np.searchsorted(self.buckets, buckets), len(self.buckets) - 1)
        return offsets, np.where(self.buckets[found] == buckets, found, -1)

    def word_vectors(self, words: list[str]) -> np.ndarray:
        """Vectors of words from their n-grams alone (words outside the vocabulary):
        the sum of the n-grams' vectors (none for untrained buckets) over the number of n-grams."""
        offsets, rows = self.rows(words)
        sums = self._ngram_sums(offsets, rows)
        return sums / np.maximum(np.diff(offsets), 1)[:, None].astype(np.float32)

    def _ngram_sums(self, offsets: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """Σ of the trained n-gram vectors of every word (float32), as one sparse
        (words x n-gram rows) matrix product: no copy of the gathered rows."""
        from scipy.sparse import csr_matrix

        trained = rows >= 0
        indptr = np.concatenate([[0], np.cumsum(trained)])[offsets]  # trained n-grams before each word's
        counts = csr_matrix((np.ones(int(trained.sum()), np.float32), rows[trained], indptr),
                            shape=(len(offsets) - 1, len(self.vectors)))
        return np.asarray(counts @ self.vectors, dtype=np.float32)

    def has_ngrams(self, word: str) -> bool:
        """Whether ``word`` has an n-gram with a trained vector: one kept, and not all
        zeros (a ``.bin`` that wordvec wrote holds zeros in the buckets it did not keep)."""
        return bool(np.any(self.word_vectors([word])))

    def compose(self, words: list[str], own_rows: np.ndarray) -> np.ndarray:
        """The vocabulary's word vectors: each the mean of the word's own row and its n-grams' rows."""
        return _mean_rows(words, self, own_rows, inverse=False)

    def own_rows(self, words: list[str], vectors: np.ndarray) -> np.ndarray:
        """The inverse of :meth:`compose`: a word's own row is ``(1 + N) v − Σ n-gram rows``
        for its vector ``v`` and its ``N`` n-grams (to float32 precision)."""
        return _mean_rows(words, self, vectors, inverse=True)


def _mean_rows(words, subwords: Subwords, given: np.ndarray, inverse: bool) -> np.ndarray:
    """:meth:`Subwords.compose` and its inverse, a block of words at a time."""
    result = np.empty((len(words), given.shape[1]), dtype=np.float32)
    for first in range(0, len(words), _WORDS_PER_BLOCK):
        block = words[first:first + _WORDS_PER_BLOCK]
        offsets, rows = subwords.rows(block)
        sums = subwords._ngram_sums(offsets, rows)
        own = np.asarray(given[first:first + len(block)], dtype=np.float32)
        size = (1 + np.diff(offsets))[:, None].astype(np.float32)
        result[first:first + len(block)] = (size * own - sums) if inverse else (own + sums) / size
    return result


def mean_of_rows(row_starts: np.ndarray, row_ids: np.ndarray, W_in: np.ndarray) -> np.ndarray:
    """Word ``w``'s vector, the mean of ``W_in[row_ids[row_starts[w]:row_starts[w + 1]]]``,
    for every word of :func:`training_rows`'s table at once (one sparse matrix
    product: the n-grams are not hashed again)."""
    from scipy.sparse import csr_matrix

    sizes = np.diff(row_starts)
    weights = np.repeat((1.0 / np.maximum(sizes, 1)).astype(np.float32), sizes)
    means = csr_matrix((weights, row_ids, row_starts), shape=(len(sizes), len(W_in)))
    return np.asarray(means @ W_in, dtype=np.float32)


def training_rows(words: list[str], minn: int, maxn: int, bucket: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The input rows of every vocabulary word for training: ``(row_starts, row_ids, buckets)``.

    ``W_in`` has one row per word (rows ``0..V−1``) and then one per bucket that
    some word's n-gram falls in (``buckets``, sorted: row ``V + k`` for ``buckets[k]``).
    Word ``i``'s rows are ``row_ids[row_starts[i]:row_starts[i + 1]]``: ``i`` itself,
    then its n-grams' rows in the order of :func:`ngrams` (repeats kept, as fastText).
    """
    check_settings(minn, maxn, bucket)
    offsets, found = ngram_buckets(words, minn, maxn, bucket)
    used = np.unique(found)
    counts = np.diff(offsets) + 1
    row_starts = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    row_ids = np.empty(row_starts[-1], dtype=np.int32)
    row_ids[row_starts[:-1]] = np.arange(len(words))
    ngram_slots = np.ones(row_starts[-1], dtype=bool)
    ngram_slots[row_starts[:-1]] = False
    row_ids[ngram_slots] = len(words) + np.searchsorted(used, found)
    return row_starts, row_ids, used


def most_repeated_row(row_starts: np.ndarray, row_ids: np.ndarray) -> tuple[int, int]:
    """``(word, times)``: the word whose rows repeat one row the most, and how many
    times that row occurs among its rows (1 when no word repeats a row)."""
    words = np.repeat(np.arange(len(row_starts) - 1, dtype=np.int64), np.diff(row_starts))
    keys = np.sort(words << 32 | row_ids.astype(np.int64))
    starts = np.concatenate([[0], np.flatnonzero(np.diff(keys)) + 1])
    runs = np.diff(np.concatenate([starts, [len(keys)]]))
    longest = int(runs.argmax())
    return int(keys[starts[longest]] >> 32), int(runs[longest])
