"""Training kernels for NVIDIA GPUs (numba-cuda): the CPU kernels' network and
maths (see :mod:`wordvec.kernels`), laid out for thousands of blocks at once.

One *block* of :data:`THREADS` threads (one warp) trains one centre word at a
time; thread ``t`` owns the elements ``e = t, t + 32, t + 64, …`` of every
``d``-vector, so it reads and writes only those elements of every row and the
block never races with itself.  A dot product ``W_out[r] · h`` is each
thread's partial sum, added up through shared memory (:func:`_block_scores`).
The block's word lists (a centre's context, an example's output rows) and its
``h`` and ``−lr ∂L/∂h`` live in shared memory too, not in per-thread arrays,
which the compiler placed in local memory (1,296 bytes a thread and 72
registers on an H200; now none and 38, skip-gram 9 % faster).  Blocks update
the shared weights without locks (Hogwild), as the CPU threads do.

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
so every block sees the same kept words.  Then (:func:`train`) block ``b`` takes
the centres ``q = b, b + G, b + 2G, …`` (``G`` blocks) at positions
``start + (q · stride) mod n``, ``stride`` coprime to ``n`` and near ``0.618 n``
(:func:`wordvec.cuda.spread_stride`): the blocks running at once work on
centres spread over the whole launch, never on neighbouring text whose windows
would write the same rows at the same moment (in corpus order that cost a probe
of this design 25 analogy points).  A centre's window is ``b ~ U{1..window}``
kept words on each side, never across a sentence end or the launch's edge,
exactly the examples the CPU makes; the learning rate falls linearly over ``q``.

Random numbers are splitmix64, as on the CPU: a block's state lives in
registers, the same in all its threads (every draw is the same in every
thread, so control flow never diverges), seeded from the launch's seed and the
block; the launch's seed comes from the run's seed and the launch's number.
σ and log σ are computed exactly (the CPU interpolates a table; they agree to
1e-6).
"""
import math

import numpy as np
from numba import cuda, float32, float64, int32, int64, uint64

from ..kernels import CBOW, NEGATIVE_SAMPLING

#: Threads in a block: one warp, one centre word at a time.
THREADS = 32
#: The largest window (context words on each side), and the most context words of a centre.
MAX_WINDOW = 32
#: Slots of a centre's word list: its context words, then the centre itself.
_CONTEXT_SLOTS = 2 * MAX_WINDOW + 1
#: The most output rows of one example: ``negative + 1``, or the depth of the Huffman tree.
MAX_OUTPUTS = 64
#: Columns of the shared partial sums: one per thread, and one more so that a
#: thread reading its row and the threads writing their column hit different banks.
_PARTIAL_COLUMNS = THREADS + 1
#: Threads in a block of :func:`subsample`.
SUBSAMPLE_THREADS = 256

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
_LOW32 = np.uint64(0xFFFFFFFF)


def shared_bytes(dim):
    """The dynamic shared memory a block of :func:`train` needs: ``h`` and ``−lr ∂L/∂h``,
    ``dim`` float32 each (launch the kernel with ``train[grid, THREADS, 0, shared_bytes(dim)]``)."""
    return 2 * 4 * int(dim)


def centre_position(q, n, stride):
    """Where the ``q``-th centre of a launch of ``n`` positions lies (a permutation of
    ``0..n-1`` when ``stride`` is coprime to ``n``); the same function on the host."""
    return (q * stride) % n


_centre_position = cuda.jit(device=True)(centre_position)


@cuda.jit(device=True, inline=True)
def _mix(z):
    """splitmix64's output function: 64 well-mixed bits of ``z``."""
    z = (z ^ (z >> uint64(30))) * _MIX1
    z = (z ^ (z >> uint64(27))) * _MIX2
    return z ^ (z >> uint64(31))


@cuda.jit(device=True, inline=True)
def _next_random(state):
    """splitmix64: advance ``state[0]`` and return 64 random bits."""
    state[0] = state[0] + _GOLDEN
    return _mix(state[0])


@cuda.jit(device=True, inline=True)
def _uniform(bits):
    """A float32 in ``[0, 1)`` from the top 24 of 64 random bits."""
    return float32(bits >> uint64(40)) * float32(1.0 / 16777216.0)  # 24 bits: exact in float32


@cuda.jit(device=True, inline=True)
def _below(state, limit):
    """A uniform integer in ``[0, limit)`` (multiply-shift)."""
    return int64(((_next_random(state) & _LOW32) * uint64(limit)) >> uint64(32))


@cuda.jit(device=True, inline=True)
def _draw_noise(state, noise_prob, noise_alias):
    """One draw from the noise distribution by Walker's alias method (as on the CPU)."""
    bits = _next_random(state)
    column = int64(((bits & _LOW32) * uint64(noise_prob.shape[0])) >> uint64(32))
    if _uniform(bits) < noise_prob[column]:
        return column
    return int64(noise_alias[column])


@cuda.jit(device=True, inline=True)
def _log_sigmoid(x):
    """``(σ(x), log σ(x))`` without overflow."""
    if x >= 0:
        e = math.exp(-x)
        return float32(1.0) / (float32(1.0) + e), -math.log1p(e)
    e = math.exp(x)
    return e / (float32(1.0) + e), x - math.log1p(e)


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
            probability = keep_prob[word]
            if probability >= float32(1.0) or probability >= _uniform(_mix(seed + uint64(i + 1) * _GOLDEN)):
                keep = 1
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


@cuda.jit(device=True)
def _block_scores(W_out, rows, n_rows, hidden, per_thread, partial, scores):
    """``scores[k] = W_out[rows[k]] · h`` for ``k < n_rows``: each thread's partial sum over
    its elements goes to ``partial[k, t]``, thread ``k`` adds up row ``k`` (32 rows at a time)."""
    t = cuda.threadIdx.x
    dim = W_out.shape[1]
    for first in range(0, n_rows, THREADS):
        count = min(THREADS, n_rows - first)
        for k in range(count):
            row = rows[first + k]
            total = float32(0.0)
            for m in range(per_thread):
                e = t + m * THREADS
                if e < dim:
                    total += hidden[e] * W_out[row, e]
            partial[k, t] = total
        cuda.syncthreads()
        if t < count:
            total = float32(0.0)
            for j in range(THREADS):
                total += partial[t, j]
            scores[first + t] = total
        cuda.syncthreads()


@cuda.jit(device=True)
def _output_layer(W_out, target, objective, negative, noise_prob, noise_alias, hs_points, hs_codes, hs_lengths,
                  state, lr, hidden, grad, per_thread, rows, partial, scores):
    """The output layer of one example (see the module docstring); ``grad`` receives
    ``−lr ∂L/∂h`` (this thread's elements).  Returns the example's loss."""
    t = cuda.threadIdx.x
    dim = W_out.shape[1]
    cuda.syncthreads()  # every thread has read the previous example's rows
    if objective == NEGATIVE_SAMPLING:
        n_rows = negative + 1
        rows[0] = target
        for k in range(1, n_rows):
            rows[k] = _draw_noise(state, noise_prob, noise_alias)
    else:
        n_rows = hs_lengths[target]
        for k in range(n_rows):
            rows[k] = hs_points[target, k]
    _block_scores(W_out, rows, n_rows, hidden, per_thread, partial, scores)
    for m in range(per_thread):
        e = t + m * THREADS
        if e < dim:
            grad[e] = float32(0.0)
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
        for m in range(per_thread):
            e = t + m * THREADS
            if e < dim:
                old = W_out[row, e]
                W_out[row, e] = old + step * hidden[e]
                grad[e] += step * old
    return loss


@cuda.jit(device=True)
def _window(ids, start, stop, kept, centre, reach, sentence_end, context):
    """The kept words within ``reach`` of ``centre`` on each side, never across a
    sentence end or ``[start, stop)``, into ``context``; returns how many."""
    n_context = 0
    found, j = 0, centre - 1
    while found < reach and j >= start and ids[j] != sentence_end:
        if kept[j - start]:
            context[n_context] = ids[j]
            n_context += 1
            found += 1
        j -= 1
    found, j = 0, centre + 1
    while found < reach and j < stop and ids[j] != sentence_end:
        if kept[j - start]:
            context[n_context] = ids[j]
            n_context += 1
            found += 1
        j += 1
    return n_context


@cuda.jit(device=True, inline=True)
def _row_range(word, subwords, row_starts):
    """The row indices ``k`` of ``word``'s input rows: ``row_ids[k]`` for
    ``k ∈ [row_starts[word], row_starts[word + 1])`` with ``subwords``, else ``word`` itself."""
    if subwords:
        return row_starts[word], row_starts[word + 1]
    return int64(word), int64(word + 1)


@cuda.jit(device=True, inline=True)
def _row(k, subwords, row_ids):
    """Row ``k`` of a range from :func:`_row_range`."""
    if subwords:
        return int64(row_ids[k])
    return k


@cuda.jit(device=True, inline=True)
def _add_rows(W_in, words, first, count, subwords, row_starts, row_ids, grad, per_thread):
    """``W_in[r] += grad`` for every input row ``r`` of the words ``words[first:first + count]``
    (every occurrence; this thread's elements)."""
    t = cuda.threadIdx.x
    dim = W_in.shape[1]
    for j in range(first, first + count):
        low, high = _row_range(words[j], subwords, row_starts)
        for k in range(low, high):
            row = _row(k, subwords, row_ids)
            for m in range(per_thread):
                e = t + m * THREADS
                if e < dim:
                    W_in[row, e] += grad[e]


@cuda.jit(device=True, inline=True)
def _bag(W_in, words, first, count, mean, subwords, row_starts, row_ids, hidden, per_thread):
    """``hidden = Σ W_in[r]`` over the input rows ``r`` of the words ``words[first:first + count]``,
    divided by the number of rows when ``mean``."""
    t = cuda.threadIdx.x
    dim = W_in.shape[1]
    n_rows = int64(0)
    for j in range(first, first + count):
        low, high = _row_range(words[j], subwords, row_starts)
        n_rows += high - low
    scale = float32(1.0) / float32(n_rows) if mean and n_rows > 1 else float32(1.0)
    for m in range(per_thread):
        e = t + m * THREADS
        if e < dim:
            total = float32(0.0)
            for j in range(first, first + count):
                low, high = _row_range(words[j], subwords, row_starts)
                for k in range(low, high):
                    total += W_in[_row(k, subwords, row_ids), e]
            hidden[e] = total * scale


@cuda.jit(cache=True)
def train(ids, start, n, kept, W_in, W_out, noise_prob, noise_alias, hs_points, hs_codes, hs_lengths, row_starts,
          row_ids, arch, objective, window, negative, cbow_mean, subwords, sentence_end, stride, seed, alpha_start,
          alpha_stop, loss_total, counts):
    """Train the centres of ``ids[start:start + n]`` (kept as ``kept`` says), one block
    per centre at a time in the spread order of the module docstring; adds the loss
    to ``loss_total[0]`` and the examples to ``counts[0]``.  With ``subwords`` each
    input word stands for its rows ``row_ids[row_starts[c]:row_starts[c + 1]]``."""
    partial = cuda.shared.array((THREADS, _PARTIAL_COLUMNS), float32)
    scores = cuda.shared.array(MAX_OUTPUTS, float32)
    context = cuda.shared.array(_CONTEXT_SLOTS, int32)
    rows = cuda.shared.array(MAX_OUTPUTS, int32)
    vectors = cuda.shared.array(0, float32)  # dynamic: shared_bytes(dim)
    hidden, grad = vectors[:W_in.shape[1]], vectors[W_in.shape[1]:2 * W_in.shape[1]]
    state = cuda.local.array(1, uint64)
    block = cuda.blockIdx.x
    state[0] = _mix(seed ^ (uint64(block + 1) * _MIX1))
    per_thread = (W_in.shape[1] + THREADS - 1) // THREADS
    mean = cbow_mean != 0 or arch != CBOW  # skip-gram's bag is one word: the mean of its rows
    loss = float64(0.0)
    examples = int64(0)
    q = int64(block)
    while q < n:
        centre = start + _centre_position(q, n, stride)
        lr = float32(alpha_start + (alpha_stop - alpha_start) * (float64(q) / float64(n)))
        q += cuda.gridDim.x
        if kept[centre - start] == 0:
            continue
        cuda.syncthreads()  # every thread has read the previous centre's words
        reach = window - _below(state, window)
        n_context = _window(ids, start, start + n, kept, centre, reach, sentence_end, context)
        if n_context == 0:
            continue
        context[n_context] = ids[centre]
        n_examples, bag = (1, n_context) if arch == CBOW else (n_context, 1)
        for example in range(n_examples):
            first, target = example, context[n_context]
            if arch != CBOW and subwords:
                first, target = n_context, context[example]  # the centre's rows predict the context word
            _bag(W_in, context, first, bag, mean, subwords, row_starts, row_ids, hidden, per_thread)
            loss += _output_layer(W_out, target, objective, negative, noise_prob, noise_alias, hs_points, hs_codes,
                                  hs_lengths, state, lr, hidden, grad, per_thread, rows, partial, scores)
            _add_rows(W_in, context, first, bag, subwords, row_starts, row_ids, grad, per_thread)
        examples += n_examples
    if cuda.threadIdx.x == 0:
        cuda.atomic.add(loss_total, 0, loss)
        cuda.atomic.add(counts, 0, examples)
