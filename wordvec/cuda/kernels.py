"""Training kernels for NVIDIA GPUs (numba-cuda): the CPU kernels' network and
maths (see :mod:`wordvec.kernels`), laid out for tens of thousands of warps at once.

One *warp* (32 threads, its *lanes*) trains one centre word at a time; lane ``t``
owns the elements ``e = t, t + 32, …, t + 32 (P − 1)`` of every ``d``-vector
(``P = ⌈d / 32⌉``), so it reads and writes only those elements of every row and
the warp never races with itself.  A dot product ``W_out[r] · h`` is each lane's
partial sum, added up by five xor shuffles (:func:`_warp_sum`), which leave the
same total in every lane.  ``h`` and ``−lr ∂L/∂h`` live in the lanes' registers;
the warp's word lists (a centre's context, an example's output rows and their
scores) in shared memory.  A block is a few warps (4 by default,
:attr:`wordvec.cuda.backend.CudaBackend.warps_per_block`), each training its own
centres: blocks of one warp would cap a multiprocessor at half its warps (at
most 32 blocks), and the kernel is bound by memory latency, which only more
warps in flight hide.  Warps update the shared weights without locks
(Hogwild), as the CPU threads do.

The kernel is compiled for each setting it branches on (:func:`train_kernel`:
architecture, output layer, subwords, mean, ``d``, warps a block; and the layouts
bench/gpu.py measures: a register cap, atomic updates), so a compiled
kernel holds only its own path, and ``P``'s loops are unrolled with the vectors
in registers (an H200 waited on instruction fetches for 5.1 of 14.8 cycles
between a warp's instructions in the one kernel that branched on them all).

For one example (bag ``C`` → target ``w``, learning rate ``lr``):

* forward   ``h = (1/|C|) Σ_{c∈C} W_in[c]`` (``Σ`` without ``cbow_mean``; one
  row for skip-gram, word2vec's order: each context word predicts the centre);
  with subwords every word stands for its rows ``R(c)`` (its own and its
  n-grams'), ``h = (1/|R|) Σ_{r∈R} W_in[r]`` over the multiset ``R = ⊎_{c∈C} R(c)``
  (for skip-gram the mean of one word's rows: fastText's order, the centre
  predicts each context word), as in :mod:`wordvec.kernels`;
* negative sampling: targets ``t_0 = w`` (label 1) and ``K`` noise words
  ``t_k ~ P_noise`` (label 0; a draw equal to ``w`` is skipped), scores
  ``s_k = W_out[t_k]·h``, loss ``L = −log σ(s_0) − Σ_k log σ(−s_k)``;
  hierarchical softmax: the inner nodes ``n_j`` of ``w``'s Huffman path with
  bits ``b_j``, ``L = −Σ_j log σ((1 − 2b_j) s_j)``;
* backward  ``∂L/∂s_k = σ(s_k) − y_k``; ``∂L/∂W_out[t_k] = (σ(s_k) − y_k) h``;
  ``∂L/∂h = Σ_k (σ(s_k) − y_k) W_out[t_k]`` (every score first, then the
  updates, so this is one SGD step on ``L`` even with a repeated noise word);
* update    ``W_out[t_k] −= lr ∂L/∂W_out[t_k]``, then every input row
  ``W_in[r] += −lr ∂L/∂h``, once per occurrence (word2vec's and fastText's
  per-layer rate, as on the CPU).

A launch trains the centres of ``ids[start:start + n]``.  Subsampling first
(:func:`subsample`): one flag per position, from a counter-based random number,
so every warp sees the same kept words.  Then warp ``g`` of ``G`` takes the
centres ``q = g, g + G, g + 2G, …`` at positions ``start + (q · stride) mod n``,
``stride`` coprime to ``n`` and near ``0.618 n`` (:func:`wordvec.cuda.spread_stride`):
the warps running at once work on centres spread over the whole launch, never
on neighbouring text whose windows would write the same rows at the same moment
(in corpus order that cost a probe of this design 25 analogy points).  A centre's
window is ``b ~ U{1..window}`` kept words on each side, never across a sentence
end or the launch's edge, exactly the examples the CPU makes (16 lanes a side read 16
positions at once and vote, :func:`_window`; a centre's first 32 positions and
flag are loaded while the warp trains the centre before it, so their trip to
memory is hidden); the learning rate falls linearly over ``q``.

Random numbers are splitmix64, by the CPU kernels' own functions compiled for the
GPU too (:func:`_on_gpu_too`: the draws, the noise words, the subsampling coin of
:func:`wordvec.kernels.kept_at`): a warp's state is the same in all its lanes,
seeded from the launch's seed and the warp; the ``K`` noise words of
an example are the next ``K`` outputs, drawn at once by lanes ``1..K``
(splitmix64's ``k``-th next output is ``mix(state + k·φ)``).  The launch's seed
comes from the run's seed and the launch's number.  σ and log σ come from the
GPU's exp and log1p (the CPU interpolates a table; they agree to 1e-6); the
kernel is compiled with fastmath (division to 2 ulp, subnormals flushed to zero:
8 registers a thread fewer on an sm_90, and 9 % fewer instructions).
"""
import functools
import math

import numpy as np
from numba import config, cuda, float32, float64, int32, int64, uint8, uint32, uint64

from ..kernels import CBOW, NEGATIVE_SAMPLING, SPLITMIX_STEP, kept_at, mix64, noise_word, random_below

#: Lanes of a warp: one centre word at a time.
WARP = 32
#: The largest window (context words on each side), and the most context words of a centre.
MAX_WINDOW = 32
#: Slots of a centre's word list: its context words, then the centre itself.
_CONTEXT_SLOTS = 2 * MAX_WINDOW + 1
#: The most output rows of one example: the depth of the Huffman tree (``negative + 1`` is at most WARP).
MAX_OUTPUTS = 64
#: Threads in a block of :func:`subsample`.
SUBSAMPLE_THREADS = 256

_ALL_LANES = 0xFFFFFFFF


def _on_gpu_too(cpu_kernel):
    """A CPU kernel compiled for the GPU as well (the kernels it calls too): the
    random numbers, noise words and subsampling of one source on both.  The
    simulator runs it as Python throughout (:func:`wordvec.cuda.simulator.python_of`).
    numba's disk cache of a kernel checks its own file only: after changing these
    functions in wordvec/kernels.py, remove wordvec/cuda/__pycache__ on the GPU machine."""
    function = cpu_kernel.py_func
    if config.ENABLE_CUDASIM:
        from .simulator import python_of

        function = python_of(cpu_kernel)
    return cuda.jit(device=True, inline="always")(function)


def centre_position(q, n, stride):
    """Where the ``q``-th centre of a launch of ``n`` positions lies (a permutation of
    ``0..n-1`` when ``stride`` is coprime to ``n``); the same function on the host."""
    return (q * stride) % n


_centre_position = cuda.jit(device=True)(centre_position)
_mix, _below, _noise_word, _kept_at = map(_on_gpu_too, (mix64, random_below, noise_word, kept_at))


@cuda.jit(device=True, inline="always")
def _log_sigmoid(x):
    """``(σ(x), log σ(x))`` without overflow."""
    if x >= 0:
        e = math.exp(-x)
        return float32(1.0) / (float32(1.0) + e), -math.log1p(e)
    e = math.exp(x)
    return e / (float32(1.0) + e), x - math.log1p(e)


@cuda.jit(device=True, inline="always")
def _warp_sum(value):
    """``Σ`` of ``value`` over the warp's lanes, the same float in every lane (at each
    step lanes ``i`` and ``i ^ k`` add the same two numbers)."""
    for offset in (16, 8, 4, 2, 1):
        value += cuda.shfl_xor_sync(_ALL_LANES, value, offset)
    return value


@cuda.jit(cache=True)
def subsample(ids, start, n, keep_prob, sentence_end, seed, kept, counts):
    """``kept[i] = 1`` when word ``ids[start + i]`` survives word2vec's subsampling
    (kept with probability ``keep_prob[w]``; a sentence end is never kept);
    adds the words read and kept to ``counts[1]`` and ``counts[2]``."""
    read_sum = cuda.shared.array(SUBSAMPLE_THREADS, int64)
    kept_sum = cuda.shared.array(SUBSAMPLE_THREADS, int64)
    t = cuda.threadIdx.x
    read, n_kept = int64(0), int64(0)
    i = cuda.grid(1)
    while i < n:
        word = ids[start + i]
        keep = 0
        if word != sentence_end:
            read += 1
            keep = int64(_kept_at(seed, i, word, keep_prob))
        kept[i] = keep
        n_kept += keep
        i += cuda.gridsize(1)
    read_sum[t], kept_sum[t] = read, n_kept
    cuda.syncthreads()
    half = SUBSAMPLE_THREADS // 2
    while half > 0:
        if t < half:
            read_sum[t] += read_sum[t + half]
            kept_sum[t] += kept_sum[t + half]
        cuda.syncthreads()
        half //= 2
    if t == 0:
        cuda.atomic.add(counts, 1, read_sum[0])
        cuda.atomic.add(counts, 2, kept_sum[0])


@cuda.jit(device=True, inline="always")
def _lane_position(centre, lane, round_):
    """The position lane ``lane`` reads in round ``round_`` of ``centre``'s window: lanes
    0–15 the 16 positions on its left, 16–31 the 16 on its right, nearest first, each
    round 16 further out."""
    distance = (lane & 15) + 1 + 16 * round_
    return centre - distance if lane < 16 else centre + distance


@cuda.jit(device=True, inline="always")
def _read(ids, kept, start, stop, position, sentence_end):
    """``(word, kept flag)`` at ``position``, a sentence end outside ``[start, stop)``."""
    if start <= position < stop:
        return ids[position], kept[position - start]
    return int32(sentence_end), uint8(0)


@cuda.jit(device=True, inline="always")
def _before_end(ends, keeps):
    """The kept words of one side's 16 lanes before its first sentence end (bit masks)."""
    if ends == 0:
        return keeps
    return keeps & ((ends & -ends) - 1)


@cuda.jit(device=True, inline="always")
def _window(ids, kept, start, stop, centre, reach, sentence_end, word, keep, context, lane):
    """The kept words within ``reach`` of ``centre`` on each side, never across a sentence
    end or ``[start, stop)``, nearest first: the left ones into ``context[0:n_left]``, the
    right ones into ``context[MAX_WINDOW:MAX_WINDOW + n_right]``; returns ``(n_left, n_right)``.
    ``(word, keep)`` is what this lane reads in the first round (:func:`_lane_position`,
    :func:`_read`: loaded a centre ahead).  Each round two votes find each side's first
    sentence end and its kept words before it, and each such word's lane writes it at
    its rank among them (a sentence end is never kept)."""
    found_left, found_right = int64(0), int64(0)
    left_open, right_open = True, True
    bit = lane & 15
    round_ = 0
    while True:
        ends = int64(cuda.ballot_sync(_ALL_LANES, word == sentence_end))
        keeps = int64(cuda.ballot_sync(_ALL_LANES, keep != 0))
        left = _before_end(ends & 0xFFFF, keeps & 0xFFFF) if left_open else int64(0)
        right = _before_end(ends >> 16, keeps >> 16) if right_open else int64(0)
        mine, found, slot = (left, found_left, 0) if lane < 16 else (right, found_right, MAX_WINDOW)
        rank = found + cuda.popc(mine & ((int64(1) << bit) - 1))
        if (mine >> bit) & 1 and rank < reach:
            context[slot + rank] = word
        found_left = min(reach, found_left + cuda.popc(left))
        found_right = min(reach, found_right + cuda.popc(right))
        left_open = left_open and ends & 0xFFFF == 0 and found_left < reach
        right_open = right_open and ends >> 16 == 0 and found_right < reach
        if not (left_open or right_open):
            return found_left, found_right
        round_ += 1
        word, keep = _read(ids, kept, start, stop, _lane_position(centre, lane, round_), sentence_end)


@cuda.jit(device=True, inline="always")
def _close_up(context, n_left, n_right, centre_word, lane):
    """Move the right side's words from ``context[MAX_WINDOW:]`` to just after the left
    side's, and the centre after them; returns the number of context words."""
    cuda.syncwarp()
    moved = context[MAX_WINDOW + lane] if lane < n_right else uint32(0)
    cuda.syncwarp()
    if lane < n_right:
        context[n_left + lane] = moved
    if lane == 0:
        context[n_left + n_right] = centre_word
    cuda.syncwarp()
    return n_left + n_right


@cuda.jit(device=True, inline="always")
def _lane_start(row, lane, dim):
    """Where this lane's first element of row ``row`` lies in a matrix of ``dim`` columns
    stored flat; its element ``m`` is ``32 m`` further.  Unsigned, so that numba adds no
    test for negative indices."""
    return uint64(row) * uint64(dim) + uint64(lane)


@cuda.jit(device=True, inline="always")
def _row_range(word, subwords, row_starts):
    """The row indices ``k`` of ``word``'s input rows: ``row_ids[k]`` for
    ``k ∈ [row_starts[word], row_starts[word + 1])`` with ``subwords``, else ``word`` itself."""
    if subwords:
        return row_starts[word], row_starts[word + 1]
    return int64(word), int64(word + 1)


@cuda.jit(device=True, inline="always")
def _row(k, subwords, row_ids):
    """Row ``k`` of a range from :func:`_row_range`."""
    if subwords:
        return int64(row_ids[k])
    return k


@cuda.jit(device=True, inline="always")
def _bag(W_in, words, first, count, mean, subwords, row_starts, row_ids, hidden, lane, dim, per_lane):
    """``hidden = Σ W_in[r]`` over the input rows ``r`` of the words ``words[first:first + count]``
    (this lane's elements), divided by the number of rows when ``mean``."""
    for m in range(per_lane):
        hidden[m] = float32(0.0)
    n_rows = int64(0)
    for j in range(first, first + count):
        low, high = _row_range(words[j], subwords, row_starts)
        n_rows += high - low
        for k in range(low, high):
            at = _lane_start(_row(k, subwords, row_ids), lane, dim)
            for m in range(per_lane):
                if lane + m * WARP < dim:
                    hidden[m] += W_in[at + uint64(m * WARP)]
    if mean and n_rows > 1:
        scale = float32(1.0) / float32(n_rows)
        for m in range(per_lane):
            hidden[m] *= scale


@cuda.jit(device=True, inline="always")
def _add(matrix, index, value, atomic):
    """``matrix[index] += value``: by an atomic add, which loses no other warp's step to the
    element, or by a read and a write (Hogwild: a step made between them is lost)."""
    if atomic:
        cuda.atomic.add(matrix, index, value)
    else:
        matrix[index] += value


@cuda.jit(device=True, inline="always")
def _add_rows(W_in, words, first, count, subwords, row_starts, row_ids, grad, lane, dim, per_lane, atomic):
    """``W_in[r] += grad`` for every input row ``r`` of the words ``words[first:first + count]``
    (every occurrence; this lane's elements)."""
    for j in range(first, first + count):
        low, high = _row_range(words[j], subwords, row_starts)
        for k in range(low, high):
            at = _lane_start(_row(k, subwords, row_ids), lane, dim)
            for m in range(per_lane):
                if lane + m * WARP < dim:
                    _add(W_in, at + uint64(m * WARP), grad[m], atomic)


@cuda.jit(device=True, inline="always")
def _output_rows(target, objective, negative, noise_prob, noise_alias, hs_points, hs_lengths, state, rows, lane):
    """The example's output rows into ``rows`` (the target and its ``negative ≤ 31`` noise
    words, or the target's Huffman path), each written by one lane; returns how many."""
    if objective == NEGATIVE_SAMPLING:
        n_rows = negative + 1
        if lane == 0:
            rows[0] = target
        elif lane < n_rows:  # splitmix64's lane-th next draw (n_rows ≤ WARP: wordvec.cuda.MAX_NEGATIVE)
            rows[lane] = _noise_word(_mix(state[0] + uint64(lane) * SPLITMIX_STEP), noise_prob, noise_alias)
        state[0] = state[0] + uint64(negative) * SPLITMIX_STEP
        return n_rows
    n_rows = hs_lengths[target]
    for k in range(lane, n_rows, WARP):
        rows[k] = hs_points[target, k]
    return n_rows


@cuda.jit(device=True, inline="always")
def _output_layer(W_out, target, objective, n_rows, hs_codes, lr, hidden, grad, rows, scores, lane, dim, per_lane,
                  atomic):
    """The output layer of one example (see the module docstring) on its ``n_rows`` output
    rows ``rows`` (:func:`_output_rows`); ``grad`` receives ``−lr ∂L/∂h`` (this lane's
    elements).  Returns the example's loss."""
    for k in range(n_rows):
        at = _lane_start(rows[k], lane, dim)
        partial = float32(0.0)
        for m in range(per_lane):
            if lane + m * WARP < dim:
                partial += hidden[m] * W_out[at + uint64(m * WARP)]
        total = _warp_sum(partial)
        if lane == 0:
            scores[k] = total
    cuda.syncwarp()
    for m in range(per_lane):
        grad[m] = float32(0.0)
    loss = float32(0.0)
    for k in range(n_rows):
        row, score = rows[k], scores[k]
        if objective == NEGATIVE_SAMPLING:
            if k > 0 and row == target:
                continue
            label = float32(1.0) if k == 0 else float32(0.0)
        else:
            label = float32(1.0) - float32(hs_codes[target, k])
        probability, log_probability = _log_sigmoid(score)
        loss -= log_probability if label > 0 else log_probability - score  # log σ(−s) = log σ(s) − s
        if objective != NEGATIVE_SAMPLING and ((score >= 6.0) if label > 0 else (score <= -6.0)):
            continue  # a node already right with |∂L/∂s| < 0.0025, skipped as on the CPU
        step = lr * (label - probability)
        at = _lane_start(row, lane, dim)
        for m in range(per_lane):
            if lane + m * WARP < dim:
                old = W_out[at + uint64(m * WARP)]
                _add(W_out, at + uint64(m * WARP), step * hidden[m], atomic)
                grad[m] += step * old
    return loss


@functools.lru_cache(maxsize=None)
def train_kernel(arch: int, objective: int, subwords: bool, mean: bool, dim: int, warps: int,
                 max_registers: int | None = None, atomic: bool = False):
    """The training kernel for one setting (``arch``: :data:`wordvec.kernels.CBOW` or
    ``SKIPGRAM``; ``objective``: ``NEGATIVE_SAMPLING`` or ``HIERARCHICAL_SOFTMAX``; ``mean``:
    average the bag, as ``cbow_mean`` does; ``dim``: the vectors' length; ``warps``: a
    block's), launched ``kernel[blocks, warps * WARP](…)``; ``max_registers`` caps a
    thread's registers (more warps in flight, fewer loads in flight per warp), and such a
    kernel is compiled anew in each process (numba's disk cache keys on the code alone);
    ``atomic`` makes every weight update an atomic add (:func:`_add`):

    ``kernel(ids, start, n, kept, W_in, W_out, noise_prob, noise_alias, hs_points, hs_codes,
    hs_lengths, row_starts, row_ids, window, negative, sentence_end, stride, seed,
    alpha_start, alpha_stop, loss_total, counts)``

    trains the centres of ``ids[start:start + n]`` (kept as ``kept`` says), one warp per
    centre at a time in the spread order of the module docstring, and adds the loss
    to ``loss_total[0]`` and the examples to ``counts[0]``.  ``W_in`` and ``W_out`` are
    the matrices flat (``W.reshape(-1)``: row ``r`` at ``r · dim``).  With ``subwords`` each
    input word stands for its rows ``row_ids[row_starts[c]:row_starts[c + 1]]``."""
    per_lane = -(-dim // WARP)
    bag_mean = mean or arch != CBOW  # skip-gram's bag is one word: the mean of its rows

    def train(ids, start, n, kept, W_in, W_out, noise_prob, noise_alias, hs_points, hs_codes, hs_lengths,
              row_starts, row_ids, window, negative, sentence_end, stride, seed, alpha_start, alpha_stop,
              loss_total, counts):
        contexts = cuda.shared.array((warps, _CONTEXT_SLOTS), uint32)  # word ids: never negative
        all_rows = cuda.shared.array((warps, MAX_OUTPUTS), uint32)
        all_scores = cuda.shared.array((warps, MAX_OUTPUTS), float32)
        hidden = cuda.local.array(per_lane, float32)
        grad = cuda.local.array(per_lane, float32)
        state = cuda.local.array(1, uint64)
        lane, slot = int64(cuda.threadIdx.x & (WARP - 1)), cuda.threadIdx.x // WARP
        context, rows, scores = contexts[slot], all_rows[slot], all_scores[slot]
        warp, n_warps = int64(cuda.blockIdx.x * warps + slot), int64(cuda.gridDim.x * warps)
        if warp >= n:  # a launch of no centres, or of fewer than its warps
            return
        state[0] = _mix(seed ^ _mix(uint64(warp + 1)))
        slope = (alpha_stop - alpha_start) / float64(n)
        loss = float64(0.0)
        examples = int64(0)
        q = warp
        position = _centre_position(q, n, stride)
        step = _centre_position(n_warps, n, stride)  # from one centre of this warp to its next
        centre = start + position
        word, keep = _read(ids, kept, start, start + n, _lane_position(centre, lane, 0), sentence_end)
        centre_word, centre_kept = ids[centre], kept[position]
        while q < n:
            lr = float32(alpha_start + slope * float64(q))
            q += n_warps
            position += step
            if position >= n:
                position -= n
            upcoming = start + position  # the next centre: its words load while this one trains
            next_word, next_keep = _read(ids, kept, start, start + n, _lane_position(upcoming, lane, 0), sentence_end)
            next_centre_word, next_centre_kept = ids[upcoming], kept[position]
            if centre_kept != 0:
                cuda.syncwarp()  # every lane has read the previous centre's words
                reach = window - _below(state, window)
                n_left, n_right = _window(ids, kept, start, start + n, centre, reach, sentence_end, word, keep,
                                          context, lane)
                n_context = _close_up(context, n_left, n_right, centre_word, lane)
                n_examples, bag = (1, n_context) if arch == CBOW else (n_context, 1)
                if n_context == 0:
                    n_examples = 0
                for example in range(n_examples):
                    first, target = example, context[n_context]
                    if arch != CBOW and subwords:
                        first, target = n_context, context[example]  # the centre's rows predict the context word
                    cuda.syncwarp()  # every lane has read the previous example's rows and scores
                    n_rows = _output_rows(target, objective, negative, noise_prob, noise_alias, hs_points,
                                          hs_lengths, state, rows, lane)  # drawn first: their loads end here
                    _bag(W_in, context, first, bag, bag_mean, subwords, row_starts, row_ids, hidden, lane, dim,
                         per_lane)
                    cuda.syncwarp()  # every row is written
                    loss += _output_layer(W_out, target, objective, n_rows, hs_codes, lr, hidden, grad, rows, scores,
                                          lane, dim, per_lane, atomic)
                    _add_rows(W_in, context, first, bag, subwords, row_starts, row_ids, grad, lane, dim, per_lane,
                              atomic)
                examples += n_examples
            centre, centre_word, centre_kept = upcoming, next_centre_word, next_centre_kept
            word, keep = next_word, next_keep
        if lane == 0:
            cuda.atomic.add(loss_total, 0, loss)
            cuda.atomic.add(counts, 0, examples)

    capped = {"max_registers": max_registers} if max_registers else {}  # numba's simulator takes no such option
    return cuda.jit(cache=not capped, fastmath=True, **capped)(train)
