"""Corpus encoding: sentences of words to one flat int32 array of word ids.

The encoded corpus is ``ids``: word ids in corpus order with ``-1`` after every
sentence; words outside the vocabulary are dropped (as word2vec does).  It is
built in two streaming passes over the text, one to count and one to encode, in
batches of about a million tokens; its size is known after the first pass, so
the array is allocated once (in memory, or as a memory-mapped ``.npy`` file).
"""
from __future__ import annotations

import os
import shutil
import sys
import tempfile
from collections import Counter
from dataclasses import dataclass
from typing import Iterable, Iterator

import numpy as np

from .errors import WordvecError
from .tokenize import Tokenizer, corpus_files
from .vocab import Vocabulary

SENTENCE_END = -1
_OUT_OF_VOCABULARY = -2
_END_TOKEN = "\n"  # never a token: tokens hold no white space
_ENCODE_BATCH = 1 << 16


class Corpus:
    """Something that can be read more than once as sentences (lists of str)."""

    def __init__(self, source, tokenizer: Tokenizer | None = None):
        self.tokenizer = tokenizer or Tokenizer()
        self._spool = None
        if isinstance(source, (str, os.PathLike)) or (
            isinstance(source, (list, tuple)) and source and isinstance(source[0], (str, os.PathLike))
        ):
            files = corpus_files(source)
            if "-" in files:
                source = self._spool_stdin()
            self._source = source
            self._sentences = None
        else:
            if iter(source) is source:
                raise WordvecError("sentences must be re-iterable (a list, not a generator): wordvec reads them twice")
            self._source = None
            self._sentences = source

    def _spool_stdin(self) -> str:
        """Standard input can be read once only: keep a copy for the second pass."""
        handle = tempfile.NamedTemporaryFile(prefix="wordvec-stdin-", suffix=".txt", delete=False)
        with handle:
            shutil.copyfileobj(sys.stdin.buffer, handle, 1 << 20)
        self._spool = handle.name
        return handle.name

    def sentences(self) -> Iterator[list[str]]:
        if self._sentences is not None:
            return iter(self._sentences)
        return self.tokenizer.sentences(self._source)

    def close(self):
        if self._spool is not None:
            os.unlink(self._spool)
            self._spool = None


@dataclass
class CorpusCounts:
    """What the counting pass learns: word counts, tokens and sentences read."""

    counts: Counter
    tokens: int
    sentences: int


def count_words(sentences: Iterable[list[str]]) -> CorpusCounts:
    """One streaming pass: count every word; memory grows with the vocabulary."""
    counts: Counter = Counter()
    tokens = n_sentences = 0
    for sentence in sentences:
        counts.update(sentence)
        tokens += len(sentence)
        n_sentences += 1
    return CorpusCounts(counts, tokens, n_sentences)


class _Lookup(dict):
    """word → id; any word not in the vocabulary maps to ``_OUT_OF_VOCABULARY``."""

    def __missing__(self, word):
        return _OUT_OF_VOCABULARY


@dataclass
class EncodedCorpus:
    """Word ids with ``-1`` closing each sentence, and how many tokens the text had."""

    ids: np.ndarray
    tokens: int

    @property
    def words(self) -> int:
        """Number of in-vocabulary words (ids that are not sentence ends)."""
        return int(len(self.ids) - np.count_nonzero(self.ids == SENTENCE_END))

    def chunks(self, min_words: int) -> list[tuple[int, int, int]]:
        """Cut the ids at sentence ends into ``(start, stop, words)`` pieces of at
        least ``min_words`` words each (the last may be smaller)."""
        ends = np.flatnonzero(self.ids == SENTENCE_END) + 1
        if len(ends) == 0 or ends[-1] != len(self.ids):
            ends = np.append(ends, len(self.ids))
        words_before = ends - np.arange(1, len(ends) + 1)  # words up to each end
        words_before[-1] = self.words
        pieces = []
        start, start_words = 0, 0
        target = min_words
        for stop, words in zip(ends.tolist(), words_before.tolist()):
            if words >= target or stop == len(self.ids):
                pieces.append((start, stop, words - start_words))
                start, start_words = stop, words
                target = words + min_words
        return [p for p in pieces if p[1] > p[0]]


def encode(sentences: Iterable[list[str]], vocab: Vocabulary, counts: CorpusCounts,
           path: str | os.PathLike | None = None) -> EncodedCorpus:
    """Second pass: map words to ids in batches, dropping unknown words.

    With ``path`` the ids go to a memory-mapped ``.npy`` file instead of memory.
    """
    size = vocab.total + counts.sentences
    if path is None:
        ids = np.empty(size, dtype=np.int32)
    else:
        ids = np.lib.format.open_memmap(os.fspath(path), mode="w+", dtype=np.int32, shape=(size,))
    lookup = _Lookup(vocab.index)
    lookup[_END_TOKEN] = SENTENCE_END
    filled = 0
    batch: list[str] = []

    def flush():
        nonlocal filled
        encoded = np.fromiter(map(lookup.__getitem__, batch), dtype=np.int32, count=len(batch))
        encoded = encoded[encoded != _OUT_OF_VOCABULARY]
        if filled + len(encoded) > size:
            raise WordvecError("the corpus changed while it was being read")
        ids[filled: filled + len(encoded)] = encoded
        filled += len(encoded)
        batch.clear()

    for sentence in sentences:
        batch.extend(sentence)
        batch.append(_END_TOKEN)
        if len(batch) >= _ENCODE_BATCH:
            flush()
    flush()
    if filled != size:
        raise WordvecError("the corpus changed while it was being read")
    return EncodedCorpus(ids, counts.tokens)
