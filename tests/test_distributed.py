"""Training on a Dask cluster (a LocalCluster of 2 worker processes, 1 thread each)."""
import os
import signal
import socket
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

distributed = pytest.importorskip("distributed")

import wordvec  # noqa: E402
from wordvec import Trainer, WordvecError  # noqa: E402
from wordvec.distributed import driver, rounds  # noqa: E402

from conftest import DEMO  # noqa: E402
from test_end_to_end import _Crash, _stopped_inside_the_epoch  # noqa: E402
from test_training import ANALOGIES  # noqa: E402


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0")
    client = distributed.Client(cluster, set_as_default=False)
    yield client
    client.close()
    cluster.close()


@pytest.fixture
def small_blocks(monkeypatch):
    """Blocks of about 200 kB and rounds of 80,000 words (40,000 a worker) in runs of any length: many of each."""
    monkeypatch.setattr(driver, "BLOCK_BYTES", 200_000)
    monkeypatch.setattr(driver, "ROUND_WORDS", 80_000)
    monkeypatch.setattr(driver, "LONG_RUN_WORDS", 0)
    monkeypatch.setattr(driver, "MIN_ROUND_WORDS", 10_000)


def test_the_vocabulary_equals_the_single_machine_one(client, demo_prefix, small_blocks):
    paths, blocks, _ = driver.text_blocks(demo_prefix)
    assert len(blocks) > 1
    single = Trainer(min_count=3).prepare(demo_prefix)[0]
    trained = Trainer(min_count=3, epochs=1, dim=10).fit(demo_prefix, cluster=client)
    assert trained.model_.words == single.words
    np.testing.assert_array_equal(trained.model_.vocab.counts, single.counts)
    assert trained.record_.corpus_tokens == Trainer().prepare(demo_prefix)[1].tokens


def _stop_after_the_first_save(monkeypatch, fit) -> None:
    """``fit()``, stopped as by a crash when it saves a second time (after its first checkpoint)."""
    real, saves = wordvec.Model.save, []

    def save_once(model, target):
        saves.append(target)
        if len(saves) > 1:
            raise _Crash
        real(model, target)

    monkeypatch.setattr(wordvec.Model, "save", save_once)
    with pytest.raises(_Crash):
        fit()
    monkeypatch.setattr(wordvec.Model, "save", real)


def test_dedup_on_a_cluster_keeps_what_one_machine_keeps(client, demo_prefix, tmp_path, small_blocks, monkeypatch):
    """Repeats inside a block and across blocks: each block keeps, counts and encodes the
    sentences that one machine reading the corpus in order keeps (the first of equal ones)."""
    lines = demo_prefix.read_text(encoding="utf-8").splitlines()
    corpus = tmp_path / "repeats.txt"
    corpus.write_text("\n".join(lines[:50] + lines + lines[:40] + lines[2000:2010] * 3) + "\n", encoding="utf-8")
    monkeypatch.setattr(driver, "MIN_BLOCK_BYTES", 60_000)
    _, blocks, _ = driver.text_blocks(corpus, workers=2)
    assert len(blocks) >= 4
    keeps, report = driver._ClusterRun(Trainer(dedup=True), client, None, "coherent")._repeats(blocks)
    one_machine = Trainer(min_count=3, dedup=True)
    vocab, encoded = one_machine.prepare(corpus)
    assert report["sentences_dropped"] == one_machine._duplicates["sentences_dropped"] >= 50 + 40 + 20
    assert all(report[key] == one_machine._duplicates[key] for key in ("tokens_dropped", "distinct_sentences"))
    words = "\n".join(vocab.words)
    pieces = [rounds.encode_block(block.compute(), words, True, False, keep=keep).ids
              for block, keep in zip(blocks, keeps)]
    np.testing.assert_array_equal(np.concatenate(pieces), encoded.ids)
    trained = Trainer(min_count=3, epochs=1, dim=10, dedup=True).fit(corpus, cluster=client)
    np.testing.assert_array_equal(trained.model_.vocab.counts, vocab.counts)
    assert trained.record_.corpus_tokens == encoded.tokens
    assert trained.record_.duplicates["tokens_dropped"] == one_machine._duplicates["tokens_dropped"]


def test_a_phrase_table_on_a_cluster_joins_what_one_machine_joins(client, demo_prefix, tmp_path, small_blocks,
                                                                  monkeypatch):
    table = tmp_path / "phrases.json"
    finder = Trainer(phrases=2, phrase_threshold=20)
    finder.prepare(demo_prefix)
    finder.phrase_table_.save(table)
    one_machine = Trainer(min_count=3, phrase_table=str(table))
    vocab, encoded = one_machine.prepare(demo_prefix)
    phrases = one_machine.phrase_table_.as_dict()
    assert sum("_" in word for word in vocab.words) > 5
    monkeypatch.setattr(driver, "MIN_BLOCK_BYTES", 60_000)
    _, blocks, _ = driver.text_blocks(demo_prefix, workers=2)
    assert len(blocks) >= 4
    words = "\n".join(vocab.words)
    pieces = [rounds.encode_block(block.compute(), words, True, False, phrases=phrases).ids for block in blocks]
    np.testing.assert_array_equal(np.concatenate(pieces), encoded.ids)
    trained = Trainer(min_count=3, epochs=1, dim=10, phrase_table=str(table)).fit(demo_prefix, cluster=client)
    assert trained.model_.words == vocab.words
    np.testing.assert_array_equal(trained.model_.vocab.counts, vocab.counts)
    assert trained.record_.corpus_tokens == encoded.tokens  # a join makes two tokens one
    assert trained.model_.phrase_table().as_dict() == phrases  # saved with the model: "New York" finds new_york

    # A run stopped after its first checkpoint resumes with the phrases it saved, as on one machine,
    # though the table's file has changed since.
    settings = dict(min_count=3, epochs=3, dim=10, phrase_table=str(table), checkpoint=tmp_path / "run.wordvec",
                    checkpoint_every=1)
    _stop_after_the_first_save(monkeypatch, lambda: Trainer(**settings).fit(demo_prefix, cluster=client))
    other = Trainer(phrases=1, phrase_threshold=20)
    other.prepare(demo_prefix)
    other.phrase_table_.save(table)
    assert other.phrase_table_.as_dict() != phrases
    resumed = Trainer(**settings).fit(demo_prefix, resume=True, cluster=client)
    assert resumed.resumed_ == "continued" and resumed.record_.corpus_tokens == encoded.tokens
    assert resumed.model_.phrase_table().as_dict() == phrases


@pytest.mark.parametrize("dedup", [False, True])
def test_phrases_found_on_a_cluster_are_those_one_machine_finds(client, demo_prefix, tmp_path, small_blocks,
                                                                monkeypatch, dedup):
    lines = demo_prefix.read_text(encoding="utf-8").splitlines()
    corpus = tmp_path / "repeats.txt"
    corpus.write_text("\n".join(lines + lines[:300]) + "\n", encoding="utf-8")  # with dedup, no pair counts twice
    monkeypatch.setattr(driver, "MIN_BLOCK_BYTES", 60_000)
    assert len(driver.text_blocks(corpus, workers=2)[1]) >= 4
    settings = dict(min_count=3, phrases=2, phrase_threshold=20, dedup=dedup)
    one_machine = Trainer(**settings)
    vocab, encoded = one_machine.prepare(corpus)
    trained = Trainer(**settings, epochs=1, dim=10).fit(corpus, cluster=client)
    found = one_machine.phrase_table_.as_dict()
    assert all(found["passes"]) and trained.model_.phrase_table().as_dict() == found
    assert trained.model_.words == vocab.words
    np.testing.assert_array_equal(trained.model_.vocab.counts, vocab.counts)
    assert trained.record_.corpus_tokens == encoded.tokens
    assert all(trained.record_.phrases[key] == one_machine._phrase_report[key]
               for key in ("pairs_counted", "pairs_pruned", "phrases", "joins"))


@pytest.mark.parametrize("data", [b"", b"\n\n  \n"])
def test_a_block_without_words_has_no_sentences_pairs_or_counts(data):
    hashes, tokens = rounds.hash_block_sentences(data, True, False)
    assert len(hashes) == len(tokens) == 0
    assert rounds.count_block(data, True, False, keep=hashes.astype(bool)) == ({}, {"replaced": 0, "capped": 0}, [])
    words, counts, keys, pair_counts, pruned = rounds.count_block_pairs(data, True, False, None, None, 1000)
    assert words == "" and len(keys) == len(pair_counts) == pruned == 0


def test_position_weights_train_on_a_cluster_keep_their_mean_and_resume(client, demo_prefix, tmp_path, small_blocks,
                                                                         monkeypatch):
    """Each worker's change of ``D`` keeps every dimension's mean over the positions;
    the driver moves ``D`` by their mean, which keeps it too.  A stopped run resumes
    from the ``D`` of its checkpoint."""
    checkpoint = tmp_path / "run.wordvec"
    settings = dict(position_weights=True, min_count=3, epochs=3, dim=10, checkpoint=checkpoint, checkpoint_every=1)
    _stop_after_the_first_save(monkeypatch, lambda: Trainer(**settings).fit(demo_prefix, cluster=client))
    saved = wordvec.load(checkpoint).position_weights
    assert saved.shape == (10, 10) and np.abs(saved - 1).max() > 0.01
    resumed = Trainer(**settings).fit(demo_prefix, resume=True, cluster=client)
    D = resumed.model_.position_weights
    assert resumed.resumed_ == "continued" and np.abs(D - saved).max() > 0.01
    np.testing.assert_allclose(D.mean(axis=0), 1.0, atol=1e-5)
    np.testing.assert_allclose(saved.mean(axis=0), 1.0, atol=1e-5)


def test_blocks_are_counted_and_encoded_as_a_file_of_their_bytes(tmp_path):
    """What a worker does with a block equals what one machine does with a file of the same
    bytes, odd input included: Hindi, Thai, accents composed and decomposed (NFD), undecodable
    bytes, over-long words and lines, CR LF, blank lines."""
    import unicodedata

    from wordvec.tokenize import MAX_SENTENCE_TOKENS, MAX_WORD_CHARS

    languages = ("हिन्दी भाषा में शब्द\nภาษาไทยไม่มีช่องว่าง คำ\n"
                 + unicodedata.normalize("NFD", "naïve café crème\n"))
    data = ((languages + "Ünïcode words, naïve café\r\nbad ").encode() + b"\xff\xfe bytes here\n\n"
            + b"x" * (MAX_WORD_CHARS + 5) + b" tail\n"
            + b" ".join([b"long", b"words"] * (MAX_SENTENCE_TOKENS // 2 + 7)) + b"\nthe end\n")
    path = tmp_path / "block.txt"
    path.write_bytes(data)
    vocab, encoded = Trainer(min_count=1).prepare(path)
    counts, stats, joins = rounds.count_block(data, lowercase=True, whitespace=False)
    assert counts == dict(zip(vocab.words, vocab.counts.tolist()))
    assert {"हिन्दी", "भाषा", "crème"} <= set(counts)  # decomposed accents come out composed
    assert stats["replaced"] == 2 and stats["capped"] == 1 and joins == []
    block = rounds.encode_block(data, "\n".join(vocab.words), lowercase=True, whitespace=False)
    np.testing.assert_array_equal(block.ids, encoded.ids)
    assert (block.tokens, block.words) == (encoded.tokens, encoded.words)


def test_two_workers_learn_the_planted_analogies(client, demo_generator, tmp_path, small_blocks):
    path = tmp_path / "planted.txt"
    path.write_text("\n".join(demo_generator.generate(8000, seed=1)), encoding="utf-8")
    fetched = _blocks_fetched(client)
    trainer = Trainer(seed=1, epochs=5).fit(path, cluster=client)
    # Each worker trains the blocks it encoded (they were fetched 3 and 6 times in two runs before).
    assert _blocks_fetched(client) == fetched
    right = sum(trainer.model_.wv.analogy(a, b, c, topn=1)[0][0] == d for a, b, c, d in ANALOGIES)
    assert right >= 9, f"{right} of {len(ANALOGIES)} analogies right"  # one machine: 11-13 (test_training)
    cluster = trainer.record_.cluster
    assert cluster["workers"] == 2 and cluster["rounds"] == 5 * 3  # 120,000 words a worker an epoch, 40,000 a round
    from wordvec.distributed import round_kernels

    # The driver loaded its kernels while the workers counted, with the types its rounds use: one compiled each.
    assert [len(kernel.signatures) for kernel in (round_kernels.add_changes, round_kernels.combine_rows,
                                                   round_kernels.apply_steps)] == [1, 1, 1]

    def signatures():  # the workers loaded theirs while the driver merged the counts, with the rounds' types too
        from wordvec import kernels

        return [len(kernel.signatures) for kernel in (kernels.train_chunk, round_kernels.changed_rows,
                                                      round_kernels.apply_steps)]
    assert list(client.run(signatures).values()) == [[1, 1, 1]] * 2
    kept = client.run(lambda: len(rounds._WORKING) + len(rounds._STARTS))
    assert list(kept.values()) == [0, 0]  # the workers let go of the arrays the rounds trained in
    # The first round sends the weights, each later one the moves in 16-bit steps (282 words x 100 dims).
    whole = 2 * 282 * 100 * 4
    moves = 2 * 282 * (100 * 2 + 4 + 8)
    assert cluster["bytes_to_workers"] == 2 * (whole + 14 * moves)
    trainer.model_.save(tmp_path / "m.wordvec")
    from click.testing import CliRunner
    from wordvec.cli import main

    shown = CliRunner().invoke(main, ["info", "-m", str(tmp_path / "m.wordvec")]).output
    assert "cluster   2 workers, 15 rounds, 0.2 MB out and" in shown
    assert "combined by coherent with momentum 0.25" in shown
    words = Trainer().prepare(path)[1].words
    assert [epoch.words for epoch in trainer.record_.epochs] == [words] * 5  # every word once an epoch


def test_workers_that_lost_their_weights_are_sent_them_whole_and_nothing_changes(client, demo_prefix, small_blocks):
    def train(drop_at=None):
        real_gather, calls = client.gather, {"n": 0}

        def gather_and_drop(futures, *args, **kwargs):
            calls["n"] += 1
            if calls["n"] == drop_at:  # in the middle of the run: every worker forgets its weights
                client.run(rounds.release_working_copies)
            return real_gather(futures, *args, **kwargs)

        client.gather = gather_and_drop
        try:
            return Trainer(seed=3, epochs=4, dim=20).fit(demo_prefix, cluster=client)
        finally:
            del client.gather

    moved, resent = train(), train(drop_at=6)  # a round an epoch, 2 gathers a round: in the third
    assert moved.record_.cluster["rounds"] == 4
    np.testing.assert_array_equal(moved.model_.vectors, resent.model_.vectors)  # the same bits either way
    whole = 2 * len(moved.model_.words) * 20 * 4 * 2  # both matrices to both workers
    assert resent.record_.cluster["bytes_to_workers"] >= moved.record_.cluster["bytes_to_workers"] + whole


def test_a_cluster_run_of_cbow_ends_with_the_input_plus_output_rows(client, demo_prefix, small_blocks):
    plain = Trainer(seed=3, epochs=2, dim=20, add_output=False).fit(demo_prefix, cluster=client).model_
    summed = Trainer(seed=3, epochs=2, dim=20).fit(demo_prefix, cluster=client).model_
    assert summed.config["add_output"] is True
    np.testing.assert_array_equal(summed.output_weights, plain.output_weights)
    np.testing.assert_array_equal(summed.vectors, plain.vectors + plain.output_weights)


def test_a_part_that_sat_out_a_round_is_sent_the_whole_weights_before_it_trains(client, demo_prefix, small_blocks,
                                                                                  monkeypatch):
    even = driver.plan_parts

    def uneven(*args):  # part 0 takes part 1's first chunk: 4 chunks in 2 rounds against 2 chunks in 1
        parts = even(*args)
        return [parts[0] + parts[1][:1], parts[1][1:]]

    monkeypatch.setattr(driver, "plan_parts", uneven)
    real_gather, missing = client.gather, []

    def gather(futures, *args, **kwargs):
        try:
            return real_gather(futures, *args, **kwargs)
        except rounds.MissingWeights as error:
            missing.append(error)
            raise

    client.gather = gather
    try:
        trainer = Trainer(seed=2, epochs=3, dim=20).fit(demo_prefix, cluster=client)
    finally:
        del client.gather
    assert trainer.record_.cluster["rounds"] == 6
    assert missing == []  # part 1's worker, behind after sitting out each epoch's second round, was sent the weights
    words = Trainer().prepare(demo_prefix)[1].words
    assert [epoch.words for epoch in trainer.record_.epochs] == [words] * 3


def test_a_worker_moves_its_weights_to_the_drivers_bits():
    rng = np.random.default_rng(5)
    W_in, W_out = rng.standard_normal((6, 3)).astype(np.float32), rng.standard_normal((4, 3)).astype(np.float32)
    run = "test-run"
    try:
        start = rounds.start_weights(run, 0, [W_in, W_out], None)
        assert start[0] is not W_in and np.array_equal(start[0], W_in)  # a copy, kept
        momentum = (np.zeros_like(W_in), np.zeros_like(W_out))
        for version, rows in ((1, [1, 4]), (2, [0, 2])):
            after_in, after_out = W_in.copy(), W_out.copy()
            after_in[rows] += rng.standard_normal((2, 3)).astype(np.float32) / 7
            after_out[2] -= 1e-3
            result = rounds.RoundResult(rounds.Changes.between(after_in, W_in), rounds.Changes.between(after_out, W_out),
                                        0.0, 0, 0, 0, 0.0)
            moves = rounds.combine(W_in, W_out, [result], momentum=momentum, eta=0.5)
            assert len(moves[0].rows) == 2 * version  # with momentum, rows moved before move again
            start = rounds.start_weights(run, version, None, moves)
            np.testing.assert_array_equal(start[0], W_in)
            np.testing.assert_array_equal(start[1], W_out)
        with pytest.raises(rounds.MissingWeights):
            rounds.start_weights(run, 4, None, moves)  # version 3 was never made here
    finally:
        rounds.release_working_copies()
    assert run not in rounds._STARTS


def _blocks_fetched(client) -> int:
    """How many encoded blocks the workers have fetched from one another so far."""
    def fetched(dask_worker):
        return sum(str(key).startswith("encode_block") for entry in dask_worker.transfer_incoming_log
                   for key in entry["keys"])
    return sum(client.run(fetched).values())


def test_a_killed_worker_loses_nothing_and_counts_nothing_twice(client, tmp_path, small_blocks):
    pids = client.run(os.getpid)
    real_gather = client.gather
    calls = {"n": 0}

    def gather_after_a_kill(futures, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 6:  # a round's tasks are submitted: kill one worker under them
            os.kill(next(iter(pids.values())), signal.SIGKILL)
        return real_gather(futures, *args, **kwargs)

    client.gather = gather_after_a_kill
    try:
        path = tmp_path / "m.wordvec"
        trainer = Trainer(epochs=2, dim=20, checkpoint=path).fit(DEMO, cluster=client)
    finally:
        del client.gather
    words = Trainer().prepare(DEMO)[1].words
    assert [epoch.words for epoch in trainer.record_.epochs] == [words, words]
    assert wordvec.load(path).complete and np.isfinite(wordvec.load(path).vectors).all()
    assert set(client.run(os.getpid).values()) != set(pids.values())  # the worker was really replaced


def test_a_killed_client_resumes_from_its_checkpoint(client, demo_prefix, tmp_path):
    output = tmp_path / "m.wordvec"
    command = [sys.executable, "-m", "wordvec.cli", "train", str(demo_prefix), "-o", str(output), "--epochs", "30",
               "--dim", "20", "--checkpoint-every", "1", "--cluster", client.scheduler.address, "-q"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not (output.exists() and not wordvec.load(output).complete):
        assert time.monotonic() < deadline and process.poll() is None, process.stderr.read() if process.poll() else ""
        time.sleep(0.05)
    process.kill()
    process.wait()
    stopped = wordvec.load(output).position["epochs_done"]
    assert 1 <= stopped < 30
    resumed = Trainer(epochs=30, dim=20, checkpoint=output, checkpoint_every=1).fit(demo_prefix, resume=True,
                                                                                    cluster=client)
    assert resumed.resumed_ == "continued" and len(resumed.record_.epochs) == 30
    words = Trainer().prepare(demo_prefix)[1].words
    assert all(epoch.words == words for epoch in resumed.record_.epochs)


def test_a_run_stopped_inside_an_epoch_resumes_only_on_rounds_cut_as_before(client, demo_prefix, tmp_path,
                                                                            monkeypatch):
    path = tmp_path / "m.wordvec"
    _stopped_inside_the_epoch(demo_prefix, path, monkeypatch, saves_kept=2)  # one machine, one thread
    with pytest.raises(WordvecError, match="by a run on one machine.*without --cluster"):
        Trainer(checkpoint=path, epochs=1, dim=20).fit(demo_prefix, resume=True, cluster=client)
    model = wordvec.load(path, mmap=False)
    model.position["layout"] = {"workers": 3, "round_share": 1000}
    model.save(path)
    with pytest.raises(WordvecError, match="on 3 workers with rounds of 3,000 words; here 2 workers"):
        Trainer(checkpoint=path, epochs=1, dim=20).fit(demo_prefix, resume=True, cluster=client)


def test_bad_setups_are_one_line_errors(client, monkeypatch, tmp_path):
    with pytest.raises(WordvecError, match="local:0': a local cluster needs at least 1 worker"):
        Trainer().fit(DEMO, cluster="local:0")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setattr(driver, "CONNECT_SECONDS", 2)
    started = time.monotonic()
    with pytest.raises(WordvecError, match=f"no Dask scheduler answers at tcp://127.0.0.1:{port}"):
        Trainer().fit(DEMO, cluster=f"tcp://127.0.0.1:{port}")
    assert time.monotonic() - started < 30
    workers = sorted(client.scheduler_info()["workers"])
    with pytest.raises(WordvecError, match=f"not installed on the workers {workers[0]}, {workers[1]}"):
        driver.check_workers(client, package="wordvec-never-published", expected="1.0")
    with pytest.raises(WordvecError, match="the workers need wordvec 9.9.9, as here: tcp://.* has "):
        driver.check_workers(client, expected="9.9.9")
    with pytest.raises(WordvecError, match="cannot read /no/such/corpus.txt: the corpus must be readable"):
        driver.check_readable(client, ["/no/such/corpus.txt"])
    with pytest.raises(WordvecError, match="no such file or folder"):
        Trainer().fit(tmp_path / "missing-*.txt", cluster=client)
    with pytest.raises(WordvecError, match="not '-' \\(standard input\\)"):
        Trainer().fit("-", cluster=client)
    with pytest.raises(WordvecError, match="not sentences held in this process"):
        Trainer().fit([["a", "b"]] * 10, cluster=client)
    (tmp_path / "empty.txt").write_text("")
    with pytest.raises(WordvecError, match="the corpus holds no words"):
        Trainer().fit(tmp_path / "empty.txt", cluster=client)
    # The driver's kernel loading ended with the run: left running at exit it printed a traceback.
    assert not [thread for thread in threading.enumerate() if thread.name == driver.LOADING_THREAD]
    # ... and so did the workers' (cancelled at exit, Dask printed two warnings above the error).
    shown = subprocess.run([sys.executable, "-m", "wordvec.cli", "train", str(tmp_path / "empty.txt"), "--cluster",
                            "local:2", "-q"], capture_output=True, text=True, timeout=120)
    assert shown.returncode != 0 and shown.stderr.strip() == "error: the corpus holds no words"


def test_weights_that_the_driver_or_a_machine_of_workers_cannot_hold_are_refused_before_training(
        client, demo_prefix, monkeypatch):
    from wordvec import checks

    class Cluster:  # two workers on one machine with 3 GB free, one on another with 10 GB
        def run(self, function):
            return {"tcp://10.0.0.1:4001": 3 << 30, "tcp://10.0.0.1:4002": 3 << 30, "tcp://10.0.0.2:4001": 10 << 30}

    driver.check_worker_memory(Cluster(), 1 << 30, "hint")
    with pytest.raises(WordvecError, match=rf"the 2 workers on 10.0.0.1 need about 4,096 MB of memory "
                                           rf"\({driver.WORKER_WEIGHT_COPIES:g} copies of the weights each\), "
                                           r"but only 3,072 MB are available there; hint"):
        driver.check_worker_memory(Cluster(), 2 << 30, "hint")
    # The driver holds the weights, their momentum, the summed changes, the moves and each worker's changes.
    words = len(Trainer().prepare(demo_prefix)[0])
    weights = 2 * words * 1000 * 4
    monkeypatch.setattr(checks, "available_memory", lambda: 3 * weights)  # one machine's run fits
    copies = driver.DRIVER_WEIGHT_COPIES + 2 * driver.DRIVER_COPIES_PER_WORKER
    with pytest.raises(WordvecError, match="needs about .* MB of memory, but only") as refused:
        Trainer(dim=1000, epochs=1).fit(demo_prefix, cluster=client)
    needed = float(str(refused.value).split("needs about ")[1].split(" MB")[0].replace(",", "")) * 2**20
    assert copies * weights - 2**19 <= needed <= (copies + 0.2) * weights  # the message rounds to whole MB


def test_empty_files_in_a_folder_are_no_blocks(tmp_path, demo_prefix):
    folder = tmp_path / "corpus"
    folder.mkdir()
    (folder / "a.txt").write_bytes(demo_prefix.read_bytes())
    (folder / "b.txt").write_text("")
    paths, blocks, sizes = driver.text_blocks(folder, workers=2)
    assert len(paths) == 2 and len(blocks) == len(sizes) >= 1
    assert sum(sizes) == pytest.approx(demo_prefix.stat().st_size)
    (folder / "model.wordvec").write_bytes(b"PK\x03\x04\x00\x00")
    (folder / ".git").mkdir()
    (folder / ".git" / "HEAD").write_text("ref: refs/heads/main\n")  # hidden, as on one machine: never read
    with pytest.warns(wordvec.errors.NotTextWarning, match="skipped 1 of its 3 files, .*: model.wordvec"):
        paths, _, sizes = driver.text_blocks(folder, workers=2)
    assert sorted(os.path.basename(path) for path in paths) == ["a.txt", "b.txt"]


#: Changes and moves travel in 16-bit steps of their row's largest element: within 1/65,534 of it each.
STEP = 1 / 32767


def _result(rows_in, delta_in):
    """A round's result that changed only the given input rows (of 5) by about the given deltas."""
    after = np.zeros((5, 2), np.float32)
    after[rows_in] = delta_in
    unchanged = np.zeros((0, 2), np.float32)
    return rounds.RoundResult(rounds.Changes.between(after, np.zeros_like(after)),
                              rounds.Changes.between(unchanged, unchanged), 0.0, 0, 0, 0, 0.0)


def test_coherent_combining_adds_independent_changes_and_averages_agreeing_ones():
    weights = np.zeros((5, 2), np.float32)
    results = [_result([0, 1, 2, 3], [[1, 0], [2, 2], [3, 0], [1, 1]]),
               _result([1, 2, 3, 4], [[2, 2], [0, 4], [-1, -1], [5, 6]])]
    rounds.combine(weights, np.zeros((5, 2), np.float32), results, "coherent")
    a = rounds.AGREEMENT_POWER
    np.testing.assert_allclose(weights[0], [1, 0], rtol=STEP)  # one worker: its change exactly
    np.testing.assert_allclose(weights[1], np.multiply([4, 4], 2.0 ** -a), rtol=STEP)  # equal: 2^-a of the sum
    np.testing.assert_allclose(weights[2], [3, 4], rtol=STEP)  # orthogonal changes: their sum
    np.testing.assert_allclose(weights[3], [0, 0])  # opposite changes cancel
    np.testing.assert_allclose(weights[4], [5, 6], rtol=STEP)
    # in between: S = (3, 1), Q = 4 + 2 = 6, |S|^2 = 10: S * 0.6^a
    partly = np.zeros((1, 2), np.float32)
    rounds.combine(partly, np.zeros((1, 2), np.float32), [_result([0], [[2, 0]]), _result([0], [[1, 1]])])
    np.testing.assert_allclose(partly[0], np.multiply([3, 1], 0.6 ** a), rtol=STEP)


def test_a_local_cluster_does_not_profile_its_workers():
    import dask

    client, started = driver.connect("local:1")
    try:
        assert list(client.run(lambda: dask.config.get("distributed.worker.profile.enabled")).values()) == [False]
    finally:
        client.close()
        started.close()
    assert dask.config.get("distributed.worker.profile.enabled")  # nothing changed for the caller


def test_each_worker_keeps_whole_blocks_of_equal_bytes_when_there_are_enough():
    assert driver.block_places([10, 10, 10, 10], 2) == [0, 0, 1, 1]
    assert driver.block_places([30, 5, 5, 10, 10], 2) == [0, 1, 1, 1, 1]  # 30 of 60 bytes: the middle at 15
    summaries = [([(0, 0, 6), (0, 0, 4)], 0, 10), ([(0, 0, 5)], 0, 5), ([(0, 0, 6)], 0, 6)]
    assert driver.plan_parts(summaries, 2, [0, 1, 1]) == [[(0, 0, 6), (0, 1, 4)], [(1, 0, 5), (2, 0, 6)]]
    # Whole blocks would give one worker 12 words of 22 (more than 5 % above 11): cut by words instead.
    assert driver.plan_parts(summaries[:2] + [([(0, 0, 7)], 0, 7)], 2, [0, 1, 1]) == [
        [(0, 0, 6), (0, 1, 4), (1, 0, 5)], [(2, 0, 7)]]
    # One block for two workers: cut by words, inside the block.
    assert driver.plan_parts(summaries[:1], 2, [0]) == [[(0, 0, 6)], [(0, 1, 4)]]


def test_each_part_is_shuffled_on_its_own_each_epoch_and_cut_into_rounds():
    parts = [[(0, c, 10) for c in range(30)], [(1, c, 10) for c in range(30)]]
    first = driver.epoch_parts(parts, True, 1, 1)
    assert first == driver.epoch_parts(parts, True, 1, 1) and first != parts
    assert [sorted(part) for part in first] == parts  # every chunk once, each in its own part
    assert driver.epoch_parts(parts, True, 1, 2) != first and driver.epoch_parts(parts, False, 1, 1) == parts
    tasks = driver.round_tasks(first, [0, 0], 50)
    assert [task.words for task in tasks] == [50, 50]
    assert sorted(c for _, f, stop in tasks[0].pieces for c in range(f, stop)) == sorted(c for _, c, _ in first[0][:5])


def test_rounds_shorten_with_the_cube_of_the_workers_and_in_short_runs():
    long_run, short_run = driver.LONG_RUN_WORDS, driver.LONG_RUN_WORDS - 1
    assert [driver.default_round_words(k, long_run) for k in (1, 2, 4, 8, 16)] == [8_000_000, 8_000_000, 1_000_000,
                                                                                   250_000, 250_000]
    # One worker's rounds are one machine's training whatever their length: no shorter rounds for it.
    assert [driver.default_round_words(k, short_run) for k in (1, 2, 4, 8)] == [8_000_000, 500_000, 250_000,
                                                                                250_000]
    # Skip-gram with subwords: rounds of at most 1 M words on more than one worker.
    assert [driver.default_round_words(k, long_run, skipgram_subwords=True) for k in (1, 2, 4, 8)] == [
        8_000_000, 1_000_000, 1_000_000, 250_000]
    counts = np.full(1000, 10_000)  # 10 M words an epoch: 6 epochs make a long run, 5 a short one
    assert driver.round_settings(2, counts, 6).share == 4_000_000
    assert driver.round_settings(2, counts, 5).share == 250_000
    assert driver.round_settings(2, counts, 5, round_words=2_000_000).share == 1_000_000
    assert [driver.round_settings(k, counts, 6).power for k in (1, 2, 4, 8)] == [0.25, 0.25, 0.75, 0.75]


def test_changed_rows_are_the_rows_that_differ_and_their_change_in_16_bit_steps():
    before = np.arange(12, dtype=np.float32).reshape(4, 3)
    after = before.copy()
    after[1, 2] += 0.5
    after[2] = [6, 7, 8.25]
    after[3] = [np.nan, 10, 11]  # a row gone NaN is a change: divergence reaches the driver
    changes = rounds.Changes.between(after, before)
    assert changes.rows.tolist() == [1, 2, 3] and changes.steps.dtype == np.int16
    assert changes.steps[0].tolist() == [0, 0, 32767] and changes.steps[1].tolist() == [0, 0, 32767]
    np.testing.assert_allclose(changes.deltas()[:2], [[0, 0, 0.5], [0, 0, 0.25]], rtol=1e-6)
    assert np.isnan(changes.deltas()[2]).all()
    assert changes.nbytes == 3 * 8 + 3 * 4 + 3 * 3 * 2
    nothing = rounds.Changes.between(before, before.copy())
    assert nothing.rows.shape == (0,) and nothing.steps.shape == (0, 3)


def test_each_change_comes_back_within_half_a_step_of_its_row():
    rng = np.random.default_rng(3)
    before = rng.standard_normal((200, 100)).astype(np.float32)
    exact = (rng.standard_normal((200, 100)) * np.logspace(-8, 0, 200)[:, None]).astype(np.float32)
    exact[7] = 0.0  # unchanged: not sent
    after = before + exact
    changes = rounds.Changes.between(after, before)
    assert 7 not in changes.rows and len(changes.rows) == 199
    changed = after[changes.rows] - before[changes.rows]  # the change float32 can hold
    half_step = np.abs(changed).max(axis=1, keepdims=True) / 65534
    assert (np.abs(changes.deltas() - changed) <= half_step * 1.01).all()  # float32 rounding: 0.3 % of a step


def test_rare_rows_add_the_changes_up_whatever_their_agreement():
    results = [_result([0, 1], [[1, 1], [2, 2]]), _result([0, 1], [[1, 1], [2, 2]])]
    weights = np.zeros((2, 2), np.float32)
    rounds.combine(weights, np.zeros((2, 2), np.float32), results, "coherent", summed_from=1)
    np.testing.assert_allclose(weights, [np.multiply([2, 2], 2.0 ** -rounds.AGREEMENT_POWER), [4, 4]], rtol=1e-6)
    counts = np.array([500, 300, 100, 60, 40])  # 1,000 words: in a share of 10 words, 5, 3, 1, 0.6, 0.4 times
    assert rounds.SUMMED_BELOW == 4 and rounds.first_summed_row(counts, 10) == 1
    assert rounds.first_summed_row(counts, 80) == 4 and rounds.first_summed_row(counts, 1) == 0


def test_ngram_rows_combine_by_their_agreement_even_past_the_summed_words():
    """Rows from ``words`` on are n-gram rows (subwords), shared by many words: combined
    by agreement as frequent words are, never simply added up as rare words are."""
    results = [_result([0, 1, 2, 3], [[1, 1], [2, 2], [3, 3], [4, 4]])] * 2
    weights = np.zeros((4, 2), np.float32)
    rounds.combine(weights, np.zeros((2, 2), np.float32), results, "coherent", summed_from=1, words=2)
    averaged = 2.0 ** -rounds.AGREEMENT_POWER  # of the sum of two equal changes
    np.testing.assert_allclose(weights, [np.multiply([2, 2], averaged), [4, 4], np.multiply([6, 6], averaged),
                                         np.multiply([8, 8], averaged)], rtol=1e-6)


def test_subwords_train_on_a_cluster_and_resume_from_its_checkpoint(client, demo_prefix, tmp_path, small_blocks):
    """Every worker trains the words' own rows and their n-grams' rows; the model
    composes unseen words; a checkpoint between epochs holds the n-gram rows, and
    the resumed run starts from them."""
    path = tmp_path / "m.wordvec"
    settings = dict(epochs=2, dim=20, min_count=3, subwords=True, minn=3, maxn=4, bucket=20_000, checkpoint=path,
                    checkpoint_every=1)

    class Stop(Exception):
        pass

    def stop(trainer, record):
        raise Stop

    with pytest.raises(Stop):
        Trainer(callbacks=[stop], **settings).fit(demo_prefix, cluster=client)
    saved = wordvec.load(path, mmap=False)
    assert saved.position["epochs_done"] == 1 and saved.subwords is not None
    n_words, n_grams = len(saved.words), len(saved.subwords.vectors)
    start = np.random.default_rng(1).random((n_words + n_grams, 20), dtype=np.float32)
    start = (start - 0.5) * 2 / 20  # the initial rows (Trainer._initial_weights)
    assert (np.abs(saved.subwords.vectors - start[n_words:]).max(axis=1) > 1e-4).mean() > 0.99
    resumed = Trainer(**settings).fit(demo_prefix, resume=True, cluster=client)
    assert resumed.resumed_ == "continued" and len(resumed.record_.epochs) == 2
    assert resumed.record_.epochs[1].loss < resumed.record_.epochs[0].loss
    model = resumed.model_
    np.testing.assert_array_equal(model.subwords.buckets, saved.subwords.buckets)
    moved = np.abs(model.subwords.vectors - saved.subwords.vectors).max(axis=1)
    assert (moved > 0).mean() > 0.99
    assert "kingz" not in model.wv and model.wv.has_vector("kingz")  # from the n-grams it shares with "king"


def test_a_round_sum_kept_across_rounds_combines_each_round_alone():
    first, second = [_result([0, 2], [[1, 0], [0, 3]]), _result([0], [[0, 1]])], [_result([1, 2], [[2, 2], [1, 1]])]
    kept, fresh = np.ones((3, 2), np.float32), np.ones((3, 2), np.float32)
    changes = rounds.RoundSum(kept, np.zeros((1, 2), np.float32))
    for results in (first, second):
        for result in results:
            changes.add(result)
        changes.apply(kept, np.zeros((1, 2), np.float32), "coherent")
        rounds.combine(fresh, np.zeros((1, 2), np.float32), results, "coherent")
        np.testing.assert_array_equal(kept, fresh)
        assert all(not array.any() for sums in changes.sums for array in sums)  # zero again


def test_momentum_carries_the_combined_changes_across_rounds():
    weights, momentum = np.zeros((3, 2), np.float32), (np.zeros((3, 2), np.float32), np.zeros((3, 2), np.float32))
    rounds.combine(weights, np.zeros((3, 2), np.float32), [_result([0], [[1, 0]])], momentum=momentum, eta=0.5)
    np.testing.assert_allclose(weights, [[1, 0], [0, 0], [0, 0]])  # M = G
    rounds.combine(weights, np.zeros((3, 2), np.float32), [_result([1], [[0, 2]])], momentum=momentum, eta=0.5)
    np.testing.assert_allclose(momentum[0], [[0.5, 0], [0, 2], [0, 0]])  # M = 0.5 M + G
    np.testing.assert_allclose(weights, [[1.5, 0], [0, 2], [0, 0]])  # row 0 moves on, unchanged this round
    assert rounds.block_momentum(1) == 0.0 and rounds.block_momentum(2) == 0.25 and rounds.block_momentum(8) == 0.4375


def test_rounds_are_pure_and_combine_adds_the_changes():
    rng = np.random.default_rng(0)
    vocab = wordvec.Vocabulary([f"w{i}" for i in range(8)], np.arange(16, 8, -1))
    block = rounds.encode_block(b"w0 w1 w2 w3\nw4 w5 w6 w7 w0 w1\n", "\n".join(vocab.words), True, False,
                                chunk_words=4)
    from wordvec.trainer import training_tables

    tables = training_tables(vocab, 0, "ns")
    settings = {"arch": "cbow", "loss": "ns", "window": 2, "negative": 2, "cbow_mean": True}
    W_in = rng.standard_normal((8, 4)).astype(np.float32)
    W_out = rng.standard_normal((8, 4)).astype(np.float32)
    before = W_in.copy(), W_out.copy()
    first = rounds.train_round(W_in, W_out, [(block, 0, len(block.chunks))], tables, settings, 7, 0.05, 0.01)
    again = rounds.train_round(W_in, W_out, [(block, 0, 1), (block, 1, len(block.chunks))], tables, settings, 7,
                               0.05, 0.01)  # the same chunks in two pieces: the same training
    np.testing.assert_array_equal(W_in, before[0])  # inputs untouched
    for mine, its in zip(first.changes_in + first.changes_out, again.changes_in + again.changes_out):
        np.testing.assert_array_equal(mine, its)  # same inputs, same result
    assert first.words == 10 and first.examples > 0
    total_in, total_out = W_in.copy(), W_out.copy()
    rounds.combine(total_in, total_out, [first, again], "sum")
    expected = W_in.copy()
    expected[first.changes_in.rows] += 2 * first.changes_in.deltas()
    np.testing.assert_allclose(total_in, expected, rtol=1e-6)
    mean_in, mean_out = W_in.copy(), W_out.copy()
    rounds.combine(mean_in, mean_out, [first, again], "mean")
    expected = W_in.copy()
    expected[first.changes_in.rows] += first.changes_in.deltas()
    np.testing.assert_allclose(mean_in, expected, rtol=1e-6)
