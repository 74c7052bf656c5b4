"""The command line: train, then ask, with clear errors and exit codes."""
import json
import subprocess
import sys

import numpy as np
import pytest

import wordvec
from wordvec import Model, Vocabulary
from wordvec.cli import main

HAND = {"king": [1, 1, 0], "queen": [1, -1, 0], "man": [0, 1, 0], "woman": [0, -1, 0],
        "apple": [0, 0, 1], "pear": [0, 0.1, 2]}


@pytest.fixture
def hand_model(tmp_path):
    path = tmp_path / "hand.wordvec"
    vectors = np.array(list(HAND.values()), dtype=np.float32)
    Model(Vocabulary(list(HAND), [60, 50, 40, 30, 20, 10]), vectors, np.zeros_like(vectors),
          {"dim": 3, "arch": "cbow", "loss": "ns"}, {"loss_history": [2.5, 1.25], "corpus_tokens": 1000}).save(path)
    return path


def _table(output: str) -> list[tuple[str, float]]:
    rows = [line.split() for line in output.splitlines()[1:]]  # below the header
    return [(word, float(score)) for word, score in rows]


def test_train_then_similar_and_analogy_use_the_last_model(demo_prefix, runner, tmp_path):
    result = runner.invoke(main, ["train", str(demo_prefix), "--epochs", "2", "--threads", "1", "-q"])
    assert result.exit_code == 0, result.output
    assert "saved to demo_prefix.wordvec" in result.output
    assert (tmp_path / "demo_prefix.wordvec").is_file()
    result = runner.invoke(main, ["similar", "king", "-n", "3"])
    assert result.exit_code == 0, result.output
    assert "model: " in result.stderr and "demo_prefix.wordvec" in result.stderr
    assert len(_table(result.stdout)) == 3
    result = runner.invoke(main, ["analogy", "man", "king", "woman", "-n", "1"])
    assert result.exit_code == 0, result.output


def test_similar_prints_an_aligned_table_and_subtracts_dash_words(runner, hand_model):
    result = runner.invoke(main, ["similar", "king", "-m", str(hand_model), "-n", "2"])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[0].split() == ["word", "cosine"]
    assert _table(result.output) == [("man", 0.7071), ("pear", 0.0353)]
    assert len({line.index(line.split()[1]) for line in result.output.splitlines()}) == 1  # one column
    # unit(king) − unit(man) = (0.707, −0.293, 0): cosine 1 / 1.0824 with queen; -word and --negative agree
    dashed = runner.invoke(main, ["similar", "king", "-man", "-m", str(hand_model), "-n", "1"])
    flagged = runner.invoke(main, ["similar", "king", "--negative", "man", "-m", str(hand_model), "-n", "1"])
    assert dashed.exit_code == 0, dashed.output
    assert _table(dashed.output) == _table(flagged.output) == [("queen", pytest.approx(0.9239, abs=1e-4))]
    # after --, words are words already: -man still subtracts man, −unit(man) = (0, −1, 0) is woman's direction
    after_dashes = runner.invoke(main, ["similar", "-m", str(hand_model), "-n", "1", "--", "-man"])
    assert after_dashes.exit_code == 0, after_dashes.output
    assert _table(after_dashes.output) == [("woman", pytest.approx(1.0))]
    cancelled = runner.invoke(main, ["similar", "king", "-king", "-m", str(hand_model)])
    assert cancelled.exit_code == 1 and "error: the query is the zero vector (its words cancel out" in cancelled.output


def test_json_output(runner, hand_model):
    result = runner.invoke(main, ["analogy", "man", "king", "woman", "-m", str(hand_model), "-n", "1", "--json"])
    answer = json.loads(result.output)
    assert answer["analogy"] == ["man", "king", "woman"] and answer["results"][0]["word"] == "queen"
    result = runner.invoke(main, ["similar", "apple", "-m", str(hand_model), "-n", "1", "--json"])
    assert json.loads(result.output)["results"] == [{"word": "pear", "cosine": pytest.approx(0.99875, abs=1e-5)}]


def test_interactive_queries_read_stdin_until_eof(runner, hand_model):
    result = runner.invoke(main, ["similar", "-m", str(hand_model), "-n", "1", "--json"],
                           input="king\n\nnosuchword\napple -pear\n")
    assert result.exit_code == 0, result.output
    answers = [json.loads(line) for line in result.stdout.splitlines()]
    assert [a["positive"] for a in answers] == [["king"], ["apple"]]
    assert answers[1]["negative"] == ["pear"]
    assert "error: 'nosuchword' is not in the vocabulary" in result.stderr
    result = runner.invoke(main, ["analogy", "-m", str(hand_model), "-n", "1"], input="man king woman\nman king\n")
    assert result.exit_code == 0
    assert _table(result.stdout)[0][0] == "queen" and "give three words" in result.stderr


def test_info_export_and_import(runner, hand_model, tmp_path):
    info = runner.invoke(main, ["info", str(hand_model)])
    assert info.exit_code == 0, info.output
    assert "words     6" in info.output and "dim       3" in info.output and "2.5000 1.2500" in info.output
    facts = json.loads(runner.invoke(main, ["info", str(hand_model), "--json"]).output)
    assert facts["format"] == "native" and facts["words"] == 6 and facts["settings"]["arch"] == "cbow"
    for name in ["v.bin", "v.txt"]:
        result = runner.invoke(main, ["export", str(hand_model), name])
        assert result.exit_code == 0, result.output
        np.testing.assert_array_equal(wordvec.load_vectors(tmp_path / name).vectors,
                                      np.array(list(HAND.values()), np.float32))
    assert json.loads(runner.invoke(main, ["info", "v.bin", "--json"]).output)["format"] == "word2vec-bin"
    assert json.loads(runner.invoke(main, ["info", "-m", "v.bin", "--json"]).output)["words"] == 6
    result = runner.invoke(main, ["export", "v2.txt", "-m", "v.bin", "--from", "word2vec-bin", "--limit", "3"])
    assert result.exit_code == 0 and wordvec.load_vectors(tmp_path / "v2.txt").words == list(HAND)[:3]
    wrong = runner.invoke(main, ["export", "v3.txt", "-m", "v.bin", "--from", "word2vec-txt"])
    assert wrong.exit_code == 1 and wrong.output.startswith("error: ")
    result = runner.invoke(main, ["import", "v.txt", "back.wordvec", "--limit", "4"])
    assert result.exit_code == 0, result.output
    assert wordvec.load_vectors(tmp_path / "back.wordvec").words == list(HAND)[:4]
    # any command reads any format
    result = runner.invoke(main, ["similar", "king", "-m", "v.bin", "-n", "1"])
    assert _table(result.output) == [("man", 0.7071)]


def test_export_and_import_never_write_over_what_they_read_and_can_write_to_a_pipe(runner, hand_model, tmp_path):
    before = hand_model.read_bytes()
    for command in (["export", str(hand_model), str(hand_model)], ["export", "-m", str(hand_model), "./hand.wordvec"],
                    ["import", str(hand_model), str(hand_model)]):
        refused = runner.invoke(main, command)
        assert refused.exit_code == 1 and "is the vector file being read: saving there would replace" in refused.output
    assert hand_model.read_bytes() == before  # the output layer and record are still there
    # to standard output: the vectors alone there, the note on stderr
    piped = subprocess.run([sys.executable, "-m", "wordvec.cli", "export", "-m", str(hand_model), "/dev/stdout",
                            "--format", "word2vec-txt"], capture_output=True, text=True, cwd=tmp_path)
    assert piped.returncode == 0, piped.stderr
    header, *rows = [line.split() for line in piped.stdout.splitlines()]
    assert header == ["6", "3"] and [row[0] for row in rows] == list(HAND)
    np.testing.assert_array_equal(np.array([row[1:] for row in rows], np.float32),
                                  np.array(list(HAND.values()), np.float32))
    assert piped.stderr == "wrote 6 vectors of 3 dims to /dev/stdout\n"


def test_errors_are_one_line_and_non_zero(runner, hand_model, tmp_path):
    missing = runner.invoke(main, ["train", str(tmp_path / "nope.txt")])
    assert missing.exit_code == 1 and "no such file" in missing.output and "Traceback" not in missing.output
    bad_flag = runner.invoke(main, ["train", "x.txt", "--window", "0"])
    assert bad_flag.exit_code == 2 and "--window" in bad_flag.output
    no_model = runner.invoke(main, ["similar", "king"])
    assert no_model.exit_code == 1 and "none trained yet" in no_model.output
    unknown = runner.invoke(main, ["similar", "kingg", "-m", str(hand_model)])
    assert unknown.exit_code == 1
    assert unknown.output == "error: 'kingg' is not in the vocabulary; did you mean king?\n"
    corrupt = tmp_path / "corrupt.bin"
    corrupt.write_bytes(b"10 3\nking \x00\x01")
    broken = runner.invoke(main, ["similar", "king", "-m", str(corrupt)])
    assert broken.exit_code == 1 and broken.output.count("\n") == 1 and str(corrupt) in broken.output
    bad_limit = runner.invoke(main, ["similar", "king", "-m", str(hand_model), "--limit", "0"])
    assert bad_limit.exit_code == 2 and "--limit" in bad_limit.output
    wrong_count = runner.invoke(main, ["analogy", "man", "king", "-m", str(hand_model)])
    assert wrong_count.exit_code == 2 and "three words" in wrong_count.output


def test_round_words_reach_the_cluster_driver_and_need_a_cluster(demo_prefix, runner, monkeypatch):
    from wordvec.distributed import driver

    asked = {}

    def fake_fit_on_cluster(trainer, corpus, cluster, resume, round_words):
        asked.update(cluster=cluster, round_words=round_words)
        raise wordvec.WordvecError("stopped before connecting")

    monkeypatch.setattr(driver, "fit_on_cluster", fake_fit_on_cluster)
    result = runner.invoke(main, ["train", str(demo_prefix), "--cluster", "local:2", "--round-words", "123456", "-q"])
    assert result.exit_code == 1 and "stopped before connecting" in result.output
    assert asked == {"cluster": "local:2", "round_words": 123456}
    result = runner.invoke(main, ["train", str(demo_prefix), "--round-words", "1000", "-q"])
    assert result.exit_code != 0 and "--round-words applies to training on a cluster" in result.output
    assert "Traceback" not in result.output
    result = runner.invoke(main, ["train", str(demo_prefix), "--cluster", "local:2", "--round-words", "0", "-q"])
    assert result.exit_code == 2 and "--round-words" in result.output
