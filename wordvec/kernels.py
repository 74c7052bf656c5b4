"""Training kernels: forward pass, loss, hand-written backward pass, SGD update.

Symbols follow DESIGN.md.  ``W_in`` (|V| x d) holds the input vectors (the word
vectors), ``W_out`` the output weights, ``h`` (d) the hidden layer and σ the
logistic function.  One *example* is a bag of input words ``C`` and a target
word ``w``:

* CBOW: ``C`` is the context window around a centre word, ``w`` the centre word;
* skip-gram: ``C`` is one word of the window alone and ``w`` the centre word.
  The pairs are those of "the centre predicts each context word" (the window is
  symmetric); the order is word2vec's, so one output row serves a whole window.

For every example the forward pass is ``h = (1/|C|) Σ_{c∈C} W_in[c]`` (``h = Σ``
when ``cbow_mean`` is off), then one of three output layers gives the loss
and its gradients: the full softmax ``−log p(w | C)``; hierarchical softmax
``−log p(w | C)`` as the product of the binary decisions on ``w``'s Huffman
path; negative sampling the objective ``−log σ(s_w) − Σ_n log σ(−s_n)`` over the
noise words ``n``, which is not a log-probability (it grows with their number).  The update of the input vectors follows
word2vec: every ``c ∈ C`` moves by ``−lr · ∂L/∂h``, which for the mean is
``−lr · |C| · ∂L/∂W_in[c]`` (a per-layer learning rate of ``lr·|C|``), and for
the sum is exactly ``−lr · ∂L/∂W_in[c]``.

With subwords (fastText, Bojanowski et al. 2017; :mod:`wordvec.subwords`) a
word ``c`` stands for its rows ``R(c)``: its own row of ``W_in`` and one row per
character n-gram, and the bag ``C`` is replaced by the multiset of the rows of
its words, ``R = ⊎_{c∈C} R(c)``, exactly as fastText's CBOW puts every row of
every context word in one bag.  Then ``h = (1/|R|) Σ_{r∈R} W_in[r]`` (for
skip-gram too: one word's rows are averaged whatever ``cbow_mean`` says), so
``∂L/∂W_in[r] = (m_r/|R|) ∂L/∂h`` for a row that occurs ``m_r`` times, and, as
in fastText and word2vec, every occurrence moves its row by ``−lr · ∂L/∂h`` (the
per-layer rate ``lr·|R|``).  The output layers are unchanged.  Skip-gram with
subwords is fastText's: the centre's rows (their mean) predict each context
word.  (Without subwords, word2vec's order: each context word's row predicts
the centre, so one output row serves the window; over a symmetric window both
make the same pairs; with subwords fastText's order gave 57.2 % analogy on
the bench corpus, averaged over four runs, against 57.0 % in one run.)
With negative sampling or hierarchical softmax the kernels can train these
examples a window at a time, each row read and written once per position
rather than once per example, with the same result on one thread (see the
comment above :func:`train_sentence_by_window`).

With position weights (Mikolov et al. 2018, CBOW only) the hidden layer is
``h = (1/|C|) Σ_j d_{p_j} ⊙ W_in[c_j]``: context word ``c_j`` at offset ``p_j``
from the centre (``−window..−1, 1..window``, whatever window was drawn) is
scaled element-wise by the learned vector ``d_{p_j}`` (one row of the
``2·window x d`` matrix ``D``).  Then ``∂L/∂W_in[c_j] = (1/|C|) d_{p_j} ⊙ ∂L/∂h``
and ``∂L/∂d_{p_j} = (1/|C|) W_in[c_j] ⊙ ∂L/∂h``.  The word rows keep word2vec's
per-layer rate, ``W_in[c_j] += d_{p_j} ⊙ g`` with ``g = −lr ∂L/∂h``.  ``D`` starts
at 1 and keeps each dimension's mean over the positions: it takes the plain SGD
step projected onto that constraint within the example, ``d_{p_j} += (1/|C|)
(W_in[c_j] − W̄) ⊙ g`` with ``W̄`` the mean of the example's rows (values before
the step; the ``1/|C|`` only with ``cbow_mean``): the gradient less its mean over
the example's own positions, the other positions unmoved.  ``h`` is unchanged
when ``D`` is scaled by ``c`` and the word rows by ``1/c``, and along that
direction the steps of every example pushed ``D`` down together (unprojected:
to 0.23 – 0.48 after 5 epochs, the word rows then stepping at a quarter of their
rate: 27 – 29 % analogy where plain CBOW scored 38 – 39 %).  Projected over all
``2·window`` positions instead, the positions absent from an example took minus
the mean of the others' steps, and the far ones, absent unless the drawn window
reaches them, grew: at window 15, 3.4 at ±15 against 0.9 at ±1 (36.5 %
analogy on the bench corpus); projected within the example, 0.2 – 0.3 at ±15
and 5.3 at ±1 (39.8 %; plain CBOW 41.2 %).  ``D`` learns from every example,
not only from those its word is in: with the word rows' ``|C|``-fold rate it
grew to 3.7 ± 3.3 near the centre and cost 8.6 analogy points.
With every ``d_p = 1`` this is plain CBOW.  ``D`` is shared by every
example of every thread, so each thread sums its steps of ``D`` in its own
``position_steps`` and adds them to ``D`` every :data:`POSITION_FLUSH` examples
(and at the end of a chunk): written by both threads on every example, ``D``'s
cache lines went back and forth between the cores and two threads trained at
0.41x the speed of plain CBOW (0.80x adding every 32 examples, 0.87x every 128).
The output rows that nearly every example writes are treated alike: each thread
of several trains its own copy of them (:func:`exchange_hot_rows`).

Everything here is numpy and numba only: no files, no printing, no Python
objects in the loops.  Random state is an explicit ``uint64[1]`` array per
thread (splitmix64), so one thread with one seed is bit-for-bit reproducible.
"""
from collections import namedtuple

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic

#: Fast-math flags without ``nnan`` and ``ninf``: the compiler may reorder sums
#: and contract multiply-adds, but NaN and infinity keep their meaning, so a
#: diverging run shows in the loss and the weights (the trainer checks both).
JIT = dict(cache=True, nogil=True, fastmath={"nsz", "arcp", "contract", "afn", "reassoc"})
#: For the functions called once per example or per output row.  numba gives
#: every array argument of a compiled call, and every array read from a tuple's
#: field, an atomic reference-count increment and decrement; per example these
#: cost more than the arithmetic (skip-gram: 0.27 M words/s with calls, 0.72 M
#: inlined with the tuples unpacked once per chunk).  So these functions are
#: inlined into their caller by numba, and take arrays, never the tuples.
HOT = dict(JIT, inline="always")

CBOW, SKIPGRAM = 0, 1
#: Examples between two additions of a thread's summed position-weight steps to ``D``.
POSITION_FLUSH = 128
#: Examples between two exchanges of a thread's hot output rows (see :func:`exchange_hot_rows`).
HOT_EXCHANGE = 1024
NEGATIVE_SAMPLING, HIERARCHICAL_SOFTMAX, FULL_SOFTMAX = 0, 1, 2
#: Read-only tables the kernels sample from (see ``wordvec.vocab``).
#: ``row_starts``/``row_ids``: word ``c``'s input rows with subwords are
#: ``row_ids[row_starts[c]:row_starts[c + 1]]`` (see :func:`wordvec.subwords.training_rows`).
Tables = namedtuple("Tables", "keep_prob noise_prob noise_alias hs_points hs_codes hs_lengths row_starts row_ids")
#: Per-thread scratch space, allocated once before training.
Scratch = namedtuple(
    "Scratch",
    "rng sentence inputs positions context_mean position_steps noise scores hidden grad_hidden queue_inputs "
    "queue_positions queue_counts queue_targets queue_rates queued window_sums window_owed "
    "window_overlap table_rows table_stamps table_state hot_start hot_state",
)
#: The integer settings of one run.
#: ``sentence_end`` is the id that closes a sentence in the encoded corpus;
#: ``position_weights`` is 1 when CBOW scales its context by the rows of ``D``;
#: ``subwords`` is 1 when every input word stands for its rows in ``Tables.row_ids``;
#: ``windowed`` is 1 when those rows are trained a window at a time (:func:`train_sentence_by_window`).
Settings = namedtuple("Settings", "arch objective window negative cbow_mean sentence_end position_weights subwords "
                                  "windowed")


@intrinsic
def _prefetch_address(typingctx, array, index):
    """Ask the CPU to start loading ``array[index]`` into cache (llvm.prefetch)."""

    def codegen(context, builder, signature, args):
        data = context.make_array(signature.args[0])(context, builder, args[0]).data
        address = builder.bitcast(builder.gep(data, [args[1]]), ir.IntType(8).as_pointer())
        int32 = ir.IntType(32)
        function = builder.module.declare_intrinsic(
            "llvm.prefetch", fnty=ir.FunctionType(ir.VoidType(), [address.type, int32, int32, int32]))
        builder.call(function, [address, ir.Constant(int32, 1), ir.Constant(int32, 3), ir.Constant(int32, 1)])
        return context.get_dummy_value()

    return types.void(array, index), codegen


@njit(**HOT)
def _prefetch_row(matrix, row):
    """Start loading every cache line of ``matrix[row]`` (a C-contiguous 2-D array)."""
    start = row * matrix.shape[1]
    for offset in range(0, matrix.shape[1], 16):
        _prefetch_address(matrix, start + offset)


#: splitmix64's step, ``⌊2^64 / φ⌋`` (odd): its ``k``-th next output from state ``z``
#: is ``mix64(z + k · SPLITMIX_STEP)``.
SPLITMIX_STEP = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
_LOW32 = np.uint64(0xFFFFFFFF)


@njit(**HOT)
def mix64(z):
    """splitmix64's output function: 64 well-mixed bits of the state ``z``."""
    z = (z ^ (z >> np.uint64(30))) * _MIX1
    z = (z ^ (z >> np.uint64(27))) * _MIX2
    return z ^ (z >> np.uint64(31))


@njit(**HOT)
def next_random(rng):
    """splitmix64: advance ``rng[0]`` and return 64 well-mixed bits."""
    z = rng[0] + SPLITMIX_STEP
    rng[0] = z
    return mix64(z)


@njit(**HOT)
def random_below(rng, n):
    """A uniform integer in ``[0, n)`` (multiply-shift, no modulo)."""
    return np.int64(((next_random(rng) & _LOW32) * np.uint64(n)) >> np.uint64(32))


@njit(**HOT)
def uniform_from_bits(bits):
    """A uniform float32 in ``[0, 1)`` from the top 24 of 64 random bits (exact in float32)."""
    return np.float32(bits >> np.uint64(40)) * np.float32(1.0 / 16777216.0)


@njit(**HOT)
def random_uniform(rng):
    """A uniform float32 in ``[0, 1)`` with 24 random bits."""
    return uniform_from_bits(next_random(rng))


@njit(**HOT)
def noise_word(bits, noise_prob, noise_alias):
    """One draw from the noise distribution by Walker's alias method, O(1), from 64
    random bits.

    Picks a column ``i`` uniformly, keeps it with probability ``noise_prob[i]``
    and otherwise returns its alias.  The low 32 random bits choose the column,
    the high 24 bits the coin, so one draw costs one random number.
    """
    column = np.int64(((bits & _LOW32) * np.uint64(noise_prob.shape[0])) >> np.uint64(32))
    if uniform_from_bits(bits) < noise_prob[column]:
        return column
    return np.int64(noise_alias[column])


@njit(**HOT)
def draw_noise(rng, noise_prob, noise_alias):
    """One draw from the noise distribution (:func:`noise_word`) with the next random number."""
    return noise_word(next_random(rng), noise_prob, noise_alias)


# σ and log σ on [−8, 8], tabulated at 4097 points for linear interpolation
# (error below 1e-6, so losses and gradients stay exact to float32 precision).
_TABLE_REACH = np.float32(8.0)
_TABLE_STEPS = 4096
_TABLE_SCALE = np.float32(_TABLE_STEPS / 16.0)
_TABLE_X = np.linspace(-8.0, 8.0, _TABLE_STEPS + 1)
_SIGMOID_TABLE = (1.0 / (1.0 + np.exp(-_TABLE_X))).astype(np.float32)
_LOG_SIGMOID_TABLE = (-np.logaddexp(0.0, -_TABLE_X)).astype(np.float32)


#: A score this far on the right side of zero has ``σ`` within 0.0025 of its label.
_SATURATED = np.float32(6.0)


@njit(**JIT)
def log_sigmoid(x):
    """Return ``(σ(x), log σ(x))`` for any float32 ``x`` without overflow: by
    table interpolation on [−8, 8], exactly outside it."""
    if -_TABLE_REACH < x < _TABLE_REACH:
        position = (x + _TABLE_REACH) * _TABLE_SCALE
        i = np.int64(position)
        fraction = position - np.float32(i)
        sigmoid = _SIGMOID_TABLE[i] + fraction * (_SIGMOID_TABLE[i + 1] - _SIGMOID_TABLE[i])
        log = _LOG_SIGMOID_TABLE[i] + fraction * (_LOG_SIGMOID_TABLE[i + 1] - _LOG_SIGMOID_TABLE[i])
        return sigmoid, log
    if x >= 0:
        e = np.exp(-x)
        return np.float32(1.0) / (np.float32(1.0) + e), -np.log1p(e)
    e = np.exp(x)
    return e / (np.float32(1.0) + e), x - np.log1p(e)


@njit(**HOT)
def _dot_row(vector, matrix, row):
    """``vector · matrix[row]`` (the matrix indexed in place: a row view is another reference to count)."""
    total = np.float32(0.0)
    for i in range(vector.shape[0]):
        total += vector[i] * matrix[row, i]
    return total


@njit(**HOT)
def _add_to_row(scale, vector, matrix, row):
    """``matrix[row] += scale · vector``"""
    for i in range(vector.shape[0]):
        matrix[row, i] += scale * vector[i]


@njit(**HOT)
def _backward_row(step, hidden, matrix, row, grad_hidden):
    """For one output row with ``step = −lr ∂L/∂s``: ``grad_hidden += step · matrix[row]``
    (with the row as it was) and ``matrix[row] += step · hidden``, in one pass."""
    for i in range(hidden.shape[0]):
        old = matrix[row, i]
        matrix[row, i] = old + step * hidden[i]
        grad_hidden[i] += step * old


@njit(**HOT)
def _hot_row(row, hot_first, hot_count, hot_copy):
    """Where this thread reads and writes output row ``row``: in its own copy,
    row ``hot_copy + row − hot_first``, for a hot row (``hot_first ≤ row <
    hot_first + hot_count``), else in place (see :func:`exchange_hot_rows`)."""
    return row + (hot_copy - hot_first if hot_first <= row < hot_first + hot_count else 0)


@njit(**HOT)
def exchange_hot_rows(W_out, hot_start, hot_state):
    """Hand this thread's steps of its hot output rows to the shared rows and take
    back everyone's: with ``f, n, c = hot_state[:3]``, for each ``r < n``,
    ``W_out[f + r] += W_out[c + r] − hot_start[r]``, then ``W_out[c + r] =
    hot_start[r] = W_out[f + r]``.

    The output rows of the most frequent words (negative sampling: targets and
    noise words) and of the inner nodes nearest the root (hierarchical softmax:
    on every path) are written by nearly every example of every thread.
    Written in place by every thread, their cache lines went back and forth
    between the cores; so with more than one thread each thread trains its own
    copy of them (rows ``c .. c + n − 1`` of ``W_out``, past the vocabulary's)
    and exchanges it every :data:`HOT_EXCHANGE` examples and at the start and
    end of a chunk.  Every step is kept; another thread's steps reach this one's
    copy at most one exchange late.  One thread has no hot rows (``n = 0``)."""
    first, count, copy = hot_state[0], hot_state[1], hot_state[2]
    for r in range(count):
        for i in range(W_out.shape[1]):
            value = W_out[first + r, i] + (W_out[copy + r, i] - hot_start[r, i])
            W_out[first + r, i] = value
            W_out[copy + r, i] = value
            hot_start[r, i] = value


@njit(**HOT)
def negative_sampling_layer(hidden, target, W_out, negative, noise_prob, noise_alias, rng, lr, grad_hidden, noise,
                            scores, hot_first, hot_count, hot_copy):
    """Sampled softmax by negative sampling for one example; returns its loss.

    Forward: targets ``t_0 = w`` (label ``y_0 = 1``) and ``K = negative`` noise
    words ``t_k ~ P_noise`` (label 0; a draw equal to ``w`` is skipped, as in
    word2vec); scores ``s_k = W_out[t_k]·h``.
    Loss: ``L = −log σ(s_0) − Σ_k log σ(−s_k)``.
    Gradient: ``∂L/∂s_k = σ(s_k) − y_k``, so ``∂L/∂W_out[t_k] = (σ(s_k) − y_k) h``
    and ``∂L/∂h = Σ_k (σ(s_k) − y_k) W_out[t_k]``.
    Update: ``W_out[t_k] −= lr ∂L/∂W_out[t_k]``; ``grad_hidden += −lr ∂L/∂h``.
    Every score is computed (into ``scores``) before any row moves, so this is
    exactly one SGD step on ``L`` even when a noise word is drawn twice; and the
    dot products, which only read, run back to back instead of each waiting
    for the previous row's update.  The noise words are drawn first into
    ``noise`` so their rows load in parallel; it holds the rows trained, which
    for the hot words are the thread's copies (:func:`_hot_row`).
    """
    noise[0] = _hot_row(target, hot_first, hot_count, hot_copy)
    for k in range(1, negative + 1):
        noise[k] = _hot_row(draw_noise(rng, noise_prob, noise_alias), hot_first, hot_count, hot_copy)
        _prefetch_row(W_out, noise[k])
    for k in range(negative + 1):
        scores[k] = _dot_row(hidden, W_out, noise[k])
    loss = 0.0
    for k in range(negative + 1):
        word = noise[k]
        if k == 0:
            label = np.float32(1.0)
        elif word == noise[0]:
            continue
        else:
            label = np.float32(0.0)
        score = scores[k]
        prob, log_prob = log_sigmoid(score)
        loss -= log_prob if k == 0 else log_prob - score  # log σ(−s) = log σ(s) − s
        _backward_row(lr * (label - prob), hidden, W_out, word, grad_hidden)
    return loss


@njit(**HOT)
def hierarchical_softmax_layer(hidden, target, W_out, hs_points, hs_codes, hs_lengths, lr, grad_hidden, scores,
                               hot_first, hot_count, hot_copy):
    """Hierarchical softmax over the Huffman tree for one example; returns its loss.

    Forward: the path from the root to leaf ``w`` passes inner nodes ``n_j`` with
    branch bits ``b_j``; ``s_j = W_out[n_j]·h`` and
    ``p(w|C) = Π_j σ((1 − 2 b_j) s_j)`` (bit 0 takes σ(s), bit 1 takes σ(−s)).
    Loss: ``L = −Σ_j log σ((1 − 2 b_j) s_j)``.
    Gradient: ``∂L/∂s_j = σ(s_j) − (1 − b_j)``; ``∂L/∂W_out[n_j] = ∂L/∂s_j · h``;
    ``∂L/∂h = Σ_j ∂L/∂s_j · W_out[n_j]``.
    Update as in :func:`negative_sampling_layer` (all scores first, into
    ``scores``), except that a node already predicted right with ``|s_j| ≥ 6``
    (``|∂L/∂s_j| < 0.0025``) is not updated; word2vec and gensim skip every
    node with ``|s_j| ≥ 6``, right or wrong.  The caller prefetches the path's
    rows (:func:`_prefetch_path`): all the examples of a skip-gram window share them.
    The hot rows (the nodes nearest the root) are the thread's copy (:func:`_hot_row`).
    """
    length = hs_lengths[target]
    for j in range(length):
        scores[j] = _dot_row(hidden, W_out, _hot_row(hs_points[target, j], hot_first, hot_count, hot_copy))
    loss = 0.0
    for j in range(length):
        score = scores[j]
        label = np.float32(1.0) - np.float32(hs_codes[target, j])
        prob, log_prob = log_sigmoid(score)
        loss -= log_prob if label > 0 else log_prob - score  # log σ(−s) = log σ(s) − s
        if (score >= _SATURATED) if label > 0 else (score <= -_SATURATED):
            continue  # already right with |∂L/∂s| < 0.0025: skip a step that would change nothing
        node = _hot_row(hs_points[target, j], hot_first, hot_count, hot_copy)
        _backward_row(lr * (label - prob), hidden, W_out, node, grad_hidden)
    return loss


@njit(**HOT)
def _prefetch_path(W_out, hs_points, hs_lengths, target):
    """Start loading the output rows of the inner nodes on ``target``'s Huffman path."""
    for j in range(hs_lengths[target]):
        _prefetch_row(W_out, hs_points[target, j])


@njit(**HOT)
def _add_row(vector, matrix, row):
    """``vector += matrix[row]``"""
    for i in range(vector.shape[0]):
        vector[i] += matrix[row, i]


@njit(**HOT)
def input_hidden(W_in, inputs, first, n_inputs, mean, hidden, subwords, row_starts, row_ids):
    """Forward of the dense layer: ``hidden = W_inᵀ x / |x|`` for the bag ``x`` of the
    words ``inputs[first:first + n_inputs]`` (the division only when ``mean``), or
    with ``subwords`` of their rows ``row_ids[row_starts[c]:row_starts[c + 1]]``."""
    for i in range(hidden.shape[0]):
        hidden[i] = 0.0
    n_rows = 0
    for j in range(first, first + n_inputs):
        word = inputs[j]
        if subwords:
            for k in range(row_starts[word], row_starts[word + 1]):
                _add_row(hidden, W_in, row_ids[k])
            n_rows += row_starts[word + 1] - row_starts[word]
        else:
            _add_row(hidden, W_in, word)
            n_rows += 1
    if mean and n_rows > 1:
        scale = np.float32(1.0) / np.float32(n_rows)
        for i in range(hidden.shape[0]):
            hidden[i] *= scale


@njit(**HOT)
def input_step(W_in, inputs, first, n_inputs, step, subwords, row_starts, row_ids):
    """Update of the dense layer: every input row (every occurrence) ``+= step``,
    for ``step = −lr ∂L/∂h`` (word2vec's and fastText's convention, see the module docstring)."""
    for j in range(first, first + n_inputs):
        word = inputs[j]
        if subwords:
            for k in range(row_starts[word], row_starts[word + 1]):
                _add_to_row(np.float32(1.0), step, W_in, row_ids[k])
        else:
            _add_to_row(np.float32(1.0), step, W_in, word)


@njit(**HOT)
def weighted_input_hidden(W_in, inputs, positions, first, n_inputs, cbow_mean, D, hidden, context_mean):
    """Forward with position weights: ``hidden = (1/|C|) Σ_j D[p_j] ⊙ W_in[c_j]`` over
    ``c_j = inputs[j]``, ``p_j = positions[j]``; ``context_mean = (1/|C|) Σ_j W_in[c_j]``,
    for the step of ``D`` (:func:`weighted_input_step`)."""
    for i in range(hidden.shape[0]):
        hidden[i] = 0.0
        context_mean[i] = 0.0
    for j in range(first, first + n_inputs):
        row, position = inputs[j], positions[j]
        for i in range(hidden.shape[0]):
            value = W_in[row, i]
            context_mean[i] += value
            hidden[i] += D[position, i] * value
    inverse_count = np.float32(1.0) / np.float32(n_inputs)
    scale = inverse_count if cbow_mean else np.float32(1.0)
    for i in range(hidden.shape[0]):
        hidden[i] *= scale
        context_mean[i] *= inverse_count


@njit(**HOT)
def weighted_input_step(W_in, inputs, positions, first, n_inputs, cbow_mean, D, D_steps, context_mean, step):
    """Backward and update with position weights, for ``step = −lr ∂L/∂h`` (see the
    module docstring): ``D_steps[p_j] += a (W_in[c_j] − W̄) ⊙ step`` (``a = 1/|C|`` with
    ``cbow_mean``, else 1; ``W̄ = context_mean``, the mean of the example's rows),
    ``D``'s gradient less its mean over the example's positions, then ``W_in[c_j] +=
    D[p_j] ⊙ step``: all of ``D``'s steps first, so that they read every row as it was
    in the forward pass (a word twice in the window has two positions).  ``D_steps``
    is the thread's sum of steps, added to ``D`` later (never ``D`` itself: the
    rows' step reads ``D``); ``context_mean`` is left holding ``a W̄ ⊙ step``."""
    scale = np.float32(1.0) / np.float32(n_inputs) if cbow_mean else np.float32(1.0)
    for i in range(step.shape[0]):
        context_mean[i] *= scale * step[i]
    for j in range(first, first + n_inputs):
        row, position = inputs[j], positions[j]
        for i in range(step.shape[0]):
            D_steps[position, i] += scale * step[i] * W_in[row, i] - context_mean[i]
    for j in range(first, first + n_inputs):
        row, position = inputs[j], positions[j]
        for i in range(step.shape[0]):
            W_in[row, i] += D[position, i] * step[i]


@njit(**HOT)
def flush_position_steps(D, D_steps):
    """``D += D_steps``, then ``D_steps = 0``."""
    for p in range(D_steps.shape[0]):
        for i in range(D_steps.shape[1]):
            D[p, i] += D_steps[p, i]
            D_steps[p, i] = 0.0


@njit(**HOT)
def bag_mean(settings):
    """Whether the hidden layer averages its rows: CBOW as ``cbow_mean`` says; skip-gram
    always (one word's rows; a single row without subwords, where it changes nothing)."""
    return settings.cbow_mean if settings.arch == CBOW else 1


@njit(**HOT)
def output_layer(hidden, target, W_out, lr, settings, grad_hidden, rng, noise, scores, noise_prob, noise_alias,
                 hs_points, hs_codes, hs_lengths, hot_start, hot_state):
    """Negative sampling or hierarchical softmax, as ``settings`` says, for the
    hidden vector ``hidden`` and ``target``: its loss is returned, its output rows
    are updated, and ``grad_hidden`` is set to the step ``−lr ∂L/∂h``.  The thread's
    hot rows are exchanged every :data:`HOT_EXCHANGE` examples (``hot_state[3]``
    counts them)."""
    for i in range(grad_hidden.shape[0]):
        grad_hidden[i] = 0.0
    hot_first, hot_count, hot_copy = hot_state[0], hot_state[1], hot_state[2]
    if settings.objective == NEGATIVE_SAMPLING:
        loss = negative_sampling_layer(hidden, target, W_out, settings.negative, noise_prob, noise_alias, rng, lr,
                                       grad_hidden, noise, scores, hot_first, hot_count, hot_copy)
    else:
        loss = hierarchical_softmax_layer(hidden, target, W_out, hs_points, hs_codes, hs_lengths, lr, grad_hidden,
                                          scores, hot_first, hot_count, hot_copy)
    if hot_count > 0:
        hot_state[3] += 1
        if hot_state[3] >= HOT_EXCHANGE:
            exchange_hot_rows(W_out, hot_start, hot_state)
            hot_state[3] = 0
    return loss


@njit(**HOT)
def train_example(W_in, W_out, inputs, first, n_inputs, target, lr, settings, hidden, grad_hidden, rng, noise,
                  scores, noise_prob, noise_alias, hs_points, hs_codes, hs_lengths, positions, D, D_steps,
                  context_mean, row_starts, row_ids, hot_start, hot_state):
    """Forward, loss, backward and SGD update for the example ``inputs[first:first
    + n_inputs]`` → ``target`` with negative sampling or hierarchical softmax;
    returns that layer's loss (see the module docstring).

    ``hidden`` holds ``h`` afterwards and ``grad_hidden`` the step ``−lr ∂L/∂h``.
    With ``settings.position_weights`` the context at ``positions`` is weighted
    by the rows of ``D``, whose step is added to ``D_steps``.  The other arrays are the fields of :data:`Scratch` and
    :data:`Tables` the layer uses, passed one by one (see :data:`HOT`).
    """
    if settings.position_weights:
        weighted_input_hidden(W_in, inputs, positions, first, n_inputs, settings.cbow_mean, D, hidden, context_mean)
    else:
        input_hidden(W_in, inputs, first, n_inputs, bag_mean(settings), hidden, settings.subwords, row_starts,
                     row_ids)
    loss = output_layer(hidden, target, W_out, lr, settings, grad_hidden, rng, noise, scores, noise_prob, noise_alias,
                        hs_points, hs_codes, hs_lengths, hot_start, hot_state)
    if settings.position_weights:
        weighted_input_step(W_in, inputs, positions, first, n_inputs, settings.cbow_mean, D, D_steps, context_mean,
                            grad_hidden)
    else:
        input_step(W_in, inputs, first, n_inputs, grad_hidden, settings.subwords, row_starts, row_ids)
    return loss


# The full softmax.  ``train_chunk`` queues a chunk's examples (their inputs,
# positions, targets and learning rates); ``wordvec.backend`` then trains them in
# mini-batches of B examples, the output layer split into blocks of the
# vocabulary that threads work on at once:
#
#   forward   H (B x d) stacks the hidden vectors (softmax_hidden); block k of
#             the vocabulary gives S_k = H W_out[k]ᵀ, its row maxima m_k and
#             E_k = exp(S_k − m_k) with row sums z_k (softmax_scores); with
#             M = max_k m_k and Z = Σ_k z_k exp(m_k − M),
#             P = softmax(S) is E_k · exp(m_k − M) / Z.
#   loss      L = Σ_b −log P[b, w_b] = Σ_b (log Z_b + M_b − S[b, w_b]).
#   gradient  G = ∂L/∂S = P − Y (Y one-hot targets); ∂L/∂W_out[k] = G_kᵀ H;
#             ∂L/∂H = Σ_k G_k W_out[k] (softmax_step, before W_out[k] moves).
#   update    W_out[k] −= lr G_kᵀ H; every input row of example b moves by
#             −lr ∂L/∂H[b] (word2vec's convention, see the module docstring;
#             with position weights as in weighted_input_step) (apply_input_steps).
#
# Each example contributes its full gradient, as in per-example SGD; the batch
# shares one learning rate, its last example's.


@njit(**HOT)
def queue_example(queue_inputs, queue_positions, queue_counts, queue_targets, queue_rates, queued, inputs,
                  positions, first, n_inputs, target, lr):
    """Append the example ``inputs[first:first + n_inputs]`` (at ``positions``) →
    ``target`` with rate ``lr`` to the queue; returns the new queue length."""
    for j in range(n_inputs):
        queue_inputs[queued, j] = inputs[first + j]
        queue_positions[queued, j] = positions[first + j]
    queue_counts[queued] = n_inputs
    queue_targets[queued] = target
    queue_rates[queued] = lr
    return queued + 1


@njit(**JIT)
def softmax_hidden(W_in, scratch, tables, start, stop, settings, D, hidden):
    """``hidden[b − start]`` = the hidden vector of queued example ``b`` for ``start ≤ b < stop``."""
    for b in range(start, stop):
        if settings.position_weights:
            weighted_input_hidden(W_in, scratch.queue_inputs[b], scratch.queue_positions[b], 0,
                                  scratch.queue_counts[b], settings.cbow_mean, D, hidden[b - start],
                                  scratch.context_mean)
        else:
            input_hidden(W_in, scratch.queue_inputs[b], 0, scratch.queue_counts[b], bag_mean(settings),
                         hidden[b - start], settings.subwords, tables.row_starts, tables.row_ids)


def softmax_scores(hidden, W_out, low, high, targets, scores, row_max, row_sum, target_scores):
    """Forward for the block ``[low, high)`` of the vocabulary: ``scores = H W_out[low:high]ᵀ``,
    ``row_max`` its row maxima, then ``scores ← exp(scores − row_max)`` with
    ``row_sum`` their row sums; ``target_scores[b] = S[b, w_b]`` for the targets in the block.

    numpy, not numba: numpy's SIMD ``exp`` is 3.7x faster than numba's scalar
    one on these blocks, and numpy releases the GIL as numba's kernels do."""
    np.dot(hidden, W_out[low:high].T, out=scores)
    inside = np.flatnonzero((targets >= low) & (targets < high))
    target_scores[inside] = scores[inside, targets[inside] - low]
    np.max(scores, axis=1, out=row_max)
    scores -= row_max[:, None]
    np.exp(scores, out=scores)
    np.sum(scores, axis=1, out=row_sum)


def softmax_step(hidden, W_out, low, high, targets, scores, scale, lr, grad_hidden, grad_output):
    """Backward and update for the block ``[low, high)``: ``G = scores · scale``
    (row ``b`` times ``scale[b] = exp(m_b − M_b) / Z_b``) minus 1 at the targets in
    the block; ``grad_hidden = G W_out[low:high]`` (this block's part of ``∂L/∂H``),
    then ``W_out[low:high] −= lr Gᵀ H`` (numpy, for the reason in :func:`softmax_scores`)."""
    scores *= scale[:, None]
    inside = np.flatnonzero((targets >= low) & (targets < high))
    scores[inside, targets[inside] - low] -= np.float32(1.0)
    block = W_out[low:high]
    np.dot(scores, block, out=grad_hidden)
    np.dot(scores.T, hidden * lr, out=grad_output)
    block -= grad_output


@njit(**JIT)
def apply_input_steps(W_in, scratch, tables, start, stop, grad_hidden, lr, settings, D):
    """Move the input rows of queued examples ``start ≤ b < stop`` by ``−lr ∂L/∂H[b − start]``
    (with position weights by :func:`weighted_input_step`, ``W̄`` the mean of the rows as
    the batch left them, ``D``'s steps summed over the batch)."""
    step = scratch.grad_hidden
    for b in range(start, stop):
        for i in range(step.shape[0]):
            step[i] = -lr * grad_hidden[b - start, i]
        count = scratch.queue_counts[b]
        if settings.position_weights:
            inputs, rows_mean = scratch.queue_inputs[b], scratch.context_mean
            for i in range(step.shape[0]):
                rows_mean[i] = 0.0
            for k in range(count):
                _add_row(rows_mean, W_in, inputs[k])
            for i in range(step.shape[0]):
                rows_mean[i] /= np.float32(count)
            weighted_input_step(W_in, inputs, scratch.queue_positions[b], 0, count, settings.cbow_mean, D,
                                scratch.position_steps, rows_mean, step)
        else:
            input_step(W_in, scratch.queue_inputs[b], 0, count, step, settings.subwords, tables.row_starts,
                       tables.row_ids)
    if settings.position_weights:
        flush_position_steps(D, scratch.position_steps)


@njit(**HOT)
def train_run(kept, length, first_centre, last_centre, lr, examples, W_in, W_out, settings, rng, context, positions,
              hidden, grad_hidden, noise, scores, noise_prob, noise_alias, hs_points, hs_codes, hs_lengths, row_starts,
              row_ids, hot_start, hot_state, weighting, queue):
    """Train the centres ``kept[first_centre:last_centre]`` of the subsampled ids
    ``kept[:length]`` (a sentence end makes none, and closes windows).  Each word's
    window is shrunk to ``b ~ U{1..window}`` words each side (word2vec's dynamic
    window); CBOW makes one example of it (the context → the centre), skip-gram
    one per context word (that word → the centre; with subwords the centre →
    that word, as fastText), trained by :func:`train_example` or with the full
    softmax queued.  ``weighting`` holds the position weights' arrays (``D``, its
    summed steps, the scratch for the context's mean), ``queue`` the full softmax's queue arrays and its length (read only
    where used: a tuple keeps this call under CPython's 30 arguments, past which
    numba's inliner refuses it).  ``examples`` counts the examples before (the
    position weights' steps reach ``D`` every :data:`POSITION_FLUSH`).  Returns
    ``(loss sum, examples)``, the examples counted on from ``examples``."""
    window, sentence_end = settings.window, settings.sentence_end
    farthest = weighting[0].shape[0] // 2  # D's rows: offsets −farthest..−1, 1..farthest (backend.position_reach)
    loss = 0.0
    for centre in range(first_centre, last_centre):
        if centre + window < length:  # the word about to enter the window: its input rows and output row
            entering = kept[centre + window]
            if entering != sentence_end:
                _prefetch_row(W_in, entering)
                _prefetch_row(W_out, entering)
        centre_word = kept[centre]
        if centre_word == sentence_end:
            continue
        reach = window - random_below(rng, window)
        leftmost = centre
        while leftmost > max(centre - reach, 0) and kept[leftmost - 1] != sentence_end:
            leftmost -= 1
        n_context = 0
        for j in range(leftmost, min(centre + reach + 1, length)):
            if j != centre:
                if kept[j] == sentence_end:
                    break
                context[n_context] = kept[j]
                positions[n_context] = j - centre + farthest - (1 if j > centre else 0)  # −f..−1, 1..f → 0..2f−1
                n_context += 1
        if n_context == 0:
            continue
        if settings.objective == HIERARCHICAL_SOFTMAX:
            _prefetch_path(W_out, hs_points, hs_lengths, centre_word)
        context[n_context] = centre_word  # the one-word bag of fastText's skip-gram
        positions[n_context] = 0
        n_examples, bag = (1, n_context) if settings.arch == CBOW else (n_context, 1)
        for example in range(n_examples):
            # The example's inputs are context[first:first + bag] and its target ``target``.
            first, target = example, centre_word
            if settings.arch == SKIPGRAM and settings.subwords:
                first, target = n_context, context[example]  # the centre's rows predict the context word
            examples += 1
            if settings.objective != FULL_SOFTMAX:
                loss += train_example(W_in, W_out, context, first, bag, target, lr, settings, hidden, grad_hidden,
                                      rng, noise, scores, noise_prob, noise_alias, hs_points, hs_codes, hs_lengths,
                                      positions, weighting[0], weighting[1], weighting[2], row_starts, row_ids,
                                      hot_start, hot_state)
                if settings.position_weights and examples % POSITION_FLUSH == 0:
                    flush_position_steps(weighting[0], weighting[1])
                continue
            queued = queue[5]
            queued[0] = queue_example(queue[0], queue[1], queue[2], queue[3], queue[4], queued[0], context,
                                      positions, first, bag, target, lr)
    return loss, examples


@njit(**JIT)
def _read_sentence(ids, position, stop, keep_prob, rng, sentence, sentence_end):
    """Copy the next sentence of ``ids[position:stop]`` into ``sentence``, keeping
    word ``i`` with probability ``keep_prob[i]`` (word2vec's subsampling).

    Returns ``(next position, words kept, words read)``.
    """
    kept = 0
    read = 0
    while position < stop and kept < sentence.shape[0]:
        word = ids[position]
        position += 1
        if word == sentence_end:
            break
        read += 1
        probability = keep_prob[word]
        if probability < 1.0 and probability < random_uniform(rng):
            continue
        sentence[kept] = word
        kept += 1
    return position, kept, read


# Subword rows a window at a time.  With subwords an example reads and writes
# every row of every word in its bag (CBOW: about 110 rows), and the next
# example, one word along, mostly the same rows again.  So for each position t
# of the sentence in the window around the centre (a ring of 2·window + 1
# positions, or of a whole sentence's if fewer) the kernels keep its word's
# row sum S_t = Σ_{r ∈ R(w_t)} W_in[r] and the step P_t its rows are still owed:
#
#   enter     S_t = Σ_{r ∈ R(w_t)} W_in[r] + Σ_j O_jt P_j over the positions j in
#             the window, and P_t = 0, where O_jt = Σ_r m_r(w_j) m_r(w_t) counts
#             the pairs of row occurrences words w_j and w_t share (O_tt too);
#   example   h = (1/|R|) Σ_{j ∈ C} S_j over the bag's positions C; with the step
#             g = −lr ∂L/∂h from the output layer, P_j += g for j ∈ C and
#             S_t += (Σ_{j ∈ C} O_jt) g for every t in the window;
#   leave     every occurrence of a row of w_t: W_in[r] += P_t.
#
# At every moment W_in[r] + Σ_j m_r(w_j) P_j is the row that example-by-example
# SGD would hold, and S_t the sum of those rows over R(w_t), so one thread
# trains exactly as example by example (``train_example``), with each row read
# and written once per position instead of once per example.  The O_jt come
# from a hash table of the row occurrences in the window (linear probing), each
# entry stamped with its position (counted across sentences); an entry whose
# position has left is dead, and when half the table is taken it is rebuilt
# from the positions in the ring.  Skip-gram's bag is the centre alone,
# whose examples follow one another: its position enters before them and
# leaves after them.
#
# On several threads it is not the same: each thread's sums miss the other
# threads' steps to the rows they share until a position enters again, and
# the steps a position owes reach the other threads only when it leaves, up
# to 2·window + 1 examples late.  On the bench corpus with 2 threads that cost
# CBOW little if anything: over 17 runs a window at a time and 18 example by
# example (seeds 2 - 12, two sessions), 61.86 % analogy against 61.97 %
# (−0.11 ± 0.11; syntactic −0.13 ± 0.13), where one seed run twice moves by
# up to 0.5 point, in half the time (51 - 62 s against 104 - 150 s for 5
# epochs).  Skip-gram: 57.96 % in one run against 58.05 %, 1.40x the speed.


@njit(**HOT)
def _row_home(row, mask):
    """Where ``row`` starts its probe in the window's hash table (Fibonacci hashing)."""
    mixed = (np.uint64(row) * np.uint64(0x9E3779B97F4A7C15)) >> np.uint64(40)
    return np.int64(mixed) & mask


@njit(**HOT)
def _rebuild_table(sentence, low, high, row_starts, row_ids, table_rows, table_stamps, table_state):
    """Clear the hash table of its dead entries: empty it and insert again the
    rows of positions ``low..high−1``, those in the ring."""
    mask = table_rows.shape[0] - 1
    table_rows[:] = -1
    table_state[0] = 0
    for j in range(low, high):
        word = sentence[j]
        for k in range(row_starts[word], row_starts[word + 1]):
            index = _row_home(row_ids[k], mask)
            while table_rows[index] >= 0:
                index = (index + 1) & mask
            table_rows[index], table_stamps[index] = row_ids[k], table_state[1] + j
            table_state[0] += 1


@njit(**HOT)
def _enter_window(W_in, sentence, position, low, row_starts, row_ids, sums, owed, overlap, table_rows, table_stamps,
                  table_state):
    """Position ``position`` of the sentence enters the ring (positions ``low..``
    are there): its ``S``, ``P = 0`` and ``O`` as above.  Only the ``O`` of
    positions in the ring are set and read (a window wider than its sentence
    costs the sentence's positions, not the ring's)."""
    ring, mask = sums.shape[0], table_rows.shape[0] - 1
    if 2 * table_state[0] > table_rows.shape[0]:
        _rebuild_table(sentence, low, position, row_starts, row_ids, table_rows, table_stamps, table_state)
    base = table_state[1]
    alive_from, stamp, slot, word = base + low, base + position, position % ring, sentence[position]
    for i in range(sums.shape[1]):
        sums[slot, i] = 0.0
        owed[slot, i] = 0.0
    t = low % ring
    for _ in range(low, position + 1):
        overlap[slot, t] = 0
        overlap[t, slot] = 0
        t = t + 1 if t + 1 < ring else 0
    for k in range(row_starts[word], row_starts[word + 1]):
        row = row_ids[k]
        for i in range(sums.shape[1]):
            sums[slot, i] += W_in[row, i]
    for k in range(row_starts[word], row_starts[word + 1]):
        row = row_ids[k]
        index = _row_home(row, mask)
        while table_rows[index] >= 0:
            if table_rows[index] == row and table_stamps[index] >= alive_from:
                other = (table_stamps[index] - base) % ring
                if other == slot:
                    overlap[slot, slot] += 2  # this occurrence with an earlier one of the word, both ways
                else:
                    overlap[slot, other] += 1
                    overlap[other, slot] += 1
            index = (index + 1) & mask
        overlap[slot, slot] += 1
        table_rows[index], table_stamps[index] = row, stamp
        table_state[0] += 1
    t = low % ring
    for _ in range(low, position):
        if t != slot and overlap[slot, t]:
            shared = np.float32(overlap[slot, t])
            for i in range(sums.shape[1]):
                sums[slot, i] += shared * owed[t, i]
        t = t + 1 if t + 1 < ring else 0


@njit(**HOT)
def _leave_window(W_in, word, slot, row_starts, row_ids, owed):
    """A position of the ring leaves: its rows take the steps they are owed (its
    entries in the hash table are dead from then on)."""
    for k in range(row_starts[word], row_starts[word + 1]):
        row = row_ids[k]
        for i in range(owed.shape[1]):
            W_in[row, i] += owed[slot, i]


@njit(**HOT)
def _window_example(W_out, bag, n_bag, n_rows, target, lr, settings, hidden, grad_hidden, rng, noise, scores,
                    noise_prob, noise_alias, hs_points, hs_codes, hs_lengths, sums, owed, overlap, low, high,
                    hot_start, hot_state):
    """One example whose bag is the ring positions ``bag[:n_bag]`` (``n_rows`` rows in
    all) → ``target``: forward, loss and backward as :func:`train_example`, the
    steps of the input rows kept in ``owed`` and ``sums`` (see above) for the
    sentence's positions ``low..high−1`` in the ring; returns the loss."""
    for i in range(hidden.shape[0]):
        hidden[i] = 0.0
    for j in range(n_bag):
        _add_row(hidden, sums, bag[j])
    if bag_mean(settings) and n_rows > 1:
        scale = np.float32(1.0) / np.float32(n_rows)
        for i in range(hidden.shape[0]):
            hidden[i] *= scale
    loss = output_layer(hidden, target, W_out, lr, settings, grad_hidden, rng, noise, scores, noise_prob, noise_alias,
                        hs_points, hs_codes, hs_lengths, hot_start, hot_state)
    for j in range(n_bag):
        _add_to_row(np.float32(1.0), grad_hidden, owed, bag[j])
    ring = overlap.shape[0]
    t = low % ring
    for _ in range(low, high):
        shared = 0
        for j in range(n_bag):
            shared += overlap[bag[j], t]
        if shared:
            _add_to_row(np.float32(shared), grad_hidden, sums, t)
        t = t + 1 if t + 1 < ring else 0
    return loss


@njit(**HOT)
def train_sentence_by_window(sentence, length, W_in, W_out, lr, settings, rng, bag, hidden, grad_hidden, noise,
                             scores, noise_prob, noise_alias, hs_points, hs_codes, hs_lengths, row_starts, row_ids,
                             sums, owed, overlap, table_rows, table_stamps, table_state, hot_start,
                             hot_state):
    """Train one subsampled sentence with subwords, a window at a time (see above):
    the examples, windows and random draws of :func:`train_chunk`, in the same
    order.  Returns ``(loss sum, examples)``."""
    window, ring = settings.window, sums.shape[0]
    low, high = 0, 0  # positions low..high−1 are in the ring
    loss = 0.0
    examples = 0
    for centre in range(length):
        # the word next to enter: as input (CBOW: the window's far end; skip-gram: the next centre) and as target
        upcoming = centre + window + 1 if settings.arch == CBOW else centre + 1
        if upcoming < length:
            for k in range(row_starts[sentence[upcoming]], row_starts[sentence[upcoming] + 1]):
                _prefetch_row(W_in, row_ids[k])
        if centre + window + 1 < length:
            _prefetch_row(W_out, sentence[centre + window + 1])
        if settings.arch == CBOW:
            while low < centre - window:
                _leave_window(W_in, sentence[low], low % ring, row_starts, row_ids, owed)
                low += 1
            while high < min(centre + window + 1, length):
                _enter_window(W_in, sentence, high, low, row_starts, row_ids, sums, owed, overlap, table_rows,
                              table_stamps, table_state)
                high += 1
        reach = window - random_below(rng, window)
        first, last = max(centre - reach, 0), min(centre + reach + 1, length)
        if last - first < 2:
            continue
        centre_word = sentence[centre]
        if settings.objective == HIERARCHICAL_SOFTMAX:
            _prefetch_path(W_out, hs_points, hs_lengths, centre_word)
        if settings.arch == CBOW:
            n_bag, n_rows = 0, 0
            for j in range(first, last):
                if j != centre:
                    bag[n_bag] = j % ring
                    n_bag += 1
                    n_rows += row_starts[sentence[j] + 1] - row_starts[sentence[j]]
            examples += 1
            loss += _window_example(W_out, bag, n_bag, n_rows, centre_word, lr, settings, hidden, grad_hidden, rng,
                                    noise, scores, noise_prob, noise_alias, hs_points, hs_codes, hs_lengths, sums,
                                    owed, overlap, low, high, hot_start, hot_state)
            continue
        bag[0] = centre % ring
        _enter_window(W_in, sentence, centre, centre, row_starts, row_ids, sums, owed, overlap, table_rows,
                      table_stamps, table_state)
        n_rows = row_starts[centre_word + 1] - row_starts[centre_word]
        for j in range(first, last):
            if j != centre:
                examples += 1
                loss += _window_example(W_out, bag, 1, n_rows, sentence[j], lr, settings, hidden, grad_hidden, rng,
                                        noise, scores, noise_prob, noise_alias, hs_points, hs_codes, hs_lengths,
                                        sums, owed, overlap, centre, centre + 1, hot_start, hot_state)
        _leave_window(W_in, centre_word, centre % ring, row_starts, row_ids, owed)
    while low < high:
        _leave_window(W_in, sentence[low], low % ring, row_starts, row_ids, owed)
        low += 1
    table_state[1] += length  # every entry of this sentence is dead
    return loss, examples


@njit(**JIT)
def train_chunk(ids, start, stop, W_in, W_out, tables, settings, scratch, alpha_start, alpha_stop, D):
    """Train on the sentences of ``ids[start:stop]`` (word ids, ``-1`` ends a
    sentence); ``D`` holds the position weights (when ``settings.position_weights``).

    Each sentence is subsampled, then every kept word is a centre, in turn
    (:func:`train_run`).  The learning rate falls linearly from ``alpha_start`` to
    ``alpha_stop`` across the chunk's words, set per sentence.  With
    ``settings.windowed`` (subwords, negative sampling or hierarchical softmax)
    each sentence is trained by :func:`train_sentence_by_window` instead.

    Returns ``(loss sum, examples, words read, words kept)``; the loss is
    accumulated in float64.  With the full softmax the examples are only
    queued in ``scratch`` (``scratch.queued[0]`` of them) and the loss is 0: the
    backend trains them in batches (see above :func:`queue_example`).
    """
    # Every array is taken out of its tuple once, here (see HOT).
    rng, sentence, context, positions = scratch.rng, scratch.sentence, scratch.inputs, scratch.positions
    weighting = (D, scratch.position_steps, scratch.context_mean)
    queue = (scratch.queue_inputs, scratch.queue_positions, scratch.queue_counts, scratch.queue_targets,
             scratch.queue_rates, scratch.queued)
    scratch.queued[0] = 0
    hidden, grad_hidden, noise, scores = scratch.hidden, scratch.grad_hidden, scratch.noise, scratch.scores
    keep_prob, noise_prob, noise_alias = tables.keep_prob, tables.noise_prob, tables.noise_alias
    hs_points, hs_codes, hs_lengths = tables.hs_points, tables.hs_codes, tables.hs_lengths
    row_starts, row_ids = tables.row_starts, tables.row_ids
    window_sums, window_owed, window_overlap = scratch.window_sums, scratch.window_owed, scratch.window_overlap
    table_rows, table_stamps, table_state = scratch.table_rows, scratch.table_stamps, scratch.table_state
    hot_start, hot_state = scratch.hot_start, scratch.hot_state
    total_words = 0
    for position in range(start, stop):
        if ids[position] != settings.sentence_end:
            total_words += 1
    alpha_step = (alpha_stop - alpha_start) / max(total_words, 1)
    loss = 0.0
    examples = 0
    words_read = 0
    words_kept = 0
    lr = np.float32(alpha_start)
    exchange_hot_rows(W_out, hot_start, hot_state)  # start from everyone's steps so far
    position = start
    while position < stop:
        lr = np.float32(alpha_start + alpha_step * words_read)
        position, length, read = _read_sentence(ids, position, stop, keep_prob, rng, sentence, settings.sentence_end)
        words_read += read
        words_kept += length
        if settings.windowed and settings.objective != FULL_SOFTMAX:
            sentence_loss, sentence_examples = train_sentence_by_window(
                sentence, length, W_in, W_out, lr, settings, rng, context, hidden, grad_hidden, noise, scores,
                noise_prob, noise_alias, hs_points, hs_codes, hs_lengths, row_starts, row_ids, window_sums,
                window_owed, window_overlap, table_rows, table_stamps, table_state, hot_start, hot_state)
            loss += sentence_loss
            examples += sentence_examples
            continue
        sentence_loss, examples = train_run(
            sentence, length, 0, length, lr, examples, W_in, W_out, settings, rng, context, positions, hidden,
            grad_hidden, noise, scores, noise_prob, noise_alias, hs_points, hs_codes, hs_lengths, row_starts, row_ids,
            hot_start, hot_state, weighting, queue)
        loss += sentence_loss
    if settings.position_weights:
        flush_position_steps(D, scratch.position_steps)
    exchange_hot_rows(W_out, hot_start, hot_state)
    return loss, examples, words_read, words_kept


@njit(**HOT)
def kept_at(keep_seed, position, word, keep_prob):
    """Whether the word ``word`` at ``position`` of the corpus survives subsampling
    (kept with probability ``keep_prob[word]``), decided by splitmix64's
    ``position + 1``-th output after ``keep_seed``: the same whichever thread
    asks, and whenever."""
    draw = mix64(keep_seed + np.uint64(position + 1) * SPLITMIX_STEP)  # a probability of 1 or more keeps any draw
    return keep_prob[word] >= uniform_from_bits(draw)


@njit(**JIT)
def subsample_span(ids, start, stop, keep_prob, keep_seed, sentence_end, kept):
    """``kept`` = the span ``ids[start:stop]`` without the words that subsampling
    drops (:func:`kept_at`), its sentence ends in place, then sentence ends to
    the end of ``kept`` (at least ``stop − start`` long).  Returns ``(words read,
    words kept)``.  Without a branch on the coin (each id is written, and kept by
    moving on): 26 ms for 10 M ids against 78 ms branching, on 2-core AMD EPYC —
    while a span is subsampled (in pieces: ``wordvec.backend.SubsampledSpan``), no
    thread trains."""
    n_kept, words = 0, 0
    for position in range(start, stop):
        word = ids[position]
        is_word = word != sentence_end
        words += is_word
        kept[n_kept] = word  # written always, kept by moving on: no branch on a coin toss
        n_kept += kept_at(keep_seed, position, max(word, 0), keep_prob) | (not is_word)
    for i in range(n_kept, kept.shape[0]):
        kept[i] = sentence_end
    return words, n_kept - (stop - start - words)  # less the sentence ends


@njit(**HOT)
def _prefetch_block(kept, first, last, window, W_in, W_out, sentence_end):
    """Start loading the rows the centres ``kept[first:last]`` will read: the input rows
    of the ids up to ``window`` away within their sentences, and their output rows."""
    low, high = first, last
    while low > max(first - window, 0) and kept[low - 1] != sentence_end:
        low -= 1
    while high < min(last + window, kept.shape[0]) and kept[high] != sentence_end:
        high += 1
    for j in range(low, high):
        if kept[j] != sentence_end:
            _prefetch_row(W_in, kept[j])
            if first <= j < last:
                _prefetch_row(W_out, kept[j])


#: Steps of the spread order ahead of the one being trained whose block's ids are fetched into cache.
SPREAD_AHEAD = 8


@njit(**JIT)
def train_spread(kept, n, run, stride, first_step, last_step, W_in, W_out, tables, settings, scratch, alpha_start,
                 alpha_stop, D):
    """Train steps ``first_step ≤ q < last_step`` of the spread order of a subsampled
    span ``kept[:n · run]`` (:func:`subsample_span`): step ``q`` trains the ``run``
    centres from ``run · (q · stride mod n)`` on, ``stride`` coprime to ``n``, so the
    steps ``0..n−1`` visit every position once and consecutive steps lie far apart
    in the corpus (see :func:`wordvec.order.spread_stride`).

    Each block is trained by :func:`train_run`, as :func:`train_chunk` trains a
    sentence: a sentence end makes no example and closes windows (with subwords
    example by example: the window at a time of :func:`train_sentence_by_window`
    needs a sentence's centres in turn).  While a block trains, the next one's
    rows are fetched into cache, and the ids of the block :data:`SPREAD_AHEAD`
    steps on.  The learning rate falls linearly from ``alpha_start`` to
    ``alpha_stop`` across the steps.  Returns ``(loss sum, examples)``.
    """
    rng, context, positions = scratch.rng, scratch.inputs, scratch.positions
    weighting = (D, scratch.position_steps, scratch.context_mean)
    queue = (scratch.queue_inputs, scratch.queue_positions, scratch.queue_counts, scratch.queue_targets,
             scratch.queue_rates, scratch.queued)
    scratch.queued[0] = 0
    hidden, grad_hidden, noise, scores = scratch.hidden, scratch.grad_hidden, scratch.noise, scratch.scores
    noise_prob, noise_alias = tables.noise_prob, tables.noise_alias
    hs_points, hs_codes, hs_lengths = tables.hs_points, tables.hs_codes, tables.hs_lengths
    row_starts, row_ids = tables.row_starts, tables.row_ids
    hot_start, hot_state = scratch.hot_start, scratch.hot_state
    window, sentence_end = settings.window, settings.sentence_end
    alpha_step = (alpha_stop - alpha_start) / max(last_step - first_step, 1)
    loss = 0.0
    examples = 0
    exchange_hot_rows(W_out, hot_start, hot_state)  # start from everyone's steps so far
    block = (first_step * stride) % n  # the step's block
    next_block = (block + stride) % n
    ahead = ((first_step + SPREAD_AHEAD) * stride) % n
    length = n * run
    for step in range(first_step, last_step):
        _prefetch_address(kept, ahead * run)
        ahead += stride
        if ahead >= n:
            ahead -= n
        _prefetch_block(kept, next_block * run, next_block * run + run, window, W_in, W_out, sentence_end)
        lr = np.float32(alpha_start + alpha_step * (step - first_step))
        block_loss, examples = train_run(
            kept, length, block * run, block * run + run, lr, examples, W_in, W_out, settings, rng, context,
            positions, hidden, grad_hidden, noise, scores, noise_prob, noise_alias, hs_points, hs_codes, hs_lengths,
            row_starts, row_ids, hot_start, hot_state, weighting, queue)
        loss += block_loss
        block, next_block = next_block, next_block + stride
        if next_block >= n:
            next_block -= n
    if settings.position_weights:
        flush_position_steps(D, scratch.position_steps)
    exchange_hot_rows(W_out, hot_start, hot_state)
    return loss, examples
