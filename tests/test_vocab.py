"""Vocabulary: filtering and order, subsampling formula, the Huffman tree."""
from collections import Counter

import numpy as np
import pytest

from wordvec.vocab import Vocabulary, alias_table, huffman_tree


def test_min_count_and_max_size_keep_the_most_frequent_words_in_a_fixed_order():
    counts = Counter({"b": 5, "a": 5, "c": 9, "d": 2, "e": 5})
    vocab = Vocabulary.from_counts(counts, min_count=3)
    assert vocab.words == ["c", "a", "b", "e"]  # by count, ties by the word
    assert vocab.counts.tolist() == [9, 5, 5, 5]
    assert Vocabulary.from_counts(counts, min_count=3, max_size=2).words == ["c", "a"]
    assert vocab.total == 24


def test_keep_probability_follows_word2vecs_formula():
    vocab = Vocabulary(["x", "y", "z"], [9000, 900, 100])
    sample = 1e-2
    keep = vocab.keep_probabilities(sample)
    f = np.array([0.9, 0.09, 0.01])
    expected = np.minimum((np.sqrt(f / sample) + 1) * sample / f, 1)
    np.testing.assert_allclose(keep, expected, rtol=1e-6)
    assert vocab.keep_probabilities(0).tolist() == [1, 1, 1]


def test_alias_table_reproduces_the_distribution_exactly():
    p = np.array([0.5, 0.2, 0.15, 0.1, 0.05])
    keep, alias = alias_table(p)
    n = len(p)
    rebuilt = keep / n  # probability that column i yields i ...
    for column in range(n):
        rebuilt[alias[column]] += (1 - keep[column]) / n  # ... plus what it hands its alias
    np.testing.assert_allclose(rebuilt, p, atol=1e-7)


def test_huffman_codes_are_prefix_free_and_frequent_words_are_shallow():
    counts = np.array([40, 30, 10, 8, 6, 3, 2, 1])
    points, codes, lengths = huffman_tree(counts)
    words = ["".join(map(str, codes[i, : lengths[i]])) for i in range(len(counts))]
    for a in words:
        for b in words:
            assert a == b or not b.startswith(a)
    assert sum(2.0 ** -length for length in lengths) == pytest.approx(1.0)  # a full binary tree
    assert list(lengths) == sorted(lengths)
    assert set(points[0, : lengths[0]]) <= set(range(len(counts) - 1))
    assert (points[:, 0][lengths > 0] == len(counts) - 2).all()  # every path starts at the root


def test_training_memory_grows_with_vocabulary_and_dimension():
    vocab = Vocabulary([f"w{i}" for i in range(1000)], np.arange(1000, 0, -1))
    small = vocab.training_memory(dim=50)
    assert vocab.training_memory(dim=100) > small
    assert small >= 2 * 1000 * 50 * 4

