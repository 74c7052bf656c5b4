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

import hashlib
import mmap
import os
import tempfile
from dataclasses import dataclass
from typing import BinaryIO, Collection, Iterable, Iterator

import numpy as np

from .checks import WHITE_SPACE, is_word
from .errors import WordvecError
from .tokenize import MAX_SENTENCE_TOKENS, MAX_WORD_CHARS, Tokenizer
from .vocab import Vocabulary

SENTENCE_END = -1
_OUT_OF_VOCABULARY = -2
_END_TOKEN = "\n"  # never a token: tokens hold no white space
_ENCODE_BATCH = 1 << 16
#: Bytes of text numbered per call of the numba kernel.
_TEXT_BATCH = 1 << 20
#: Words in one chunk of training work (a chunk ends at a sentence end).
CHUNK_WORDS = 16_384


def is_text_source(source) -> bool:
    """Whether ``source`` names text to read (a path, ``-``, a list of paths)
    rather than being an iterable of token lists."""
    return isinstance(source, (str, os.PathLike)) or (
        isinstance(source, (list, tuple)) and bool(source) and isinstance(source[0], (str, os.PathLike)))


def scan_source(source, tokenizer: Tokenizer, dedup: bool = False) -> "ScannedCorpus":
    """:func:`scan_text` for text to read, :func:`scan` for sentences given as token lists."""
    if is_text_source(source):
        return scan_text(source, tokenizer, dedup=dedup)
    return scan(iter(source), dedup=dedup)


@dataclass
class ScannedCorpus:
    """What one pass over the text gives: every distinct word (numbered in
    first-seen order, 0 being the sentence end) with its count, and the whole
    text as those numbers (int32) in a temporary file, ready to be renumbered
    (``None`` when only the counts were asked for).
    ``duplicates`` says what de-duplication dropped (``None`` when it was off)."""

    index: dict[str, int]
    counts: np.ndarray
    spill: BinaryIO | None
    duplicates: dict | None = None

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

    def batches(self, size: int = _ENCODE_BATCH) -> Iterator[np.ndarray]:
        """The numbers of the text from the start, ``size`` at a time."""
        self.spill.seek(0)
        while len(batch := np.frombuffer(self.spill.read(4 * size), dtype=np.int32)):
            yield batch


def scan(sentences: Iterable[list[str]], dedup: bool = False) -> ScannedCorpus:
    """One streaming pass over ``sentences``: number every distinct word, count
    it, and keep the text as those numbers (4 bytes a token, never the text).
    With ``dedup``, a sentence whose words repeat an earlier sentence exactly is
    dropped (see :class:`SeenSentences`).

    Python handles batches of :data:`_ENCODE_BATCH` tokens, not words: the new
    words of a batch are found by a set difference and the numbers looked up by
    ``map``, both loops in C.  (Text read from files goes through the faster
    :func:`scan_text`.)
    """
    id_of = {_END_TOKEN: 0}
    numbers = NumberedText(dedup)
    batch: list[str] = []
    ends = 0

    def flush():
        try:
            new = set(batch).difference(id_of)
        except TypeError:  # an unhashable token, as a list when sentences are nested a level too deep
            new = batch
        check_tokens(new)
        id_of.update(zip(sorted(map(str, new)), range(len(id_of), len(id_of) + len(new))))
        ids = np.fromiter(map(id_of.__getitem__, batch), dtype=np.int32, count=len(batch))
        if np.count_nonzero(ids == 0) != ends:
            _check_token(_END_TOKEN)
        numbers.add(ids, len(id_of))
        batch.clear()

    for number, sentence in enumerate(sentences, 1):
        if isinstance(sentence, (str, bytes)) or not hasattr(sentence, "__iter__"):
            raise WordvecError(f"sentence {number} is of type {type(sentence).__name__}, not a list of tokens" + (
                ": split it first (line.split()), or give the path of the file to read"
                if isinstance(sentence, str) else ""))
        batch.extend(sentence)
        batch.append(_END_TOKEN)
        ends += 1
        if len(batch) >= _ENCODE_BATCH:
            flush()
            ends = 0
    if batch:
        flush()
    return numbers.finish(id_of)


def check_tokens(tokens: Collection) -> None:
    """Every token of sentences given as lists is a word as the tokenizer would
    write one: a non-empty string without white space (which would end it in
    every file format, and which ends sentences here).  One regex search over
    them all joined; only a failing batch is looked at token by token."""
    try:
        fine = "" not in tokens and not WHITE_SPACE.search("\0".join(tokens))
    except TypeError:  # a token that is not a string
        fine = False
    if not fine:
        for token in tokens:
            _check_token(token)


def _check_token(token) -> None:
    if not isinstance(token, str):
        raise WordvecError(f"the token {token!r} is of type {type(token).__name__}, not a string: "
                           "sentences are lists of strings")
    if not is_word(token):
        raise WordvecError(f"the token {token!r} is empty or holds white space: a word may hold neither "
                           "(write a phrase's words joined, new_york, as wordvec phrases does)")


def scan_text(source, tokenizer: Tokenizer, keep_lines: bool = False, dedup: bool = False) -> ScannedCorpus:
    """:func:`scan` of the text ``source`` names, read by ``tokenizer``, with the
    words numbered by a numba kernel (:mod:`wordvec.scan_kernels`) over
    batches of :data:`_TEXT_BATCH` bytes: no Python string per token.  The
    sentences are :meth:`Tokenizer.sentences`'; with ``keep_lines`` they are
    exactly the lines of the text instead, empty ones included and long ones
    whole, so that the text can be written back in its own layout."""
    return scan_word_bytes(tokenizer.word_bytes(source), tokenizer, keep_lines, dedup)


def scan_word_bytes(word_bytes: Iterable[bytes], tokenizer: Tokenizer, keep_lines: bool = False,
                    dedup: bool = False, keep_text: bool = True, keep_sentences: np.ndarray | None = None
                    ) -> ScannedCorpus:
    """:func:`scan_text` of text already read: the pieces of
    :meth:`Tokenizer.word_bytes` (or of :meth:`Tokenizer.word_bytes_of_bytes`);
    without ``keep_text`` only the words and their counts (nothing spilled);
    with ``keep_sentences`` (a flag a sentence) only the sentences it flags."""
    from .scan_kernels import WordTable  # imports numba

    table = WordTable()
    numbers = NumberedText(dedup, keep_text=keep_text, keep_sentences=keep_sentences)

    def flush(text: bytes):
        ids = table.number(np.frombuffer(text, dtype=np.uint8), keep_lines, MAX_SENTENCE_TOKENS, MAX_WORD_CHARS)
        numbers.add(ids, table.words + 1)

    batch: list[bytes] = []
    size = 0
    for words in word_bytes:
        batch.append(words)
        size += len(words)
        if size >= _TEXT_BATCH:
            flush(b"".join(batch))
            batch, size = [], 0
    flush(b"".join(batch))
    tokenizer.stats["capped"] += int(table.state[3])
    index = {_END_TOKEN: 0}
    index.update(zip(table.word_list(), range(1, table.words + 1)))
    return numbers.finish(index)


class NumberedText:
    """A numbered text being written, batch by batch: spilled to a temporary
    file and counted, its repeated sentences dropped with ``dedup``, or those
    that ``keep_sentences`` does not flag (a batch may end inside a sentence:
    those words wait for the rest of it)."""

    def __init__(self, dedup: bool = False, duplicates: dict | None = None, keep_text: bool = True,
                 keep_sentences: np.ndarray | None = None):
        self.spill = tempfile.TemporaryFile(prefix="wordvec-ids-") if keep_text else None
        self.counts = np.zeros(1, dtype=np.int64)
        #: What drops repeated sentences: found here, or flagged elsewhere (a cluster's driver).
        self.repeats = SeenSentences() if dedup else None
        if keep_sentences is not None:
            self.repeats = FlaggedSentences(keep_sentences)
        self.duplicates = duplicates
        self.open_sentence = np.empty(0, dtype=np.int32)

    def add(self, ids: np.ndarray, words: int) -> None:
        """Append ``ids``, numbers below ``words``."""
        if self.repeats is not None:
            ids = np.concatenate((self.open_sentence, ids))
            complete = int(np.flatnonzero(ids == 0)[-1]) + 1 if np.any(ids == 0) else 0
            ids, self.open_sentence = self.repeats.drop_repeats(ids[:complete]), ids[complete:]
        grown = np.bincount(ids, minlength=words)
        grown[: len(self.counts)] += self.counts
        self.counts = grown
        if self.spill is None:
            return
        try:
            self.spill.write(np.ascontiguousarray(ids, dtype=np.int32).tobytes())
        except OSError as error:
            raise WordvecError(f"cannot spill the encoded corpus to a temporary file: {error.strerror}") from None

    def finish(self, index: dict[str, int]) -> "ScannedCorpus":
        """The text, its words being ``index``."""
        if len(self.open_sentence):  # a text that does not end with a sentence end
            self.add(np.zeros(1, dtype=np.int32), len(index))
        duplicates = self.repeats.report() if self.repeats is not None else self.duplicates
        return ScannedCorpus(index, self.counts, self.spill, duplicates)


class _SentenceFilter:
    """Drops whole sentences from batches of word numbers and counts what it dropped."""

    def __init__(self):
        self.dropped_sentences = 0
        self.dropped_tokens = 0

    def _keep(self, ids: np.ndarray, starts: np.ndarray, keep: np.ndarray) -> np.ndarray:
        """``ids`` without the sentences (starting at ``starts``) that ``keep`` does not flag."""
        lengths = np.diff(np.concatenate((starts, [len(ids)])))
        self.dropped_sentences += int(np.count_nonzero(~keep))
        self.dropped_tokens += int(lengths[~keep].sum() - np.count_nonzero(~keep))  # not the sentence ends
        return ids[np.repeat(keep, lengths)]


class SeenSentences(_SentenceFilter):
    """Exact de-duplication of sentences in bounded memory: 8 bytes a distinct sentence.

    A sentence ``t_0 … t_{n−1}`` (its words' keys, the last one the sentence
    end's) is known by the 64-bit hash ``Σ_k mix(key(t_k) + k · φ)`` (mod 2^64),
    where ``mix`` is splitmix64's finaliser and ``φ = 0x9E3779B97F4A7C15``: the
    position ``k`` makes the sum depend on the order, the closing sentence end
    on the length.  A word's key is its number in this text, or, where texts
    numbered apart must agree, a hash of its letters (:func:`word_keys`).  Two
    different sentences share a hash with probability about 2^−64.  The hashes
    seen are kept in sorted numpy arrays (a large one and a recent one merged
    into it when it grows), so a batch of sentences is checked and added
    without a Python loop.
    """

    def __init__(self):
        super().__init__()
        self.known = np.empty(0, dtype=np.uint64)
        self.recent = np.empty(0, dtype=np.uint64)

    @staticmethod
    def hashes(ids: np.ndarray, keys: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """``(hash of each sentence, its start)`` for ``ids`` that end with a sentence end
        (0); word ``t``'s key is ``keys[t]`` when given, else ``t``."""
        ends = np.flatnonzero(ids == 0)
        if not len(ends):  # no sentence: a text of blank lines
            return np.empty(0, dtype=np.uint64), np.empty(0, dtype=np.int64)
        starts = np.concatenate(([0], ends[:-1] + 1))
        position = np.arange(len(ids)) - np.repeat(starts, ends - starts + 1)
        with np.errstate(over="ignore"):
            key = ids.astype(np.uint64) if keys is None else keys[ids]
            z = key + position.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15)
            z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
            z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
            z ^= z >> np.uint64(31)
            return np.add.reduceat(z, starts), starts

    def drop_repeats(self, ids: np.ndarray) -> np.ndarray:
        """``ids`` (whole sentences) without the sentences seen before, in this batch or an earlier one."""
        hashes, starts = self.hashes(ids)
        unique, first = np.unique(hashes, return_index=True)
        fresh = ~(_in_sorted(self.known, unique) | _in_sorted(self.recent, unique))
        keep = np.zeros(len(hashes), dtype=bool)
        keep[first[fresh]] = True
        self.recent = np.union1d(self.recent, unique[fresh])
        if len(self.recent) > max(len(self.known) // 4, 1 << 16):
            self.known, self.recent = np.union1d(self.known, self.recent), self.recent[:0]
        return self._keep(ids, starts, keep)

    def report(self) -> dict:
        return {"sentences_dropped": self.dropped_sentences, "tokens_dropped": self.dropped_tokens,
                "distinct_sentences": len(self.known) + len(self.recent),
                "memory_bytes": 8 * (len(self.known) + len(self.recent))}


class FlaggedSentences(_SentenceFilter):
    """Keeps the sentences that ``keep`` flags, in the order they come: the repeats
    were found elsewhere (a cluster's driver, from every block's
    :func:`sentence_hashes`)."""

    def __init__(self, keep: np.ndarray):
        super().__init__()
        self.flags, self.done = np.asarray(keep, dtype=bool), 0

    def drop_repeats(self, ids: np.ndarray) -> np.ndarray:
        """``ids`` (whole sentences) without the next sentences not flagged."""
        starts = np.concatenate(([0], np.flatnonzero(ids == 0)[:-1] + 1)) if len(ids) else np.empty(0, np.int64)
        keep = self.flags[self.done:self.done + len(starts)]
        if len(keep) != len(starts):
            raise WordvecError("the text has more sentences than when its repeats were found: it changed meanwhile")
        self.done += len(starts)
        return self._keep(ids, starts, keep)

    def report(self) -> dict:
        return {"sentences_dropped": self.dropped_sentences, "tokens_dropped": self.dropped_tokens}


def word_keys(words: Iterable[str]) -> np.ndarray:
    """Each word's 64-bit key from its letters alone (BLAKE2b), the same in every
    process: :meth:`SeenSentences.hashes` of texts numbered apart then agree."""
    return np.array([int.from_bytes(hashlib.blake2b(word.encode("utf-8"), digest_size=8).digest(), "little")
                     for word in words], dtype=np.uint64)


def sentence_hashes(scanned: ScannedCorpus) -> tuple[np.ndarray, np.ndarray]:
    """``(hash, tokens)`` of each sentence of a scanned text, its words known by their
    letters (:func:`word_keys`), so that texts scanned apart (a cluster's blocks) agree."""
    ids = np.concatenate([*scanned.batches(), np.empty(0, np.int32)])
    hashes, starts = SeenSentences.hashes(ids, word_keys(scanned.index))
    return hashes, np.diff(np.concatenate((starts, [len(ids)]))) - 1


def _in_sorted(sorted_values: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Which of ``values`` are in the sorted array ``sorted_values``."""
    if len(sorted_values) == 0:
        return np.zeros(len(values), dtype=bool)
    where = np.minimum(np.searchsorted(sorted_values, values), len(sorted_values) - 1)
    return sorted_values[where] == values


@dataclass
class EncodedCorpus:
    """Word ids with ``-1`` closing each sentence, how many tokens the text had,
    how many in-vocabulary words the ids hold, and the chunks the ids are cut
    into (found while encoding, so nothing ever scans the whole array)."""

    ids: np.ndarray
    tokens: int
    words: int
    #: ``(start, stop, words)``: pieces cut at sentence ends, each at least
    #: ``chunk_words`` words but the last.
    chunks: list[tuple[int, int, int]]

    def release(self, start: int, stop: int) -> None:
        """:func:`release_pages` of ``ids[start:stop]``."""
        release_pages(self.ids, start, stop)


def release_pages(ids: np.ndarray, start: int, stop: int) -> None:
    """Let the operating system drop ``ids[start:stop]`` from this process's memory
    when ``ids`` is memory-mapped (they stay in the file and its page cache, and
    come back on the next read); nothing to do for ids held in RAM."""
    mapping = getattr(ids, "_mmap", None)
    if mapping is None or stop <= start:
        return
    base = ids.offset % mmap.ALLOCATIONGRANULARITY  # where ids[0] sits in the mapping
    first = (base + 4 * start) // mmap.PAGESIZE * mmap.PAGESIZE
    mapping.madvise(mmap.MADV_DONTNEED, first, base + 4 * stop - first)


class _Chunker:
    """Cuts a stream of encoded batches into pieces of at least ``chunk_words``
    words, each ending at a sentence end; holds one batch at a time."""

    def __init__(self, chunk_words: int):
        self.chunk_words = chunk_words
        self.pieces: list[tuple[int, int, int]] = []
        self.words = 0  # words before the current batch
        self.start, self.start_words = 0, 0  # where the open piece began

    def add(self, batch: np.ndarray, offset: int) -> None:
        """Take ``batch``, the ids from position ``offset`` on."""
        ends = np.flatnonzero(batch == SENTENCE_END)
        words_at_end = self.words + ends + 1 - np.arange(1, len(ends) + 1)  # words up to each end
        target = self.start_words + self.chunk_words
        while len(ends) and (i := int(np.searchsorted(words_at_end, target))) < len(ends):
            stop, words = offset + int(ends[i]) + 1, int(words_at_end[i])
            self.pieces.append((self.start, stop, words - self.start_words))
            self.start, self.start_words = stop, words
            target = words + self.chunk_words
        self.words += len(batch) - len(ends)

    def finish(self, size: int) -> list[tuple[int, int, int]]:
        if size > self.start:
            self.pieces.append((self.start, size, self.words - self.start_words))
        return self.pieces


def encode(scanned: ScannedCorpus, vocab: Vocabulary, path: str | os.PathLike | None = None,
           chunk_words: int = CHUNK_WORDS) -> EncodedCorpus:
    """Renumber the scanned text to vocabulary ids, dropping words outside the
    vocabulary (the text may lack some vocabulary words: a block of a larger
    corpus), cut the ids into pieces of at least ``chunk_words`` words at
    sentence ends, and close the spill file.

    With ``path`` the ids go to a memory-mapped ``.npy`` file instead of RAM,
    and each written piece is released from the process's memory at once.
    Memory beyond the ids is one batch and the list of pieces.
    """
    # Scan numbers of the vocabulary words, -1 where this text lacks one (a block of a larger corpus may).
    scan_rows = np.fromiter((scanned.index.get(word, -1) for word in vocab.words), dtype=np.int64,
                            count=len(vocab))
    in_text = scan_rows >= 0
    size = int(scanned.counts[scan_rows[in_text]].sum()) + scanned.sentences
    if path is None:
        ids = np.empty(size, dtype=np.int32)
    else:
        ids = np.lib.format.open_memmap(os.fspath(path), mode="w+", dtype=np.int32, shape=(size,))
    renumber = np.full(len(scanned.index), _OUT_OF_VOCABULARY, dtype=np.int32)
    renumber[0] = SENTENCE_END
    renumber[scan_rows[in_text]] = np.flatnonzero(in_text).astype(np.int32)
    chunker = _Chunker(chunk_words)
    result = EncodedCorpus(ids, scanned.tokens, 0, [])
    filled = 0
    with scanned.spill:
        for chunk in scanned.batches():
            encoded = renumber[chunk]
            encoded = encoded[encoded != _OUT_OF_VOCABULARY]
            if filled + len(encoded) > size:
                break
            ids[filled: filled + len(encoded)] = encoded
            chunker.add(encoded, filled)
            filled += len(encoded)
            result.release(filled - len(encoded), filled)
    if filled != size:
        raise WordvecError(f"the vocabulary does not fit this corpus ({filled} ids for {size})")
    result.words, result.chunks = chunker.words, chunker.finish(size)
    return result
