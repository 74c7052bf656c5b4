"""What the CPU backend's threads share and what each keeps to itself: scratch
arrays on cache lines of their own, and each thread's copy of the hot output
rows, exchanged with the shared rows (see ``kernels.exchange_hot_rows``)."""
import numpy as np
import pytest

from wordvec import kernels
from wordvec.backend import CACHE_LINE, HOT_ROWS, CpuBackend, hot_output_rows, make_scratch
from wordvec.trainer import training_tables
from wordvec.vocab import Vocabulary

V, D = 120, 8


def _lines(array: np.ndarray) -> set[int]:
    """The cache lines ``array``'s bytes lie on."""
    first = array.ctypes.data
    return set(range(first // CACHE_LINE, (first + array.nbytes - 1) // CACHE_LINE + 1))


def test_no_two_scratch_arrays_share_a_cache_line():
    """Each thread writes its scratch for every example: an array of one thread on
    a cache line of another's would bounce between the cores (false sharing)."""
    spaces = [make_scratch(seed, 100, 5, 6, hot=range(64), hot_copy=1000 + 64 * slot)
              for slot, seed in enumerate(np.random.SeedSequence(1).spawn(3))]
    seen: dict[int, str] = {}
    for thread, scratch in enumerate(spaces):
        for name, array in scratch._asdict().items():
            assert array.ctypes.data % CACHE_LINE == 0, name
            for line in _lines(array):
                assert line not in seen, f"thread {thread}'s {name} shares a line with {seen[line]}"
                seen[line] = f"thread {thread}'s {name}"


def test_scratch_arrays_keep_their_contents_and_types():
    scratch = make_scratch(np.random.SeedSequence(7), 10, 3, 4, hot=range(5, 9), hot_copy=20)
    assert scratch.rng[0] == np.random.SeedSequence(7).generate_state(1, np.uint64)[0]
    assert scratch.hidden.dtype == np.float32 and scratch.hidden.shape == (10,)
    assert scratch.position_steps.shape == (6, 10) and scratch.position_steps.flags.c_contiguous
    assert (scratch.table_rows == -1).all()
    assert scratch.hot_start.shape == (4, 10) and list(scratch.hot_state) == [5, 4, 20, 0]


def test_the_hot_rows_are_the_most_written():
    assert hot_output_rows("ns", 1000, 2) == range(HOT_ROWS)  # the most frequent words
    assert hot_output_rows("ns", 10, 4) == range(10)
    assert hot_output_rows("hs", 1000, 2) == range(999 - HOT_ROWS, 999)  # the inner nodes made last, root included
    assert hot_output_rows("hs", 10, 2) == range(0, 9)
    assert hot_output_rows("ns", 1000, 1) == hot_output_rows("softmax", 1000, 4) == range(0)


def test_an_exchange_keeps_this_threads_steps_and_everyone_elses():
    """Rows 1..2 are hot, this thread's copy in rows 4..5."""
    W_out = np.zeros((6, 2), np.float32)
    W_out[1:3] = [[1.0, 2.0], [3.0, 4.0]]      # shared rows: another thread added 0.5 to the first
    hot_start = np.array([[0.5, 2.0], [3.0, 4.0]], np.float32)  # as this thread last saw them
    W_out[4:6] = [[0.75, 2.0], [3.0, 3.0]]     # its steps since: +0.25, and −1 on the last value
    hot_state = np.array([1, 2, 4, 0])
    kernels.exchange_hot_rows(W_out, hot_start, hot_state)
    expected = np.array([[1.25, 2.0], [3.0, 3.0]], np.float32)
    np.testing.assert_array_equal(W_out[1:3], expected)
    np.testing.assert_array_equal(W_out[4:6], expected)
    np.testing.assert_array_equal(hot_start, expected)
    assert W_out[0].tolist() == W_out[3].tolist() == [0.0, 0.0]


def _corpus(seed=3, n=4000):
    rng = np.random.default_rng(seed)
    counts = np.sort(rng.zipf(1.3, V).clip(1, 10_000))[::-1].astype(np.int64) + 1
    ids = rng.choice(V, n, p=counts / counts.sum()).astype(np.int32)
    ids[rng.choice(n, n // 40, replace=False)] = -1  # sentence ends
    ids[-1] = -1
    return Vocabulary([f"w{i}" for i in range(V)], counts), ids


def _backend(threads, loss, arch, seed=5):
    vocab, _ = _corpus()
    tables = training_tables(vocab, 1e-3, loss)
    W_in = (np.random.default_rng(seed).random((V, D), dtype=np.float32) - 0.5) / D
    W_out = np.random.default_rng(seed + 1).normal(0, 0.1, (V, D)).astype(np.float32)
    return CpuBackend(W_in, W_out, tables, arch, loss, 3, 4, True, threads, seed)


@pytest.mark.parametrize("loss", ["ns", "hs"])
@pytest.mark.parametrize("arch", ["cbow", "skipgram"])
def test_a_thread_with_hot_rows_trains_as_one_without(loss, arch):
    """One chunk after another on slot 0 of a two-thread backend (hot rows, the
    same random stream as a one-thread backend's) gives the weights of the
    one-thread backend, which trains every row in place: the copy is exchanged
    within and after each chunk, and taken afresh at the next."""
    _, ids = _corpus()
    two, one = _backend(2, loss, arch), _backend(1, loss, arch)
    assert two.scratch[0].hot_state[1] > 0 and one.scratch[0].hot_state[1] == 0
    for start in range(0, len(ids), 1000):
        for backend in (two, one):
            backend.train_chunk(0, ids, start, start + 1000, 0.05, 0.04)
    for trained, reference in zip(two.weights(), one.weights()):
        assert trained.shape == reference.shape == (V, D)
        np.testing.assert_allclose(trained, reference, rtol=1e-4, atol=1e-6)
    assert not np.allclose(one.weights()[1], _backend(1, loss, arch).weights()[1])  # it did train


@pytest.mark.parametrize("loss", ["ns", "hs"])
def test_each_thread_starts_from_the_steps_the_others_left(loss):
    """A chunk on slot 0, the next on slot 1: slot 1's copy of the hot rows holds
    slot 0's steps, as when both trained the shared rows in place."""
    _, ids = _corpus()
    backend = _backend(2, loss, "cbow")
    W_in, W_out = (array.copy() for array in backend.weights())
    plain = [make_scratch(seed, D, 3, backend.scratch[0].noise.shape[0], row_starts=backend.tables.row_starts)
             for seed in np.random.SeedSequence(5).spawn(2)]
    for slot, (start, stop) in enumerate([(0, 2000), (2000, 4000)]):
        backend.train_chunk(slot, ids, start, stop, 0.05, 0.04)
        kernels.train_chunk(ids, start, stop, W_in, W_out, backend.tables, backend.settings, plain[slot], 0.05, 0.04,
                            backend.position_weights)
    np.testing.assert_allclose(backend.weights()[1], W_out, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(backend.weights()[0], W_in, rtol=1e-4, atol=1e-6)


def test_two_threads_train_the_hot_rows():
    """Two threads at once, exchanging within their chunks: every hot row moves,
    and the weights stay finite."""
    from wordvec.trainer import run_jobs

    _, ids = _corpus(n=40_000)
    backend = _backend(2, "ns", "cbow")
    before = backend.weights()[1].copy()
    jobs = [(start, start + 10_000, 0.05, 0.05) for start in range(0, len(ids), 10_000)]
    results = [result for _, result in run_jobs(backend, ids, jobs, 2)]
    assert min(examples for _, examples, _, _ in results) > kernels.HOT_EXCHANGE
    W_out = backend.weights()[1]
    assert np.isfinite(W_out).all()
    assert (np.abs(W_out[:HOT_ROWS] - before[:HOT_ROWS]).max(axis=1) > 0).all()


@pytest.mark.parametrize("loss", ["ns", "hs"])
def test_an_example_writes_the_threads_copy_of_a_hot_row_not_the_shared_row(loss):
    """Every row hot (rows 0..V−1, the copy in rows V..2V−1): one example leaves
    the shared rows as they were and moves the copy's, by the step it would have
    taken in place."""
    backend = _backend(1, loss, "cbow")
    tables, settings, scratch = backend.tables, backend.settings, backend.scratch[0]
    W_out = np.concatenate([backend.weights()[1]] * 2)
    in_place = W_out[:V].copy()
    hidden = np.full(D, 0.3, np.float32)
    grads = np.zeros(D, np.float32), np.zeros(D, np.float32)
    rng = scratch.rng.copy()
    for rows, first, copy in ((W_out, 0, V), (in_place, 0, 0)):
        scratch.rng[:] = rng
        if loss == "ns":
            kernels.negative_sampling_layer(hidden, 7, rows, 4, tables.noise_prob, tables.noise_alias, scratch.rng,
                                            np.float32(0.05), grads[copy > 0], scratch.noise, scratch.scores,
                                            first, V if copy else 0, copy)
        else:
            kernels.hierarchical_softmax_layer(hidden, 7, rows, *tables[3:6], np.float32(0.05), grads[copy > 0],
                                               scratch.scores, first, V if copy else 0, copy)
    np.testing.assert_array_equal(W_out[:V], backend.weights()[1])
    np.testing.assert_array_equal(W_out[V:], in_place)
    np.testing.assert_array_equal(grads[0], grads[1])
    assert not np.array_equal(in_place, backend.weights()[1])


@pytest.mark.parametrize("loss", ["ns", "hs"])
def test_a_model_trained_on_two_threads_has_the_vocabularys_output_rows_and_round_trips(loss, demo_prefix,
                                                                                       tmp_path):
    """The threads' copies of the hot rows are the backend's, never the model's."""
    import wordvec

    path = tmp_path / "two.wordvec"
    trainer = wordvec.Trainer(threads=2, epochs=1, dim=20, loss=loss, checkpoint=path, progress=False)
    model = trainer.fit(demo_prefix).model_
    assert model.output_weights.shape == (len(model.words), 20)  # a row a word (hs: |V| − 1 inner nodes and a spare)
    np.testing.assert_array_equal(wordvec.load(path).output_weights, model.output_weights)
    assert model.most_similar("king", topn=1)  # the vectors answer queries


def test_the_memory_check_counts_the_copy_of_w_out_that_several_threads_train_in(monkeypatch):
    from wordvec import checks
    from wordvec.tokenize import MAX_SENTENCE_TOKENS
    from wordvec.trainer import Trainer, TrainingRecord

    vocab = Vocabulary([f"w{i}" for i in range(1000)], np.arange(1000, 0, -1))

    def needed(threads, loss):
        seen = []
        monkeypatch.setattr(checks, "check_memory", lambda needed, *args: seen.append(needed))
        Trainer(threads=threads, loss=loss, dim=100, progress=False)._start_run(vocab, TrainingRecord())
        return seen[0]

    for loss in ("ns", "hs"):  # W_out again with the two threads' hot rows, and a thread's scratch
        assert needed(2, loss) - needed(1, loss) == (1000 + 2 * HOT_ROWS) * 100 * 4 + 4 * MAX_SENTENCE_TOKENS
    assert needed(2, "softmax") == needed(1, "softmax")  # one chunk at a time, W_out in place: no copy
