"""The streaming tokenizer and the corpus encoding."""
import bz2
import gzip
import io
import sys

import numpy as np
import pytest

from wordvec import corpus, tokenize
from wordvec.corpus import encode, scan, scan_text
from wordvec.errors import NotTextWarning, WordvecError
from wordvec.tokenize import Tokenizer
from wordvec.vocab import Vocabulary


def test_words_are_letters_and_digits_joined_by_inner_apostrophes_and_underscores():
    # Inner underscores join: the phrases wordvec writes (new_york) read back as one word.
    text = "Don't STOP: rock'n'roll, 'quoted' café_au_lait _lead trail_ 42 — Zürich\u2019s naïve"
    assert Tokenizer().tokens(text) == [
        "don't", "stop", "rock'n'roll", "quoted", "café_au_lait", "lead", "trail", "42", "zürich", "s", "naïve"]
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
    assert list(Tokenizer().sentences("-")) == [["from", "stdin"]]


def test_a_folder_skips_files_that_are_not_text_and_names_them(tmp_path):
    """A model, a picture or UTF-16 text in a corpus folder (a NUL byte in its first
    8 KiB, decompressed) is not read as words; a NUL further in is read as a separator."""
    folder = tmp_path / "folder"
    (folder / "sub").mkdir(parents=True)
    (folder / "a.txt").write_text("alpha beta\n")
    (folder / "sub" / "model.wordvec").write_bytes(b"PK\x03\x04\x00\x00 words inside a zip\n")
    (folder / "utf16.txt").write_bytes("gamma\n".encode("utf-16"))
    with gzip.open(folder / "b.bin.gz", "wb") as f:
        f.write(b"\x89PNG\x00 delta\n")
    (folder / "late.txt").write_bytes(b"epsilon " * 1100 + b"\x00zeta\n")  # the NUL at byte 8,800
    with pytest.warns(NotTextWarning, match=r"skipped 3 of its 5 files, which are not UTF-8 text .*: "
                                            r"b\.bin\.gz, sub/model\.wordvec, utf16\.txt$"):
        sentences = list(Tokenizer().sentences(folder))
    assert sentences == [["alpha", "beta"], ["epsilon"] * 1100 + ["zeta"]]
    (folder / "a.txt").unlink()
    (folder / "late.txt").unlink()
    with pytest.warns(NotTextWarning), pytest.raises(WordvecError, match="holds no text files"):
        list(Tokenizer().sentences(folder))
    assert list(Tokenizer().sentences(folder / "utf16.txt"))  # a file named on its own is read as it is


def test_missing_and_empty_sources_give_clear_errors(tmp_path):
    with pytest.raises(WordvecError, match="no such file"):
        list(Tokenizer().sentences(tmp_path / "missing.txt"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(WordvecError, match="holds no files"):
        list(Tokenizer().sentences(tmp_path / "empty"))


def test_one_pass_counts_words_and_encoding_drops_unknown_ones(monkeypatch):
    monkeypatch.setattr(corpus, "_ENCODE_BATCH", 3)  # several batches
    sentences = [["a", "b", "rare", "a"], ["rare"], ["b", "c"]]
    scanned = scan(iter(sentences))  # a generator is enough: one pass
    assert scanned.tokens == 7 and scanned.sentences == 3
    assert scanned.word_counts() == {"a": 2, "b": 2, "rare": 2, "c": 1}
    vocab = Vocabulary.from_counts(scanned.word_counts(), min_count=1, max_size=3)
    assert vocab.words == ["a", "b", "rare"]
    encoded = encode(scanned, Vocabulary(["b", "a"], [2, 2]))
    assert encoded.ids.tolist() == [1, 0, 1, -1, -1, 0, -1]
    assert encoded.words == 4 and encoded.tokens == 7


@pytest.mark.parametrize("batch", [3, 5, 1 << 16])
def test_chunks_cover_the_corpus_at_sentence_ends(monkeypatch, batch):
    monkeypatch.setattr(corpus, "_ENCODE_BATCH", batch)  # chunks found across batch boundaries
    scanned = scan([["a"] * 7, ["b"] * 3, ["a"] * 12, ["b"] * 1])
    encoded = encode(scanned, Vocabulary.from_counts(scanned.word_counts(), min_count=1), chunk_words=8)
    chunks = encoded.chunks
    assert chunks[0][0] == 0 and chunks[-1][1] == len(encoded.ids)
    for (_, stop, _), (start, _, _) in zip(chunks, chunks[1:]):
        assert stop == start and encoded.ids[stop - 1] == -1
    assert [words for _, _, words in chunks] == [10, 12, 1]  # the last one may be smaller
    assert sum(w for *_, w in chunks) == encoded.words == 23


def test_chunks_equal_a_direct_cut_of_random_sentences(monkeypatch):
    monkeypatch.setattr(corpus, "_ENCODE_BATCH", 97)
    rng = np.random.default_rng(0)
    sentences = [[f"w{i}" for i in rng.integers(0, 50, rng.integers(1, 40))] for _ in range(300)]
    scanned = scan(sentences)
    vocab = Vocabulary.from_counts(scanned.word_counts(), min_count=1, max_size=30)  # some words dropped
    encoded = encode(scanned, vocab, chunk_words=64)
    ids = encoded.ids
    expected, start, words, target = [], 0, 0, 64
    for position, word in enumerate(ids.tolist()):
        if word == -1 and words >= target:
            expected.append((start, position + 1, words - (target - 64)))
            start, target = position + 1, words + 64
        words += word != -1
    expected.append((start, len(ids), words - (target - 64)))
    assert encoded.chunks == expected and encoded.words == int(np.sum(ids != -1))


def test_encoded_ids_can_live_in_a_memory_mapped_file(tmp_path):
    scanned = scan([["a", "b"], ["b"]])
    encoded = encode(scanned, Vocabulary.from_counts(scanned.word_counts(), min_count=1), path=tmp_path / "ids.npy")
    assert isinstance(encoded.ids, np.memmap)
    assert np.load(tmp_path / "ids.npy").tolist() == [1, 0, -1, 0, -1]


TRICKY = ("The Café, café and CAFE\u0301! don't stop_here\n\n   \n" + "word " * 12_345 + "\n"
          + "short " + "y" * 1_001 + "\n" + "נמסתה צה״ל नमस्ते " + "x" * 1_500 + " " + "é" * 1_200 + " tail\r\nlast line without end")


def _words_of(scanned):
    """The text of a scan as words, sentence ends as None."""
    words = list(scanned.index)
    ids = np.concatenate(list(scanned.batches()))
    return [None if i == 0 else words[i] for i in ids.tolist()]


@pytest.mark.parametrize("text_batch", [1 << 20, 37])
def test_numbering_text_in_numba_equals_numbering_its_sentences(tmp_path, monkeypatch, text_batch):
    monkeypatch.setattr(corpus, "_TEXT_BATCH", text_batch)
    path = tmp_path / "tricky.txt"
    path.write_text(TRICKY, encoding="utf-8")
    by_sentences = Tokenizer()
    expected = scan(by_sentences.sentences(path))
    by_text = Tokenizer()
    scanned = scan_text(path, by_text)
    assert scanned.word_counts() == expected.word_counts()
    assert _words_of(scanned) == _words_of(expected)
    assert by_text.stats == by_sentences.stats == {"replaced": 0, "capped": 3}  # y, x and é words
    assert "y" * 1_000 in scanned.index and "é" * 1_000 in scanned.index
    lines = _words_of(scan_text(path, Tokenizer(), keep_lines=True))
    assert lines.count(None) == 7 and lines[7:10] == [None, None, None]  # every line ends, empty ones too
    assert lines[10:10 + 12_345] == ["word"] * 12_345 and lines[10 + 12_345] is None  # one line, not cut


def test_dedup_over_batches_that_cut_sentences(tmp_path, monkeypatch):
    monkeypatch.setattr(corpus, "_TEXT_BATCH", 5)
    path = tmp_path / "repeats.txt"
    path.write_text("a b c\nd e\na b c\na b c d\nd e\n", encoding="utf-8")
    scanned = scan_text(path, Tokenizer(), dedup=True)
    assert scanned.word_counts() == {"a": 2, "b": 2, "c": 2, "d": 2, "e": 1}
    assert scanned.duplicates["sentences_dropped"] == 2


def test_numbering_text_of_one_letter_and_empty_lines(tmp_path):
    """The densest text there is: a number for every byte (a one-letter word or
    a line end); the kernel's output must hold them all."""
    path = tmp_path / "dense.txt"
    path.write_text("a\n\nb\n" * 3_000, encoding="utf-8")
    words = _words_of(scan_text(path, Tokenizer(), keep_lines=True))
    assert words == ["a", None, None, "b", None] * 3_000


def test_the_numbering_kernel_stays_in_bounds_on_dense_text(tmp_path, monkeypatch):
    """The kernel compiled again with numba's bounds checks: writing past any
    array (as a too-small output once did) raises instead of corrupting memory."""
    from numba import njit

    from wordvec import scan_kernels

    checked = njit(boundscheck=True)(scan_kernels.number_words.py_func)
    monkeypatch.setattr(scan_kernels, "number_words", checked)
    path = tmp_path / "dense.txt"
    path.write_text("a\n\nb c\n" * 500 + "x" * 1_200 + "\n" + "w " * 10_001 + "\n", encoding="utf-8")
    for keep_lines in (True, False):
        scanned = scan_text(path, Tokenizer(), keep_lines=keep_lines)
        assert scanned.tokens == 500 * 3 + 1 + 10_001
