"""Vector files: every format round-trips, gensim reads what we write and we read
what gensim writes, and damaged files raise the project's error."""
import gzip

import numpy as np
import pytest

import wordvec
from wordvec import KeyedVectors, WordvecError
from wordvec.io import read_vectors, sniff

WORDS = ["the", "king", "königin", "naïve", "東京", "don't", "x"]


@pytest.fixture
def vectors():
    rng = np.random.default_rng(7)
    matrix = (rng.standard_normal((len(WORDS), 5)) * np.array([1e-8, 1, 100, 3e4, 1e-3])).astype(np.float32)
    matrix[1, 2] = -0.0
    return KeyedVectors(WORDS, matrix)


SUFFIXES = {"native": ".wordvec", "word2vec-bin": ".bin", "word2vec-txt": ".txt"}


@pytest.mark.parametrize("format", SUFFIXES)
def test_every_format_round_trips_exactly(vectors, tmp_path, format):
    path = tmp_path / f"v{SUFFIXES[format]}"
    vectors.save(path)
    assert sniff(path) == format
    loaded = wordvec.load_vectors(path)
    assert loaded.words == WORDS
    assert loaded.vectors.dtype == np.float32
    np.testing.assert_array_equal(loaded.vectors, vectors.vectors)
    limited = wordvec.load_vectors(path, limit=3)
    assert limited.words == WORDS[:3]
    np.testing.assert_array_equal(limited.vectors, vectors.vectors[:3])


@pytest.mark.parametrize("binary", [True, False])
def test_gensim_reads_what_we_write(vectors, tmp_path, binary):
    from gensim.models import KeyedVectors as GensimVectors

    path = tmp_path / ("v.bin" if binary else "v.txt")
    vectors.save(path)
    theirs = GensimVectors.load_word2vec_format(str(path), binary=binary)
    assert theirs.index_to_key == WORDS
    np.testing.assert_array_equal(theirs.vectors, vectors.vectors)


@pytest.mark.parametrize("binary", [True, False])
def test_we_read_what_gensim_writes(vectors, tmp_path, binary):
    from gensim.models import KeyedVectors as GensimVectors

    theirs = GensimVectors(vector_size=5)
    theirs.add_vectors(WORDS, vectors.vectors)
    path = tmp_path / "gensim.out"
    theirs.save_word2vec_format(str(path), binary=binary)
    assert sniff(path) == ("word2vec-bin" if binary else "word2vec-txt")
    loaded = wordvec.load_vectors(path)
    assert loaded.words == WORDS
    np.testing.assert_array_equal(loaded.vectors, vectors.vectors)


def test_binary_records_with_and_without_the_c_tools_newline(tmp_path):
    rows = np.arange(6, dtype=np.float32).reshape(3, 2)
    body = [b"a " + rows[0].tobytes(), b"bb " + rows[1].tobytes() + b"\n", b"c " + rows[2].tobytes() + b"\n"]
    path = tmp_path / "mixed.bin"
    path.write_bytes(b"3 2\n" + b"".join(body))
    words, loaded, *_ = read_vectors(path)
    assert words == ["a", "bb", "c"]
    np.testing.assert_array_equal(loaded, rows)


def test_glove_text_without_a_header_and_compressed_text(tmp_path):
    glove = tmp_path / "glove.6B.3d.txt"
    glove.write_text("the 0.1 -0.2 0.3\nof 1e-3 2 -3.5\n", encoding="utf-8")
    assert sniff(glove) == "glove"
    kv = wordvec.load_vectors(glove)
    assert kv.words == ["the", "of"]
    np.testing.assert_array_equal(kv.vectors, np.array([[0.1, -0.2, 0.3], [1e-3, 2, -3.5]], np.float32))
    packed = tmp_path / "w2v.txt.gz"
    packed.write_bytes(gzip.compress(b"2 3\nthe 0.1 -0.2 0.3 \nof 0.001 2 -3.5 \n"))  # the C tool's trailing spaces
    np.testing.assert_array_equal(wordvec.load_vectors(packed).vectors, kv.vectors)


def test_words_that_are_not_utf8(tmp_path):
    path = tmp_path / "latin1.bin"
    path.write_bytes(b"2 1\ncaf\xe9 " + np.float32(1).tobytes() + b"\nok " + np.float32(2).tobytes() + b"\n")
    with pytest.raises(WordvecError, match="unicode_errors='replace'"):
        wordvec.load_vectors(path)
    assert wordvec.load_vectors(path, unicode_errors="replace").words == ["caf\ufffd", "ok"]
    assert wordvec.load_vectors(path, encoding="latin-1").words == ["café", "ok"]


def _damaged(tmp_path, damage: str):
    good = np.ones((3, 4), np.float32)
    record = b"".join(w + b" " + good[0].tobytes() + b"\n" for w in (b"a", b"b", b"c"))
    files = {
        "truncated binary": b"3 4\n" + record[:-10],
        "header claims 10^12 words": b"1000000000000 4\n" + record,
        "dimension 0": b"3 0\n" + record,
        "duplicate word": b"2 4\n" + record[:2 * 18],
        "random bytes": bytes(np.random.default_rng(3).integers(0, 256, 3000, dtype=np.uint8)),
        "text with a short vector": b"2 3\na 1 2 3\nb 1 2\n",
        "binary record with a word too long": b"3 4\n" + record[:18] + b"x" * 10_001 + record[18:],
        "binary records that do not tile": b"3 4\n" + record[:18] + b"zz" + record[18:],
        "text with a word for a number": b"2 3\na 1 2 3\nb 1 two 3\n",
        "empty": b"",
        "header only": b"5 3\n",
        "no words": b"0 3\n",
    }
    path = tmp_path / "damaged.vec"
    path.write_bytes(files[damage])
    return path


@pytest.mark.parametrize("damage", ["truncated binary", "header claims 10^12 words", "dimension 0", "duplicate word",
                                    "binary record with a word too long", "binary records that do not tile",
                                    "random bytes", "text with a short vector", "text with a word for a number",
                                    "empty", "header only", "no words"])
def test_damaged_vector_files_raise_the_projects_error(tmp_path, damage):
    path = _damaged(tmp_path, damage)
    with pytest.raises(WordvecError) as error:
        wordvec.load_vectors(path)
    assert str(path) in str(error.value) or "appears more than once" in str(error.value)


@pytest.mark.parametrize("format", SUFFIXES)
def test_vectors_given_as_float64_are_written_as_float32(vectors, tmp_path, format):
    path = tmp_path / f"v{SUFFIXES[format]}"
    KeyedVectors(WORDS, vectors.vectors.astype(np.float64)).save(path)
    loaded = wordvec.load_vectors(path)
    assert loaded.vectors.dtype == np.float32
    np.testing.assert_array_equal(loaded.vectors, vectors.vectors)


def test_a_missing_file_and_an_unknown_format(tmp_path):
    with pytest.raises(WordvecError, match="no such file"):
        wordvec.load_vectors(tmp_path / "nope.bin")
    with pytest.raises(WordvecError, match="unknown format"):
        read_vectors(_damaged(tmp_path, "empty").with_name("x"), format="fasttext")


@pytest.mark.parametrize("option, message", [
    ({"limit": 2.5}, "limit must be a whole number of at least 1, not 2.5"),
    ({"limit": "5"}, "limit must be a whole number of at least 1, not '5'"),
    ({"unicode_errors": "bogus"}, "unknown error handler name 'bogus'"),  # a file that decodes never used it
    ({"encoding": "bogus"}, "unknown encoding: bogus"),
])
def test_bad_read_options_are_refused_before_reading(vectors, tmp_path, option, message):
    vectors.save(tmp_path / "v.txt")
    with pytest.raises(WordvecError, match=message):
        wordvec.load_vectors(tmp_path / "v.txt", **option)


def test_words_with_spaces_cannot_be_written_to_word2vec_files(tmp_path):
    with pytest.raises(WordvecError, match="white space"):
        KeyedVectors(["new york"], np.ones((1, 2), np.float32)).save(tmp_path / "v.bin")
    assert not list(tmp_path.iterdir())  # nothing half-written left behind


@pytest.mark.parametrize("suffix", [".gz", ".bz2", ".xz"])
@pytest.mark.parametrize("format", ["word2vec-bin", "word2vec-txt"])
def test_compressed_vector_files_round_trip(vectors, tmp_path, format, suffix):
    import bz2
    import lzma

    plain = tmp_path / f"v{SUFFIXES[format]}"
    vectors.save(plain)
    packed = plain.with_name(plain.name + suffix)
    packed.write_bytes({".gz": gzip.compress, ".bz2": bz2.compress, ".xz": lzma.compress}[suffix](plain.read_bytes()))
    assert sniff(packed) == format
    loaded = wordvec.load_vectors(packed)
    assert loaded.words == WORDS
    np.testing.assert_array_equal(loaded.vectors, vectors.vectors)
    assert wordvec.load_vectors(packed, limit=2).words == WORDS[:2]


def test_a_compressed_file_is_decompressed_only_as_far_as_its_header_justifies(tmp_path, monkeypatch):
    """A small .gz that expands to 256 MB behind a header claiming 3 words: only
    the bytes 3 records can fill are decompressed, and the records are refused."""
    from wordvec.io import files

    path = tmp_path / "bomb.bin.gz"
    with gzip.open(path, "wb", compresslevel=1) as out:
        out.write(b"3 4\n")
        zeros = bytes(1 << 20)
        for _ in range(256):
            out.write(zeros)
    written = []
    real = files._decompress

    def measured(compressed, plain, *args):
        real(compressed, plain, *args)
        written.append(plain.tell())

    monkeypatch.setattr(files, "_decompress", measured)
    with pytest.raises(WordvecError, match="bomb.bin.gz"):
        wordvec.load_vectors(path)
    assert written and written[-1] <= 4 + 3 * (16 + 2 + 10_000)
    assert len(files.head_bytes(path, 100)) == 100  # sniffing reads the start only


def test_a_compressed_header_claiming_more_than_memory_is_refused_before_reading(tmp_path):
    path = tmp_path / "huge.bin.gz"
    path.write_bytes(gzip.compress(b"1000000000000 300\nking " + bytes(1200)))
    with pytest.raises(WordvecError, match="needs about .* MB of memory, but only .* use --limit"):
        wordvec.load_vectors(path)


def test_rows_with_nan_or_infinity_are_left_out_with_a_warning(tmp_path):
    from wordvec.errors import BadVectorsWarning

    path = tmp_path / "bad.txt"
    path.write_text("4 3\nking nan 1 2\nqueen 1 2 3\nman inf 0 1\nwoman 1 2 2.5\n", encoding="utf-8")
    with pytest.warns(BadVectorsWarning, match="2 vectors holding NaN or infinity left out \\('king', 'man'\\)"):
        loaded = wordvec.load_vectors(path)
    assert loaded.words == ["queen", "woman"]
    np.testing.assert_array_equal(loaded.vectors, [[1, 2, 3], [1, 2, 2.5]])
    huge = tmp_path / "huge.txt"  # finite numbers whose row sum overflows are kept
    huge.write_text("2 2\na 3e38 3e38\nb 1 1\n", encoding="utf-8")
    assert wordvec.load_vectors(huge).words == ["a", "b"]
