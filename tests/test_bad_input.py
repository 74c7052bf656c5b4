"""Bad input: one clear error or a documented behaviour, never a traceback."""
import io
import json
import re
import zipfile

import numpy as np
import pytest
from click.testing import CliRunner

import wordvec
from wordvec import Trainer, WordvecError
from wordvec.cli import main
from wordvec.tokenize import MAX_WORD_CHARS, Tokenizer


def _corpus(tmp_path, content: bytes, name="corpus.txt"):
    path = tmp_path / name
    path.write_bytes(content)
    return path


@pytest.mark.parametrize("content, message", [
    (b"", "holds no words"),
    (b"... !!! ,,, ??? --- \n((( )))\n", "holds no words"),
    (b"every word here is seen once\n", "no word occurs min_count=5 times .* the most frequent seen 1 times"),
])
def test_corpora_that_cannot_train(tmp_path, content, message):
    with pytest.raises(WordvecError, match=message):
        Trainer(epochs=1, threads=1).fit(_corpus(tmp_path, content))


@pytest.mark.parametrize("sentences, message", [
    ([[1, 2, 3]] * 9, r"the token 1 is of type int, not a string: sentences are lists of strings$"),
    ([["a", None]] * 9, r"the token None is of type NoneType"),
    ([[["a", "b"]]] * 9, r"the token \['a', 'b'\] is of type list"),  # nested a level too deep
    ([[b"a", b"b"]] * 9, r"the token b'\w' is of type bytes"),
    ([["new york", "is", "big"]] * 9, r"the token 'new york' is empty or holds white space: .* new_york"),
    ([["a\u00a0b", "c"]] * 9, r"the token 'a\\xa0b'"),  # no-break space is white space too
    ([["", "a", "b"]] * 9, r"the token '' is empty"),
    ([["a", "\n", "b"]] * 9, r"the token '\\n' is empty or holds white space"),  # not a sentence end
    (({"the cat": 1}), r"sentence 1 is of type str, not a list of tokens: split it first \(line.split\(\)\)"),
    ((line for line in ["a b", "c d"]), r"sentence 1 is of type str"),
    ([7, 8], r"sentence 1 is of type int, not a list of tokens$"),
    (["the cat sat", "on the mat"], r"no such file or folder: the cat sat \(a string, or a list of them, names files; "
                                    r"give sentences as lists of tokens: line.split\(\)\)"),
])
def test_sentences_given_as_lists_hold_words_as_the_tokenizer_writes_them(sentences, message):
    with pytest.raises(WordvecError, match=message):
        wordvec.train(sentences, min_count=1, sample=0, epochs=1, threads=1, dim=4)


def test_tokens_from_numpy_and_generators_train_as_strings():
    model = wordvec.train((row for row in np.array([["a", "b", "c"]] * 20)), min_count=1, epochs=1, threads=1, dim=4)
    assert model.words == ["a", "b", "c"] and all(type(word) is str for word in model.words)


def test_missing_and_empty_sources(tmp_path):
    with pytest.raises(WordvecError, match="no such file or folder"):
        Trainer().fit(tmp_path / "nope.txt")
    (tmp_path / "empty").mkdir()
    with pytest.raises(WordvecError, match="holds no files to read"):
        Trainer().fit(tmp_path / "empty")


def test_an_output_that_is_the_corpus_is_refused_and_the_text_kept(tmp_path, monkeypatch):
    from wordvec.phrases import phrase_text

    text = b"new york is a city and new york is big\n" * 20
    path = _corpus(tmp_path, text)
    (tmp_path / "link.txt").symlink_to(path)
    refused = "is the corpus being read: saving there would replace the text; choose another output file"
    with pytest.raises(WordvecError, match=refused):
        Trainer(epochs=1, min_count=1, checkpoint=tmp_path / "link.txt").fit(path)
    with pytest.raises(WordvecError, match=refused):
        phrase_text([tmp_path / "other.txt", path], path)
    monkeypatch.chdir(tmp_path)
    for command in (["train", "corpus.txt", "-q", "-o", str(path)],
                    ["phrases", "corpus.txt", "-o", "-", "--save-table", "./corpus.txt"]):
        result = CliRunner().invoke(main, command)
        assert result.exit_code == 1 and refused in result.output and "Traceback" not in result.output
    assert path.read_bytes() == text and sorted(p.name for p in tmp_path.iterdir()) == ["corpus.txt", "link.txt"]


def test_a_run_saves_to_a_file_not_into_a_pipe(tmp_path):
    """Checkpoints are saved there and read back to resume: a device or pipe holds neither."""
    import os

    pipe = tmp_path / "pipe"
    os.mkfifo(pipe)
    with pytest.raises(WordvecError, match=f"{pipe} is not a file: a run saves its model there and reads it back"):
        Trainer(epochs=1, checkpoint=pipe).fit(_corpus(tmp_path, b"a b c\n"))
    result = CliRunner().invoke(main, ["train", str(_corpus(tmp_path, b"a b c\n")), "-q", "-o", str(pipe)])
    assert result.exit_code == 1 and "is not a file" in result.output


def test_bytes_that_are_not_utf8_are_replaced_counted_and_reported(tmp_path):
    path = _corpus(tmp_path, b"caf\xe9 au lait and tea\n" * 50 + b"\xff\xfe the end\n" * 5)
    trainer = Trainer(epochs=1, threads=1, min_count=1).fit(path)
    assert trainer.record_.bad_input["replaced"] == 50 + 10
    assert "caf" in trainer.model_.words  # U+FFFD is not a letter: it ends the word
    whitespace = Trainer(epochs=1, threads=1, min_count=1, whitespace=True).fit(path)
    assert "caf\ufffd" in whitespace.model_.words
    result = CliRunner().invoke(main, ["train", str(path), "--epochs", "1", "--min-count", "1", "-q",
                                       "-o", str(tmp_path / "m.wordvec")])
    assert result.exit_code == 0 and "60 byte sequences that are not UTF-8 were read as U+FFFD" in result.output


def test_nul_bytes_and_every_kind_of_line_ending():
    tokenizer = Tokenizer()
    assert tokenizer.tokens(b"king\x00queen\x00\x00man") == ["king", "queen", "man"]
    source = io.BytesIO(b"a b\r\nc d\re f\ng h")
    from wordvec.tokenize import _pieces_of_stream

    lines = [tokenizer.tokens(piece) for piece, ends in _pieces_of_stream(source, "x") if ends]
    assert lines == [["a", "b"], ["c", "d"], ["e", "f"], ["g", "h"]]


def test_a_ten_megabyte_word_is_capped_and_its_neighbours_kept(tmp_path):
    path = _corpus(tmp_path, b"alpha beta " + b"x" * 10_000_000 + b" gamma delta\nalpha beta\n")
    tokenizer = Tokenizer()
    sentences = list(tokenizer.sentences(path))
    words = [w for sentence in sentences for w in sentence]
    assert words[:2] == ["alpha", "beta"] and words[-4:] == ["gamma", "delta", "alpha", "beta"]
    assert [len(w) for w in words if w.startswith("x")] == [MAX_WORD_CHARS]
    assert tokenizer.stats["capped"] == 1


@pytest.mark.parametrize("flag, value", [("--dim", "-3"), ("--window", "0"), ("--alpha", "0"), ("--alpha", "-1"),
                                         ("--sample", "-0.1"), ("--epochs", "0"), ("--threads", "0"),
                                         ("--min-count", "0"), ("--negative", "0"), ("--checkpoint-every", "0"),
                                         ("--dim", "ten"), ("--seed", "-1")])
def test_bad_flag_values_are_refused_before_any_work(tmp_path, flag, value):
    result = CliRunner().invoke(main, ["train", str(tmp_path / "not-even-read.txt"), flag, value])
    assert result.exit_code == 2 and flag in result.output and "Traceback" not in result.output


@pytest.mark.parametrize("setting", [dict(dim=-3), dict(window=0), dict(alpha=0.0), dict(alpha=-1.0),
                                     dict(sample=-0.1), dict(epochs=0), dict(threads=0), dict(min_alpha=1.0),
                                     dict(loss="nce"), dict(arch="glove"), dict(checkpoint_minutes=0),
                                     dict(seed=-1), dict(seed=1.5), dict(alpha=float("nan")),
                                     dict(sample=float("inf")), dict(lowercase="yes"), dict(subwords=2),
                                     dict(spread="x"), dict(callbacks=[1]), dict(callbacks=print)])
def test_bad_settings_are_refused_from_python_too(tmp_path, setting):
    (name, value), = setting.items()
    with pytest.raises(WordvecError, match=rf"{name} must be .*{re.escape(repr(value))}"):
        Trainer(**setting).fit(tmp_path / "not-even-read.txt")


def test_flags_take_gensims_zero_and_one(demo_prefix):
    assert Trainer(cbow_mean=0, shuffle=np.bool_(True), epochs=1, threads=1).fit(demo_prefix).settings()["cbow_mean"] == 0


def _native_with(tmp_path, member: str, data: bytes):
    """A valid native model with one member replaced."""
    path = tmp_path / "m.wordvec"
    vectors = np.ones((2, 3), np.float32)
    wordvec.Model(wordvec.Vocabulary(["a", "b"], [2, 1]), vectors, vectors, {}, {}).save(path)
    with zipfile.ZipFile(path) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    members[member] = data
    with zipfile.ZipFile(path, "w") as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return path


def _npy_header(shape) -> bytes:
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(buffer, {"descr": "<f4", "fortran_order": False, "shape": shape})
    return buffer.getvalue()


@pytest.mark.parametrize("member, data, message", [
    ("vectors.npy", _npy_header((10**12, 3)) + b"\0" * 24, "claims shape"),
    ("vectors.npy", _npy_header((2, 0)), "no dimensions"),
    ("vectors.npy", b"\x93NUMPY\x01\x00" + b"garbage", "not a readable"),
    ("vocab.tsv", b"a\t2\na\t1\n", "twice|more than once"),
    ("vocab.tsv", b"a\t2\n", "does not fit 1 words"),
    ("config.json", b"[1, 2]", "not a wordvec model"),
    ("config.json", json.dumps({"format": "wordvec-model", "version": "x"}).encode(), "not a readable"),
])
def test_native_files_whose_insides_lie(tmp_path, member, data, message):
    path = _native_with(tmp_path, member, data)
    for mmap in (True, False):
        with pytest.raises(WordvecError, match=message):
            model = wordvec.load(path, mmap=mmap)
            "a" in model.wv  # a repeated word shows when the word index is built
