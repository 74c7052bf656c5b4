"""The native model format: round trip, memory mapping, damaged files, queries."""
import json
import os
import stat
import subprocess
import sys
import zipfile

import numpy as np
import pytest

import wordvec
from wordvec import Model, Vocabulary, WordvecError, UnknownWordError


@pytest.fixture
def small_model():
    rng = np.random.default_rng(0)
    words = ["king", "queen", "man", "woman", "apple"]
    vectors = np.array([[1, 1, 0], [1, -1, 0], [0, 1, 0], [0, -1, 0], [0, 0, 1]], dtype=np.float32)
    return Model(Vocabulary(words, [50, 40, 30, 20, 10]), vectors,
                 rng.normal(size=(5, 3)).astype(np.float32), {"dim": 3, "loss": "ns"}, {"loss_history": [2.0, 1.5]})


def test_save_and_load_round_trip_with_memory_mapped_arrays(small_model, tmp_path):
    path = tmp_path / "m.wordvec"
    small_model.save(path)
    loaded = wordvec.load(path)
    assert loaded.words == small_model.words
    assert loaded.vocab.counts.tolist() == [50, 40, 30, 20, 10]
    assert isinstance(loaded.vectors, np.memmap)
    np.testing.assert_array_equal(loaded.vectors, small_model.vectors)
    np.testing.assert_array_equal(loaded.output_weights, small_model.output_weights)
    assert loaded.config == {"dim": 3, "loss": "ns"} and loaded.record["loss_history"] == [2.0, 1.5]
    assert not isinstance(wordvec.load(path, mmap=False).vectors, np.memmap)


def test_the_file_is_a_plain_zip_of_npy_text_and_json(small_model, tmp_path):
    path = tmp_path / "m.wordvec"
    small_model.save(path)
    with zipfile.ZipFile(path) as archive:
        assert sorted(archive.namelist()) == ["config.json", "output_weights.npy", "vectors.npy", "vocab.tsv"]
        assert archive.read("vocab.tsv").decode().splitlines()[0] == "king\t50"
        assert json.loads(archive.read("config.json"))["format"] == "wordvec-model"
    np.testing.assert_array_equal(np.load(path)["vectors"], small_model.vectors)


def test_saving_over_a_model_replaces_it_whole(small_model, tmp_path):
    path = tmp_path / "m.wordvec"
    small_model.save(path)
    small_model.vectors = small_model.vectors * 2
    small_model.save(path)
    np.testing.assert_array_equal(wordvec.load(path).vectors, small_model.vectors)
    assert [p.name for p in tmp_path.iterdir()] == ["m.wordvec"]  # no temporary file left behind


@pytest.mark.parametrize("umask", [0o022, 0o002, 0o077])
def test_saved_files_get_the_permissions_a_plain_write_gives(small_model, tmp_path, umask):
    """A new model or vector file is readable as any file the user writes is (0o666 less
    the umask, not the temporary file's 0o600); a file saved over keeps its permissions."""
    from wordvec.io import write_vectors

    model_path, text_path, plain = tmp_path / "m.wordvec", tmp_path / "v.txt", tmp_path / "plain"
    previous = os.umask(umask)
    try:
        small_model.save(model_path)
        write_vectors(text_path, small_model.words, small_model.vectors, format="word2vec-txt")
        plain.write_text("written by open()")
    finally:
        os.umask(previous)

    def permissions(path):
        return stat.S_IMODE(path.stat().st_mode)

    assert permissions(model_path) == permissions(text_path) == permissions(plain) == 0o666 & ~umask
    os.chmod(model_path, 0o640)
    small_model.save(model_path)
    assert permissions(model_path) == 0o640


def test_a_save_through_a_link_or_into_a_pipe_keeps_the_link_or_pipe(small_model, tmp_path):
    """A link keeps pointing at its file, which gets the new model; a named pipe (as
    /dev/stdout or /dev/null are streams) is written in place, not renamed over."""
    import threading

    from wordvec.io import write_vectors

    target, link = tmp_path / "target.wordvec", tmp_path / "link.wordvec"
    target.write_bytes(b"old")
    link.symlink_to(target)
    small_model.save(link)
    assert link.is_symlink() and wordvec.load(target).words == small_model.words
    pipe, received = tmp_path / "pipe", []
    os.mkfifo(pipe)
    reader = threading.Thread(target=lambda: received.append(pipe.read_bytes()), daemon=True)
    reader.start()
    write_vectors(pipe, small_model.words, small_model.vectors, format="word2vec-txt")
    reader.join(timeout=10)
    assert stat.S_ISFIFO(os.stat(pipe).st_mode) and received[0].decode().splitlines()[:2] == ["5 3", "king 1 1 0"]
    with pytest.raises(WordvecError, match=f"{tmp_path} is a folder: give the name of a file in it"):
        small_model.save(tmp_path)


def test_a_save_over_the_file_while_it_loads_leaves_the_load_whole(small_model, tmp_path, monkeypatch):
    """A checkpoint renamed over the path between reading the zip directory and mapping the matrices
    (a reader racing a training run) must not mix the two files."""
    from wordvec.io import native

    path = tmp_path / "m.wordvec"
    small_model.save(path)
    other = tmp_path / "other.wordvec"
    rows = len(small_model.words) + 1
    Model(Vocabulary(small_model.words + ["extra"], [50, 40, 30, 20, 10, 5]), np.ones((rows, 7), dtype=np.float32),
          np.ones((rows, 7), dtype=np.float32), {"dim": 7, "loss": "ns"}).save(other)
    read_header = native._matrix_header

    def replaced_first(stream, info):
        if other.exists():
            other.replace(path)
        return read_header(stream, info)

    monkeypatch.setattr(native, "_matrix_header", replaced_first)
    loaded = wordvec.load(path)
    np.testing.assert_array_equal(loaded.vectors, small_model.vectors)
    assert not other.exists() and wordvec.load(path).vectors.shape[1] == 7


@pytest.mark.parametrize("damage", ["truncate", "garbage", "not-a-model", "missing", "npy-header"])
def test_damaged_or_foreign_files_raise_the_projects_error(small_model, tmp_path, damage):
    path = tmp_path / "m.wordvec"
    small_model.save(path)
    data = path.read_bytes()
    if damage == "truncate":
        path.write_bytes(data[: len(data) // 2])
    elif damage == "garbage":
        path.write_bytes(bytes(np.random.default_rng(1).integers(0, 256, 5000, dtype=np.uint8)))
    elif damage == "npy-header":  # numpy parses a matrix's header as a Python literal: an unclosed one
        at = data.index(b"}", data.index(b"'descr'"))
        path.write_bytes(data[:at] + b"\0" + data[at + 1:])
    elif damage == "not-a-model":
        with zipfile.ZipFile(path, "w") as archive:
            archive.writestr("config.json", "{}")
    else:
        path.unlink()
    with pytest.raises(WordvecError):
        wordvec.load(path)


def test_queries_on_hand_computed_vectors(small_model):
    wv = small_model.wv
    assert wv.similarity("king", "queen") == pytest.approx(0.0, abs=1e-6)
    assert wv.similarity("king", "man") == pytest.approx(1 / np.sqrt(2))
    top = wv.most_similar("king", topn=2)
    assert [w for w, _ in top] == ["man", "queen"] and top[0][1] == pytest.approx(1 / np.sqrt(2))
    # man : king :: woman : ?  ->  king - man + woman = (1, -1, 0) = queen
    assert wv.analogy("man", "king", "woman", topn=1)[0][0] == "queen"
    assert wv.analogy("man", "king", "woman", topn=1, method="3cosmul")[0][0] == "queen"
    with pytest.raises(UnknownWordError, match="did you mean king"):
        wv.most_similar("kingg")


def test_importing_wordvec_and_its_cli_does_not_import_numba():
    code = "import sys, wordvec, wordvec.cli; print('numba' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip() == "False"
