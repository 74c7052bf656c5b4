"""The streaming tokenizer and the corpus encoding."""
import bz2
import gzip
import io
import sys

import numpy as np
import pytest

from wordvec import tokenize
from wordvec.corpus import Corpus, count_words, encode
from wordvec.errors import WordvecError
from wordvec.tokenize import Tokenizer
from wordvec.vocab import Vocabulary


def test_words_are_letters_and_digits_joined_by_inner_apostrophes():
    text = "Don't STOP: rock'n'roll, 'quoted' café_au_lait 42 — Zürich\u2019s naïve"
    assert Tokenizer().tokens(text) == [
        "don't", "stop", "rock'n'roll", "quoted", "café", "au", "lait", "42", "zürich", "s", "naïve"]
    assert Tokenizer(lowercase=False).tokens("Hello World") == ["Hello", "World"]
    assert Tokenizer(whitespace=True).tokens("a-b  c,d\te") == ["a-b", "c,d", "e"]


def test_ascii_fast_path_agrees_with_the_pattern():
    text = "The Quick, brown fox (jumps) over 3 lazy dogs; don't panic!\tTabs_and_underscores"
    for lowercase in (True, False):
        tokenizer = Tokenizer(lowercase=lowercase)
        assert tokenizer.tokens(text.encode()) == tokenizer.tokens(text)
        assert tokenizer.tokens("plain ascii line".encode()) == tokenizer.tokens("plain ascii line")


def test_lines_are_sentences_and_long_lines_are_cut_without_losing_tokens(tmp_path):
    path = tmp_path / "corpus.txt"
    long_line = " ".join(f"w{i}" for i in range(25_003))
    path.write_text("first line here\r\nsecond\n\n" + long_line + "\nlast", encoding="utf-8")
    sentences = list(Tokenizer().sentences(path))
    assert sentences[0] == ["first", "line", "here"]
    assert sentences[1] == ["second"]
    assert [len(s) for s in sentences[2:5]] == [10_000, 10_000, 5_003]
    assert sum(sentences[2:5], []) == long_line.split()
    assert sentences[5] == ["last"]


def test_a_line_longer_than_a_block_streams_in_pieces(tmp_path, monkeypatch):
    monkeypatch.setattr(tokenize, "BLOCK_BYTES", 64)
    words = [f"word{i}" for i in range(500)]
    path = tmp_path / "one_line.txt"
    path.write_text(" ".join(words), encoding="utf-8")
    pieces = list(tokenize.read_pieces(path))
    assert len(pieces) > 10 and max(len(p) for p, _ in pieces) <= 2 * 64
    assert sum(Tokenizer().sentences(path), []) == words


def test_compressed_files_folders_and_stdin(tmp_path, monkeypatch):
    (tmp_path / "folder").mkdir()
    with gzip.open(tmp_path / "folder" / "a.txt.gz", "wt") as f:
        f.write("alpha beta\n")
    with bz2.open(tmp_path / "folder" / "b.txt.bz2", "wt") as f:
        f.write("gamma\n")
    (tmp_path / "folder" / ".hidden").write_text("never read")
    assert list(Tokenizer().sentences(tmp_path / "folder")) == [["alpha", "beta"], ["gamma"]]
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"from stdin\n")))
    corpus = Corpus("-")
    assert list(corpus.sentences()) == [["from", "stdin"]]
    assert list(corpus.sentences()) == [["from", "stdin"]]  # read twice: spooled
    corpus.close()


def test_missing_and_empty_sources_give_clear_errors(tmp_path):
    with pytest.raises(WordvecError, match="no such file"):
        list(Tokenizer().sentences(tmp_path / "missing.txt"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(WordvecError, match="holds no files"):
        list(Tokenizer().sentences(tmp_path / "empty"))
    with pytest.raises(WordvecError, match="re-iterable"):
        Corpus(iter([["a"]]))


def test_encoding_drops_unknown_words_and_marks_sentence_ends():
    sentences = [["a", "b", "rare", "a"], ["rare"], ["b", "c"]]
    counted = count_words(sentences)
    assert counted.tokens == 7 and counted.sentences == 3
    vocab = Vocabulary.from_counts(counted.counts, min_count=1, max_size=3)
    assert vocab.words == ["a", "b", "rare"]
    vocab = Vocabulary(["a", "b"], [2, 2])
    encoded = encode(sentences, vocab, counted)
    assert encoded.ids.tolist() == [0, 1, 0, -1, -1, 1, -1]
    assert encoded.words == 4 and encoded.tokens == 7


def test_chunks_cover_the_corpus_at_sentence_ends():
    sentences = [["a"] * 7, ["b"] * 3, ["a"] * 12, ["b"] * 1]
    counted = count_words(sentences)
    encoded = encode(sentences, Vocabulary.from_counts(counted.counts, min_count=1), counted)
    chunks = encoded.chunks(min_words=8)
    assert chunks[0][0] == 0 and chunks[-1][1] == len(encoded.ids)
    for (_, stop, _), (start, _, _) in zip(chunks, chunks[1:]):
        assert stop == start and encoded.ids[stop - 1] == -1
    assert [words for _, _, words in chunks] == [10, 12, 1]  # the last one may be smaller
    assert sum(w for *_, w in chunks) == encoded.words


def test_encoded_ids_can_live_in_a_memory_mapped_file(tmp_path):
    sentences = [["a", "b"], ["b"]]
    counted = count_words(sentences)
    encoded = encode(sentences, Vocabulary.from_counts(counted.counts, min_count=1), counted, path=tmp_path / "ids.npy")
    assert isinstance(encoded.ids, np.memmap)
    assert np.load(tmp_path / "ids.npy").tolist() == [1, 0, -1, 0, -1]
