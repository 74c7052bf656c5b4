"""Every training flag and input kind, end to end through the command line."""
import json
import lzma
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

import wordvec
from conftest import DEMO_JOB_STEPS, start_training
from wordvec import Trainer, WordvecError, checks, order
from wordvec import trainer as trainer_module
from wordvec.checkpoint import Position
from wordvec.cli import main

FAST = ["--epochs", "1", "--threads", "1", "-q", "--dim", "20"]


def _train(runner, *arguments):
    result = runner.invoke(main, ["train", *map(str, arguments)])
    assert result.exit_code == 0, result.output
    return result


def test_cbow_sum_keep_case_and_max_vocab(runner, demo_prefix, tmp_path):
    cased = tmp_path / "cased.txt"
    cased.write_text(demo_prefix.read_text().replace("the ", "The "), encoding="utf-8")
    _train(runner, cased, "-o", "sum.wordvec", "--cbow-sum", "--keep-case", "--max-vocab", "50", *FAST)
    summed = wordvec.load(tmp_path / "sum.wordvec")
    assert summed.config["cbow_mean"] is False and summed.config["lowercase"] is False
    assert len(summed.words) == 50 and "The" in summed.words and "the" not in summed.words
    _train(runner, cased, "-o", "mean.wordvec", "--max-vocab", "50", *FAST)
    mean = wordvec.load(tmp_path / "mean.wordvec")
    assert mean.config["cbow_mean"] is True and "the" in mean.words and "The" not in mean.words
    row = summed.words.index("and"), mean.words.index("and")
    assert not np.allclose(summed.vectors[row[0]], mean.vectors[row[1]])


def test_queries_are_folded_as_the_model_was_trained(runner, demo_prefix, tmp_path):
    _train(runner, demo_prefix, "-o", "m.wordvec", *FAST)
    result = runner.invoke(main, ["similar", "King", "-m", "m.wordvec", "-n", "2"])
    assert result.exit_code == 0, result.output
    assert "note: 'King' looked up as 'king' (the model was trained lower-cased)" in result.output
    assert wordvec.load("m.wordvec").wv.most_similar("KING", topn=2) == wordvec.load("m.wordvec").wv.most_similar(
        "king", topn=2)


def test_xz_corpus_stdin_and_the_model_from_the_environment(runner, demo_prefix, tmp_path, monkeypatch):
    packed = tmp_path / "demo.txt.xz"
    packed.write_bytes(lzma.compress(demo_prefix.read_bytes()))
    _train(runner, packed, "-o", "xz.wordvec", *FAST)
    result = runner.invoke(main, ["train", "-", "-o", "stdin.wordvec", *FAST], input=demo_prefix.read_bytes())
    assert result.exit_code == 0, result.output
    np.testing.assert_array_equal(wordvec.load("xz.wordvec").vectors, wordvec.load("stdin.wordvec").vectors)
    monkeypatch.setenv("WORDVEC_MODEL", str(tmp_path / "xz.wordvec"))
    result = runner.invoke(main, ["similar", "king", "-n", "1", "--json"])
    assert result.exit_code == 0 and json.loads(result.output.splitlines()[-1])["positive"] == ["king"]
    assert "model: " + str(tmp_path / "xz.wordvec") in result.output


def test_process_substitution_trains_from_a_pipe(demo_prefix, tmp_path):
    """``wordvec train <(zcat corpus.gz)``: the shell passes /dev/fd/N, a pipe."""
    read, write = os.pipe()
    feeder = subprocess.Popen(["gzip", "-c", str(demo_prefix)], stdout=write)
    os.close(write)
    try:
        result = subprocess.run([sys.executable, "-m", "wordvec.cli", "train", f"/dev/fd/{read}", *FAST],
                                pass_fds=(read,), cwd=tmp_path, capture_output=True, text=True, timeout=300,
                                env={**os.environ, "WORDVEC_HOME": str(tmp_path)})
    finally:
        os.close(read)
        feeder.wait(10)
    assert result.returncode == 0, result.stderr
    assert "saved to stdin.wordvec" in result.stdout and wordvec.load(tmp_path / "stdin.wordvec").complete


def test_plot_loss_and_evaluate_with_3cosmul(runner, demo_prefix, tmp_path):
    _train(runner, demo_prefix, "-o", "m.wordvec", "--plot-loss", "loss.png", *FAST)
    assert (tmp_path / "loss.png").read_bytes()[:4] == b"\x89PNG"
    questions = tmp_path / "q.txt"
    questions.write_text(": family\nman king woman queen\nman he woman she\n: capitals\nparis france rome italy\n")
    result = runner.invoke(main, ["evaluate", "analogies", str(questions), "-m", "m.wordvec", "--method", "3cosmul",
                                  "--json"])
    assert result.exit_code == 0, result.output
    scores = json.loads(result.output[result.output.index("{"):])
    expected = wordvec.evaluate.evaluate_analogies(wordvec.load_vectors("m.wordvec"), questions, method="3cosmul")
    assert scores == json.loads(json.dumps(expected.as_dict()))
    assert scores["total"]["answered"] == 3


def test_checkpoint_minutes_saves_inside_an_epoch(demo_prefix, tmp_path, monkeypatch):
    monkeypatch.setattr(trainer_module, "SEGMENT_JOBS", 1)
    monkeypatch.setattr(trainer_module, "JOB_STEPS", DEMO_JOB_STEPS)  # 6 jobs an epoch in spread order, the default
    saves = []
    real = wordvec.Model.save
    monkeypatch.setattr(wordvec.Model, "save", lambda model, path: (saves.append(model.position), real(model, path)))
    Trainer(checkpoint=tmp_path / "m.wordvec", checkpoint_minutes=1e-9, epochs=1, threads=1, dim=20).fit(demo_prefix)
    assert len(saves) >= 3 and saves[-1] is None  # checkpoints inside the epoch, then the finished model
    assert all(position["epochs_done"] == 0 and position["jobs_done"] > 0 for position in saves[:-1])


class _Crash(Exception):
    pass


def _stopped_inside_the_epoch(demo_prefix, path, monkeypatch, saves_kept: int, shuffle: bool = True):
    """A 1-thread run in shuffled chunks (``shuffle``) or in the corpus's order, not spread,
    checkpointing after every job, killed while writing checkpoint ``saves_kept + 1``."""
    monkeypatch.setattr(trainer_module, "SEGMENT_JOBS", 1)
    real, calls = wordvec.Model.save, []

    def save(model, target):
        calls.append(target)
        if len(calls) > saves_kept:
            raise _Crash
        real(model, target)

    monkeypatch.setattr(wordvec.Model, "save", save)
    with pytest.raises(_Crash):
        Trainer(checkpoint=path, checkpoint_minutes=1e-9, epochs=1, threads=1, dim=20, shuffle=shuffle,
                spread=False).fit(demo_prefix)
    monkeypatch.setattr(wordvec.Model, "save", real)
    return wordvec.load(path).position


@pytest.mark.parametrize("shuffle", [False, True])
def test_a_run_resumed_inside_an_epoch_with_other_threads_trains_the_jobs_left(demo_prefix, tmp_path, monkeypatch,
                                                                               shuffle):
    path = tmp_path / "m.wordvec"
    position = _stopped_inside_the_epoch(demo_prefix, path, monkeypatch, saves_kept=3, shuffle=shuffle)
    assert position["jobs_done"] == 3 and position["layout"]["stripes"] == 1
    assert position["layout"]["shuffle"] == shuffle
    trained = []
    real_chunk = wordvec.backend.CpuBackend.train_chunk
    monkeypatch.setattr(wordvec.backend.CpuBackend, "train_chunk",
                        lambda backend, slot, ids, start, *rest: (trained.append(start),
                                                                  real_chunk(backend, slot, ids, start, *rest))[1])
    # The resumed run is told the other order, and spreads by default: the epoch it stopped inside
    # keeps the saved order.
    resumed = Trainer(checkpoint=path, epochs=1, threads=2, dim=20, shuffle=not shuffle).fit(demo_prefix,
                                                                                             resume=True)
    chunks = Trainer().prepare(demo_prefix)[1].chunks
    # The first three chunks in the stopped run's order (one stripe, or the permutation of seed 1's
    # first epoch) are done; two stripes would have skipped the first two chunks of each half instead.
    in_order = order.epoch_order(chunks, 1, True, 1, 1) if shuffle else chunks
    assert sorted(trained) == sorted(start for start, _, _ in in_order[3:])
    assert resumed.record_.epochs[0].words == sum(words for *_, words in chunks)


def test_an_epoch_stopped_inside_before_epochs_were_shuffled_resumes_in_order():
    class Backend:
        threads, job_words = 2, 0

    before = Position(0, 3, {}, [], {"stripes": 1, "job_words": 0})  # a layout saved without "shuffle"
    assert Trainer(shuffle=True, spread=True)._resumed_layout(before, Backend()) == {
        "stripes": 1, "job_words": 0, "shuffle": False, "spread": False}
    saved = Position(0, 3, {}, [], {"stripes": 1, "job_words": 0, "shuffle": True})
    assert Trainer(shuffle=False)._resumed_layout(saved, Backend())["shuffle"] is True
    spread = Position(0, 3, {}, [], {"stripes": 1, "job_words": 0, "shuffle": True, "spread": True})
    assert Trainer(spread=False)._resumed_layout(spread, Backend())["spread"] is True


def test_a_shuffled_epoch_is_a_permutation_drawn_from_the_seed_and_the_epoch():
    chunks = [(i * 10, i * 10 + 10, 10) for i in range(50)]
    first, again = (order.epoch_order(chunks, 2, True, 1, 1) for _ in range(2))
    assert first == again and sorted(first) == chunks and first != chunks
    assert order.epoch_order(chunks, 2, True, 1, 2) != first  # another epoch
    assert order.epoch_order(chunks, 2, True, 2, 1) != first  # another seed
    # In order: one stripe a thread, dealt in turn.
    assert order.epoch_order(chunks, 2, False, 1, 1)[:4] == [chunks[0], chunks[25], chunks[1], chunks[26]]


def test_a_run_stopped_inside_an_epoch_on_a_cluster_resumes_only_on_such_a_cluster(demo_prefix, tmp_path,
                                                                                  monkeypatch):
    path = tmp_path / "m.wordvec"
    _stopped_inside_the_epoch(demo_prefix, path, monkeypatch, saves_kept=2)
    model = wordvec.load(path, mmap=False)
    model.position["layout"] = {"workers": 3, "round_share": 1000}
    model.save(path)
    with pytest.raises(WordvecError, match="by a run on a cluster of 3 workers.*--cluster local:3"):
        Trainer(checkpoint=path, epochs=1, dim=20).fit(demo_prefix, resume=True)


def test_ctrl_c_gives_130_and_the_run_resumes_with_other_threads(demo_prefix, tmp_path):
    output = tmp_path / "m.wordvec"
    process = start_training(demo_prefix, output, "--epochs", "200", cwd=tmp_path)
    time.sleep(0.5)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 130, err
    assert "stopped by SIGINT" in err and "--resume" in err and "Traceback" not in err
    stopped = wordvec.load(output)
    assert not stopped.complete
    done_before = stopped.position["epochs_done"]
    command = [sys.executable, "-m", "wordvec.cli", "train", str(demo_prefix), "-o", str(output), "--min-count", "1",
               "--epochs", "200", "--resume", "--threads", "2"]
    # Stop the resumed run too, after it has gone on: it continues, it does not start over.
    resumed = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path)
    for line in resumed.stderr:
        if "resuming after" in line:
            break
    time.sleep(0.5)
    resumed.send_signal(signal.SIGINT)
    _, err = resumed.communicate(timeout=60)
    assert resumed.returncode == 130, err
    again = wordvec.load(output)
    assert again.position["epochs_done"] >= done_before and len(again.record["epochs"]) == again.position["epochs_done"]


def test_resume_starts_a_missing_run_and_ends_a_finished_one(runner, demo_prefix, tmp_path):
    first = runner.invoke(main, ["train", str(demo_prefix), "-o", "m.wordvec", "--resume", "--epochs", "1",
                                 "--threads", "1", "--dim", "20"])  # not quiet: it says what it does
    assert first.exit_code == 0, first.output
    assert "m.wordvec does not exist yet: starting the run" in first.output
    again = runner.invoke(main, ["train", str(demo_prefix), "-o", "m.wordvec", "--resume", *FAST])
    assert again.exit_code == 0, again.output
    assert "holds a finished run (1 epoch): nothing left to do" in again.output


@pytest.mark.parametrize("order", ["--spread", "--no-spread"])
def test_a_corpus_that_trains_no_example_says_why(runner, tmp_path, order):
    tiny = tmp_path / "tiny.txt"
    tiny.write_text("alpha beta\n" * 20, encoding="utf-8")
    # Each word is kept with probability 0.014, so a sentence trains with probability 2e-4 and the corpus
    # with about 0.4 %; seed 1 (the default) in spread order is such a draw: it keeps both words of one line.
    result = runner.invoke(main, ["train", str(tiny), "-o", "t.wordvec", "--min-count", "1", "--sample", "1e-4",
                                  "--seed", "2", order, *FAST])
    assert result.exit_code == 1
    assert result.output.strip().splitlines()[-1].startswith("error: no example was trained: of 40 words read, "
                                                              "subsampling (sample=0.0001) kept")
    assert "lower --sample" in result.output and not (tmp_path / "t.wordvec").exists()
    assert runner.invoke(main, ["train", str(tiny), "--min-count", "1", "--sample", "0", order, *FAST]).exit_code == 0


def test_a_model_larger_than_memory_is_refused_before_allocating(runner, demo_prefix, monkeypatch):
    monkeypatch.setattr(checks, "available_memory", lambda: 200 << 20)
    result = runner.invoke(main, ["train", str(demo_prefix), "--epochs", "1", "--threads", "1", "--dim", "100000"])
    assert result.exit_code == 1
    words = len(Trainer(dim=20).prepare(demo_prefix)[0])  # the vocabulary that would have been trained
    needed = 2 * words * 100_000 * 4 / 2**20  # two float32 matrices, at least
    message = result.output.strip().splitlines()[-1]
    assert message.startswith(f"error: training {words:,} words x 100000 dims needs about ")
    assert float(message.split("needs about ")[1].split(" MB")[0].replace(",", "")) >= int(needed)
    assert message.endswith("but only 200 MB are available; lower --dim or --max-vocab")


def test_divergence_is_seen_in_the_weights_even_when_the_loss_is_finite(demo_prefix, monkeypatch):
    real = trainer_module.run_jobs

    def poisoned(backend, ids, jobs, threads):
        for done, item in enumerate(real(backend, ids, jobs, threads), 1):
            if done == len(jobs):  # every job of the segment has run: its loss is finite
                backend.vectors[0, 0] = np.inf
            yield item

    monkeypatch.setattr(trainer_module, "run_jobs", poisoned)
    with pytest.raises(WordvecError, match="diverged: the weights hold NaN or infinity"):
        Trainer(epochs=1, threads=1, dim=20).fit(demo_prefix)


@pytest.mark.parametrize("loss", ["ns", "hs"])
def test_a_loss_that_grows_far_past_where_it_starts_is_divergence_even_while_finite(demo_prefix, monkeypatch, loss):
    """(alpha 0.2 with subwords on the bench corpus: the loss reached 4.6e15 and the
    run ended as if trained.)"""
    real = trainer_module.run_jobs
    start = {"ns": 6 * np.log(2), "hs": 64 * np.log(2)}[loss]  # negative=5; a path of at most 64 nodes

    def growing(backend, ids, jobs, threads, per_example):
        for job, (total, examples, *rest) in real(backend, ids, jobs, threads):
            yield job, (per_example * examples, examples, *rest)

    for per_example in (99 * start, 101 * start):
        monkeypatch.setattr(trainer_module, "run_jobs",
                            lambda *args, value=per_example: growing(*args, per_example=value))
        if per_example < 100 * start:
            Trainer(epochs=1, threads=1, dim=20, loss=loss).fit(demo_prefix)  # high, but not diverged
            continue
        with pytest.raises(WordvecError, match=r"training diverged in epoch 1 \(the loss per example is "
                                               r".*\); nothing was saved. The learning rate alpha=0.05"):
            Trainer(epochs=1, threads=1, dim=20, loss=loss).fit(demo_prefix)


def test_kernels_keep_nan_meaningful():
    """The kernels' fast-math flags leave out 'no NaN' and 'no infinity': a NaN
    weight gives a NaN loss instead of being optimised away."""
    from wordvec.backend import CpuBackend
    from wordvec.vocab import Vocabulary

    vocab = Vocabulary([f"w{i}" for i in range(6)], [6, 5, 4, 3, 2, 1])
    vectors = np.full((6, 4), 0.1, np.float32)
    vectors[2, 1] = np.nan
    backend = CpuBackend(vectors, np.zeros_like(vectors), trainer_module.training_tables(vocab, 0, "ns"),
                         "cbow", "ns", 2, 2, True, 1, 0)
    ids = np.array([0, 1, 2, 3, 4, 5, -1], dtype=np.int32)
    loss, examples, *_ = backend.train_chunk(0, ids, 0, len(ids), 0.05, 0.05)
    assert examples > 0 and np.isnan(loss)
