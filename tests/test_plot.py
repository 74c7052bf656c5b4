"""Pictures: projections with known 2-D structure, and PNGs of the right size with
something drawn in them."""
import subprocess
import sys

import numpy as np
import pytest
from click.testing import CliRunner

from wordvec import KeyedVectors, Model, Vocabulary, WordvecError
from wordvec.cli import main
from wordvec.plot import analogy_plane, plot_analogy, plot_loss, plot_words, project

HAND = {"king": [1, 1, 0, 0], "queen": [1, -1, 0, 0], "man": [0, 1, 0, 0.1], "woman": [0, -1, 0, 0.1],
        "apple": [0, 0, 1, 0], "pear": [0, 0.1, 2, 0]}


def _pairwise(points):
    return np.linalg.norm(points[:, None] - points[None], axis=-1)


def test_pca_keeps_distances_of_points_that_lie_in_a_plane():
    rng = np.random.default_rng(0)
    flat = rng.normal(size=(20, 2)) * [5, 2]
    basis = np.linalg.qr(rng.normal(size=(30, 2)))[0].T  # an orthonormal plane in 30-D
    points = project(flat @ basis + rng.normal(size=30), "pca")
    np.testing.assert_allclose(_pairwise(points), _pairwise(flat), atol=1e-9)


def test_tsne_keeps_clusters_apart_even_for_few_words():
    rng = np.random.default_rng(1)
    centres = rng.normal(size=(3, 20)) * 10
    vectors = np.repeat(centres, 4, axis=0) + rng.normal(size=(12, 20)) * 0.1
    points = project(vectors, "tsne")
    distances = _pairwise(points) + np.eye(12) * 1e9
    nearest = distances.argmin(axis=1)
    assert np.all(nearest // 4 == np.arange(12) // 4)
    with pytest.raises(WordvecError, match="at least four"):
        project(vectors[:3], "tsne")


def test_the_analogy_plane_shows_a_parallelogram():
    rng = np.random.default_rng(2)
    a, c, relation = rng.normal(size=(3, 50))
    b, d = a + relation, c + relation
    basis = analogy_plane(a, b, c)
    np.testing.assert_allclose(basis @ basis.T, np.eye(2), atol=1e-12)
    np.testing.assert_allclose(basis @ (b - a), basis @ (d - c), atol=1e-12)
    # the four points lie in the plane: projecting keeps all their distances
    points = np.stack([a, b, c, d])
    np.testing.assert_allclose(_pairwise((points - a) @ basis.T), _pairwise(points), atol=1e-9)


def _image(path):
    from matplotlib.image import imread

    pixels = imread(path)
    drawn = np.any(pixels[..., :3] < 0.9, axis=-1).mean()
    colours = len(np.unique((pixels[..., :3] * 255).astype(int).reshape(-1, 3), axis=0))
    return pixels.shape, drawn, colours


@pytest.fixture
def hand():
    return KeyedVectors(list(HAND), np.array(list(HAND.values()), np.float32))


def test_pictures_are_pngs_of_the_expected_size_with_content(hand, tmp_path):
    plot_words(hand, list(HAND), tmp_path / "map.png")
    assert plot_analogy(hand, "man", "king", "woman", tmp_path / "analogy.png") == "queen"
    plot_loss({"loss_history": [3.0, 2.5, 2.2], "loss_curve": [[10, 3.4], [20, 2.9], [30, 2.6], [40, 2.3]]},
              tmp_path / "loss.png")
    for name in ["map.png", "analogy.png", "loss.png"]:
        shape, drawn, colours = _image(tmp_path / name)
        assert shape[:2] == (800, 1000)
        assert 0.005 < drawn < 0.5 and colours > 20, name
    with pytest.raises(WordvecError, match="no loss history"):
        plot_loss({}, tmp_path / "none.png")
    assert not (tmp_path / "none.png").exists()


def test_a_picture_can_be_written_into_a_pipe(hand, tmp_path):
    """matplotlib seeks in the file it writes, which a pipe (-o /dev/stdout) cannot."""
    import os
    import threading

    pipe, received = tmp_path / "pipe", []
    os.mkfifo(pipe)
    reader = threading.Thread(target=lambda: received.append(pipe.read_bytes()), daemon=True)
    reader.start()
    plot_words(hand, list(HAND), pipe)
    reader.join(timeout=10)
    (tmp_path / "piped.png").write_bytes(received[0])
    assert _image(tmp_path / "piped.png")[0][:2] == (800, 1000)


def test_plot_commands(hand, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    vectors = np.array(list(HAND.values()), np.float32)
    Model(Vocabulary(list(HAND), [6, 5, 4, 3, 2, 1]), vectors, vectors * 0, {},
          {"loss_history": [2.0, 1.5]}).save("hand.wordvec")
    runner = CliRunner()
    result = runner.invoke(main, ["plot", "hand.wordvec", "--words", "king", "queen", "man", "woman", "-o", "m.png"])
    assert result.exit_code == 0, result.output
    assert "4 words" in result.output and _image(tmp_path / "m.png")[0][:2] == (800, 1000)
    result = runner.invoke(main, ["plot", "hand.wordvec", "--top", "5", "--method", "tsne"])
    assert result.exit_code == 0 and (tmp_path / "map.png").is_file(), result.output
    result = runner.invoke(main, ["plot-analogy", "hand.wordvec", "man", "king", "woman"])
    assert result.exit_code == 0 and "man : king :: woman : queen" in result.output
    result = runner.invoke(main, ["plot-loss", "hand.wordvec", "-o", "loss.png"])
    assert result.exit_code == 0 and (tmp_path / "loss.png").is_file(), result.output
    unknown = runner.invoke(main, ["plot", "hand.wordvec", "kingg", "queen"])
    assert unknown.exit_code == 1 and "did you mean king" in unknown.output


def test_the_core_and_the_query_commands_import_neither_matplotlib_nor_sklearn(hand, tmp_path):
    hand.save(tmp_path / "hand.bin")
    code = ("import sys, wordvec, wordvec.cli\n"
            "from click.testing import CliRunner\n"
            f"CliRunner().invoke(wordvec.cli.main, ['similar', 'king', '-m', {str(tmp_path / 'hand.bin')!r}])\n"
            "print(sorted(m for m in ('matplotlib', 'sklearn', 'numba') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def test_plot_commands_take_the_model_as_an_option_with_the_read_options(hand, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    hand.save(tmp_path / "hand.txt")
    runner = CliRunner()
    result = runner.invoke(main, ["plot", "king", "queen", "man", "-m", "hand.txt", "--format", "word2vec-txt",
                                  "-o", "m.png"])
    assert result.exit_code == 0 and "3 words" in result.output, result.output
    result = runner.invoke(main, ["plot", "--top", "3", "-m", "hand.txt", "--limit", "4", "-o", "top.png"])
    assert result.exit_code == 0 and "3 words" in result.output, result.output
    result = runner.invoke(main, ["plot-analogy", "man", "king", "woman", "-m", "hand.txt"])
    assert result.exit_code == 0 and "man : king :: woman : queen" in result.output
    limited = runner.invoke(main, ["plot-analogy", "man", "king", "woman", "-m", "hand.txt", "--limit", "2"])
    assert limited.exit_code == 1 and "'man' is not in the vocabulary" in limited.output
