"""Word classes: k-means over unit vectors, numbered by their most frequent word."""
import json

import numpy as np
import pytest

from wordvec import KeyedVectors, WordvecError
from wordvec.cli import main


def planted(words_per_class: int, classes: int, dim: int = 8, seed: int = 0) -> tuple[KeyedVectors, np.ndarray]:
    """Words around ``classes`` orthogonal directions (lengths vary: only direction
    counts), interleaved in frequency order; returns the vectors and each word's true class."""
    rng = np.random.default_rng(seed)
    truth = np.arange(words_per_class * classes) % classes
    directions = np.eye(dim, dtype=np.float32)[:classes]
    vectors = directions[truth] * rng.uniform(0.5, 5, (len(truth), 1)).astype(np.float32)
    vectors += rng.normal(0, 0.02, vectors.shape).astype(np.float32)
    return KeyedVectors([f"w{i}" for i in range(len(truth))], vectors), truth


@pytest.mark.parametrize("per_class, classes", [(10, 3), (5_000, 5)])  # KMeans; MiniBatchKMeans above 20,000 words
def test_classes_recover_planted_groups_numbered_by_first_word(per_class, classes):
    vectors, truth = planted(per_class, classes)
    labels = vectors.classes(classes, seed=1)
    np.testing.assert_array_equal(labels, truth)  # word i is in class i % classes: numbered by first word
    np.testing.assert_array_equal(vectors.classes(classes, seed=1), labels)  # reproducible


def test_top_and_bad_k():
    vectors, truth = planted(10, 3)
    np.testing.assert_array_equal(vectors.classes(3, top=9), truth[:9])
    with pytest.raises(WordvecError, match="between 1 and the 9 words"):
        vectors.classes(10, top=9)
    for top in (0, 2.5):
        with pytest.raises(WordvecError, match=f"top must be a whole number of at least 1, not {top}"):
            vectors.classes(1, top=top)


def test_the_command_writes_word_tab_class_in_class_order(runner, tmp_path):
    vectors, _ = planted(2, 3)
    vectors.save(tmp_path / "v.txt")
    result = runner.invoke(main, ["classes", "-m", "v.txt", "-k", "3", "-o", "classes.txt"])
    assert result.exit_code == 0, result.output
    lines = (tmp_path / "classes.txt").read_text(encoding="utf-8").splitlines()
    assert lines == ["w0\t0", "w3\t0", "w1\t1", "w4\t1", "w2\t2", "w5\t2"]
    as_json = runner.invoke(main, ["classes", "-m", "v.txt", "-k", "3", "--json"])
    assert json.loads(as_json.output) == {"0": ["w0", "w3"], "1": ["w1", "w4"], "2": ["w2", "w5"]}
