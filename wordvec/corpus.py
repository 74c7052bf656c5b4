"""Corpus encoding: sentences of words to one flat int32 array of word ids.

The encoded corpus is ``ids``: word ids in corpus order with ``-1`` after every
sentence; words outside the vocabulary are dropped (as word2vec does).  It is
built from one streaming pass over the text (:func:`scan`), which numbers the
words as it first sees them, counts them, and spills those numbers to a
temporary file in batches of 65,536 tokens, so that reading holds the word
table and one batch, never the corpus.  Once the vocabulary is chosen,
:func:`encode` renumbers the spilled numbers into one array (in RAM, or a
memory-mapped ``.npy`` file whose pages the trainer releases as it goes, so
that the process holds only the ids being read).  Reading once means standard
input and generators of sentences need no second pass.
"""
from __future__ import annotations

import mmap
import os
import tempfile
from dataclasses import dataclass
from typing import BinaryIO, Iterable, Iterator

import numpy as np

from .errors import WordvecError
from .tokenize import Tokenizer
from .vocab import Vocabulary

SENTENCE_END = -1
_OUT_OF_VOCABULARY = -2
_END_TOKEN = "\n"  # never a token: tokens hold no white space
_ENCODE_BATCH = 1 << 16


def sentences_of(source, tokenizer: Tokenizer | None = None) -> Iterator[list[str]]:
    """The sentences of ``source``: a path (file, folder, ``-`` for stdin) or a
    list of paths, read by ``tokenizer``; or an iterable of token lists, as is."""
    if isinstance(source, (str, os.PathLike)) or (
        isinstance(source, (list, tuple)) and source and isinstance(source[0], (str, os.PathLike))
    ):
        return (tokenizer or Tokenizer()).sentences(source)
    return iter(source)


@dataclass
class ScannedCorpus:
    """What one pass over the text gives: every distinct word (numbered in
    first-seen order, 0 being the sentence end) with its count, and the whole
    text as those numbers (int32) in a temporary file, ready to be renumbered."""

    index: dict[str, int]
    counts: np.ndarray
    spill: BinaryIO

    @property
    def sentences(self) -> int:
        return int(self.counts[0])

    @property
    def tokens(self) -> int:
        return int(self.counts[1:].sum())

    def word_counts(self) -> dict[str, int]:
        words = iter(self.index)
        next(words)  # the sentence end
        return dict(zip(words, self.counts[1:].tolist()))


def scan(sentences: Iterable[list[str]]) -> ScannedCorpus:
    """One streaming pass: number every distinct word in first-seen order, count
    it, and keep the text as those numbers (4 bytes a token, never the text).

    Python handles batches of :data:`_ENCODE_BATCH` tokens, not words: the new
    words of a batch are found by a set difference and the numbers looked up by
    ``map``, both loops in C.
    """
    id_of = {_END_TOKEN: 0}
    counts = np.zeros(1, dtype=np.int64)
    spill = tempfile.TemporaryFile(prefix="wordvec-ids-")
    batch: list[str] = []

    def flush():
        nonlocal counts
        new = set(batch).difference(id_of)
        id_of.update(zip(sorted(new), range(len(id_of), len(id_of) + len(new))))
        ids = np.fromiter(map(id_of.__getitem__, batch), dtype=np.int32, count=len(batch))
        grown = np.bincount(ids, minlength=len(id_of))
        grown[: len(counts)] += counts
        counts = grown
        try:
            spill.write(ids.tobytes())
        except OSError as error:
            raise WordvecError(f"cannot spill the encoded corpus to a temporary file: {error.strerror}") from None
        batch.clear()

    for sentence in sentences:
        batch.extend(sentence)
        batch.append(_END_TOKEN)
        if len(batch) >= _ENCODE_BATCH:
            flush()
    if batch:
        flush()
    return ScannedCorpus(id_of, counts, spill)


@dataclass
class EncodedCorpus:
    """Word ids with ``-1`` closing each sentence, and how many tokens the text had."""

    ids: np.ndarray
    tokens: int

    @property
    def words(self) -> int:
        """Number of in-vocabulary words (ids that are not sentence ends)."""
        return int(len(self.ids) - np.count_nonzero(self.ids == SENTENCE_END))

    def release(self, start: int, stop: int) -> None:
        """Let the operating system drop ``ids[start:stop]`` from this process's
        memory when the ids are memory-mapped (they stay in the file and come
        back on the next read); nothing to do for ids held in RAM."""
        mapping = getattr(self.ids, "_mmap", None)
        if mapping is None or stop <= start:
            return
        base = self.ids.offset % mmap.ALLOCATIONGRANULARITY  # where ids[0] sits in the mapping
        first = (base + 4 * start) // mmap.PAGESIZE * mmap.PAGESIZE
        mapping.madvise(mmap.MADV_DONTNEED, first, base + 4 * stop - first)

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


def encode(scanned: ScannedCorpus, vocab: Vocabulary, path: str | os.PathLike | None = None) -> EncodedCorpus:
    """Renumber the scanned text to vocabulary ids, dropping words outside the
    vocabulary, and close the spill file.

    With ``path`` the ids go to a memory-mapped ``.npy`` file instead of RAM,
    and each written piece is released from the process's memory at once.
    """
    size = vocab.total + scanned.sentences
    if path is None:
        ids = np.empty(size, dtype=np.int32)
    else:
        ids = np.lib.format.open_memmap(os.fspath(path), mode="w+", dtype=np.int32, shape=(size,))
    renumber = np.full(len(scanned.index), _OUT_OF_VOCABULARY, dtype=np.int32)
    renumber[0] = SENTENCE_END
    try:
        renumber[[scanned.index[word] for word in vocab.words]] = np.arange(len(vocab), dtype=np.int32)
    except KeyError as missing:
        raise WordvecError(f"the vocabulary has the word {missing} that the corpus lacks") from None
    result = EncodedCorpus(ids, scanned.tokens)
    filled = 0
    scanned.spill.seek(0)
    with scanned.spill:
        while len(chunk := np.frombuffer(scanned.spill.read(4 * _ENCODE_BATCH), dtype=np.int32)):
            encoded = renumber[chunk]
            encoded = encoded[encoded != _OUT_OF_VOCABULARY]
            if filled + len(encoded) > size:
                break
            ids[filled: filled + len(encoded)] = encoded
            result.release(filled, filled + len(encoded))
            filled += len(encoded)
    if filled != size:
        raise WordvecError(f"the vocabulary does not fit this corpus ({filled} ids for {size})")
    return result
