"""numba kernels for :mod:`wordvec.phrases`: counting pairs, joining them, writing text.

Word numbers are int32 with 0 for the sentence end; the pair ``(a, b)`` is the
int64 key ``a · 2^32 + b``.  Pairs are counted in an open-addressing hash
table (linear probing, key 0 for an empty slot: no pair holds a sentence end).
"""
import numpy as np
from numba import njit

JIT = dict(cache=True, nogil=True)
_MIX = np.uint64(0x9E3779B97F4A7C15)


@njit(**JIT)
def _slot(key, mask):
    """Fibonacci hashing of a key to its first slot."""
    return (np.uint64(key) * _MIX >> np.uint64(20)) & mask


@njit(**JIT)
def count_pairs(ids, previous, keys, counts, used, limit):
    """Add the pairs ``(ids[i−1], ids[i])`` (``ids[−1]`` being ``previous``) to the
    table ``keys``/``counts``, which holds ``used`` pairs; a pair with a sentence
    end is skipped.  Stops before the table would hold more than ``limit``
    pairs; returns ``(ids consumed, pairs in the table)`` so that the caller can
    grow or prune the table and go on."""
    mask = np.uint64(len(keys) - 1)
    for i in range(len(ids)):
        a, b = previous if i == 0 else ids[i - 1], ids[i]
        if a == 0 or b == 0:
            continue
        key = (np.int64(a) << 32) | np.int64(b)
        slot = _slot(key, mask)
        while keys[slot] != 0 and keys[slot] != key:
            slot = (slot + np.uint64(1)) & mask
        if keys[slot] == 0:
            if used == limit:
                return i, used
            keys[slot] = key
            used += 1
        counts[slot] += 1
    return len(ids), used


@njit(**JIT)
def insert_pairs(pair_keys, pair_counts, keys, counts):
    """Put ``(pair_keys[i], pair_counts[i])`` into an empty table (to grow or prune it)."""
    mask = np.uint64(len(keys) - 1)
    for i in range(len(pair_keys)):
        slot = _slot(pair_keys[i], mask)
        while keys[slot] != 0:
            slot = (slot + np.uint64(1)) & mask
        keys[slot] = pair_keys[i]
        counts[slot] = pair_counts[i]


@njit(**JIT)
def join_pairs(ids, state, phrase_keys, phrase_ids, out):
    """Write ``ids`` to ``out`` with the phrases of the table ``phrase_keys`` →
    ``phrase_ids`` joined, left to right; returns how many ids were written.

    ``state = [held word or −1, joins]``: the last word is held until the next
    one says whether the two are a phrase; a word that was just joined to its
    left is not held, so it never joins to its right (word2phrase's rule).
    """
    mask = np.uint64(len(phrase_keys) - 1)
    held, joins = state[0], state[1]
    written = 0
    for i in range(len(ids)):
        word = ids[i]
        if held > 0 and word != 0:
            key = (np.int64(held) << 32) | np.int64(word)
            slot = _slot(key, mask)
            while phrase_keys[slot] != 0 and phrase_keys[slot] != key:
                slot = (slot + np.uint64(1)) & mask
            if phrase_keys[slot] == key:
                out[written] = phrase_ids[slot]
                written += 1
                joins += 1
                held = -1
                continue
        if held >= 0:
            out[written] = held
            written += 1
        held = word
    state[0], state[1] = held, joins
    return written


@njit(**JIT)
def text_bytes(ids, arena, starts, open_line, out):
    """The UTF-8 text of ``ids`` into ``out``: word ``w`` is
    ``arena[starts[w]:starts[w + 1]]``, words of a line are separated by one
    space, 0 ends a line.  ``open_line[0]`` says whether the line written last
    holds a word.  Returns the number of bytes written."""
    written = 0
    line_has_words = open_line[0]
    for i in range(len(ids)):
        word = ids[i]
        if word == 0:
            out[written] = 10
            written += 1
            line_has_words = False
            continue
        if line_has_words:
            out[written] = 32
            written += 1
        for k in range(starts[word], starts[word + 1]):
            out[written] = arena[k]
            written += 1
        line_has_words = True
    open_line[0] = line_has_words
    return written
