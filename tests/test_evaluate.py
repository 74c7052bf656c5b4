"""Analogy and similarity evaluation: hand-checked cases, and equal to gensim's
numbers on the same vectors and settings."""
from pathlib import Path

import numpy as np
import pytest

from wordvec import KeyedVectors, WordvecError
from wordvec.evaluate import evaluate_analogies, evaluate_similarity, read_word_pairs

# The Google analogy set and WordSim-353 as gensim's test data ships them (a test
# extra): byte for byte the files in ../shared/eval, and present on any machine.
EVAL = Path(pytest.importorskip("gensim.test.utils").datapath("questions-words.txt")).parent
QUESTIONS = """: capital-common-countries
athens greece paris france
athens greece rome italy
: gram1-adjective-to-adverb
quick quickly slow slowly
quick quickly zzz unknown
"""


@pytest.fixture
def planted(tmp_path):
    """Vectors where b − a is the same offset for most pairs of a section, some words
    also spelt in capitals (rarer), and every 10th question of the Google set."""
    source = EVAL / "questions-words.txt"
    lines = source.read_text().splitlines()
    kept, count = [], 0
    for line in lines:
        if line.startswith(":"):
            kept.append(line)
        else:
            count += 1
            if count % 10 == 0:
                kept.append(line)
    questions = tmp_path / "questions.txt"
    questions.write_text("\n".join(kept) + "\n")
    rng = np.random.default_rng(5)
    dim = 50
    vectors: dict[str, np.ndarray] = {}
    for line in kept:
        if line.startswith(":"):
            offset = rng.normal(0, 1.0, dim)
            continue
        a, b, c, d = line.lower().split()
        for first, second in ((a, b), (c, d)):
            vectors.setdefault(first, rng.normal(0, 1.0, dim))
            if second not in vectors:
                noise = rng.normal(0, 0.9 if rng.random() < 0.7 else 3.0, dim)
                vectors[second] = vectors[first] + offset + noise
    words = list(vectors)
    rng.shuffle(words)
    capitals = [w.capitalize() for w in words[::7]]  # rarer second spellings
    matrix = np.array([vectors[w] for w in words] + [vectors[w.lower()] + rng.normal(0, 0.5, dim) for w in capitals])
    return KeyedVectors(words + capitals, matrix.astype(np.float32)), questions


@pytest.mark.parametrize("restrict, case_insensitive", [(10_000, True), (500, True), (10_000, False)])
def test_analogy_scores_equal_gensims(planted, restrict, case_insensitive):
    from gensim.models import KeyedVectors as GensimVectors

    ours, questions = planted
    theirs = GensimVectors(vector_size=ours.dim)
    theirs.add_vectors(ours.words, np.asarray(ours.vectors))
    accuracy, sections = theirs.evaluate_word_analogies(str(questions), restrict_vocab=restrict,
                                                        case_insensitive=case_insensitive)
    result = evaluate_analogies(ours, questions, restrict_vocab=restrict, case_insensitive=case_insensitive)
    expected = {s["section"]: (len(s["correct"]), len(s["incorrect"])) for s in sections}
    got = {s.name: (s.correct, s.answered - s.correct) for s in result.sections}
    assert got == {name: counts for name, counts in expected.items() if name != "Total accuracy"}
    assert result.accuracy == pytest.approx(accuracy)
    assert 0.2 < result.accuracy < 0.9  # the planted set has right and wrong answers


def test_analogy_sections_totals_and_skips_by_hand(tmp_path):
    path = tmp_path / "q.txt"
    path.write_text(QUESTIONS)
    e = np.eye(6, dtype=np.float32)  # 0 place, 1 country, 2 adverb, 3, 4, 5: word identities
    vectors = {
        "athens": e[0], "greece": e[1],
        "paris": e[0] + 0.3 * e[3], "france": e[1] + 0.3 * e[3],  # greece − athens + paris ≈ france
        "rome": e[3], "italy": e[1] - e[3],  # greece − athens + rome = e1 − e0 + e3: france (0.72) beats italy (0)
        "quick": e[4], "quickly": e[4] + e[2], "slow": e[5], "slowly": e[5] + e[2],  # slowly: cosine 0.96
        "zzz": -e[4],
    }
    kv = KeyedVectors(list(vectors), np.array(list(vectors.values())))
    result = evaluate_analogies(kv, path, restrict_vocab=100)
    capitals, adverbs = result.sections
    assert (capitals.name, capitals.correct, capitals.answered) == ("capital-common-countries", 1, 2)
    assert (adverbs.correct, adverbs.answered, adverbs.skipped) == (1, 1, 1)  # "unknown" is not a word here
    assert (result.semantic.accuracy, result.syntactic.accuracy, result.accuracy) == (0.5, 1.0, 2 / 3)
    assert result.as_dict()["questions"] == 4
    with pytest.raises(WordvecError, match="unknown analogy method"):
        evaluate_analogies(kv, path, method="3cosdiv")
    with pytest.raises(WordvecError, match="restrict_vocab must be a whole number of at least 1, not 0"):
        evaluate_analogies(kv, path, restrict_vocab=0)
    pairs = tmp_path / "pairs.txt"
    pairs.write_text("quick quickly 9.0\nslow slowly 8.0\nquick slow 2.0\n")
    with pytest.raises(WordvecError, match="restrict_vocab must be a whole number of at least 1, not 0"):
        evaluate_similarity(kv, pairs, restrict_vocab=0)


def test_similarity_scores_equal_gensims(planted, tmp_path):
    from gensim.models import KeyedVectors as GensimVectors

    ours, _ = planted
    theirs = GensimVectors(vector_size=ours.dim)
    theirs.add_vectors(ours.words, np.asarray(ours.vectors))
    # WordSim-353 shares few words with the analogy set: add random pairs of words that are in it
    rng = np.random.default_rng(2)
    vocab = ours.words[:400]
    extra = [f"{vocab[i]}\t{vocab[j]}\t{rng.uniform(0, 10):.2f}" for i, j in rng.integers(0, len(vocab), (200, 2))]
    pairs = tmp_path / "pairs.tsv"
    pairs.write_text("\n".join((EVAL / "wordsim353.tsv").read_text().splitlines() + extra) + "\n")
    pearson, spearman, oov = theirs.evaluate_word_pairs(str(pairs))
    result = evaluate_similarity(ours, pairs)
    assert result.pairs > 150 and result.skipped > 300
    assert result.spearman == pytest.approx(spearman.statistic, abs=1e-6)
    assert result.pearson == pytest.approx(pearson.statistic, abs=1e-6)
    assert result.oov_ratio * 100 == pytest.approx(oov)


def test_word_pair_layouts(tmp_path):
    simlex = tmp_path / "SimLex-999.txt"
    simlex.write_text("word1\tword2\tPOS\tSimLex999\tconc(w1)\nold\tnew\tA\t1.58\t2.72\nsmart\tintelligent\tA\t9.2\t1.75\n")
    assert read_word_pairs(simlex) == [("old", "new", 1.58), ("smart", "intelligent", 9.2)]
    men = tmp_path / "MEN.txt"
    men.write_text("# comment\nsun sunlight 50.000000\nautomobile car 50.000000\n")
    assert read_word_pairs(men) == [("sun", "sunlight", 50.0), ("automobile", "car", 50.0)]
    empty = tmp_path / "empty.txt"
    empty.write_text("a b\n")
    with pytest.raises(WordvecError, match="no 'word word score' lines"):
        read_word_pairs(empty)


def test_the_evaluate_commands_print_what_the_api_returns(planted, tmp_path):
    import json

    from click.testing import CliRunner

    from wordvec.cli import main

    ours, questions = planted
    model = tmp_path / "planted.bin"
    ours.save(model)
    runner = CliRunner()
    result = runner.invoke(main, ["evaluate", "analogies", str(model), str(questions), "--restrict", "500", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == evaluate_analogies(ours, questions, restrict_vocab=500).as_dict()
    table = runner.invoke(main, ["evaluate", "analogies", str(model), str(questions), "--restrict", "500"])
    total = evaluate_analogies(ours, questions, restrict_vocab=500).total
    assert table.output.splitlines()[-1].split() == [
        "total", str(total.correct), f"{total.answered:,}", f"{total.skipped:,}", f"{100 * total.accuracy:.2f}%"]
    pairs = EVAL / "wordsim353.tsv"
    result = runner.invoke(main, ["evaluate", "similarity", str(model), str(pairs), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == pytest.approx(evaluate_similarity(ours, pairs).as_dict())
    few = runner.invoke(main, ["evaluate", "similarity", str(model), str(pairs), "--restrict", "5"])
    assert few.exit_code == 1 and "too few to correlate" in few.output
    missing = runner.invoke(main, ["evaluate", "analogies", str(model), str(tmp_path / "none.txt")])
    assert missing.exit_code == 1 and "no such file" in missing.output
