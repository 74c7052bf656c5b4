"""Never lose work: checkpoints, resuming, signals, SIGKILL at any moment,
divergence, and a disk that cannot take the model."""
import os
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

import wordvec
from conftest import DEMO_JOB_STEPS, start_training
from wordvec import Trainer, WordvecError
from wordvec.errors import TrainingInterrupted
from wordvec import checks, trainer as trainer_module

SETTINGS = dict(threads=1, seed=3, epochs=3, dim=40)
_REAL_RUN_JOBS = trainer_module.run_jobs


def _interrupt_after(monkeypatch, jobs: int):
    """Send this process SIGINT once ``jobs`` jobs have run (as Ctrl-C would)."""
    real = trainer_module.run_jobs
    done = {"jobs": 0}

    def counting(backend, ids, job_list, threads):
        for item in real(backend, ids, job_list, threads):
            done["jobs"] += 1
            if done["jobs"] == jobs:
                os.kill(os.getpid(), signal.SIGINT)
            yield item

    monkeypatch.setattr(trainer_module, "run_jobs", counting)
    monkeypatch.setattr(trainer_module, "SEGMENT_JOBS", 2)


@pytest.mark.parametrize("stop_after_jobs", [3, 6])  # mid-epoch, and at the end of the first epoch
def test_an_interrupted_run_resumes_to_the_same_vectors(demo_prefix, tmp_path, monkeypatch, stop_after_jobs):
    monkeypatch.setattr(trainer_module, "SEGMENT_JOBS", 2)
    monkeypatch.setattr(trainer_module, "JOB_STEPS", DEMO_JOB_STEPS)
    whole = Trainer(**SETTINGS).fit(demo_prefix).model_
    path = tmp_path / "run.wordvec"
    _interrupt_after(monkeypatch, stop_after_jobs)
    with pytest.raises(TrainingInterrupted, match="stopped by SIGINT .* continue it with --resume") as stopped:
        Trainer(checkpoint=path, **SETTINGS).fit(demo_prefix)
    assert stopped.value.signal_number == signal.SIGINT
    checkpoint = wordvec.load(path)
    assert not checkpoint.complete and checkpoint.position["jobs_done"] + checkpoint.position["epochs_done"] > 0
    monkeypatch.setattr(trainer_module, "run_jobs", _REAL_RUN_JOBS)
    resumed = wordvec.train(demo_prefix, resume=True, checkpoint=path, **SETTINGS)
    np.testing.assert_array_equal(resumed.vectors, whole.vectors)
    np.testing.assert_array_equal(resumed.output_weights, whole.output_weights)
    final = wordvec.load(path)
    assert final.complete and len(final.record["epochs"]) == 3
    np.testing.assert_array_equal(final.vectors, whole.vectors)


def test_checkpoints_every_epoch_and_what_resume_refuses(demo_prefix, tmp_path):
    path = tmp_path / "run.wordvec"
    seen = []

    def look(trainer, record):
        if record.epoch < 3:
            saved = wordvec.load(path)
            seen.append((saved.position["epochs_done"], len(saved.record["epochs"])))

    Trainer(checkpoint=path, checkpoint_every=1, callbacks=[look], **SETTINGS).fit(demo_prefix)
    assert seen == [(1, 1), (2, 2)]
    finished = wordvec.load(path)
    again = Trainer(checkpoint=path, **SETTINGS).fit(demo_prefix / "never-read", resume=True)
    assert again.resumed_ == "finished"  # nothing left to do: the corpus is not even read
    np.testing.assert_array_equal(again.model_.vectors, finished.vectors)
    assert again.record_.loss_history == finished.record["loss_history"]
    with pytest.raises(WordvecError, match="need a checkpoint path"):
        Trainer(checkpoint_every=1, **SETTINGS).fit(demo_prefix)


def test_resume_checks_the_settings_and_the_corpus(demo_prefix, tmp_path, monkeypatch):
    path = tmp_path / "run.wordvec"
    _interrupt_after(monkeypatch, 3)
    with pytest.raises(TrainingInterrupted):
        Trainer(checkpoint=path, **SETTINGS).fit(demo_prefix)
    monkeypatch.setattr(trainer_module, "run_jobs", _REAL_RUN_JOBS)
    with pytest.raises(WordvecError, match="settings differ .* dim 40 -> 50"):
        Trainer(checkpoint=path, **{**SETTINGS, "dim": 50}).fit(demo_prefix, resume=True)
    shorter = tmp_path / "shorter.txt"
    shorter.write_text("\n".join(demo_prefix.read_text().splitlines()[:2000]))
    with pytest.raises(WordvecError, match="not the same corpus"):
        Trainer(checkpoint=path, **SETTINGS).fit(shorter, resume=True)


def test_divergence_stops_training_and_saves_nothing(demo_prefix, tmp_path):
    path = tmp_path / "run.wordvec"
    with pytest.raises(WordvecError, match="diverged.*nothing.*saved.*learning rate alpha=1e\\+30 is probably too high"):
        Trainer(checkpoint=path, alpha=1e30, **SETTINGS).fit(demo_prefix)
    assert not path.exists()


def test_a_diverging_run_with_many_noise_words_names_them(demo_prefix):
    """Each noise word steps the context's rows, so many of them are a cause besides the rate."""
    with pytest.raises(WordvecError, match=r"alpha=1e\+30 is probably too high for 26 noise words an example "
                                           r"\(--negative; 5 to 20 is usual\)$"):
        Trainer(alpha=1e30, negative=26, **SETTINGS).fit(demo_prefix)
    with pytest.raises(WordvecError, match=r"too high$"):
        Trainer(alpha=1e30, negative=25, **SETTINGS).fit(demo_prefix)


def test_a_diverging_subword_run_names_a_word_that_repeats_one_ngram(demo_prefix, tmp_path):
    """With subwords every repeat of a row takes a full step, so a word like
    ``aaaa…`` is a likely cause of divergence besides the rate: the error names it."""
    lines = demo_prefix.read_text().splitlines()
    corpus = tmp_path / "repeats.txt"
    corpus.write_text("\n".join(lines + [f"{line} {'a' * 40}" for line in lines[:10]]))
    with pytest.raises(WordvecError, match=r"too high, or the word 'a{20}… \(40 characters\)', whose n-grams "
                                           r"repeat one row 38 times"):
        Trainer(alpha=1e30, subwords=True, **SETTINGS).fit(corpus)
    corpus.write_text("\n".join(lines))
    with pytest.raises(WordvecError, match=r"too high$"):
        Trainer(alpha=1e30, subwords=True, **SETTINGS).fit(corpus)


def test_the_repeated_ngram_search_runs_only_once_training_diverged(demo_prefix, tmp_path, monkeypatch):
    """It sorts every word's rows: not a cost of each segment's or checkpoint's check."""
    from wordvec import subwords

    monkeypatch.setattr(subwords, "most_repeated_row", lambda *args: pytest.fail("searched a run that did not diverge"))
    Trainer(subwords=True, checkpoint=tmp_path / "run.wordvec", checkpoint_every=1, **SETTINGS).fit(demo_prefix)


def test_a_full_disk_is_found_before_training(demo_prefix, tmp_path, monkeypatch):
    monkeypatch.setattr(checks.shutil, "disk_usage", lambda folder: shutil._ntuple_diskusage(10, 9, 1))
    with pytest.raises(WordvecError, match="needs about .* MB .* which has 0 MB free"):
        Trainer(checkpoint=tmp_path / "m.wordvec", **SETTINGS).fit(demo_prefix)
    with pytest.raises(WordvecError, match="does not exist"):
        Trainer(checkpoint=tmp_path / "no" / "m.wordvec", **SETTINGS).fit(demo_prefix)


def test_a_failed_save_leaves_the_previous_model_and_says_so(tmp_path, monkeypatch):
    from wordvec.io import native

    rng = np.random.default_rng(0)
    model = wordvec.Model(wordvec.Vocabulary(["a", "b"], [2, 1]), rng.random((2, 3), dtype=np.float32),
                          np.zeros((2, 3), np.float32), {}, {})
    path = tmp_path / "m.wordvec"
    model.save(path)
    before = path.read_bytes()

    def full_disk(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(native, "_write_array", full_disk)
    with pytest.raises(WordvecError, match="cannot write .* No space left on device; the previous .* is unchanged"):
        model.save(path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["m.wordvec"]


def test_sigterm_saves_a_checkpoint_and_exits_non_zero(demo_prefix, tmp_path):
    output = tmp_path / "m.wordvec"
    process = start_training(demo_prefix, output, "--epochs", "400")
    time.sleep(1.0)
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 128 + signal.SIGTERM, err
    assert err.strip().splitlines()[-1].startswith("error: stopped by SIGTERM after ")
    assert "Traceback" not in err
    assert not wordvec.load(output).complete


def _wait_until_stopped(pid: int) -> None:
    """Until the process is in the stopped state ('T' in /proc/PID/stat)."""
    deadline = time.monotonic() + 10
    while open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[0] != "T":
        assert time.monotonic() < deadline, "the process did not stop"
        time.sleep(0.0002)


def test_sigkill_during_a_save_leaves_the_previous_model_and_resume_cleans_up(demo_prefix, tmp_path):
    """The model file is written atomically, so a SIGKILL while a checkpoint is
    being written (its temporary file exists) leaves the previous complete file;
    the next run removes the dead save's temporary file and finishes the run."""
    output = tmp_path / "m.wordvec"
    start_training(demo_prefix, output, "--epochs", "1", "--dim", "200").communicate(timeout=120)
    assert wordvec.load(output).complete
    for kill in range(3):
        process = start_training(demo_prefix, output, "--epochs", "60", "--checkpoint-every", "1", "--dim", "200")
        deadline = time.monotonic() + 60
        while True:  # freeze the process when a save is seen in progress; kill it if it still is
            assert time.monotonic() < deadline and process.poll() is None, "no save was caught"
            if list(tmp_path.glob(".m.wordvec.*.tmp")):
                process.send_signal(signal.SIGSTOP)
                _wait_until_stopped(process.pid)  # the signal is asynchronous: be sure it has landed
                if list(tmp_path.glob(".m.wordvec.*.tmp")):
                    break
                process.send_signal(signal.SIGCONT)
            time.sleep(0.0005)
        process.kill()
        process.communicate()
        assert list(tmp_path.glob(".m.wordvec.*.tmp")), "the dead save's temporary file is left"
        model = wordvec.load(output)  # the last complete file written: the model, or an earlier checkpoint
        assert model.vectors.shape == (len(model.words), 200)
        assert np.isfinite(model.vectors).all()
    _, err = start_training(demo_prefix, output, "--epochs", "1", "--dim", "200").communicate(timeout=120)
    assert "Traceback" not in err and wordvec.load(output).complete
    assert not list(tmp_path.glob(".m.wordvec.*.tmp"))
