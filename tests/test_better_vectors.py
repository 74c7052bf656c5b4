"""Training with phrases, de-duplication and position weights: what the run
joins, drops and learns, what the model file keeps, and resuming."""
import numpy as np
import pytest
from click.testing import CliRunner

import wordvec
from wordvec import Trainer, WordvecError, phrases
from wordvec import trainer as trainer_module
from wordvec.cli import main
from wordvec.corpus import scan

from conftest import DEMO_JOB_STEPS
from test_faults import _REAL_RUN_JOBS, _interrupt_after
from wordvec.errors import TrainingInterrupted


def test_dedup_drops_exact_repeats_and_counts_them():
    sentences = [["a", "b", "c"], ["d", "e"], ["a", "b", "c"], ["a", "b", "c", "d"], ["d", "e"], ["c", "b", "a"]]
    scanned = scan(iter(sentences), dedup=True)
    assert scanned.word_counts() == {"a": 3, "b": 3, "c": 3, "d": 2, "e": 1}
    assert scanned.duplicates == {"sentences_dropped": 2, "tokens_dropped": 5, "distinct_sentences": 4,
                                  "memory_bytes": 32}
    trainer = Trainer(min_count=1, sample=0, epochs=1, threads=1, dedup=True).fit(sentences * 50)
    assert trainer.record_.duplicates["sentences_dropped"] == len(sentences) * 50 - 4
    assert trainer.vocabulary_.counts.tolist() == [3, 3, 3, 2, 1]


def test_sentence_hashes_depend_on_order_and_length():
    ids = np.array([1, 2, 0, 2, 1, 0, 1, 2, 0, 1, 2, 3, 0, 1, 2, 0], dtype=np.int32)
    hashes, _ = wordvec.corpus.SeenSentences.hashes(ids)
    assert hashes[0] == hashes[2] == hashes[4] and len({hashes[0], hashes[1], hashes[3]}) == 3


def test_training_with_phrases_learns_the_joined_words(demo_prefix):
    trainer = Trainer(phrases=2, phrase_threshold=20, epochs=1, threads=1, dim=20).fit(demo_prefix)
    table = trainer.phrase_table_
    assert len(table.passes) == 2 and len(table) > 0
    made = {table.phrase(a, b) for pairs in table.passes for a, b, _, _ in pairs}
    in_vocabulary = {word for word in trainer.model_.words if "_" in word}
    assert in_vocabulary and in_vocabulary <= made  # the demo text has no underscores of its own
    a, b, _, _ = max(table.passes[0], key=lambda pair: pair[3])
    assert table.phrase(a, b) in in_vocabulary
    assert trainer.record_.phrases["joins"][0] > 0
    words = sum(trainer.record_.phrases["joins"]) + trainer.record_.corpus_tokens
    plain = Trainer(epochs=1, threads=1, dim=20).fit(demo_prefix)
    assert words == plain.record_.corpus_tokens  # each join turns two tokens into one


def test_phrases_dedup_and_position_weights_survive_save_and_interrupted_resume(demo_prefix, tmp_path,
                                                                                monkeypatch):
    settings = dict(threads=1, seed=3, epochs=2, dim=20, phrases=1, phrase_threshold=20, dedup=True,
                    position_weights=True)
    monkeypatch.setattr(trainer_module, "SEGMENT_JOBS", 2)
    monkeypatch.setattr(trainer_module, "JOB_STEPS", DEMO_JOB_STEPS)
    whole = Trainer(**settings).fit(demo_prefix).model_
    assert whole.position_weights.shape == (10, 20) and not np.all(whole.position_weights == 1.0)
    np.testing.assert_allclose(whole.position_weights.mean(axis=0), 1.0, atol=1e-4)  # each dimension keeps mean 1
    path = tmp_path / "run.wordvec"
    _interrupt_after(monkeypatch, 3)
    with pytest.raises(TrainingInterrupted):
        Trainer(checkpoint=path, **settings).fit(demo_prefix)
    monkeypatch.setattr(trainer_module, "run_jobs", _REAL_RUN_JOBS)

    def no_detection(*args, **kwargs):
        raise AssertionError("a resumed run joins the saved phrases; it does not look for new ones")

    monkeypatch.setattr(phrases, "detect", no_detection)
    resumed = wordvec.train(demo_prefix, resume=True, checkpoint=path, **settings)
    np.testing.assert_array_equal(resumed.vectors, whole.vectors)
    np.testing.assert_array_equal(resumed.position_weights, whole.position_weights)
    loaded = wordvec.load(path)
    assert loaded.phrase_table() == whole.phrase_table()
    np.testing.assert_array_equal(loaded.position_weights, whole.position_weights)
    assert loaded.words == whole.words


def test_a_saved_phrase_table_joins_the_training_text(tmp_path):
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("we like new york a lot\nnew york is big\n" * 20, encoding="utf-8")
    table = phrases.PhraseTable(passes=[[("new", "york", 1000.0, 40)]])
    table.save(tmp_path / "table.tsv")
    trainer = Trainer(phrase_table=tmp_path / "table.tsv", min_count=1, sample=0, epochs=1, threads=1).fit(corpus)
    assert "new_york" in trainer.model_.wv and "new" not in trainer.model_.wv
    assert trainer.model_.phrase_table() == table


def test_add_output_sums_the_finished_rows_and_checkpoints_keep_the_input_rows(demo_prefix, tmp_path):
    """The finished vectors are ``W_in + W_out`` with ``add_output`` (CBOW's default),
    ``W_in`` without; a checkpoint inside the run holds ``W_in`` either way (the
    rows to train on from), so the two runs' checkpoints are equal."""
    settings = dict(threads=1, seed=2, epochs=2, dim=20, checkpoint_every=1)
    runs = {}
    for add_output in (False, None, True):
        path = tmp_path / f"{add_output}.wordvec"
        checkpoints = []
        trainer = Trainer(add_output=add_output, checkpoint=path, **settings,
                          callbacks=(lambda trainer, record: checkpoints.append(wordvec.load(path).vectors),))
        runs[add_output] = (trainer.fit(demo_prefix).model_, checkpoints[0])
    plain, by_default, summed = (runs[key][0] for key in (False, None, True))
    assert plain.config["add_output"] is False and by_default.config["add_output"] is True
    np.testing.assert_array_equal(summed.output_weights, plain.output_weights)
    np.testing.assert_array_equal(summed.vectors, plain.vectors + plain.output_weights)
    np.testing.assert_array_equal(by_default.vectors, summed.vectors)
    np.testing.assert_array_equal(wordvec.load(tmp_path / "True.wordvec").vectors, summed.vectors)
    np.testing.assert_array_equal(runs[True][1], runs[False][1])
    assert not np.array_equal(runs[True][1], wordvec.load(tmp_path / "True.wordvec").vectors)


@pytest.mark.parametrize("settings,expected", [
    (dict(), True), (dict(arch="skipgram"), False), (dict(loss="hs"), False), (dict(subwords=True), False),
    (dict(loss="softmax"), False), (dict(arch="skipgram", add_output=True), True), (dict(add_output=False), False),
])
def test_add_output_by_default_only_for_cbow_with_negative_sampling(settings, expected):
    assert Trainer(**settings).settings()["add_output"] is expected


@pytest.mark.parametrize("settings,message", [
    (dict(add_output=True, loss="hs"), "hierarchical softmax has no output row per word[^,]*--loss ns$"),
    (dict(add_output=True, subwords=True), "^--add-output [^,]*, and a subword model has none"),
    (dict(arch="skipgram", position_weights=True), "need arch cbow"),
    (dict(phrases=-1), "phrases must be a whole number"),
    (dict(phrases=1, phrase_scoring="npmi", phrase_threshold=100), "between -1 and 1"),
    (dict(phrases=1, phrase_table="table.tsv"), "not both"),
    (dict(phrase_table="missing.tsv"), "no such phrase table"),
])
def test_bad_settings_of_the_additions_are_refused(settings, message):
    with pytest.raises(WordvecError, match=message):
        Trainer(**settings).check_settings()


def test_cli_train_reports_phrases_and_duplicates(runner, tmp_path):
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("the new york times\nnew york is big\nthe new york times\n" * 10, encoding="utf-8")
    result = runner.invoke(main, ["train", str(corpus), "-o", str(tmp_path / "m.wordvec"), "--phrases", "1",
                                  "--phrase-threshold", "1", "--min-count", "1", "--sample", "0", "--dedup",
                                  "--position-weights", "-q"])
    assert result.exit_code == 0, result.output
    assert "phrases: 1 found, 2 joined" in result.output  # after dedup: new york, (2 − 1)·8/(2·2) = 2 > 1
    assert "de-duplication: 28 repeated sentences dropped (112 tokens)" in result.output
    similar = runner.invoke(main, ["similar", "new_york", "-m", str(tmp_path / "m.wordvec"), "-n", "2"])
    assert similar.exit_code == 0, similar.output
    spelled = runner.invoke(main, ["similar", "New York", "-m", str(tmp_path / "m.wordvec"), "-n", "2"])
    assert spelled.exit_code == 0 and spelled.stdout == similar.stdout
    assert "note: 'New York' looked up as 'new_york' (a phrase's words are joined by _)" in spelled.output


def test_cli_train_add_output_flags(runner, demo_prefix, tmp_path):
    base = ["train", str(demo_prefix), "--epochs", "1", "--dim", "10", "--threads", "1", "-q"]
    result = runner.invoke(main, base + ["-o", "input.wordvec", "--no-add-output"])
    assert result.exit_code == 0, result.output
    assert wordvec.load(tmp_path / "input.wordvec").config["add_output"] is False
    refused = runner.invoke(main, base + ["-o", "hs.wordvec", "--loss", "hs", "--add-output"])
    assert refused.exit_code != 0 and "hierarchical softmax has no output row per word" in refused.output
    assert "Traceback" not in refused.output and not (tmp_path / "hs.wordvec").exists()


def test_cli_train_with_npmi_phrases_and_their_own_min_count(runner, tmp_path):
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("we read the new york times today\nthe times of new york\n" * 15, encoding="utf-8")
    model = tmp_path / "m.wordvec"
    result = runner.invoke(main, ["train", str(corpus), "-o", str(model), "--phrases", "1", "--phrase-scoring", "npmi",
                                  "--phrase-threshold", "0.9", "--phrase-min-count", "20", "--min-count", "1",
                                  "--sample", "0", "-q"])
    assert result.exit_code == 0, result.output
    table = wordvec.load(model).phrase_table()
    assert (table.scoring, table.threshold, table.min_count) == ("npmi", 0.9, 20)
    assert [(a, b) for a, b, _, _ in table.passes[0]] == [("new", "york")]  # the only pair seen 30 times
