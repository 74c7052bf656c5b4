"""Property-based fuzzing: random and mutated bytes into the tokenizer and every
loader.  The only allowed outcomes are a valid result or WordvecError.

The normal suite runs a bounded number of examples; for a long run:

    WORDVEC_FUZZ_EXAMPLES=20000 python3 -m pytest tests/test_fuzz.py
"""
import os

import numpy as np
from hypothesis import HealthCheck, given, settings, strategies as st

import wordvec
from wordvec import KeyedVectors, WordvecError
from wordvec.io import read_vectors
from wordvec.subwords import Subwords
from wordvec.tokenize import Tokenizer, _pieces_of_stream

EXAMPLES = int(os.environ.get("WORDVEC_FUZZ_EXAMPLES", "60"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
WORDS = ["the", "king", "königin", "x"]
SEEDS = {}


def _valid_files(folder):
    """A small valid file of every format, written once per folder."""
    if folder not in SEEDS:
        kv = KeyedVectors(WORDS, np.arange(len(WORDS) * 3, dtype=np.float32).reshape(-1, 3) / 7)
        paths = {}
        for name in ["v.wordvec", "v.bin", "v.txt"]:
            kv.save(folder / name)
            paths[name] = (folder / name).read_bytes()
        paths["glove.txt"] = b"the 0.1 0.2\nking 0.3 0.4\n"
        ngrams = Subwords(2, 4, 50, np.array([3, 7, 20, 41]), np.arange(12, dtype=np.float32).reshape(4, 3))
        subword_kv = KeyedVectors(WORDS, kv.vectors, subwords=ngrams)
        for name in ["sw.wordvec", "ft.bin"]:
            subword_kv.save(folder / name)  # a native subword model and a fastText .bin
            paths[name] = (folder / name).read_bytes()
        SEEDS[folder] = paths
    return SEEDS[folder]


def _load_any(path, format=None):
    try:
        found = read_vectors(path, format)
        if found.subwords is not None:  # an unseen word's n-grams, looked up in the file's table
            unseen = KeyedVectors(found.words, found.vectors, subwords=found.subwords)["qwertyuiop"]
            assert unseen.shape == (found.vectors.shape[1],)
    except WordvecError:
        return
    assert len(found.words) == len(found.vectors) and found.vectors.dtype == np.float32 and found.vectors.ndim == 2


@FUZZ
@given(st.binary(max_size=3000), st.booleans(), st.booleans())
def test_the_tokenizer_takes_any_bytes(data, lowercase, whitespace):
    tokenizer = Tokenizer(lowercase=lowercase, whitespace=whitespace)
    import io

    for piece, _ in _pieces_of_stream(io.BytesIO(data), "fuzz"):
        assert all(isinstance(token, str) and token for token in tokenizer.tokens(piece))


@FUZZ
@given(data=st.binary(max_size=2000), format=st.sampled_from([None, "native", "word2vec-bin", "word2vec-txt", "glove",
                                                                  "fasttext-bin"]))
def test_loaders_take_random_bytes(tmp_path, data, format):
    path = tmp_path / "random.vec"
    path.write_bytes(data)
    _load_any(path, format)


@FUZZ
@given(name=st.sampled_from(["v.wordvec", "v.bin", "v.txt", "glove.txt", "sw.wordvec", "ft.bin"]), edits=st.lists(
    st.tuples(st.sampled_from(["flip", "insert", "delete", "cut"]), st.integers(0, 10**6), st.integers(0, 255)),
    min_size=1, max_size=4))
def test_loaders_take_mutated_files(tmp_path, name, edits):
    data = bytearray(_valid_files(tmp_path)[name])
    for kind, place, byte in edits:
        if not data:
            break
        place %= len(data)
        if kind == "flip":
            data[place] = byte
        elif kind == "insert":
            data.insert(place, byte)
        elif kind == "delete":
            del data[place]
        else:
            del data[place:]
    path = tmp_path / f"mutated-{name}"
    path.write_bytes(bytes(data))
    _load_any(path)
    try:
        model = wordvec.load(path)
    except WordvecError:
        return
    assert len(model.words) == len(model.vectors)


_KEY = st.one_of(st.text(max_size=5), st.integers(-5, 5), st.none(), st.floats(), st.booleans(),
                 st.builds(np.array, st.lists(st.floats(-2, 2), min_size=1, max_size=3)))
_HAND = KeyedVectors(["king", "queen", "man"], np.array([[1, 0], [0, 1], [1, 1]], np.float32))


@FUZZ
@given(st.one_of(_KEY, st.lists(_KEY, max_size=3)), st.lists(_KEY, max_size=2), st.integers(-2, 5))
def test_queries_take_any_keys(positive, negative, topn):
    """Words, row numbers, vectors, or anything else: an answer or WordvecError."""
    for ask in (lambda: _HAND[positive], lambda: _HAND.most_similar(positive, negative, topn=topn),
                lambda: _HAND.doesnt_match(positive if isinstance(positive, list) else [positive])):
        try:
            ask()
        except WordvecError:
            pass


_TOKEN = st.one_of(st.text(max_size=6), st.integers(), st.none(), st.binary(max_size=3),
                   st.lists(st.text(max_size=2), max_size=2))


@FUZZ
@given(st.lists(st.one_of(st.lists(_TOKEN, max_size=6), st.text(max_size=8), st.integers(), st.none()), max_size=6))
def test_sentences_in_memory_take_anything(sentences):
    """Token lists become words as the tokenizer writes them, or WordvecError."""
    from wordvec.corpus import scan

    try:
        words = list(scan(iter(sentences)).word_counts())
    except WordvecError:
        return
    assert all(type(word) is str and word and not any(ch.isspace() for ch in word) for word in words)
