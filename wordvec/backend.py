"""The seam between the trainer and the hardware that does the arithmetic.

A backend is given the weights, the sampling tables and the settings once, and
then trains one job of encoded ids at a time with a given learning-rate range,
returning ``(loss sum, examples, words read, words kept)``.  Besides
``train_chunk`` it has ``threads`` (jobs it runs at once), ``job_words`` (the
fewest words it wants in a job; 0: the corpus's chunks as they are),
``weights(rows)`` (``W_in`` and ``W_out``, or their first rows, on the host, up to date) and
``random_state()`` / ``set_random_state()`` (what a checkpoint keeps).  Nothing
above this seam knows which backend ran: the numba CPU backend here, the
numba-cuda one in :mod:`wordvec.cuda.backend`.
"""
from __future__ import annotations

import threading

import numpy as np

from . import kernels
from .corpus import SENTENCE_END, release_pages
from .order import SpreadSteps
from .tokenize import MAX_SENTENCE_TOKENS

_OBJECTIVES = {"ns": kernels.NEGATIVE_SAMPLING, "hs": kernels.HIERARCHICAL_SOFTMAX, "softmax": kernels.FULL_SOFTMAX}
_ARCHS = {"cbow": kernels.CBOW, "skipgram": kernels.SKIPGRAM}
#: Bytes in a cache line (x86-64 and most ARM cores; Apple's M-series have 128).
CACHE_LINE = 64
#: Output rows each thread of several trains in its own copy (:func:`hot_output_rows`).
HOT_ROWS = 64


def kernel_tables(tables: dict) -> kernels.Tables:
    """Fill the tables a loss does not use with 1-element stand-ins of the same
    type, so that every loss runs the same compiled kernel."""
    return kernels.Tables(
        keep_prob=np.ascontiguousarray(tables["keep_prob"], dtype=np.float32),
        noise_prob=np.ascontiguousarray(tables.get("noise_prob", np.ones(1)), dtype=np.float32),
        noise_alias=np.ascontiguousarray(tables.get("noise_alias", np.zeros(1)), dtype=np.int32),
        hs_points=np.ascontiguousarray(tables.get("hs_points", np.zeros((1, 1))), dtype=np.int32),
        hs_codes=np.ascontiguousarray(tables.get("hs_codes", np.zeros((1, 1))), dtype=np.int8),
        hs_lengths=np.ascontiguousarray(tables.get("hs_lengths", np.zeros(1)), dtype=np.int32),
        row_starts=np.ascontiguousarray(tables.get("row_starts", np.zeros(1)), dtype=np.int64),
        row_ids=np.ascontiguousarray(tables.get("row_ids", np.zeros(1)), dtype=np.int32),
    )


def make_scratch(seed: np.random.SeedSequence, dim: int, window: int, layer_rows: int,
                 queue: int = 0, row_starts: np.ndarray | None = None, hot: range = range(0),
                 hot_copy: int = 0) -> kernels.Scratch:
    """One thread's scratch space; ``layer_rows`` is the most output rows one
    example scores (``negative + 1``, or the depth of the Huffman tree);
    ``queue`` the full softmax's examples one chunk can queue; ``row_starts``
    the subword row table's :attr:`kernels.Tables.row_starts` (None: one row a word,
    and the subword kernels' arrays left out);
    ``hot`` the output rows the thread trains in its own copy, rows ``hot_copy ..``
    of ``W_out`` (see :func:`wordvec.kernels.exchange_hot_rows`; :func:`hot_output_rows`).
    Its arrays lie in one block of their own (:func:`on_own_cache_lines`)."""
    return kernels.Scratch(**on_own_cache_lines(dict(
        rng=seed.generate_state(1, np.uint64),
        sentence=np.zeros(MAX_SENTENCE_TOKENS, dtype=np.int32),
        inputs=np.zeros(context_capacity(window) + 1, dtype=np.int32),  # the context, then the centre
        positions=np.zeros(context_capacity(window) + 1, dtype=np.int32),
        context_mean=np.zeros(dim, dtype=np.float32),
        position_steps=np.zeros((2 * position_reach(window), dim), dtype=np.float32),
        noise=np.zeros(layer_rows, dtype=np.int64),
        scores=np.zeros(layer_rows, dtype=np.float32),
        hidden=np.zeros(dim, dtype=np.float32),
        grad_hidden=np.zeros(dim, dtype=np.float32),
        **queue_arrays(queue, window),
        **(window_arrays(dim, window, int(np.diff(row_starts).max(initial=1))) if row_starts is not None
           else window_arrays(dim, 0, 1)),  # one row a word: the subword kernels' ring is never used
        hot_start=np.zeros((len(hot), dim), dtype=np.float32),
        hot_state=np.array([hot.start, len(hot), hot_copy, 0], dtype=np.int64),  # 0: examples since an exchange
    )))


def with_spare_rows(matrix: np.ndarray, spare: int) -> np.ndarray:
    """A copy of ``matrix`` with ``spare`` more rows after its own (of zeros)."""
    extended = np.zeros((len(matrix) + spare, matrix.shape[1]), dtype=matrix.dtype)
    extended[:len(matrix)] = matrix
    return extended


def hot_output_rows(loss: str, output_rows: int, threads: int) -> range:
    """The output rows each thread trains in its own copy: none on one thread or
    with the full softmax; else the :data:`HOT_ROWS` most written, the most
    frequent words' (negative sampling; the vocabulary is sorted by count) or the
    inner nodes nearest the root (hierarchical softmax: the tree's ``|V| − 1``
    inner nodes are numbered in the order they were made, the root last)."""
    if threads <= 1 or loss == "softmax":
        return range(0)
    if loss == "ns":
        return range(min(HOT_ROWS, output_rows))
    inner = max(output_rows - 1, 0)
    return range(max(inner - HOT_ROWS, 0), inner)


def on_own_cache_lines(arrays: dict) -> dict:
    """Copies of ``arrays`` laid out in one new block of memory, each starting on a
    cache line of its own, with a free line before the first and after the last.

    Every thread writes its scratch arrays for every example.  Allocated one by
    one, two threads' small arrays (the random state, the hidden vector) could
    share a cache line, which then went back and forth between the cores on
    every write: on the 2-core bench VM two threads at times trained no faster
    than one (bench/RESULTS.md, session 16)."""
    offsets, size = {}, CACHE_LINE
    for name, array in arrays.items():
        offsets[name] = size
        size += -(-array.nbytes // CACHE_LINE) * CACHE_LINE
    block = np.zeros(size + 2 * CACHE_LINE, dtype=np.uint8)
    start = -block.ctypes.data % CACHE_LINE  # the block's first whole cache line
    placed = {}
    for name, array in arrays.items():
        first = start + offsets[name]
        placed[name] = block[first:first + array.nbytes].view(array.dtype).reshape(array.shape)
        if array.any():  # the block is zeros already: copying zeros would make a big array's pages resident
            placed[name][...] = array
    return placed


def context_capacity(window: int) -> int:
    """The most context words an example has: both sides of the window, and no more
    than the rest of a sentence (:data:`MAX_SENTENCE_TOKENS` words at most), so that
    a window of 100,000 (every other word of the sentence, as item2vec asks) needs
    no larger arrays than one of 10,000."""
    return min(2 * window, MAX_SENTENCE_TOKENS - 1)


def position_reach(window: int) -> int:
    """How far a context word can sit from its centre: the window, or the rest of a
    sentence if that is nearer.  CBOW's position weights ``D`` have one row per
    offset ``−reach..−1, 1..reach``, so a window of 100,000 needs no more rows
    than one of 10,000."""
    return min(window, MAX_SENTENCE_TOKENS - 1)


def window_ring(window: int) -> int:
    """Positions the subword kernels' ring holds: the window's ``2·window + 1``, or a
    whole sentence's, whichever is fewer (no window reaches past its sentence)."""
    return min(2 * window + 1, MAX_SENTENCE_TOKENS)


def window_arrays(dim: int, window: int, word_rows: int) -> dict:
    """The scratch fields for training subword rows a window at a time (see
    :func:`wordvec.kernels.train_sentence_by_window`): the ring of
    :func:`window_ring` positions (their row sums, owed steps and shared rows) and the hash table of
    their row occurrences, with room for four times the most the ring can hold
    (``word_rows``: the most rows one word has), since it is rebuilt when half
    full; ``table_state`` holds its number of entries and the count of positions
    in the sentences before."""
    ring = window_ring(window)
    entries = 1 << int(4 * ring * max(word_rows, 1) - 1).bit_length()
    return dict(window_sums=np.zeros((ring, dim), dtype=np.float32),
                window_owed=np.zeros((ring, dim), dtype=np.float32),
                window_overlap=np.zeros((ring, ring), dtype=np.int32),
                table_rows=np.full(entries, -1, dtype=np.int32),
                table_stamps=np.zeros(entries, dtype=np.int64),
                table_state=np.zeros(2, dtype=np.int64))


def queue_arrays(queue: int, window: int) -> dict:
    """The scratch fields of the full softmax's queue, room for ``queue`` examples."""
    queue = max(queue, 1)
    return dict(queue_inputs=np.zeros((queue, context_capacity(window)), dtype=np.int32),
                queue_positions=np.zeros((queue, context_capacity(window)), dtype=np.int32),
                queue_counts=np.zeros(queue, dtype=np.int32),
                queue_targets=np.zeros(queue, dtype=np.int32),
                queue_rates=np.zeros(queue, dtype=np.float32),
                queued=np.zeros(1, dtype=np.int64))


class SoftmaxBatches:
    """The full softmax over the examples a chunk queued, ``batch`` at a time
    (the maths: the comment above :func:`wordvec.kernels.queue_example`).  The
    output layer of each batch is split into ``parts`` blocks of the vocabulary,
    worked on by as many threads at once (the kernels release the GIL; each
    matrix product runs on one BLAS thread); the blocks meet twice a batch, to
    normalise the softmax and to add up ``∂L/∂H``."""

    def __init__(self, dim: int, vocab_size: int, parts: int, batch: int):
        bounds = np.linspace(0, vocab_size, max(1, min(parts, vocab_size)) + 1).astype(np.int64)
        self.blocks = list(zip(bounds[:-1].tolist(), bounds[1:].tolist()))
        self.batch = batch
        self.hidden = np.zeros((batch, dim), dtype=np.float32)
        self.scores = [np.zeros((batch, high - low), dtype=np.float32) for low, high in self.blocks]
        self.grad_output = [np.zeros((high - low, dim), dtype=np.float32) for low, high in self.blocks]
        self.grad_hidden = np.zeros((len(self.blocks), batch, dim), dtype=np.float32)
        self.row_max = np.zeros((len(self.blocks), batch), dtype=np.float32)
        self.row_sum = np.zeros((len(self.blocks), batch), dtype=np.float32)
        self.target_scores = np.zeros(batch, dtype=np.float32)
        self.pool = None
        if len(self.blocks) > 1:
            from concurrent.futures import ThreadPoolExecutor

            self.pool = ThreadPoolExecutor(len(self.blocks), thread_name_prefix="wordvec-softmax")

    def _each_block(self, work) -> None:
        if self.pool is None:
            for block in range(len(self.blocks)):
                work(block)
        else:
            for _ in self.pool.map(work, range(len(self.blocks))):
                pass

    def train(self, W_in, W_out, scratch: kernels.Scratch, tables: kernels.Tables, settings: kernels.Settings,
              D) -> float:
        """Train the queued examples; returns their summed loss."""
        loss = 0.0
        queued = int(scratch.queued[0])
        for start in range(0, queued, self.batch):
            stop = min(start + self.batch, queued)
            size, targets = stop - start, scratch.queue_targets[start:stop]
            lr = np.float32(scratch.queue_rates[stop - 1])
            hidden = self.hidden[:size]
            kernels.softmax_hidden(W_in, scratch, tables, start, stop, settings, D, hidden)
            self._each_block(lambda k: kernels.softmax_scores(
                hidden, W_out, *self.blocks[k], targets, self.scores[k][:size], self.row_max[k, :size],
                self.row_sum[k, :size], self.target_scores[:size]))
            row_max, row_sum = self.row_max[:, :size].astype(np.float64), self.row_sum[:, :size]
            top = row_max.max(axis=0)
            total = (row_sum * np.exp(row_max - top)).sum(axis=0)
            loss += float(np.sum(np.log(total) + top - self.target_scores[:size]))
            scale = (np.exp(row_max - top) / total).astype(np.float32)
            self._each_block(lambda k: kernels.softmax_step(
                hidden, W_out, *self.blocks[k], targets, self.scores[k][:size], scale[k], lr,
                self.grad_hidden[k, :size], self.grad_output[k]))
            grad_hidden = self.grad_hidden[:, :size].sum(axis=0)
            kernels.apply_input_steps(W_in, scratch, tables, start, stop, grad_hidden, lr, settings, D)
        return loss


#: Positions of a span one thread subsamples at a time (:class:`SubsampledSpan`).
SPAN_PIECE = 1 << 18


class SubsampledSpan:
    """The ids of the span being trained in spread order, subsampled once an epoch.

    The span is cut into pieces of :data:`SPAN_PIECE` positions; piece ``p`` fills
    ``buffer[p · SPAN_PIECE:]`` up to the next piece's start (the last one, to the
    buffer's ``length``) with its kept ids, sentence ends in place, then sentence
    ends (:func:`wordvec.kernels.subsample_span`).  The keep decision is the
    position's, so the buffer is the same whichever threads fill which pieces.
    The span trains from the buffer alone, so a piece's memory-mapped ids are let
    go of as soon as it is subsampled (:func:`wordvec.corpus.release_pages`).
    Every thread that comes to train the span takes pieces until none is left,
    then waits for the last one: the threads subsample a span together, where
    one thread alone would keep the others waiting (26 ms for 10 M ids on a
    2-core AMD EPYC, 1 % of the time the span then trains on two threads, but a
    share growing with the threads).  A piece that fails makes the threads
    waiting for the span fail too, rather than wait for ever, and the span is
    made anew when asked for again.  The trainer never runs two spans' jobs at once.
    """

    def __init__(self, keep_prob: np.ndarray):
        self.keep_prob = keep_prob
        self._turn = threading.Condition()
        self._key = None
        self._buffer = np.empty(0, dtype=np.int32)
        self._pieces = self._taken = self._done = 0
        self._counts, self._failed = (0, 0), False

    def kept(self, ids: np.ndarray, start: int, stop: int, keep_seed: int,
             length: int) -> tuple[np.ndarray, tuple[int, int]]:
        """``ids[start:stop]`` subsampled with ``keep_seed`` into a buffer of ``length``
        (at least ``stop − start``), and the span's ``(words read, words kept)``."""
        with self._turn:
            if self._key != (start, stop, keep_seed, length):
                if len(self._buffer) < length:  # the last span's buffer goes first: never two at once
                    self._buffer = None
                    self._buffer = np.empty(length, dtype=np.int32)
                self._key = (start, stop, keep_seed, length)
                self._pieces, self._taken, self._done = -(-(stop - start) // SPAN_PIECE), 0, 0
                self._counts, self._failed = (0, 0), False
        while (piece := self._take()) is not None:
            first = piece * SPAN_PIECE
            end = length if piece == self._pieces - 1 else first + SPAN_PIECE
            try:
                piece_stop = min(start + first + SPAN_PIECE, stop)
                counts = kernels.subsample_span(ids, start + first, piece_stop, self.keep_prob,
                                                np.uint64(keep_seed), SENTENCE_END, self._buffer[first:end])
                release_pages(ids, start + first, piece_stop)  # read once: the span trains from the buffer
            except BaseException:  # the threads waiting for this piece give up too, and the span is redone
                with self._turn:
                    self._key, self._failed = None, True
                    self._turn.notify_all()
                raise
            with self._turn:
                self._counts = (self._counts[0] + counts[0], self._counts[1] + counts[1])
                self._done += 1
                self._turn.notify_all()
        with self._turn:
            self._turn.wait_for(lambda: self._done == self._pieces or self._failed)
            if self._failed:
                raise RuntimeError("another thread failed to subsample this span")
            return self._buffer[:length], self._counts

    def _take(self) -> int | None:
        """The next piece no thread has taken yet, or ``None``."""
        with self._turn:
            if self._taken == self._pieces:
                return None
            self._taken += 1
            return self._taken - 1


class CpuBackend:
    """numba kernels on the CPU; one scratch space and random state per thread.
    The full softmax runs one chunk at a time and splits each batch's output
    layer over ``softmax_threads`` threads."""

    SOFTMAX_BATCH = 64
    job_words = 0

    def __init__(self, vectors: np.ndarray, output_weights: np.ndarray, tables: dict, arch: str, loss: str,
                 window: int, negative: int, cbow_mean: bool, threads: int, seed: int,
                 position_weights: np.ndarray | None = None, softmax_threads: int = 1):
        self.vectors = vectors
        #: ``D``: one weight vector per context position (CBOW), or an unused stand-in.
        self.position_weights = np.ones((1, 1), np.float32) if position_weights is None else position_weights
        self.threads = threads
        self.tables = kernel_tables(tables)
        subwords = "row_ids" in tables
        self.settings = kernels.Settings(_ARCHS[arch], _OBJECTIVES[loss], int(window), int(negative),
                                         int(bool(cbow_mean)), SENTENCE_END, int(position_weights is not None),
                                         int(subwords), int(subwords))
        seeds = np.random.SeedSequence(seed).spawn(threads)
        layer_rows = max(negative + 1, self.tables.hs_points.shape[1])
        hot = hot_output_rows(loss, len(output_weights), threads)
        #: ``W_out`` with each thread's copy of the hot rows below the vocabulary's rows.
        self._output_rows = with_spare_rows(output_weights, threads * len(hot)) if hot else output_weights
        self.output_weights = self._output_rows[:len(output_weights)]
        self.scratch = [make_scratch(s, vectors.shape[1], window, layer_rows,
                                     row_starts=self.tables.row_starts if subwords else None,
                                     hot=hot, hot_copy=len(output_weights) + slot * len(hot))
                        for slot, s in enumerate(seeds)]
        self._span = SubsampledSpan(self.tables.keep_prob)  # the span trained in spread order now
        self.softmax = (SoftmaxBatches(vectors.shape[1], len(output_weights), softmax_threads, self.SOFTMAX_BATCH)
                        if loss == "softmax" else None)

    def train_chunk(self, slot: int, ids: np.ndarray, start: int, stop: int, alpha_start: float,
                    alpha_stop: float, steps: SpreadSteps | None = None) -> tuple[float, int, int, int]:
        """Train ``ids[start:stop]`` with thread ``slot``'s scratch space: in the corpus's
        order, or the ``steps`` of its spread order (:func:`wordvec.kernels.train_spread`)."""
        if self.softmax is not None:
            self._make_queue_room(slot, stop - start if steps is None else (steps.last - steps.first) * steps.run)
        if steps is None:
            totals = kernels.train_chunk(ids, start, stop, self.vectors, self._output_rows, self.tables,
                                         self.settings, self.scratch[slot], alpha_start, alpha_stop,
                                         self.position_weights)
        else:
            n = steps.blocks
            kept, words = self._span.kept(ids, start, stop, steps.keep_seed, n * steps.run)
            loss, examples = kernels.train_spread(
                kept, n, steps.run, steps.stride, steps.first, steps.last, self.vectors, self._output_rows,
                self.tables, self.settings, self.scratch[slot], alpha_start, alpha_stop, self.position_weights)
            # The span's words read and kept, shared out by steps as the trainer's schedule shares them.
            totals = (loss, examples, *(count * steps.last // n - count * steps.first // n for count in words))
        if self.softmax is None:
            return totals
        loss = self.softmax.train(self.vectors, self.output_weights, self.scratch[slot], self.tables, self.settings,
                                  self.position_weights)
        return (loss, *totals[1:])

    def weights(self, rows: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """``W_in`` and ``W_out`` (the kernels update them in place), or their first ``rows`` rows."""
        return self.vectors[:rows], self.output_weights[:rows]

    def random_state(self) -> list[int]:
        """Each thread's random state."""
        return [int(scratch.rng[0]) for scratch in self.scratch]

    def set_random_state(self, state: list[int]) -> None:
        """Put saved states back (with more threads than before, the extra ones keep fresh states)."""
        for scratch, value in zip(self.scratch, state):
            scratch.rng[0] = np.uint64(value)

    def _make_queue_room(self, slot: int, ids: int) -> None:
        """Room in the queue for every example ``ids`` ids can make (skip-gram: one per context word)."""
        needed = ids * (2 * self.settings.window if self.settings.arch == kernels.SKIPGRAM else 1)
        if len(self.scratch[slot].queue_counts) < needed:
            self.scratch[slot] = self.scratch[slot]._replace(**queue_arrays(needed, self.settings.window))
