"""The trainer: epochs, learning-rate schedule, threads, progress and the record.

It reads the corpus twice (count, then encode to ids), then runs every epoch
from the ids: the ids are cut into chunks of at least :data:`CHUNK_WORDS`
words, and worker threads hand chunks to the kernels, which update the shared
weights without locks (Hogwild, as word2vec does).  The maths is all in
:mod:`wordvec.kernels`; numba is imported only when training starts.

The learning rate falls linearly from ``alpha`` to ``min_alpha`` over all words
of all epochs.  Each chunk gets its slice of that line from its place in the
run, not from which thread takes it, and each thread has its own random state
derived from ``seed``: with ``threads=1`` and a fixed seed, training is
bit-for-bit reproducible.
"""
from __future__ import annotations

import contextlib
import itertools
import os
import queue
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from typing import Callable

import numpy as np

from .corpus import EncodedCorpus, encode, scan, sentences_of
from .errors import WordvecError
from .model import Model
from .tokenize import Tokenizer
from .vocab import Vocabulary, alias_table

CHUNK_WORDS = 16_384
ARCHS = ("cbow", "skipgram")
LOSSES = ("ns", "hs", "softmax")


@dataclass
class EpochRecord:
    epoch: int
    loss: float  # mean loss per example
    examples: int
    words: int  # in-vocabulary words read
    words_kept: int  # after subsampling
    seconds: float
    alpha: float  # learning rate at the end of the epoch


@dataclass
class TrainingRecord:
    """What happened during one training run."""

    corpus_tokens: int = 0
    vocab_size: int = 0
    prepare_seconds: float = 0.0  # counting and encoding
    train_seconds: float = 0.0
    epochs: list[EpochRecord] = field(default_factory=list)
    #: ``[words read so far, mean loss since the previous point]``, about 50 points an epoch
    loss_curve: list[list[float]] = field(default_factory=list)

    @property
    def loss_history(self) -> list[float]:
        return [e.loss for e in self.epochs]

    @property
    def words_seen(self) -> int:
        return sum(e.words for e in self.epochs)

    @property
    def words_kept(self) -> int:
        return sum(e.words_kept for e in self.epochs)

    @property
    def words_per_second(self) -> float:
        """Corpus tokens x epochs per second of training (as word2vec counts)."""
        return self.corpus_tokens * len(self.epochs) / max(self.train_seconds, 1e-9)

    def as_dict(self) -> dict:
        return {**asdict(self), "loss_history": self.loss_history, "words_seen": self.words_seen,
                "words_kept": self.words_kept, "words_per_second": self.words_per_second}


class Trainer:
    """Trains word vectors, scikit-learn style: settings in the constructor,
    ``fit(corpus)`` does the work and returns ``self``; what was learned ends in
    ``_`` (``model_``, ``vocabulary_``, ``record_``, ``loss_history_``).

    ``corpus`` is a path (file, folder, ``.gz``/``.bz2``/``.xz``, ``-`` for
    stdin), a list of paths, or a re-iterable of sentences (lists of str).
    ``callbacks`` are called from the calling thread after every epoch with
    ``(trainer, epoch_record)``.
    """

    def __init__(self, dim: int = 100, window: int = 5, negative: int = 5, loss: str = "ns",
                 arch: str = "cbow", sample: float = 1e-3, min_count: int = 5, max_vocab: int | None = None,
                 epochs: int = 5, alpha: float | None = None, min_alpha: float = 1e-4,
                 threads: int | None = None, seed: int = 1, cbow_mean: bool = True,
                 lowercase: bool = True, whitespace: bool = False, progress: bool = False,
                 callbacks: tuple[Callable, ...] = ()):
        self.dim = dim
        self.window = window
        self.negative = negative
        self.loss = loss
        self.arch = arch
        self.sample = sample
        self.min_count = min_count
        self.max_vocab = max_vocab
        self.epochs = epochs
        self.alpha = alpha
        self.min_alpha = min_alpha
        self.threads = threads
        self.seed = seed
        self.cbow_mean = cbow_mean
        self.lowercase = lowercase
        self.whitespace = whitespace
        self.progress = progress
        self.callbacks = callbacks

    # -- settings ---------------------------------------------------------------
    def settings(self) -> dict:
        """The settings of a run, with defaults resolved (stored in the model)."""
        return {
            "dim": self.dim, "window": self.window, "negative": self.negative, "loss": self.loss,
            "arch": self.arch, "sample": self.sample, "min_count": self.min_count,
            "max_vocab": self.max_vocab, "epochs": self.epochs, "alpha": self._alpha(),
            "min_alpha": self.min_alpha, "threads": self._threads(), "seed": self.seed,
            "cbow_mean": self.cbow_mean, "lowercase": self.lowercase, "whitespace": self.whitespace,
        }

    def _alpha(self) -> float:
        if self.alpha is not None:
            return self.alpha
        return 0.05 if self.arch == "cbow" else 0.025  # word2vec's defaults

    def _threads(self) -> int:
        return self.threads if self.threads is not None else (os.cpu_count() or 1)

    def _workers(self) -> int:
        """Training threads.  The full softmax rewrites every output row on each
        batch, so lock-free threads would only fight over W_out: it uses one."""
        return 1 if self.loss == "softmax" else self._threads()

    def check_settings(self) -> None:
        """Reject bad values before any work starts."""
        positive_ints = {"dim": self.dim, "window": self.window, "min_count": self.min_count,
                         "epochs": self.epochs, "threads": self._threads()}
        for name, value in positive_ints.items():
            if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 1:
                raise WordvecError(f"{name} must be a whole number of at least 1, not {value!r}")
        if self.arch not in ARCHS:
            raise WordvecError(f"arch must be one of {', '.join(ARCHS)}, not {self.arch!r}")
        if self.loss not in LOSSES:
            raise WordvecError(f"loss must be one of {', '.join(LOSSES)}, not {self.loss!r}")
        if self.loss == "ns" and (not isinstance(self.negative, (int, np.integer)) or self.negative < 1):
            raise WordvecError(f"negative must be at least 1 for negative sampling, not {self.negative!r}")
        if self.max_vocab is not None and (not isinstance(self.max_vocab, (int, np.integer)) or self.max_vocab < 1):
            raise WordvecError(f"max_vocab must be a whole number of at least 1, not {self.max_vocab!r}")
        if not self._alpha() > 0:
            raise WordvecError(f"alpha must be above 0, not {self._alpha()!r}")
        if not 0 <= self.min_alpha <= self._alpha():
            raise WordvecError(f"min_alpha must be between 0 and alpha ({self._alpha()}), not {self.min_alpha!r}")
        if not self.sample >= 0:
            raise WordvecError(f"sample must be 0 or more, not {self.sample!r}")

    # -- the run ----------------------------------------------------------------
    def fit(self, corpus) -> "Trainer":
        """Build the vocabulary, encode the corpus, train; returns ``self``."""
        self.check_settings()
        started = time.perf_counter()
        vocab, encoded = self.prepare(corpus)
        self.record_ = TrainingRecord(corpus_tokens=encoded.tokens, vocab_size=len(vocab),
                                      prepare_seconds=time.perf_counter() - started)
        self.vocabulary_ = vocab
        started = time.perf_counter()
        vectors, output_weights = self._train(vocab, encoded)
        self.record_.train_seconds = time.perf_counter() - started
        self.loss_history_ = self.record_.loss_history
        self.model_ = Model(vocab, vectors, output_weights, self.settings(), self.record_.as_dict())
        return self

    def prepare(self, corpus) -> tuple[Vocabulary, EncodedCorpus]:
        """Count the words, build the vocabulary and encode the corpus to ids."""
        tokenizer = Tokenizer(lowercase=self.lowercase, whitespace=self.whitespace)
        scanned = scan(sentences_of(corpus, tokenizer))
        if scanned.tokens == 0:
            raise WordvecError("the corpus holds no words")
        word_counts = scanned.word_counts()
        vocab = Vocabulary.from_counts(word_counts, self.min_count, self.max_vocab)
        if len(vocab) == 0:
            raise WordvecError(
                f"no word occurs min_count={self.min_count} times ({scanned.tokens} tokens, "
                f"{len(word_counts)} distinct words, the most frequent seen {max(word_counts.values())} times); "
                "lower --min-count"
            )
        del word_counts
        with tempfile.TemporaryDirectory(prefix="wordvec-") as folder:
            # The mapping outlives the file's name: the ids are deleted with the process.
            return vocab, encode(scanned, vocab, path=os.path.join(folder, "ids.npy"))

    def _train(self, vocab: Vocabulary, encoded: EncodedCorpus) -> tuple[np.ndarray, np.ndarray]:
        from .backend import CpuBackend  # imports numba

        init = np.random.default_rng(self.seed)
        vectors = init.random((len(vocab), self.dim), dtype=np.float32)  # U(−0.5, 0.5) / d, as word2vec,
        vectors -= 0.5  # in place: no temporary copies of a |V| x d matrix
        vectors /= self.dim
        output_weights = np.zeros((len(vocab), self.dim), dtype=np.float32)
        backend = CpuBackend(vectors, output_weights, training_tables(vocab, self.sample, self.loss),
                             self.arch, self.loss, self.window, self.negative, self.cbow_mean,
                             self._workers(), self.seed)
        chunks = encoded.chunks(CHUNK_WORDS)
        encoded.release(0, len(encoded.ids))
        words_per_epoch = sum(words for _, _, words in chunks)
        schedule = _Schedule(self._alpha(), self.min_alpha, words_per_epoch * self.epochs)
        self._curve = _CurvePoints(self.record_, max(words_per_epoch // 50, 1))
        from threadpoolctl import threadpool_limits
        from tqdm.auto import tqdm

        if self.progress:
            memory = vocab.training_memory(self.dim, self.loss, self._workers(), CpuBackend.SOFTMAX_BATCH)
            tqdm.write(f"{encoded.tokens:,} tokens, {len(vocab):,} words in the vocabulary; "
                       f"training needs about {memory / 2**20:,.0f} MB")
            if self._workers() < self._threads():
                tqdm.write("the full softmax updates all of W_out on every batch: training on one thread")
        # At these matrix sizes one BLAS thread is faster than several.
        blas = threadpool_limits(1, "blas") if self.loss == "softmax" else contextlib.nullcontext()
        bar = tqdm(total=words_per_epoch * self.epochs, unit="word", unit_scale=True,
                   disable=not self.progress, smoothing=0.1, dynamic_ncols=True)
        with blas:
            try:
                for epoch in range(1, self.epochs + 1):
                    record = self._run_epoch(epoch, backend, encoded, chunks, schedule, bar)
                    self.record_.epochs.append(record)
                    if not np.isfinite(record.loss):
                        raise WordvecError(
                            f"training diverged in epoch {epoch} (loss is {record.loss}); "
                            f"the learning rate alpha={self._alpha()} is probably too high"
                        )
                    for callback in self.callbacks:
                        callback(self, record)
            finally:
                bar.close()
        return vectors, output_weights

    def _run_epoch(self, epoch, backend, encoded, chunks, schedule, bar) -> EpochRecord:
        started = time.perf_counter()
        jobs = []
        for start, stop, words in interleave(chunks, backend.threads):
            jobs.append((start, stop, schedule.alpha(), schedule.advance(words)))
        loss = 0.0
        examples = words = kept = 0
        last_shown = 0.0
        for job, result in run_jobs(backend, encoded.ids, jobs, backend.threads):
            encoded.release(job[0], job[1])  # read once per epoch: let the page cache keep it
            loss += result[0]
            examples += result[1]
            words += result[2]
            kept += result[3]
            self._curve.add(*result[:3])
            bar.update(result[2])
            now = time.perf_counter()
            if now - last_shown > 0.5:
                bar.set_postfix(epoch=epoch, alpha=f"{job[3]:.5f}", loss=f"{loss / max(examples, 1):.4f}",
                                refresh=False)
                last_shown = now
        self._curve.flush()
        return EpochRecord(epoch, loss / max(examples, 1), examples, words, kept,
                           time.perf_counter() - started, schedule.alpha())


class _CurvePoints:
    """Adds a point to ``record.loss_curve`` every ``step`` words."""

    def __init__(self, record: TrainingRecord, step: int):
        self.record, self.step = record, step
        self.words, self.loss, self.examples = 0, 0.0, 0

    def add(self, loss: float, examples: int, words: int) -> None:
        self.words += words
        self.loss += loss
        self.examples += examples
        last = self.record.loss_curve[-1][0] if self.record.loss_curve else 0
        if self.words - last >= self.step:
            self.flush()

    def flush(self) -> None:
        if self.examples:
            self.record.loss_curve.append([self.words, self.loss / self.examples])
            self.loss, self.examples = 0.0, 0


class _Schedule:
    """Linear decay from ``alpha`` to ``min_alpha`` over ``total`` words."""

    def __init__(self, alpha: float, min_alpha: float, total: int):
        self.start, self.stop, self.total = alpha, min_alpha, max(total, 1)
        self.done = 0

    def alpha(self) -> float:
        return self.start + (self.stop - self.start) * min(self.done / self.total, 1.0)

    def advance(self, words: int) -> float:
        self.done += words
        return self.alpha()


def interleave(chunks: list, stripes: int) -> list:
    """Deal ``chunks`` out as ``stripes`` contiguous parts taken in turn
    (a1 b1 a2 b2 ...), so that each thread works through its own part of the
    corpus, as word2vec's threads do, instead of all threads on neighbouring
    text writing the same rows (about 9 % faster with 2 threads)."""
    if stripes <= 1:
        return chunks
    size = -(-len(chunks) // stripes)
    parts = [chunks[i * size:(i + 1) * size] for i in range(stripes)]
    return [chunk for group in itertools.zip_longest(*parts) for chunk in group if chunk is not None]


def run_jobs(backend, ids, jobs, threads):
    """Run ``backend.train_chunk`` over ``jobs`` with ``threads`` worker threads;
    yield each ``(job, result)`` in the calling thread as it arrives.  The first error in
    a worker stops the others and is raised here."""
    pending: queue.SimpleQueue = queue.SimpleQueue()
    for job in jobs:
        pending.put(job)
    results: queue.SimpleQueue = queue.SimpleQueue()
    stop = threading.Event()

    def work(slot):
        try:
            while not stop.is_set():
                try:
                    job = pending.get_nowait()
                except queue.Empty:
                    break
                results.put((job, backend.train_chunk(slot, ids, *job)))
        except BaseException as error:  # handed to the calling thread
            results.put(error)

    workers = [threading.Thread(target=work, args=(slot,), daemon=True) for slot in range(min(threads, len(jobs)))]
    for worker in workers:
        worker.start()
    try:
        for _ in range(len(jobs)):
            result = results.get()
            if isinstance(result, BaseException):
                raise result
            yield result
    finally:
        stop.set()
        for worker in workers:
            worker.join()


def training_tables(vocab: Vocabulary, sample: float, loss: str) -> dict:
    """The sampling tables a loss needs: keep-probabilities always, the noise
    alias table for ``ns``, the Huffman paths for ``hs``."""
    tables = {"keep_prob": vocab.keep_probabilities(sample)}
    if loss == "ns":
        tables["noise_prob"], tables["noise_alias"] = alias_table(vocab.noise_distribution())
    if loss == "hs":
        tables["hs_points"], tables["hs_codes"], tables["hs_lengths"] = vocab.huffman_tree()
    return tables


def train(corpus, **settings) -> Model:
    """Train word vectors on ``corpus`` and return the :class:`Model`.

    Takes the settings of :class:`Trainer` (``dim``, ``window``, ``negative``,
    ``loss``, ``arch``, ``sample``, ``min_count``, ``max_vocab``, ``epochs``,
    ``alpha``, ``min_alpha``, ``threads``, ``seed``, ...).
    """
    return Trainer(**settings).fit(corpus).model_


__all__ = ["Trainer", "TrainingRecord", "EpochRecord", "train"]
