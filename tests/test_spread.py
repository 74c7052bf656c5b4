"""Training in spread order (``spread=True``, :mod:`wordvec.order`): the span's
subsampling, the kernel's visiting order against the corpus-order kernel, the
jobs and segments an epoch is cut into, and whole runs."""
import os
import threading
import time

import numpy as np
import pytest

import wordvec
import wordvec.distributed.driver
from wordvec import Trainer, WordvecError, kernels, order
from wordvec import backend as backend_module
from wordvec import trainer as trainer_module
from wordvec.backend import kernel_tables, make_scratch
from wordvec.cli import main
from wordvec.vocab import Vocabulary, alias_table

V, D, END = 9, 6, -1


def _sentences(seed=0, sentences=60):
    """Ids of sentences of 1 to 12 words, each closed by ``END``."""
    rng = np.random.default_rng(seed)
    parts = [np.append(rng.integers(0, V, rng.integers(1, 13)), END) for _ in range(sentences)]
    return np.concatenate(parts).astype(np.int32)


def _setup(arch=kernels.CBOW, objective=kernels.NEGATIVE_SAMPLING, positions=False, rows=None, window=3, seed=0):
    """Weights, tables, settings, scratch and ``D`` for a tiny run; ``rows``: each word's
    subword rows (trained example by example, as spread order trains them)."""
    rng = np.random.default_rng(seed)
    n_rows = V if rows is None else max(max(r) for r in rows) + 1
    W_in = (rng.random((n_rows, D), dtype=np.float32) - 0.5) / D
    W_out = (rng.random((V, D), dtype=np.float32) - 0.5) / D
    vocab = Vocabulary([f"w{i}" for i in range(V)], np.arange(3 * V, 2 * V, -1))
    noise_prob, noise_alias = alias_table(vocab.noise_distribution())
    points, codes, lengths = vocab.huffman_tree()
    subword_tables = {} if rows is None else {
        "row_starts": np.concatenate([[0], np.cumsum([len(r) for r in rows])]), "row_ids": np.concatenate(rows)}
    tables = kernel_tables({"keep_prob": np.ones(V, np.float32), "noise_prob": noise_prob, "noise_alias": noise_alias,
                            "hs_points": points, "hs_codes": codes, "hs_lengths": lengths, **subword_tables})
    settings = kernels.Settings(arch, objective, window, 2, 1, END, int(positions), int(rows is not None), 0)
    scratch = make_scratch(np.random.SeedSequence(seed), D, window, max(3, points.shape[1]),
                           row_starts=tables.row_starts)
    weights = (np.ones((2 * window, D), np.float32) + rng.normal(0, 0.1, (2 * window, D)).astype(np.float32)
               if positions else np.ones((1, 1), np.float32))
    return [W_in, W_out, tables, settings, scratch, weights]


def _spread(ids, run, stride, steps, setup, alpha=(0.05, 0.05)):
    """``train_spread`` over the subsampled span of all ``ids`` (nothing dropped), for each
    ``(first, last)`` of ``steps``; returns the summed totals."""
    W_in, W_out, tables, settings, scratch, weights = setup
    n = -(-len(ids) // run)
    kept = np.empty(n * run, np.int32)
    words = np.sum(ids != END)
    assert kernels.subsample_span(ids, 0, len(ids), tables.keep_prob, np.uint64(3), END, kept) == (words, words)
    totals = np.zeros(2)
    for first, last in steps:
        totals += kernels.train_spread(kept, n, run, stride, first, last, W_in, W_out, tables, settings, scratch,
                                       *alpha, weights)
    return totals


CASES = [dict(), dict(arch=kernels.SKIPGRAM), dict(objective=kernels.HIERARCHICAL_SOFTMAX),
         dict(positions=True), dict(rows=[[i, V + i % 4, V + 4 + i % 3] for i in range(V)]),
         dict(arch=kernels.SKIPGRAM, rows=[[i, V + i % 4] for i in range(V)])]


@pytest.mark.parametrize("case", CASES, ids=["cbow", "skipgram", "hs", "positions", "subwords", "sg-subwords"])
@pytest.mark.parametrize("run", [1, 8])
def test_spread_order_with_stride_one_trains_as_the_corpus_order_kernel(case, run):
    """Stride 1 visits the centres in the corpus's order: then every window, random
    draw and step is ``train_chunk``'s (nothing subsampled, one learning rate)."""
    ids = _sentences()
    spread, chunk = _setup(**case), _setup(**case)
    totals = _spread(ids, run, 1, [(0, -(-len(ids) // run))], spread)
    W_in, W_out, tables, settings, scratch, weights = chunk
    loss, examples, read, kept = kernels.train_chunk(ids, 0, len(ids), W_in, W_out, tables, settings, scratch,
                                                     0.05, 0.05, weights)
    assert totals[1] == examples and kept == np.sum(ids != END)
    assert totals[0] == pytest.approx(loss, rel=1e-12)
    for trained, expected in zip(spread[:2] + spread[-1:], chunk[:2] + chunk[-1:]):
        np.testing.assert_array_equal(trained, expected)


@pytest.mark.parametrize("run", [1, 3])
def test_a_stride_visits_the_blocks_q_times_stride_mod_n_in_turn(run):
    """One call over many steps trains what one call per step, each at block
    ``q · stride mod n``, trains: the kernel's running offsets are the formula."""
    ids = _sentences(seed=1)
    n = -(-len(ids) // run)
    stride = order.spread_stride(n)
    assert stride > 1
    whole, one_by_one = _setup(), _setup()
    totals = _spread(ids, run, stride, [(5, n - 3)], whole)
    blocks = [(q * stride % n, q * stride % n + 1) for q in range(5, n - 3)]
    expected = _spread(ids, run, 1, blocks, one_by_one)
    assert totals[1:].tolist() == expected[1:].tolist() and totals[0] == pytest.approx(expected[0], rel=1e-9)
    for trained, expected in zip(whole[:2], one_by_one[:2]):
        np.testing.assert_array_equal(trained, expected)


def test_every_word_is_a_centre_once_an_epoch():
    """Skip-gram with window 1 on sentences of two words makes one example a word."""
    ids = np.tile(np.array([1, 2, END, 3, 4, END, 5, 6, END], np.int32), 40)
    n = -(-len(ids) // 4)
    stride = order.spread_stride(n)
    totals = _spread(ids, 4, stride, [(0, n // 3), (n // 3, n)], _setup(arch=kernels.SKIPGRAM, window=1))
    assert totals[1] == np.sum(ids != END)


def test_subsampling_a_span_keeps_each_word_with_its_probability_wherever_it_is_read():
    rng = np.random.default_rng(0)
    ids = np.where(rng.random(200_000) < 0.05, END, rng.integers(0, 3, 200_000)).astype(np.int32)
    keep = np.array([1.0, 0.25, 0.0], np.float32)
    kept = np.full(len(ids) + 10, 7, np.int32)
    words, kept_words = kernels.subsample_span(ids, 0, len(ids), keep, np.uint64(42), END, kept)
    assert words == np.sum(ids != END)
    body = kept[:len(kept) - np.argmax(kept[::-1] != END)]  # the padding of sentence ends stripped
    assert np.sum(body == END) == np.sum(ids == END)  # every sentence end, in place
    assert np.sum(body == 0) == np.sum(ids == 0) and not np.any(body == 2)
    assert np.sum(body == 1) == pytest.approx(0.25 * np.sum(ids == 1), rel=0.03)
    assert np.all(kept[len(body):] == END) and kept_words == np.sum(body != END)
    # The decision is the position's: any piece of the span, subsampled alone, agrees.
    piece = np.empty(1000, np.int32)
    kernels.subsample_span(ids, 5000, 6000, keep, np.uint64(42), END, piece)
    expected = [w for i, w in enumerate(ids[5000:6000], 5000)
                if w == END or kernels.kept_at(np.uint64(42), i, w, keep)]
    assert piece[:len(expected)].tolist() == expected
    again = np.empty_like(kept)
    kernels.subsample_span(ids, 0, len(ids), keep, np.uint64(43), END, again)
    assert not np.array_equal(again, kept)  # another epoch's seed


def test_the_threads_come_to_a_span_subsample_it_together_piece_by_piece(monkeypatch):
    monkeypatch.setattr(backend_module, "SPAN_PIECE", 1000)
    rng = np.random.default_rng(1)
    ids = np.where(rng.random(10_500) < 0.1, END, rng.integers(0, 3, 10_500)).astype(np.int32)
    keep = np.array([1.0, 0.25, 0.0], np.float32)
    start, stop, length = 200, 10_200, 10_004  # 10 pieces; the last one also fills the 4 positions beyond
    real, taken = kernels.subsample_span, []

    def subsample(*args):  # slow enough that every thread takes pieces
        taken.append((threading.get_ident(), args[1]))
        time.sleep(0.005)
        return real(*args)

    monkeypatch.setattr(kernels, "subsample_span", subsample)
    span, together = backend_module.SubsampledSpan(keep), threading.Barrier(3)
    results = []

    def train():
        together.wait()
        kept, counts = span.kept(ids, start, stop, 42, length)
        results.append((kept.copy(), counts))

    threads = [threading.Thread(target=train) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(first for _, first in taken) == list(range(start, stop, 1000))  # each piece once
    assert len({thread for thread, _ in taken}) > 1
    expected = np.empty(length, np.int32)  # each piece's kept ids, then sentence ends to the next piece
    pieces = [(first, min(first + 1000, length)) for first in range(0, length, 1000)]
    pieces[-1] = (pieces[-1][0], length)
    counts = np.sum([real(ids, start + a, min(start + a + 1000, stop), keep, np.uint64(42), END, expected[a:b])
                     for a, b in pieces], axis=0)
    for kept, totals in results:
        np.testing.assert_array_equal(kept, expected)
        assert totals == tuple(counts) and totals[0] == np.sum(ids[start:stop] != END)
    # Asked again for the same span (another job of it): nothing is subsampled anew.
    taken.clear()
    np.testing.assert_array_equal(span.kept(ids, start, stop, 42, length)[0], expected)
    assert taken == []


def _resident_kib(path) -> int:
    """This process's resident memory of its mappings of ``path`` (Linux's smaps)."""
    total, inside = 0, False
    with open("/proc/self/smaps", encoding="utf-8") as smaps:
        for line in smaps:
            if line[:1] in "0123456789abcdef" and "-" in line.split(" ", 1)[0]:
                inside = line.rstrip("\n").endswith(str(path))
            elif inside and line.startswith("Rss:"):
                total += int(line.split()[1])
    return total


@pytest.mark.skipif(not os.path.exists("/proc/self/smaps"), reason="reads Linux's /proc/self/smaps")
def test_a_span_lets_go_of_the_mapped_ids_it_has_subsampled(tmp_path):
    path = tmp_path / "ids.npy"
    ids = np.lib.format.open_memmap(path, mode="w+", dtype=np.int32, shape=(1 << 20,))
    ids[:] = np.arange(len(ids)) % 3
    ids.flush()
    del ids
    ids = np.load(path, mmap_mode="r")
    assert int(ids[:(3 << 18)].sum()) > 0 and _resident_kib(path) >= 3 << 10  # the span's 3 MiB are read in
    span = backend_module.SubsampledSpan(np.ones(3, np.float32))
    kept, counts = span.kept(ids, 0, 3 << 18, 42, 3 << 18)
    np.testing.assert_array_equal(kept, ids[:3 << 18])  # (reading them back for the check brings them back)
    del kept
    span.kept(ids, 0, 3 << 18, 43, 3 << 18)  # another epoch's subsampling reads them all again
    assert _resident_kib(path) <= 256  # of 3,072 KiB read: the pages a fault maps around the span's ends
    assert counts == (3 << 18, 3 << 18)


def test_a_piece_that_fails_stops_every_thread_waiting_for_the_span(monkeypatch):
    monkeypatch.setattr(backend_module, "SPAN_PIECE", 1000)
    ids = np.tile(np.array([0, 1, 2, END], np.int32), 2500)
    keep = np.ones(3, np.float32)
    real = kernels.subsample_span

    def subsample(*args):
        time.sleep(0.005)
        if args[1] == 4000:
            raise ValueError("piece 4 failed")
        return real(*args)

    monkeypatch.setattr(kernels, "subsample_span", subsample)
    span, together, errors = backend_module.SubsampledSpan(keep), threading.Barrier(3), []

    def train():
        together.wait()
        try:
            span.kept(ids, 0, len(ids), 42, len(ids))
        except Exception as error:  # noqa: BLE001 - what each thread ends with is the point
            errors.append(error)

    threads = [threading.Thread(target=train) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert not any(thread.is_alive() for thread in threads)  # none waits for the failed piece forever
    assert sorted(type(error).__name__ for error in errors) == ["RuntimeError", "RuntimeError", "ValueError"]
    monkeypatch.setattr(kernels, "subsample_span", real)
    kept, counts = span.kept(ids, 0, len(ids), 42, len(ids))  # asked again, the span is made anew
    np.testing.assert_array_equal(kept, ids)
    assert counts == (7500, 7500)


def test_even_spans_cut_an_epoch_into_spans_of_about_equal_words():
    chunks = [(i * 11, i * 11 + 11, 10) for i in range(100)]
    spans = order.even_spans(chunks, 300)
    assert len(spans) == 4 and [words for *_, words in spans] == [250] * 4
    assert spans[0][0] == 0 and spans[-1][1] == 1100
    assert all(a[1] == b[0] for a, b in zip(spans, spans[1:]))
    assert order.even_spans(chunks, 10_000) == [(0, 1100, 1000)]


def test_spread_jobs_cover_each_span_once_with_shares_of_its_words():
    spans = [(0, 1000, 900), (1000, 1700, 650)]
    jobs = order.spread_jobs(spans, seed=1, epoch=2, job_steps=64, run=4)
    for start, stop, words in spans:
        mine = [job for job in jobs if job[:2] == (start, stop)]
        steps = [job[3] for job in mine]
        n = -(-(stop - start) // 4)
        assert [s.first for s in steps] == list(range(0, n, 16)) and steps[-1].last == n
        assert sum(job[2] for job in mine) == words
        assert {s.stride for s in steps} == {order.spread_stride(n)} and {s.run for s in steps} == {4}
    assert len({job[3].keep_seed for job in jobs}) == 1
    assert order.spread_jobs(spans, 1, 3, 64, 4)[0][3].keep_seed != jobs[0][3].keep_seed


def test_a_segment_never_runs_two_spans_jobs():
    jobs = [(0, 10, 0.1, 0.1, "s")] * 5 + [(10, 20, 0.1, 0.1, "s")] * 3 + [(20, 30, 0.1, 0.1, "s")] * 9
    assert list(trainer_module.segments(jobs, 0, 4)) == [(0, 4), (4, 5), (5, 8), (8, 12), (12, 16), (16, 17)]
    assert list(trainer_module.segments(jobs, 6, 64)) == [(6, 8), (8, 17)]
    plain = [(i, i + 1, 0.1, 0.1) for i in range(10)]
    assert list(trainer_module.segments(plain, 0, 4)) == [(0, 4), (4, 8), (8, 10)]


def test_a_run_in_spread_order_reads_every_word_and_is_reproducible(demo_prefix, monkeypatch):
    monkeypatch.setattr(trainer_module, "SPAN_WORDS", 30_000)  # several spans
    monkeypatch.setattr(trainer_module, "JOB_STEPS", 4096)  # several jobs a span
    settings = dict(dim=20, epochs=2, threads=1, seed=3, spread=True)
    first, again = Trainer(**settings).fit(demo_prefix), Trainer(**settings).fit(demo_prefix)
    corpus_order = Trainer(**{**settings, "spread": False}).fit(demo_prefix)
    words = corpus_order.record_.epochs[0].words
    assert [e.words for e in first.record_.epochs] == [words, words]
    assert first.record_.epochs[1].loss < first.record_.epochs[0].loss
    np.testing.assert_array_equal(first.model_.vectors, again.model_.vectors)
    assert not np.array_equal(first.model_.vectors, corpus_order.model_.vectors)
    # Each span's ids are let go of piece by piece as they are subsampled, once an epoch.
    monkeypatch.setattr(backend_module, "SPAN_PIECE", 5000)
    pieces = []
    monkeypatch.setattr(backend_module, "release_pages", lambda ids, start, stop: pieces.append((start, stop)))
    Trainer(**settings).fit(demo_prefix)
    spans = {job[:2] for job in Trainer()._epoch_jobs(Trainer().prepare(demo_prefix)[1], {
        "job_words": 0, "shuffle": False, "spread": True, "stripes": 1}, 1)}
    expected = [(a, min(a + 5000, stop)) for start, stop in spans for a in range(start, stop, 5000)]
    assert len(spans) > 2 and sorted(pieces) == sorted(expected * 2)  # two epochs
    # Subsampling decides by position: the same words are kept on two threads.
    two = Trainer(**{**settings, "threads": 2}).fit(demo_prefix)
    assert [e.words_kept for e in two.record_.epochs] == [e.words_kept for e in first.record_.epochs]
    assert first.model_.config["spread"] is True


def test_the_command_line_trains_in_spread_order_and_a_cluster_refuses_it(demo_prefix, runner, tmp_path):
    runs = [((), True), (("--no-spread",), False), (("--loss", "hs"), False), (("--loss", "hs", "--spread"), True)]
    for flags, spread in runs:
        result = runner.invoke(main, ["train", str(demo_prefix), "--epochs", "1", "--dim", "10", "-q", *flags])
        assert result.exit_code == 0, result.output
        assert wordvec.load(tmp_path / "demo_prefix.wordvec").config["spread"] is spread, flags
    with pytest.raises(WordvecError, match="--spread trains on one machine"):
        Trainer(spread=True).fit(demo_prefix, cluster="local:2")


def test_spread_order_is_the_default_with_negative_sampling_of_whole_words_on_one_machine(demo_prefix,
                                                                                          monkeypatch):
    assert Trainer().settings()["spread"] is True
    assert Trainer(arch="skipgram", position_weights=True).settings()["spread"] is True
    assert Trainer(loss="hs").settings()["spread"] is False
    assert Trainer(loss="softmax").settings()["spread"] is False
    assert Trainer(subwords=True).settings()["spread"] is False
    assert Trainer(loss="hs", spread=True).settings()["spread"] is True
    assert Trainer(spread=False).settings()["spread"] is False
    on_cluster = []
    monkeypatch.setattr(wordvec.distributed.driver, "fit_on_cluster",
                        lambda trainer, *args: on_cluster.append(trainer.settings()["spread"]) or trainer)
    Trainer().fit(demo_prefix, cluster="local:2")  # a cluster's workers train their parts in order
    assert on_cluster == [False]


class FakeBackend:
    threads, job_words = 1, 0


def test_an_epoch_stopped_inside_resumes_with_the_spread_jobs_left(demo_prefix, tmp_path, monkeypatch):
    monkeypatch.setattr(trainer_module, "JOB_STEPS", 8192)
    monkeypatch.setattr(trainer_module, "SEGMENT_JOBS", 1)
    path, real_save, saves = tmp_path / "m.wordvec", wordvec.Model.save, []

    def save(model, target):  # killed while writing the fourth checkpoint
        saves.append(target)
        if len(saves) > 3:
            raise KeyboardInterrupt
        real_save(model, target)

    settings = dict(checkpoint=path, epochs=1, threads=1, dim=20, spread=True)
    monkeypatch.setattr(wordvec.Model, "save", save)
    with pytest.raises(KeyboardInterrupt):
        Trainer(checkpoint_minutes=1e-9, **settings).fit(demo_prefix)
    monkeypatch.setattr(wordvec.Model, "save", real_save)
    assert wordvec.load(path).position["jobs_done"] == 3
    uninterrupted = Trainer(**{**settings, "checkpoint": None}).fit(demo_prefix)
    jobs = uninterrupted._epoch_jobs(Trainer().prepare(demo_prefix)[1], uninterrupted._layout(FakeBackend), 1)
    trained, real_chunk = [], wordvec.backend.CpuBackend.train_chunk
    monkeypatch.setattr(wordvec.backend.CpuBackend, "train_chunk",
                        lambda backend, slot, ids, *job: (trained.append(job[-1].first),
                                                          real_chunk(backend, slot, ids, *job))[1])
    # Told other threads and no spread, the resumed epoch keeps the saved layout.
    resumed = Trainer(**{**settings, "spread": False, "threads": 2}).fit(demo_prefix, resume=True)
    assert len(jobs) > 6 and sorted(trained) == sorted(job[3].first for job in jobs[3:])
    assert resumed.record_.epochs[0].words == uninterrupted.record_.epochs[0].words
    assert resumed.record_.epochs[0].words_kept == uninterrupted.record_.epochs[0].words_kept


@pytest.mark.parametrize("settings", [dict(loss="softmax", arch="skipgram"), dict(loss="hs", position_weights=True),
                                      dict(subwords=True, arch="skipgram")], ids=["softmax", "hs-positions", "subwords"])
def test_every_output_layer_and_input_trains_in_spread_order(demo_prefix, settings):
    trainer = Trainer(dim=16, epochs=2, threads=2, max_vocab=2000, spread=True, **settings).fit(demo_prefix)
    first, last = trainer.record_.epochs
    assert last.loss < first.loss
    assert first.examples > first.words_kept if settings.get("arch") == "skipgram" else first.examples > 0
    assert np.all(np.isfinite(trainer.model_.vectors))
