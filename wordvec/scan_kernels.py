"""The numba kernel that numbers the words of text as it streams by.

Input is UTF-8 text whose words are separated by spaces and whose sentences
end with ``\\n`` (what :meth:`wordvec.tokenize.Tokenizer.word_bytes` gives).
Each word is looked up in a hash table (FNV-1a over its bytes, open
addressing, then the bytes compared with the word's copy in an arena) and
numbered in first-seen order, starting at 1; 0 is the sentence end.  Python
never makes a string per token: only one per distinct word, at the end.
"""
import numpy as np
from numba import njit

_FNV_OFFSET = np.uint64(0xCBF29CE484222325)
_FNV_PRIME = np.uint64(0x100000001B3)
SPACE, NEWLINE = 32, 10


class WordTable:
    """Distinct words as bytes in an arena, and the hash table that finds them.

    Word ``i`` (from 1) is ``arena[starts[i]:starts[i] + lengths[i]]``.  The
    table has at least twice as many slots as words, so probes stay short; the
    arrays grow (doubling) before a batch that could overfill them.
    """

    def __init__(self):
        self.slots = np.zeros(1 << 16, dtype=np.int32)  # word number, 0 for an empty slot
        self.slot_hashes = np.zeros(1 << 16, dtype=np.uint64)  # its hash, read without touching the word
        self.hashes = np.zeros(1 << 15, dtype=np.uint64)
        self.starts = np.zeros(1 << 15, dtype=np.int64)
        self.lengths = np.zeros(1 << 15, dtype=np.int32)
        self.arena = np.zeros(1 << 20, dtype=np.uint8)
        #: ``[words, arena bytes used, tokens in the open sentence, words capped]``
        self.state = np.array([0, 0, 0, 0], dtype=np.int64)

    @property
    def words(self) -> int:
        return int(self.state[0])

    def make_room(self, text_bytes: int) -> None:
        """Grow so that a batch of ``text_bytes`` bytes (at most one new word per two bytes) fits."""
        words = self.words + text_bytes // 2 + 2
        while len(self.hashes) < words:
            self.hashes, self.starts, self.lengths = (np.concatenate((a, np.zeros_like(a)))
                                                      for a in (self.hashes, self.starts, self.lengths))
        if len(self.slots) < 2 * words:
            size = len(self.slots)
            while size < 2 * words:
                size *= 2
            self.slots = np.zeros(size, dtype=np.int32)
            self.slot_hashes = np.zeros(size, dtype=np.uint64)
            _rehash(self.slots, self.slot_hashes, self.hashes, self.words)
        while len(self.arena) < self.state[1] + text_bytes:
            self.arena = np.concatenate((self.arena, np.zeros_like(self.arena)))

    def number(self, text: np.ndarray, keep_lines: bool, max_sentence: int, max_chars: int) -> np.ndarray:
        """The numbers of the words of ``text`` (uint8), 0 at each sentence end."""
        self.make_room(len(text))
        # Every number comes from at least one byte (a word, or the \n that ends a
        # line), and a long sentence's cuts add one in max_sentence.
        out = np.empty(len(text) + len(text) // max(max_sentence, 1) + 1, dtype=np.int32)
        used = number_words(text, keep_lines, max_sentence, max_chars, self.slots, self.slot_hashes, self.hashes,
                            self.starts, self.lengths, self.arena, self.state, out)
        return out[:used]

    def word_list(self) -> list[str]:
        """Every word, in number order (word 1 first)."""
        arena = self.arena[: self.state[1]].tobytes()
        return [arena[start:start + length].decode("utf-8")
                for start, length in zip(self.starts[1:self.words + 1].tolist(),
                                         self.lengths[1:self.words + 1].tolist())]


@njit(cache=True, nogil=True)
def _rehash(slots, slot_hashes, hashes, words):
    mask = np.uint64(len(slots) - 1)
    for word in range(1, words + 1):
        slot = hashes[word] & mask
        while slots[slot] != 0:
            slot = (slot + np.uint64(1)) & mask
        slots[slot], slot_hashes[slot] = word, hashes[word]


@njit(cache=True, nogil=True)
def number_words(text, keep_lines, max_sentence, max_chars, slots, slot_hashes, hashes, starts, lengths, arena, state,
                 out):
    """Number the words of ``text`` into ``out``; returns how many numbers were written.

    A word is a run of bytes other than space and ``\\n``, cut to its first
    ``max_chars`` characters (a UTF-8 character starts at every byte that is not
    ``10xxxxxx``; ``state[3]`` counts the words cut).  ``\\n`` writes 0, except
    that without ``keep_lines`` an empty sentence writes nothing; without
    ``keep_lines`` a sentence also ends (a 0) before its ``max_sentence + 1``-th word.
    The caller made room for every word of ``text`` being new (:meth:`WordTable.make_room`).
    """
    mask = np.uint64(len(slots) - 1)
    words, used_bytes, sentence, capped = state[0], state[1], state[2], state[3]
    written = 0
    i, n = 0, len(text)
    while i < n:
        byte = text[i]
        if byte == NEWLINE:
            if keep_lines or sentence > 0:
                out[written] = 0
                written += 1
            sentence = 0
            i += 1
            continue
        if byte == SPACE:
            i += 1
            continue
        start, end, characters, h = i, i, 0, _FNV_OFFSET
        while i < n and text[i] != SPACE and text[i] != NEWLINE:
            if (text[i] & 0xC0) != 0x80:
                characters += 1
            if characters <= max_chars:
                h = (h ^ np.uint64(text[i])) * _FNV_PRIME
                end = i + 1
            i += 1
        capped += characters > max_chars
        length = end - start
        slot = h & mask
        while True:
            word = slots[slot]
            if word == 0:  # a new word
                words += 1
                slots[slot], slot_hashes[slot] = words, h
                hashes[words], starts[words], lengths[words] = h, used_bytes, length
                arena[used_bytes:used_bytes + length] = text[start:end]
                used_bytes += length
                word = words
                break
            if slot_hashes[slot] == h and lengths[word] == length and _same_bytes(arena, starts[word], text, start,
                                                                                  length):
                break
            slot = (slot + np.uint64(1)) & mask
        if not keep_lines and sentence == max_sentence:
            out[written] = 0
            written += 1
            sentence = 0
        out[written] = word
        written += 1
        sentence += 1
    state[0], state[1], state[2], state[3] = words, used_bytes, sentence, capped
    return written


@njit(cache=True, nogil=True, inline="always")
def _same_bytes(arena, arena_start, text, text_start, length):
    for k in range(length):
        if arena[arena_start + k] != text[text_start + k]:
            return False
    return True
