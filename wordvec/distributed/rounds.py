"""Distributed training as pure functions, free of any cluster engine.

The corpus is split into blocks of whole lines.  Each block is counted
(:func:`count_block`), the counts are merged by addition and finalised exactly
as on one machine (:meth:`Vocabulary.from_counts`: by count, then by word), and
each block is encoded to ids (:func:`encode_block`).  Training then goes in
rounds: every worker starts a round from the same weights ``(W_in, W_out)``,
trains a stretch of its blocks with the ordinary kernels (its threads lock-free
as on one machine) and returns only what changed (:func:`train_round`), each
changed row as 16-bit steps of its own scale (:class:`Changes`: half the bytes
of float32, each element within 1/65,534 of the row's largest change); the
driver adds the changes of all workers (:func:`combine`) and the next round
starts from the result: the driver sends every worker the move of each row in
the same 16-bit form, and each worker applies it to the weights it keeps from
round to round (:func:`start_weights`), with the kernel the driver applies it
with, so the driver and the workers hold the same bits.

Combining: a row changed by one worker takes exactly that worker's change.
For a row changed by k workers (the frequent words), adding the changes up is
what lock-free threads would do, but each worker's change of a frequent row
has already gone most of the way within its round, so the sum of k of them
overshoots (with 4 workers the run was ruined, and with 8 even the sum over
√k); averaging shrinks the steps of rows that several workers changed only a
little.  :func:`combine` tells the two apart row by row from how much the
workers' changes agree (``coherent``), adds up the changes of the rows of words
each worker met only a few times (:func:`first_summed_row`), and carries the
combined change on across rounds with momentum (:func:`block_momentum`);
bench/RESULTS.md has the measurements.

Every task here is pure: the same inputs give the same outputs, and a task's
inputs are never changed (the weights a worker keeps between rounds only spare
sending what it was sent before: moved or sent whole, the same bits), so an
engine may run a task twice (after a worker dies) without anything being
counted twice.  Dask drives them (:mod:`.driver`); Spark
or Ray could call the same functions.
"""
from __future__ import annotations

import itertools
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from ..corpus import CHUNK_WORDS, ScannedCorpus, encode, scan_word_bytes, sentence_hashes
from ..tokenize import Tokenizer


@dataclass
class Block:
    """One encoded block of the corpus: ids (``-1`` ends a sentence) cut into chunks."""

    ids: np.ndarray
    chunks: list[tuple[int, int, int]]
    tokens: int
    words: int


class Changes(NamedTuple):
    """The rows of one matrix that a worker changed in a round, and their change
    ``Δ ≈ steps[k] · scales[k]`` (int16 steps of a float32 scale per row: see
    :func:`.round_kernels.changed_rows`)."""

    rows: np.ndarray
    scales: np.ndarray
    steps: np.ndarray

    @classmethod
    def between(cls, after: np.ndarray, before: np.ndarray) -> "Changes":
        """The rows where ``after`` differs from ``before``, and by how much."""
        from .round_kernels import changed_rows

        return cls(*changed_rows(after, before))

    def deltas(self) -> np.ndarray:
        """The changes as float32 rows, ``len(rows) x dim``."""
        return self.steps.astype(np.float32) * self.scales[:, None]

    @property
    def nbytes(self) -> int:
        return self.rows.nbytes + self.scales.nbytes + self.steps.nbytes


@dataclass
class RoundResult:
    """What one worker's part of a round changed, and its totals."""

    changes_in: Changes  # the rows of W_in that changed
    changes_out: Changes
    loss: float
    examples: int
    words: int
    kept: int
    kernel_seconds: float
    changes_position: np.ndarray | None = None  # the change of the position weights, whole

    @property
    def nbytes(self) -> int:
        """Bytes this result carries back to the driver."""
        position = self.changes_position.nbytes if self.changes_position is not None else 0
        return self.changes_in.nbytes + self.changes_out.nbytes + position


def hash_block_sentences(data: bytes, lowercase: bool, whitespace: bool) -> tuple[np.ndarray, np.ndarray]:
    """``(hash, tokens)`` of each sentence of one block of text, by its words' letters
    (:func:`wordvec.corpus.sentence_hashes`): the driver finds the repeats across blocks."""
    tokenizer = Tokenizer(lowercase=lowercase, whitespace=whitespace)
    return sentence_hashes(scan_word_bytes(tokenizer.word_bytes_of_bytes(data), tokenizer))


def _scan_block(data: bytes, tokenizer: Tokenizer, keep: np.ndarray | None, phrases: dict | None,
                keep_text: bool = True, joins: list | None = None) -> ScannedCorpus:
    """One block of text scanned as one machine scans a file: the sentences ``keep``
    flags (all when ``None``), then the phrases of the table ``phrases`` joined (each
    pass's joins appended to ``joins``)."""
    scanned = scan_word_bytes(tokenizer.word_bytes_of_bytes(data), tokenizer, keep_text=keep_text or bool(phrases),
                              keep_sentences=keep)
    if phrases:
        from ..phrases import PhraseTable, apply

        scanned = apply(scanned, PhraseTable.from_dict(phrases), joins)
    return scanned


def count_block(data: bytes, lowercase: bool, whitespace: bool, keep: np.ndarray | None = None,
                phrases: dict | None = None) -> tuple[Counter, dict, list[int]]:
    """The word counts of one block of text (see :func:`_scan_block`), what bad input
    was survived, and the joins of each pass of ``phrases``."""
    tokenizer = Tokenizer(lowercase=lowercase, whitespace=whitespace)
    joins = []
    scanned = _scan_block(data, tokenizer, keep, phrases, keep_text=False, joins=joins)
    return Counter(scanned.word_counts()), dict(tokenizer.stats), joins


def count_block_pairs(data: bytes, lowercase: bool, whitespace: bool, keep: np.ndarray | None,
                      phrases: dict | None, max_pairs: int) -> tuple[str, np.ndarray, np.ndarray, np.ndarray, int]:
    """For one pass of finding phrases, one block of text (see :func:`_scan_block`; the
    phrases of the passes before joined): its words in its own numbering (a word a
    line, from word 1: 0 is the sentence end), their counts, its pairs' keys in that
    numbering and their counts, and the pairs dropped when the block's table filled."""
    from ..phrases import count_text_pairs

    scanned = _scan_block(data, Tokenizer(lowercase=lowercase, whitespace=whitespace), keep, phrases)
    counter = count_text_pairs(scanned, max_pairs)
    keys, pair_counts = counter.finish()
    return "\n".join(itertools.islice(scanned.index, 1, None)), scanned.counts, keys, pair_counts, counter.pruned


def encode_block(data: bytes, words: str, lowercase: bool, whitespace: bool,
                 chunk_words: int = CHUNK_WORDS, keep: np.ndarray | None = None, phrases: dict | None = None) -> Block:
    """One block of text (see :func:`_scan_block`) as vocabulary ids (``words``: the
    vocabulary in id order, a word a line), cut into chunks."""
    from ..vocab import Vocabulary

    tokenizer = Tokenizer(lowercase=lowercase, whitespace=whitespace)
    scanned = _scan_block(data, tokenizer, keep, phrases)
    vocabulary = words.split("\n")
    encoded = encode(scanned, Vocabulary(vocabulary, np.ones(len(vocabulary), dtype=np.int64)),
                     chunk_words=chunk_words)
    return Block(np.asarray(encoded.ids), encoded.chunks, encoded.tokens, encoded.words)


def block_summary(block: Block) -> tuple[list[tuple[int, int, int]], int, int]:
    """``(chunks, tokens, words)`` of a block: what the driver plans rounds with."""
    return block.chunks, block.tokens, block.words


def train_round(weights_in: np.ndarray, weights_out: np.ndarray, pieces: list[tuple[Block, int, int]],
                tables: dict, settings: dict, seed: int, alpha_start: float, alpha_stop: float,
                threads: int = 1, position_weights: np.ndarray | None = None) -> RoundResult:
    """Train the chunks ``block.chunks[first:stop]`` of every ``(block, first, stop)``
    of ``pieces``, one after the other, from the given weights (not changed: the
    kernels work on copies) with ``threads`` lock-free threads and the learning
    rate falling linearly from ``alpha_start`` to ``alpha_stop`` over the stretch;
    return the rows that changed and by how much (:class:`Changes`), and the
    change of the ``position_weights`` when they are trained."""
    from ..backend import CpuBackend
    from ..trainer import run_jobs

    W_in, W_out = _working_copies(weights_in, weights_out)
    D = position_weights.copy() if position_weights is not None else None
    backend = CpuBackend(W_in, W_out, tables, settings["arch"], settings["loss"], settings["window"],
                         settings["negative"], settings["cbow_mean"], threads, seed, D)
    total = max(sum(words for block, first, stop in pieces for *_, words in block.chunks[first:stop]), 1)
    done, totals, started = 0, np.zeros(4), time.perf_counter()
    for block, first, stop in pieces:
        jobs = []
        for start, end, words in block.chunks[first:stop]:
            jobs.append((start, end, alpha_start + (alpha_stop - alpha_start) * done / total,
                         alpha_start + (alpha_stop - alpha_start) * (done + words) / total))
            done += words
        for _, result in run_jobs(backend, block.ids, jobs, threads):
            totals += result
    kernel_seconds = time.perf_counter() - started
    W_in, W_out = backend.weights()  # with several threads the backend trains W_out in a copy of its own
    return RoundResult(Changes.between(W_in, weights_in), Changes.between(W_out, weights_out), float(totals[0]),
                       int(totals[1]), int(totals[2]), int(totals[3]), kernel_seconds,
                       D - position_weights if D is not None else None)


#: Per worker thread, the two arrays its rounds train in, kept from one round to the
#: next: allocating 2 x 31 MB afresh every round took 0.04 s on a worker of the bench
#: run, copying into kept arrays 0.006 s.
_WORKING: dict[int, tuple[np.ndarray, np.ndarray]] = {}
_WORKING_LOCK = threading.Lock()


def _working_copies(weights_in: np.ndarray, weights_out: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Copies of a round's weights in this thread's kept arrays (new ones when the shapes change)."""
    with _WORKING_LOCK:
        kept = _WORKING.get(threading.get_ident())
    if kept is None or kept[0].shape != weights_in.shape or kept[1].shape != weights_out.shape:
        kept = np.empty(weights_in.shape, np.float32), np.empty(weights_out.shape, np.float32)
        with _WORKING_LOCK:
            _WORKING[threading.get_ident()] = kept
    np.copyto(kept[0], weights_in)
    np.copyto(kept[1], weights_out)
    return kept


def release_working_copies() -> None:
    """Drop the kept arrays of every thread and the kept starting weights of every
    run (the driver runs this on every worker when a run ends)."""
    with _WORKING_LOCK:
        _WORKING.clear()
        _STARTS.clear()


class MissingWeights(Exception):
    """A worker was sent the move to a run's next weights without holding the
    weights it moves from (it joined late, lost them, or sat out a round): the
    driver sends that task the whole weights."""


#: Per run (the driver's token for it), the weights its rounds on this worker start
#: from: ``(version, W_in, W_out)``, moved from one round to the next by the driver's
#: moves.  Sending the whole 62 MB of weights to every worker every round took the
#: two-worker bench run's driver more time than any other step outside the kernels.
_STARTS: dict[str, tuple[int, np.ndarray, np.ndarray]] = {}


def start_weights(run: str, version: int, weights: list | None, move: tuple | None) -> tuple[np.ndarray, np.ndarray]:
    """The weights a round of ``run`` starts from (``version``: rounds since the run
    started): ``weights`` (``[W_in, W_out]``) when given, otherwise the weights kept
    here at ``version − 1`` moved by ``move`` (two :class:`Changes`, applied exactly as
    the driver applied them to its own: the same bits on both sides).  Kept for the
    next round; the arrays returned must not be written.  Raises
    :class:`MissingWeights` when neither is at hand."""
    from .round_kernels import apply_steps

    with _WORKING_LOCK:
        kept = _STARTS.get(run)
        if weights is not None:
            if kept is None or kept[0] != version:
                kept = (version, np.array(weights[0], dtype=np.float32), np.array(weights[1], dtype=np.float32))
        elif kept is not None and kept[0] == version - 1 and move is not None:
            for matrix, changes in zip(kept[1:], move):
                apply_steps(matrix, *changes)
            kept = (version, kept[1], kept[2])
        elif kept is None or kept[0] != version:
            raise MissingWeights(f"this worker holds no weights of version {version - 1} to move")
        _STARTS[run] = kept
    return kept[1], kept[2]


def train_round_from(run: str, version: int, weights: list | None, move: tuple | None, *args) -> RoundResult:
    """:func:`train_round` from the weights :func:`start_weights` gives: what a round's
    task runs on a worker.  Pure as :func:`train_round` is: whether the weights were
    sent whole or moved from the kept ones, they are the same bits."""
    return train_round(*start_weights(run, version, weights, move), *args)


#: How the changes of a round are combined, row by row (see :func:`combine`).
COMBINE = ("coherent", "sum", "sqrt", "mean")
_POWERS = {"sum": 0.0, "sqrt": 0.5, "mean": 1.0}  # the summed change is divided by k ** power
#: ``coherent`` scales the sum by ``min(1, Q / |S|²) ** a`` (:func:`agreement_power`); with momentum
#: across rounds, 3/4 (k^-3/4 of the sum of k equal changes) beat 1 (their mean) at 2, 4 and 8 workers.
AGREEMENT_POWER = 0.75
#: ... except with two workers, whose shuffled epochs want less of the mean (:func:`agreement_power`).
TWO_WORKER_AGREEMENT_POWER = 0.25
#: ``coherent`` adds up the changes of a row whose word a worker's share of a round holds
#: fewer than this many times on average (:func:`first_summed_row`).
SUMMED_BELOW = 4


def agreement_power(workers: int) -> float:
    """The power ``a`` of ``coherent`` (:func:`combine`) for ``k`` workers: 1/4 with
    two, 3/4 with more.  With shuffled epochs, 2 workers on the bench corpus
    (5 epochs, seeds 1 / 2, against one worker's 38.98 / 39.90 %) scored 37.96 /
    38.90 % with 3/4, 38.24 / 39.19 % with 1/2, 38.68 / 39.48 % with 1/4 and
    38.90 % (seed 1) with 0, the plain sum, which ruins 4 workers
    (bench/RESULTS.md, sessions 7 and 11)."""
    return TWO_WORKER_AGREEMENT_POWER if workers <= 2 else AGREEMENT_POWER


def block_momentum(workers: int) -> float:
    """The momentum ``η`` of the combined changes across rounds: ``(1 − 1/k) / 2`` for
    ``k`` workers, half of block momentum's ``1 − 1/k`` (Chen & Huo 2016), and 0 for
    one worker, whose rounds are then one machine's training (up to the 16-bit
    rounding of each round's change, :class:`Changes`)."""
    return (1.0 - 1.0 / max(workers, 1)) / 2.0


def first_summed_row(counts: np.ndarray, share_words: int) -> int:
    """The first row (the words by falling count) whose word occurs fewer than
    :data:`SUMMED_BELOW` times on average in ``share_words`` words of the corpus."""
    counts = np.asarray(counts, dtype=np.float64)
    expected = counts * (share_words / max(counts.sum(), 1.0))
    return int(np.count_nonzero(expected >= SUMMED_BELOW))


def combine(weights_in: np.ndarray, weights_out: np.ndarray, results: list[RoundResult],
            how: str = "coherent", momentum: tuple[np.ndarray, np.ndarray] | None = None,
            eta: float = 0.0, summed_from: int | None = None,
            power: float = AGREEMENT_POWER, words: int | None = None) -> tuple[Changes, Changes]:
    """Apply the changes of one round's results to the driver's weights (in place);
    return the moves of ``(W_in, W_out)`` (:meth:`RoundSum.apply`).

    Per row, over the k workers that changed it, with changes ``Δ_w``: ``S = Σ_w Δ_w``
    and ``Q = Σ_w |Δ_w|²``.  ``coherent`` moves the row by ``S · min(1, Q / |S|²)^a``
    (``a`` = ``power``, see :func:`agreement_power`): the sum when the changes are mutually
    orthogonal (independent small steps, which lock-free threads would add), about
    their mean when they are equal (``k^-a`` of the sum: every worker went the same
    way to the same place, and the sum would overshoot k-fold), in between
    otherwise; a row changed by one worker moves exactly as that worker moved it.
    From row ``summed_from`` (see :func:`first_summed_row`; by default no row) to
    the last row of a word (``words``: the rows of ``W_in`` from there on are
    n-gram rows, see :mod:`wordvec.subwords`) ``coherent`` adds the changes up:
    a word that each worker met only a few times in its share was moved by a few
    small steps, which one machine would have taken one after the other, so
    they add whether or not they agree.  An n-gram row is shared by every word
    that holds the n-gram, so it is combined by its agreement, as the
    frequent words are.
    ``sum``, ``sqrt`` and ``mean`` move it by ``S / k^p`` (p = 0, ½, 1) whatever the
    changes look like.

    With ``momentum`` (``(M_in, M_out)``, the driver's, updated in place) the
    combined change ``G`` of this round is carried on: ``M ← η M + G``, and every
    row moves by ``M`` (rows no worker changed this round too)."""
    changes = RoundSum(weights_in, weights_out)
    for result in results:
        changes.add(result)
    return changes.apply(weights_in, weights_out, how, momentum, eta, summed_from, power, words)


class RoundSum:
    """The changes of a round's results added up as they arrive, for :func:`combine`:
    per row of each matrix the summed change ``S``, the summed squares ``Q`` and how
    many workers changed it.  The driver adds each result while the slower workers
    still train, and keeps one ``RoundSum`` for the whole run: :meth:`apply` leaves
    it at zero again.  (Allocating and summing it all after the last result took
    0.04 – 0.05 s a round with 2 workers on the bench corpus; now 0.01 s is left
    after the last result, plus 0.007 s to add it.)"""

    def __init__(self, weights_in: np.ndarray, weights_out: np.ndarray):
        self.sums = [(np.zeros(weights.shape, dtype=np.float32), np.zeros(len(weights), dtype=np.float64),
                      np.zeros(len(weights), dtype=np.int64)) for weights in (weights_in, weights_out)]

    def add(self, result: RoundResult) -> None:
        """Add one worker's changes (the two matrices side by side)."""
        from .round_kernels import add_changes

        _side_by_side(lambda sums, changes: add_changes(*sums, *changes), self.sums,
                      (result.changes_in, result.changes_out))

    def apply(self, weights_in: np.ndarray, weights_out: np.ndarray, how: str = "coherent",
              momentum: tuple[np.ndarray, np.ndarray] | None = None, eta: float = 0.0,
              summed_from: int | None = None, power: float = AGREEMENT_POWER,
              words: int | None = None) -> tuple[Changes, Changes]:
        """Move the weights by the combined changes (see :func:`combine`), start again
        from zero, and return the moves: what the workers apply to their copies
        (:func:`start_weights`)."""
        from .round_kernels import BY_COUNT, COHERENT, apply_steps, combine_rows

        rule, power = (COHERENT, power) if how == "coherent" else (BY_COUNT, _POWERS[how])

        def move(weights, sums, moving):
            if moving is None:
                moving = np.zeros((0, weights.shape[1]), dtype=np.float32)
            word_rows = len(weights) if words is None else min(words, len(weights))
            steps = Changes(*combine_rows(*sums, rule, power, word_rows if summed_from is None else summed_from,
                                          word_rows, moving, eta, momentum is not None))
            apply_steps(weights, *steps)
            return steps

        moves = _side_by_side(move, (weights_in, weights_out), self.sums, momentum or (None, None))
        return moves[0], moves[1]


def load_kernels() -> None:
    """Run the driver's round kernels once on a one-element matrix, so that loading
    them from numba's cache (or compiling them, the first time) is done before the first round."""
    before = np.zeros((1, 1), dtype=np.float32)
    changes = Changes(np.zeros(1, dtype=np.int64), np.ones(1, dtype=np.float32), np.ones((1, 1), dtype=np.int16))
    weights = before.copy(), before.copy()
    sums = RoundSum(*weights)
    sums.add(RoundResult(changes, changes, 0.0, 0, 0, 0, 0.0))
    sums.apply(*weights, "coherent", (before.copy(), before.copy()), 0.5, 1)


def load_worker_kernels() -> None:
    """Train two rounds of a five-word corpus, one from whole weights and one from
    moved ones, so that a worker has loaded the kernels its rounds run (from
    numba's cache; compiled, the first time) before its first real round."""
    from ..trainer import training_tables
    from ..vocab import Vocabulary

    words = ["a", "b", "c", "d", "e"]
    block = encode_block(b"a b c d e b c a\n" * 8, "\n".join(words), True, False)
    tables = training_tables(Vocabulary(words, np.array([16, 16, 16, 8, 8])), 1e-3, "ns")
    settings = {"arch": "cbow", "loss": "ns", "window": 2, "negative": 2, "cbow_mean": True}
    weights = [np.full((5, 4), 0.1, dtype=np.float32), np.zeros((5, 4), dtype=np.float32)]
    run, move = f"load-kernels-{threading.get_ident()}", None
    try:
        for version in (0, 1):
            result = train_round_from(run, version, None if move else weights, move,
                                      [(block, 0, len(block.chunks))], tables, settings, 1, 0.025, 0.025)
            move = (result.changes_in, result.changes_out)
    finally:
        with _WORKING_LOCK:
            _STARTS.pop(run, None)


def _side_by_side(work, *pairs) -> list:
    """``[work(*firsts), work(*seconds)]`` of the pairs, in two threads: the kernels let go
    of the GIL, and on the driver, after a round's last result, no worker is training
    (the two matrices side by side took 0.02 s where one after the other took 0.04)."""
    with ThreadPoolExecutor(max_workers=2) as pool:
        return list(pool.map(work, *pairs))
