"""Queries against hand-computed answers, and against gensim on the same vectors."""
import numpy as np
import pytest

from wordvec import KeyedVectors, UnknownWordError, WordvecError

#         x    y    z
HAND = {"king": [1, 1, 0], "queen": [1, -1, 0], "man": [0, 1, 0], "woman": [0, -1, 0],
        "apple": [0, 0, 1], "pear": [0, 0.1, 2]}


@pytest.fixture
def hand():
    return KeyedVectors(list(HAND), np.array(list(HAND.values()), dtype=np.float32))


def test_similarity_and_neighbours_by_hand(hand):
    assert hand.similarity("king", "queen") == pytest.approx(0.0, abs=1e-7)
    assert hand.similarity("king", "man") == pytest.approx(1 / np.sqrt(2))
    top = hand.most_similar("king", topn=2)
    assert top == [("man", pytest.approx(1 / np.sqrt(2))), ("pear", pytest.approx(0.1 / np.sqrt(2 * 4.01)))]
    assert "king" not in [w for w, _ in hand.most_similar("king", topn=10)]  # the query is left out
    assert len(hand.most_similar("king", topn=10)) == 5
    # man + apple = (0, 1, 1)/√2 direction: pear (0, .1, 2) has cosine 2.1 / (√2 · √4.01)
    assert hand.most_similar(["man", "apple"], topn=1)[0] == ("pear", pytest.approx(2.1 / np.sqrt(2 * 4.01)))
    # restrict_vocab: only king, queen, man are candidates; pear·man = 0.1, pear·king = 0.1, pear·queen = −0.1
    assert [w for w, _ in hand.most_similar("pear", topn=5, restrict_vocab=3)] == ["man", "king", "queen"]
    assert hand.similar_by_vector(np.array([0, -2, 0]), topn=1)[0] == ("woman", pytest.approx(1.0))
    with pytest.raises(WordvecError, match="a query vector holds NaN or infinity"):
        hand.similar_by_vector(np.array([0, np.nan, 1]))


def test_analogies_by_hand(hand):
    # man : king :: woman : ?  ->  unit vectors: (1/√2, 1/√2, 0) − (0, 1, 0) + (0, −1, 0), closest to queen
    query = np.array([1 / np.sqrt(2), 1 / np.sqrt(2) - 2, 0])
    assert hand.analogy("man", "king", "woman")[0] == ("queen", pytest.approx(2 / np.sqrt(2) / np.linalg.norm(query)))
    assert hand.most_similar(["king", "woman"], ["man"], topn=1)[0][0] == "queen"
    best = hand.analogy("man", "king", "woman", method="3cosmul")[0]
    # cos'(queen, king) = (0+1)/2, cos'(queen, woman) = (1/√2+1)/2, cos'(queen, man) = (−1/√2+1)/2
    expected = 0.5 * (1 / np.sqrt(2) + 1) / 2 / ((1 - 1 / np.sqrt(2)) / 2 + 1e-6)
    assert best == ("queen", pytest.approx(expected, rel=1e-5))
    with pytest.raises(WordvecError, match="unknown analogy method"):
        hand.analogy("man", "king", "woman", method="3cosmax")


def test_topn_and_restrict_vocab_out_of_range_are_clear_errors(hand, monkeypatch):
    assert hand.most_similar("king", topn=0) == [] and hand.analogy("man", "king", "woman", topn=0) == []
    assert hand.most_similar_batch(["king", "queen"], topn=0) == [[], []]
    for topn in (-1, 2.5, True, None):
        with pytest.raises(WordvecError, match=f"topn must be a whole number, 0 or more, not {topn!r}"):
            hand.most_similar("king", topn=topn)
    for restrict in (0, -3, 1.5):
        with pytest.raises(WordvecError, match=f"restrict_vocab must be a whole number of at least 1, not {restrict}"):
            hand.most_similar("king", restrict_vocab=restrict)
        with pytest.raises(WordvecError, match="restrict_vocab must be"):
            hand.analogy("man", "king", "woman", restrict_vocab=restrict)
    # a bad topn is refused before any word is scored (a scan of every vector)
    monkeypatch.setattr(hand, "cosines", lambda *args, **kwargs: pytest.fail("scored before checking topn"))
    for ask in (lambda: hand.most_similar("king", topn=-1), lambda: hand.analogy("man", "king", "woman", topn=-1)):
        with pytest.raises(WordvecError, match="topn must be a whole number"):
            ask()


def test_doesnt_match_rank_and_lookup(hand):
    assert hand.doesnt_match(["king", "man", "apple"]) == "apple"
    assert hand.rank("king", "man") == 1
    assert hand.rank("king", "apple") == 3  # man and pear are closer; queen ties with apple at 0
    np.testing.assert_array_equal(hand["queen"], [1, -1, 0])
    np.testing.assert_array_equal(hand[["man", "apple"]], [[0, 1, 0], [0, 0, 1]])
    assert "king" in hand and "kong" not in hand and len(hand) == 6 and hand.words[0] == "king"


def test_row_numbers_and_vectors_stand_for_words_as_in_gensim(hand):
    np.testing.assert_array_equal(hand[1], [1, -1, 0])
    np.testing.assert_array_equal(hand[np.int64(-1)], hand["pear"])  # counted from the end, as a list
    np.testing.assert_array_equal(hand[[2, "apple"]], [[0, 1, 0], [0, 0, 1]])
    assert hand.id(3) == 3 and hand.has_vector(5) and not hand.has_vector(6)
    # most_similar(0) is king's query, king left out; a vector is a query of its own, nothing left out
    assert hand.most_similar(0, topn=1) == hand.most_similar("king", topn=1)
    assert hand.most_similar(positive=[np.array([0, 3, 0.0]), "apple"], topn=1)[0] == \
        ("pear", pytest.approx(2.1 / np.sqrt(2 * 4.01)))
    assert hand.most_similar(np.array([2, 2, 0.0]), topn=1)[0] == ("king", pytest.approx(1.0))
    for row in (6, -7):
        with pytest.raises(WordvecError, match=f"row {row} is outside the vocabulary's 6 rows"):
            hand[row]
    for key in (True, 2.0, None):
        with pytest.raises(WordvecError, match=f"by its text or its row number, not {key!r}"):
            hand[key]
        with pytest.raises(WordvecError, match=f"by its text or its row number, not {key!r}"):
            hand.most_similar(key)
    with pytest.raises(WordvecError, match=r"3 finite numbers; this one has shape \(2,\)$"):
        hand.most_similar(np.array([1.0, 2.0]))
    with pytest.raises(WordvecError, match="shape \\(3,\\) and holds NaN or infinity"):
        hand.most_similar(["king", np.array([1.0, np.inf, 0])])


def test_unknown_words_name_close_spellings(hand):
    with pytest.raises(UnknownWordError, match="'kingg' is not in the vocabulary; did you mean king") as error:
        hand.most_similar("kingg")
    assert error.value.suggestions == ["king"]
    with pytest.raises(UnknownWordError, match="'zzz' is not in the vocabulary$"):
        hand.similarity("zzz", "king")
    with pytest.raises(KeyError):  # it is also a KeyError, as dict users expect
        hand["zzz"]


def test_zero_vectors_and_duplicates():
    kv = KeyedVectors(["a", "b", "c"], np.array([[1, 0], [0, 0], [1, 1]], np.float32))
    assert [w for w, _ in kv.most_similar("a", topn=2)] == ["c", "b"]  # zero vector: cosine 0, no NaN
    for positive, negative in (("b", ()), (["a", "c"], ["c", "a"])):  # a query of zeros ranks nothing
        with pytest.raises(WordvecError, match="the query is the zero vector"):
            kv.most_similar(positive, negative)
    assert KeyedVectors([], np.zeros((0, 2), np.float32)).similar_by_vector(np.ones(2)) == []  # no candidates
    twice = KeyedVectors(["a", "b", "a"], np.zeros((3, 2), np.float32))
    with pytest.raises(WordvecError, match="'a' appears more than once"):
        "b" in twice  # the index is built on first need, and checked then


@pytest.fixture
def random_pair():
    from gensim.models import KeyedVectors as GensimVectors

    rng = np.random.default_rng(11)
    words = [f"w{i}" for i in range(3000)]
    matrix = rng.standard_normal((3000, 32)).astype(np.float32)
    theirs = GensimVectors(vector_size=32)
    theirs.add_vectors(words, matrix)
    return KeyedVectors(words, matrix), theirs


def test_neighbours_and_analogies_equal_gensims(random_pair):
    ours, theirs = random_pair
    for positive, negative in [(["w5"], []), (["w1", "w2"], ["w3"]), (["w10", "w20", "w30"], ["w40", "w50"])]:
        expected = theirs.most_similar(positive=positive, negative=negative, topn=10)
        got = ours.most_similar(positive, negative, topn=10)
        assert [w for w, _ in got] == [w for w, _ in expected]
        np.testing.assert_allclose([s for _, s in got], [s for _, s in expected], rtol=1e-5)
    restricted = theirs.most_similar(positive=["w7"], topn=5, restrict_vocab=500)
    assert [w for w, _ in ours.most_similar("w7", topn=5, restrict_vocab=500)] == [w for w, _ in restricted]
    assert ours.doesnt_match(["w1", "w2", "w3", "w4"]) == theirs.doesnt_match(["w1", "w2", "w3", "w4"])
    assert ours.rank("w1", "w2") == theirs.rank("w1", "w2")
    for a, b, c in [("w1", "w2", "w3"), ("w100", "w7", "w2000"), ("w5", "w6", "w5")]:
        cosmul = theirs.most_similar_cosmul(positive=[b, c], negative=[a], topn=20)
        got = ours.analogy(a, b, c, topn=20, method="3cosmul")
        assert [w for w, _ in got] == [w for w, _ in cosmul]
        np.testing.assert_allclose([s for _, s in got], [s for _, s in cosmul], rtol=1e-5)  # value by value


def test_a_batch_of_queries_equals_the_queries_one_by_one(random_pair):
    ours, _ = random_pair
    words = [f"w{i}" for i in range(0, 3000, 37)]
    batch = ours.most_similar_batch(words, topn=7)
    for word, result in zip(words, batch):
        single = ours.most_similar(word, topn=7)
        assert [w for w, _ in result] == [w for w, _ in single]
        np.testing.assert_allclose([s for _, s in result], [s for _, s in single], rtol=1e-5)


@pytest.mark.parametrize("width", [5, 300, 4096, 100_037])
def test_top_columns_equal_a_full_sort(width):
    from wordvec.keyedvectors import top_columns

    rng = np.random.default_rng(width)
    scores = rng.standard_normal((6, width)).astype(np.float32)
    scores[0, : width // 2] = -np.inf  # excluded words
    scores[1] = np.round(scores[1], 1)  # many ties
    scores[2, -1] = 99.0  # the best score in the last, partial group of columns
    for k in [1, 3, 10]:
        got = top_columns(scores, k)
        expected = np.argsort(-scores, axis=1, kind="stable")[:, :k]
        np.testing.assert_array_equal(np.take_along_axis(scores, got, 1), np.take_along_axis(scores, expected, 1))
    assert top_columns(scores, 1)[2, 0] == width - 1
