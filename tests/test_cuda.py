"""The GPU backend (numba-cuda), run in numba's CUDA simulator (conftest sets
NUMBA_ENABLE_CUDASIM=1 unless told otherwise), which executes the same kernels
thread by thread on the CPU: slowly, so the inputs are tiny.

* one launch of the kernels, in corpus order, equals the CPU kernel's chunk
  (same examples, same noise words) to float32 precision, for CBOW and
  skip-gram with negative sampling and hierarchical softmax, with atomic
  updates too;
* subsampling keeps each word at its rate and never a sentence end;
* a warp's lanes find the CPU's window and draw the CPU's noise words;
* the warps that run at once work on centres spread over the whole launch;
* whole runs: the loss falls, the counts equal the CPU's, an interrupted run
  resumes to the same vectors, ids streamed per job train as ids held on the device;
* ``--device cuda`` without a GPU or without the extra is a one-line error.
"""
import os
import subprocess
import sys
import warnings

import numpy as np
import pytest

import wordvec
from wordvec import Trainer, WordvecError
from wordvec.backend import CpuBackend, kernel_tables
from wordvec.cuda import parse_device, restore_numpy_names
from wordvec.order import spread_stride
from wordvec.errors import TrainingInterrupted
from wordvec.kernels import kept_at
from wordvec.vocab import huffman_tree

pytestmark = [pytest.mark.gpu,
              pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")]  # the simulator's uint64
restore_numpy_names()  # before numba-cuda is imported, as wordvec.cuda.cuda_module does
cuda = pytest.importorskip("numba.cuda")
kernels = pytest.importorskip("wordvec.cuda.kernels")


#: numba's simulator runs the blocks one after another, so a run is bit-reproducible there;
#: on a GPU they run at once (NUMBA_ENABLE_CUDASIM=0 runs these tests on the device).
SIMULATED = os.environ.get("NUMBA_ENABLE_CUDASIM") == "1"
only_simulated = pytest.mark.skipif(not SIMULATED, reason="needs numba's CUDA simulator")
if SIMULATED:
    from wordvec.cuda.simulator import add_warp_functions

    add_warp_functions()  # as wordvec.cuda.cuda_module does; these tests call the kernels directly too


@pytest.fixture(autouse=True, scope="module")
def _quick_thread_switches():
    """The simulator's lanes are Python threads meeting at barriers tens of thousands of
    times, while its block manager polls them holding the interpreter's lock: letting
    threads switch every 0.1 ms instead of 5 makes these tests three times faster."""
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-4)
    yield
    sys.setswitchinterval(interval)


V, D = 12, 8
#: Three sentences; word 11 is the only noise word (see _tables).
IDS = np.array([1, 2, 3, 4, 5, -1, 6, 7, 1, 2, 8, -1, 9, 3, 10], np.int32)


def _tables(loss: str) -> dict:
    """Every word kept; the noise distribution all on word 11 (so both kernels draw
    the same noise words); a Huffman tree over made-up counts."""
    tables = {"keep_prob": np.ones(V, np.float32),
              "noise_prob": np.zeros(V, np.float32), "noise_alias": np.full(V, 11, np.int32)}
    if loss == "hs":
        tables["hs_points"], tables["hs_codes"], tables["hs_lengths"] = huffman_tree(np.arange(V, 0, -1) * 7)
    return tables


def _subword_rows(rng) -> tuple[np.ndarray, np.ndarray]:
    """``row_starts``, ``row_ids``: each word its own row and 0 – 3 of six shared n-gram rows
    (``V..V+5``; one of them twice for word 4), as :func:`wordvec.subwords.training_rows` makes."""
    rows = [[word, *(V + rng.choice(6, size=rng.integers(0, 4), replace=False))] for word in range(V)]
    rows[4].append(rows[4][-1] if len(rows[4]) > 1 else V)
    starts = np.cumsum([0] + [len(r) for r in rows]).astype(np.int64)
    return starts, np.concatenate(rows).astype(np.int32)


def _launch_in_order(W_in, W_out, tables, arch, objective, window, negative, alpha, atomic=False):
    """Both kernels over IDS with one warp taking the centres in corpus order (stride 1)."""
    device = {name: cuda.to_device(array) for name, array in kernel_tables(tables)._asdict().items()}
    ids, kept = cuda.to_device(IDS), cuda.device_array(len(IDS), np.uint8)
    loss, counts = cuda.to_device(np.zeros(1)), cuda.to_device(np.zeros(3, np.int64))
    shape_in, shape_out = W_in.shape, W_out.shape
    W_in, W_out = cuda.to_device(W_in.reshape(-1)), cuda.to_device(W_out.reshape(-1))
    kernels.subsample[1, kernels.SUBSAMPLE_THREADS](ids, 0, len(IDS), device["keep_prob"], -1, np.uint64(3), kept,
                                                    counts)
    train = kernels.train_kernel(arch, objective, "row_ids" in tables, True, D, 1, atomic=atomic)
    train[1, kernels.WARP](
        ids, 0, len(IDS), kept, W_in, W_out, device["noise_prob"], device["noise_alias"], device["hs_points"],
        device["hs_codes"], device["hs_lengths"], device["row_starts"], device["row_ids"], window, negative, -1, 1,
        np.uint64(7), alpha, alpha, loss, counts)
    return (W_in.copy_to_host().reshape(shape_in), W_out.copy_to_host().reshape(shape_out), loss.copy_to_host()[0],
            counts.copy_to_host())


_SETTINGS_IN_ORDER = [pytest.param(arch, loss, subwords, atomic, id=f"{arch}-{loss}-{'sub' if subwords else ''}words"
                                   + ("-atomic" if atomic else ""))
                      for arch, loss, subwords, atomic in
                      [(arch, loss, subwords, False) for arch in ("cbow", "skipgram") for loss in ("ns", "hs")
                       for subwords in (False, True)] + [("cbow", "ns", False, True), ("skipgram", "hs", True, True)]]


@pytest.mark.parametrize("arch, loss, subwords, atomic", _SETTINGS_IN_ORDER)
def test_the_gpu_kernel_in_corpus_order_equals_the_cpu_kernel(arch, loss, subwords, atomic):
    """With subwords the CPU trains a window at a time, which on one thread equals
    example-by-example SGD (tests/test_kernels.py), as the GPU trains; atomic updates
    make the same steps."""
    rng = np.random.default_rng(4)
    tables = _tables(loss)
    if subwords:
        tables["row_starts"], tables["row_ids"] = _subword_rows(rng)
    W_in = ((rng.random((V + 6 * subwords, D)) - 0.5) / D).astype(np.float32)
    W_out = (rng.random((V, D)) - 0.5).astype(np.float32)  # not zero, so that the input rows move at once
    gpu_in, gpu_out, gpu_loss, gpu_counts = _launch_in_order(W_in, W_out, tables, {"cbow": 0, "skipgram": 1}[arch],
                                                             {"ns": 0, "hs": 1}[loss], 1, 3, 0.1, atomic)
    cpu_in, cpu_out = W_in.copy(), W_out.copy()
    backend = CpuBackend(cpu_in, cpu_out, tables, arch, loss, 1, 3, True, 1, 0)  # window 1: every reach is 1
    cpu_loss, *cpu_counts = backend.train_chunk(0, IDS, 0, len(IDS), 0.1, 0.1)
    assert list(gpu_counts) == cpu_counts == [(13 if arch == "cbow" else 20), 13, 13]
    assert gpu_loss == pytest.approx(cpu_loss, rel=1e-5)
    assert np.abs(cpu_in - W_in).max() > 0.01 and np.abs(cpu_out - W_out).max() > 0.01
    np.testing.assert_allclose(gpu_in, cpu_in, atol=2e-6)
    np.testing.assert_allclose(gpu_out, cpu_out, atol=2e-6)


def test_the_kernels_compile_for_a_real_gpu(monkeypatch):
    """The simulator runs the kernels as Python; this compiles them to PTX for an
    H100/H200 (sm_90) as numba-cuda would on the device, with no GPU needed: every
    setting's training kernel keeps ``h`` and its gradient in registers (no local
    memory, which cost the first kernels 9 % of their speed) and its draws and dot
    products in float32."""
    script = """
from itertools import product
from wordvec.cuda import restore_numpy_names
restore_numpy_names()
import numba.cuda.dispatcher as dispatcher
from numba import cuda, types
from wordvec.cuda import kernels

class Hopper:
    compute_capability = (9, 0)

dispatcher.get_current_device = lambda: Hopper()  # device functions compile for the current device
array = lambda dtype, ndim=1: types.Array(dtype, ndim, "C")
i64, u64, f32, f64 = types.int64, types.uint64, types.float32, types.float64
subsample = (array(types.int32), i64, i64, array(f32), i64, u64, array(types.uint8), array(i64))
train = (array(types.int32), i64, i64, array(types.uint8), array(f32), array(f32), array(f32),
         array(types.int32), array(types.int32, 2), array(types.int8, 2), array(types.int32), array(i64),
         array(types.int32), i64, i64, i64, i64, u64, f64, f64, array(f64), array(i64))
ptx, _ = cuda.compile_ptx(kernels.subsample.py_func, subsample, cc=(9, 0))
print("subsample", ".entry" in ptx, ptx.count("bar.sync"), "__local_depot" in ptx, ptx.count("mul.f64"))
for arch, objective, subwords in product((0, 1), (0, 1), (False, True)):
    kernel = kernels.train_kernel(arch, objective, subwords, True, 100, 4)
    ptx, _ = cuda.compile_ptx(kernel.py_func, train, cc=(9, 0), fastmath=kernel.targetoptions["fastmath"])
    print(f"train-{arch}-{objective}-{int(subwords)}", ".entry" in ptx, ptx.count("bar.warp.sync"),
          "__local_depot" in ptx, ptx.count("mul.f64"))
"""
    env = dict(os.environ, NUMBA_ENABLE_CUDASIM="0")
    trivial = ("from wordvec.cuda import restore_numpy_names; restore_numpy_names(); "
               "from numba import cuda, types; cuda.compile_ptx(lambda a: None, (types.float32[:],), cc=(9, 0))")
    if subprocess.run([sys.executable, "-c", trivial], env=env, capture_output=True).returncode != 0:
        pytest.skip("numba-cuda cannot compile here: no CUDA 12 libraries (pip install 'wordvec[cuda]')")
    result = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-3000:]
    kernels_compiled = {name: (entry, int(syncs), local, int(doubles)) for name, entry, syncs, local, doubles in
                        (line.split() for line in result.stdout.splitlines())}
    assert len(kernels_compiled) == 9
    assert kernels_compiled.pop("subsample") == ("True", 9, "False", 0)  # the block's sum: 8 halvings
    for name, (entry, warp_syncs, local_memory, doubles) in kernels_compiled.items():
        assert (entry, local_memory, doubles) == ("True", "False", 0), name
        assert warp_syncs >= 4, name  # a centre's words, an example's rows and their scores


@pytest.mark.skipif(SIMULATED, reason="needs a GPU's occupancy calculator")
def test_the_grid_is_the_blocks_the_gpu_runs_at_once():
    """Each block trains an equal share of a launch, so a block the GPU cannot hold beside
    the others would wait for a second wave: the grid is what the driver says fits."""
    from wordvec.cuda.backend import CudaBackend

    rng = np.random.default_rng(4)
    W_in, W_out = ((rng.random((V, D)) - 0.5) / D).astype(np.float32), np.zeros((V, D), np.float32)
    backend = CudaBackend(cuda, 0, W_in, W_out, _tables("ns"), "cbow", "ns", 2, 3, True, 1, IDS)
    assert backend.blocks is None
    backend.train_chunk(0, IDS, 0, len(IDS), 0.1, 0.1)
    compiled = next(iter(backend._train.overloads.values()))
    assert backend.blocks == compiled.max_cooperative_grid_blocks(backend.warps_per_block * kernels.WARP) > 0


def test_a_small_launch_runs_on_fewer_blocks_so_each_trains_many_centres():
    """Thousands of warps on a few hundred centres would train them all at once from the
    same weights; a big launch takes every block the GPU holds."""
    from wordvec.cuda.backend import CudaBackend

    rng = np.random.default_rng(4)
    W_in, W_out = ((rng.random((V, D)) - 0.5) / D).astype(np.float32), np.zeros((V, D), np.float32)
    backend = CudaBackend(cuda, 0, W_in, W_out, _tables("ns"), "cbow", "ns", 2, 3, True, 1, IDS, blocks=1056)
    each = backend.min_centres_per_warp * backend.warps_per_block
    assert [backend.grid(n) for n in (15, each, 2 * each + 1, 112 * each, 1 << 24)] == [1, 1, 2, 112, 1056]


def test_subsampling_keeps_each_word_at_its_rate_and_never_a_sentence_end():
    ids = np.tile(np.array([0, 1, 2, -1], np.int32), 1024)
    keep_prob = np.array([1.0, 0.3, 0.0], np.float32)
    kept, counts = cuda.device_array(len(ids), np.uint8), cuda.to_device(np.zeros(3, np.int64))
    kernels.subsample[1, kernels.SUBSAMPLE_THREADS](cuda.to_device(ids), 0, len(ids), cuda.to_device(keep_prob), -1,
                                                    np.uint64(11), kept, counts)
    kept, counts = kept.copy_to_host(), counts.copy_to_host()
    assert kept[ids == 0].all() and not kept[ids == -1].any() and not kept[ids == 2].any()
    assert 0.26 < kept[ids == 1].mean() < 0.34  # 1,024 draws: 5 standard deviations
    assert counts[1] == 3 * 1024 and counts[2] == kept.sum()
    cpu_kept = [word != -1 and kept_at(np.uint64(11), i, word, keep_prob) for i, word in enumerate(ids)]
    np.testing.assert_array_equal(kept, cpu_kept)  # the CPU's decision, with the launch's seed and positions


def test_the_lanes_draw_the_noise_words_the_cpu_draws_one_after_another():
    """Lane k takes splitmix64's k-th next output (its state plus k golden steps), so
    an example's noise words (31, the most: a lane each) and the state after them are
    the CPU's sequential draws."""
    from numba import int64, uint32, uint64

    from wordvec.kernels import draw_noise

    @cuda.jit
    def output_rows(target, negative, noise_prob, noise_alias, hs_points, hs_lengths, state, rows_out, state_out):
        rows = cuda.shared.array(kernels.MAX_OUTPUTS, uint32)
        lane_state = cuda.local.array(1, uint64)
        lane_state[0] = state[0]
        lane = int64(cuda.threadIdx.x)
        n_rows = kernels._output_rows(target, 0, negative, noise_prob, noise_alias, hs_points, hs_lengths,
                                      lane_state, rows, lane)
        cuda.syncwarp()
        for k in range(lane, n_rows, kernels.WARP):
            rows_out[k] = rows[k]
        if lane == 0:
            state_out[0] = lane_state[0]

    rng = np.random.default_rng(9)
    noise_prob, noise_alias = rng.random(50).astype(np.float32), rng.integers(0, 50, 50).astype(np.int32)
    state = np.array([0x1234_5678_9ABC_DEF0], np.uint64)
    rows, state_after = cuda.device_array(kernels.MAX_OUTPUTS, np.int64), cuda.device_array(1, np.uint64)
    no_tree = cuda.to_device(np.zeros((1, 1), np.int32)), cuda.to_device(np.zeros(1, np.int32))
    output_rows[1, kernels.WARP](7, 31, cuda.to_device(noise_prob), cuda.to_device(noise_alias), *no_tree,
                                 cuda.to_device(state), rows, state_after)
    cpu_state = state.copy()
    expected = [7] + [draw_noise(cpu_state, noise_prob, noise_alias) for _ in range(31)]
    assert list(rows.copy_to_host()[:32]) == expected
    assert state_after.copy_to_host()[0] == cpu_state[0]


def _expected_window(ids, kept, start, stop, centre, reach):
    """The CPU's window: up to ``reach`` kept words on each side, nearest first, never
    across a sentence end (-1) or out of ``[start, stop)``; the left side's first."""
    words = []
    for direction in (-1, 1):
        found, j = 0, centre + direction
        while found < reach and start <= j < stop and ids[j] != -1:
            if kept[j - start]:
                words.append(ids[j])
                found += 1
            j += direction
    return words


def test_the_lanes_find_the_window_the_cpu_finds():
    """Windows up to 32 kept words a side among words mostly dropped (so that a side
    takes several rounds of 16 positions), sentence ends and the launch's edges."""
    from numba import int64, uint32

    @cuda.jit
    def windows(ids, kept, start, stop, centres, reaches, found, counts):
        context = cuda.shared.array(2 * kernels.MAX_WINDOW + 1, uint32)
        lane = int64(cuda.threadIdx.x)
        for i in range(centres.shape[0]):
            centre = centres[i]
            word, keep = kernels._read(ids, kept, start, stop, kernels._lane_position(centre, lane, 0), -1)
            cuda.syncwarp()
            n_left, n_right = kernels._window(ids, kept, start, stop, centre, reaches[i], -1, word, keep, context,
                                              lane)
            n_context = kernels._close_up(context, n_left, n_right, ids[centre], lane)
            for j in range(lane, n_context + 1, kernels.WARP):
                found[i, j] = context[j]
            if lane == 0:
                counts[i] = n_context

    rng = np.random.default_rng(3)
    ids = rng.integers(0, 1000, 400).astype(np.int32)
    ids[rng.choice(400, 6, replace=False)] = -1
    start, stop = 7, 390
    kept = (rng.random(stop - start) < 0.3).astype(np.uint8)
    kept[ids[start:stop] == -1] = 0
    centres = np.array([c for c in rng.choice(np.arange(start, stop), 40, replace=False) if ids[c] != -1] +
                       [start, stop - 1], np.int64)
    reaches = rng.integers(1, kernels.MAX_WINDOW + 1, len(centres))
    found = cuda.device_array((len(centres), 2 * kernels.MAX_WINDOW + 1), np.int64)
    counts = cuda.device_array(len(centres), np.int64)
    windows[1, kernels.WARP](cuda.to_device(ids), cuda.to_device(kept), start, stop, cuda.to_device(centres),
                             cuda.to_device(reaches), found, counts)
    found, counts = found.copy_to_host(), counts.copy_to_host()
    sizes = []
    for i, (centre, reach) in enumerate(zip(centres, reaches)):
        expected = _expected_window(ids, kept, start, stop, centre, reach)
        assert list(found[i, :counts[i]]) == expected and found[i, counts[i]] == ids[centre], (centre, reach)
        sizes.append(len(expected))
    assert max(sizes) > 20 and min(sizes) < 3  # sides of more than one round, and cut short


def _smallest_gap(n, stride, first, warps):
    """The smallest distance, around the launch, between the centres ``first..first + warps − 1``."""
    at_once = np.sort([kernels.centre_position(q, n, stride) for q in range(first, first + warps)])
    return np.diff(np.concatenate([at_once, [at_once[0] + n]])).min()


@pytest.mark.parametrize("n", [2, 3, 97, 4096, 1_000_000, 1_048_583, 16_777_259])
def test_the_warps_running_at_once_take_centres_spread_over_the_launch(n):
    """Consecutive centre numbers q (the warps running at once) land far apart,
    their windows never overlapping, unlike corpus order (stride 1); every
    position comes exactly once.  (8,448 warps: 132 multiprocessors x 64.)  The stride
    nearest 0.618 n had centres 11 apart for n = 1,048,583 with 4,224 warps."""
    stride = spread_stride(n)
    if n <= 100_000:
        assert sorted(kernels.centre_position(q, n, stride) for q in range(n)) == list(range(n))
    else:
        assert np.gcd(stride, n) == 1
    for warps in (32, 4224, 8448):
        for first in (0, 12_345 % max(n - warps, 1)):
            if warps * 8 <= n:
                assert _smallest_gap(n, stride, first, warps) >= max(n / (16 * warps), 2 * kernels.MAX_WINDOW)
                assert _smallest_gap(n, 1, first, warps) == 1


def _corpus(tmp_path, lines=14):
    """``lines`` lines of 4 of 6 word pairs in random order: a word's partner is always
    beside it, something to learn in a few epochs (12 words drawn at random left the
    loss flat, rising in some epochs on the CPU and on an H200)."""
    pairs = [("king", "queen"), ("man", "woman"), ("prince", "princess"), ("rules", "land"), ("the", "a"),
             ("of", "crown")]
    rng = np.random.default_rng(2)
    text = [" ".join(word for pair in rng.permutation(len(pairs))[:4] for word in pairs[pair]) for _ in range(lines)]
    path = tmp_path / "small.txt"
    path.write_text("\n".join(text) + "\n")
    return path


SETTINGS = dict(dim=8, window=2, negative=3, min_count=1, sample=0, epochs=3, alpha=0.5, seed=5, threads=1)


def test_a_gpu_run_trains_the_same_examples_as_the_cpu_and_its_loss_falls(tmp_path):
    """Blocks of 4 warps here: each centre is trained once, by one of them."""
    corpus = _corpus(tmp_path)
    gpu = Trainer(device="cuda", **SETTINGS).fit(corpus)
    cpu = Trainer(**SETTINGS).fit(corpus)
    gpu_epochs, cpu_epochs = gpu.record_.epochs, cpu.record_.epochs
    assert [e.examples for e in gpu_epochs] == [e.examples for e in cpu_epochs] == [112] * 3
    assert [e.words for e in gpu_epochs] == [112] * 3
    losses = [e.loss for e in gpu_epochs]
    assert losses[0] > losses[1] > losses[2]
    assert losses[2] == pytest.approx(cpu_epochs[2].loss, rel=0.1)
    assert gpu.model_.config["device"] == "cuda" and np.isfinite(gpu.model_.vectors).all()


def test_a_gpu_run_with_subwords_trains_their_rows_and_composes_unseen_words(tmp_path):
    corpus = _corpus(tmp_path, lines=10)
    settings = dict(SETTINGS, subwords=True, minn=3, maxn=4, bucket=1000, epochs=2)
    gpu = Trainer(device="cuda", **settings).fit(corpus)
    cpu = Trainer(**settings).fit(corpus)
    assert [e.examples for e in gpu.record_.epochs] == [e.examples for e in cpu.record_.epochs] == [80] * 2
    losses = [e.loss for e in gpu.record_.epochs]
    assert losses[0] > losses[1] and losses[1] == pytest.approx(cpu.record_.epochs[1].loss, rel=0.1)
    model = gpu.model_
    n_words, n_grams = len(model.words), len(model.subwords.vectors)
    start = np.random.default_rng(settings["seed"]).random((n_words + n_grams, 8), dtype=np.float32)
    start = (start - 0.5) * 2 / 8  # the initial rows (Trainer._initial_weights)
    moved = np.abs(model.subwords.vectors - start[n_words:]).max(axis=1)
    assert (moved > 1e-4).all()  # every n-gram row of these words was trained
    assert "kingdom" not in model.wv and model.wv.has_vector("kingdom")  # from n-grams it shares with "king"
    assert np.isfinite(model.wv["kingdom"]).all()


@pytest.fixture
def one_warp_blocks(monkeypatch):
    """Blocks of one warp: the simulator runs blocks one after another, so a run is
    bit-reproducible (the warps of one block interleave at their barriers in whatever
    order Python's threads run)."""
    from wordvec.cuda.backend import CudaBackend

    monkeypatch.setattr(CudaBackend, "warps_per_block", 1)


@only_simulated  # on a GPU, concurrent blocks make runs differ in the last bits
def test_an_interrupted_gpu_run_resumes_to_the_same_vectors(tmp_path, monkeypatch, one_warp_blocks):
    """One job an epoch here; SIGINT after the first: the checkpoint holds epoch 1
    and the launch count, and the resumed run draws what the whole run drew."""
    import signal

    from wordvec import trainer as trainer_module

    corpus, path = _corpus(tmp_path, lines=6), tmp_path / "run.wordvec"
    settings = dict(SETTINGS, epochs=2)
    whole = Trainer(device="cuda", **settings).fit(corpus).model_
    real = trainer_module.run_jobs

    def interrupting(backend, ids, jobs, threads):
        for item in real(backend, ids, jobs, threads):
            os.kill(os.getpid(), signal.SIGINT)
            yield item

    monkeypatch.setattr(trainer_module, "run_jobs", interrupting)
    with pytest.raises(TrainingInterrupted):
        Trainer(device="cuda", checkpoint=path, **settings).fit(corpus)
    assert wordvec.load(path).position["epochs_done"] == 1
    monkeypatch.setattr(trainer_module, "run_jobs", real)
    resumed = Trainer(device="cuda", checkpoint=path, **settings).fit(corpus, resume=True).model_
    np.testing.assert_array_equal(resumed.vectors, whole.vectors)
    np.testing.assert_array_equal(resumed.output_weights, whole.output_weights)


@only_simulated  # it shrinks the simulated device's memory
def test_ids_that_do_not_fit_on_the_device_are_streamed_job_by_job(tmp_path, monkeypatch, one_warp_blocks):
    from numba.cuda.simulator.cudadrv import devices

    from wordvec.cuda.backend import CudaBackend

    corpus = _corpus(tmp_path, lines=4)
    settings = dict(SETTINGS, epochs=1, loss="hs", arch="skipgram")
    held = Trainer(device="cuda", **settings).fit(corpus)
    plans = []
    real_plan = CudaBackend.memory_plan

    def planned(self, ids, tables):
        plans.append(real_plan(self, ids, tables))
        return plans[-1]

    def free_memory(self):  # room for the weights and tables, not for the ids
        return devices._MemoryInfo(sum(plans[-1].values()) - plans[-1]["ids"] + 8, 10**9)

    monkeypatch.setattr(CudaBackend, "memory_plan", planned)
    monkeypatch.setattr(devices.FakeCUDAContext, "get_memory_info", free_memory)
    said = []
    streamed = Trainer(device="cuda", **settings)
    streamed._say = said.append
    streamed.fit(corpus)
    assert any("streamed a job at a time" in line for line in said), said
    np.testing.assert_array_equal(streamed.model_.vectors, held.model_.vectors)
    monkeypatch.setattr(devices.FakeCUDAContext, "get_memory_info", lambda self: devices._MemoryInfo(100, 10**9))
    with pytest.raises(WordvecError, match=r"the weights and tables need .* MB on cuda:0, which has 0.0 MB free"):
        Trainer(device="cuda", **settings).fit(corpus)


def test_the_command_line_trains_on_the_gpu(tmp_path):
    """In a process of its own: in the simulator, wordvec gives it the warp functions itself."""
    corpus = _corpus(tmp_path, lines=4)
    model = tmp_path / "gpu.wordvec"
    result = subprocess.run([sys.executable, "-m", "wordvec.cli", "train", str(corpus), "--device", "cuda", "--dim",
                             "8", "--min-count", "1", "--epochs", "1", "--sample", "0", "-o", str(model)],
                            capture_output=True, text=True, timeout=300,
                            env={**os.environ, "WORDVEC_HOME": str(tmp_path / "state")})
    assert result.returncode == 0, result.stderr
    assert f"saved to {model}" in result.stderr + result.stdout
    assert wordvec.load(model).config["device"] == "cuda"


@pytest.mark.parametrize("device", ["gpu", "cuda:x", "cuda:-1", "cuda:", ""])
def test_a_device_that_is_not_cpu_or_cuda_is_refused(device):
    with pytest.raises(WordvecError, match="device must be cpu, cuda or cuda:N"):
        parse_device(device)


def test_what_the_gpu_does_not_train_is_refused_in_one_line():
    for settings, message in ((dict(loss="softmax"), "not yet the full softmax"),
                              (dict(position_weights=True), "not yet position weights"),
                              (dict(window=33), "--window up to 32"),
                              (dict(negative=32), "--negative up to 31"),
                              (dict(dim=2000), "--dim up to 1024")):
        with pytest.raises(WordvecError, match=message):
            Trainer(device="cuda", **settings).check_settings()
    with pytest.raises(WordvecError, match="there is no GPU cuda:3"):
        Trainer(device="cuda:3").check_settings()


def test_without_the_gpu_extra_the_error_says_what_to_install(monkeypatch):
    import importlib.util

    from wordvec import cuda as wordvec_cuda

    monkeypatch.setenv("NUMBA_ENABLE_CUDASIM", "0")
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "numba_cuda" else real(name, *a))
    with pytest.raises(WordvecError, match=r"pip install 'wordvec\[cuda\]'"):
        wordvec_cuda.check_device(0)


def test_without_a_gpu_the_command_line_says_so_in_one_line(tmp_path):
    corpus = _corpus(tmp_path)
    env = dict(os.environ, NUMBA_ENABLE_CUDASIM="0")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        probe = subprocess.run([sys.executable, "-c", "from numba import cuda; print(cuda.is_available())"],
                               env=env, capture_output=True, text=True)
    if probe.stdout.strip() == "True":
        pytest.skip("this machine has a GPU")
    result = subprocess.run([sys.executable, "-m", "wordvec.cli", "train", str(corpus), "--device", "cuda", "-q",
                             "-o", str(tmp_path / "m.wordvec")], env=env, capture_output=True, text=True)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: --device cuda"), result.stderr
    assert not (tmp_path / "m.wordvec").exists()
