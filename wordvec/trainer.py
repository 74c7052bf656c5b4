"""The trainer: epochs, learning-rate schedule, threads, progress and the record.

It reads the corpus twice (count, then encode to ids), then runs every epoch
from the ids: the ids are cut into chunks of at least :data:`~wordvec.corpus.CHUNK_WORDS`
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
import functools
import itertools
import os
import queue
import shutil
import signal
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from typing import Callable

import numpy as np

from .corpus import EncodedCorpus, encode, scan, sentences_of
from .errors import TrainingInterrupted, WordvecError
from .model import Model
from .tokenize import Tokenizer
from .vocab import Vocabulary, alias_table

#: Jobs between two points where every thread has finished (about 1 M words):
#: where a checkpoint can be taken or a signal acted on.
SEGMENT_JOBS = 64
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
    #: Bad input survived while reading: undecodable byte sequences replaced, over-long words capped.
    bad_input: dict = field(default_factory=lambda: {"replaced": 0, "capped": 0})

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

    @classmethod
    def from_dict(cls, data: dict) -> "TrainingRecord":
        """The record :meth:`as_dict` wrote (for resuming from a checkpoint)."""
        fields = {name: data[name] for name in ("corpus_tokens", "vocab_size", "prepare_seconds",
                                                  "train_seconds", "loss_curve", "bad_input") if name in data}
        return cls(**fields, epochs=[EpochRecord(**epoch) for epoch in data.get("epochs", [])])


class Trainer:
    """Trains word vectors, scikit-learn style: settings in the constructor,
    ``fit(corpus)`` does the work and returns ``self``; what was learned ends in
    ``_`` (``model_``, ``vocabulary_``, ``record_``, ``loss_history_``).

    ``corpus`` is a path (file, folder, ``.gz``/``.bz2``/``.xz``, ``-`` for
    stdin), a list of paths, or a re-iterable of sentences (lists of str).
    ``callbacks`` are called from the calling thread after every epoch with
    ``(trainer, epoch_record)``.

    With ``checkpoint`` (a model path), the run is saved there every
    ``checkpoint_every`` epochs and every ``checkpoint_minutes`` minutes, on
    Ctrl-C / SIGTERM (then :class:`TrainingInterrupted` is raised), and when it
    ends; ``fit(corpus, resume=True)`` continues from that file.  Every save is
    atomic, so the file is always a complete, loadable model.
    """

    def __init__(self, dim: int = 100, window: int = 5, negative: int = 5, loss: str = "ns",
                 arch: str = "cbow", sample: float = 1e-3, min_count: int = 5, max_vocab: int | None = None,
                 epochs: int = 5, alpha: float | None = None, min_alpha: float = 1e-4,
                 threads: int | None = None, seed: int = 1, cbow_mean: bool = True,
                 lowercase: bool = True, whitespace: bool = False, progress: bool = False,
                 callbacks: tuple[Callable, ...] = (), checkpoint: str | os.PathLike | None = None,
                 checkpoint_every: int | None = None, checkpoint_minutes: float | None = None):
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
        self.checkpoint = checkpoint
        self.checkpoint_every = checkpoint_every
        self.checkpoint_minutes = checkpoint_minutes

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
        if self.checkpoint_every is not None and (
                not isinstance(self.checkpoint_every, (int, np.integer)) or self.checkpoint_every < 1):
            raise WordvecError(f"checkpoint_every must be a whole number of epochs, at least 1, not {self.checkpoint_every!r}")
        if self.checkpoint_minutes is not None and not self.checkpoint_minutes > 0:
            raise WordvecError(f"checkpoint_minutes must be above 0, not {self.checkpoint_minutes!r}")
        if (self.checkpoint_every or self.checkpoint_minutes) and not self.checkpoint:
            raise WordvecError("checkpoint_every and checkpoint_minutes need a checkpoint path")
        if self.checkpoint:
            folder = os.path.dirname(os.path.abspath(self.checkpoint))
            if not os.path.isdir(folder):
                raise WordvecError(f"folder {folder} does not exist")
            if not os.access(folder, os.W_OK):
                raise WordvecError(f"cannot write to folder {folder}")

    # -- the run ----------------------------------------------------------------
    def fit(self, corpus, resume: bool = False) -> "Trainer":
        """Build the vocabulary, encode the corpus, train; returns ``self``.
        With ``resume``, continue the run saved in ``checkpoint`` instead."""
        self.check_settings()
        started = time.perf_counter()
        saved = self._saved_run() if resume else None
        vocab, encoded = self.prepare(corpus, saved.vocab if saved else None)
        if saved:
            self.record_ = TrainingRecord.from_dict(saved.record)
            if encoded.tokens != self.record_.corpus_tokens:
                raise WordvecError(f"the corpus has {encoded.tokens:,} tokens, but the run in {self.checkpoint} "
                                   f"was trained on {self.record_.corpus_tokens:,}: it is not the same corpus")
        else:
            self.record_ = TrainingRecord(corpus_tokens=encoded.tokens, vocab_size=len(vocab),
                                          prepare_seconds=time.perf_counter() - started)
        self.record_.bad_input = dict(self._bad_input)
        self.vocabulary_ = vocab
        self._check_room(vocab)
        started = time.perf_counter()
        vectors, output_weights = self._train(vocab, encoded, saved)
        self.record_.train_seconds += time.perf_counter() - started
        self.loss_history_ = self.record_.loss_history
        self.model_ = Model(vocab, vectors, output_weights, self.settings(), self.record_.as_dict())
        if self.checkpoint:
            self.model_.save(self.checkpoint)
        return self

    def prepare(self, corpus, vocab: Vocabulary | None = None) -> tuple[Vocabulary, EncodedCorpus]:
        """Count the words, build the vocabulary (unless given) and encode the corpus to ids."""
        tokenizer = Tokenizer(lowercase=self.lowercase, whitespace=self.whitespace)
        self._bad_input = tokenizer.stats
        scanned = scan(sentences_of(corpus, tokenizer))
        if scanned.tokens == 0:
            raise WordvecError("the corpus holds no words")
        if vocab is None:
            word_counts = scanned.word_counts()
            vocab = Vocabulary.from_counts(word_counts, self.min_count, self.max_vocab)
            if len(vocab) == 0:
                raise WordvecError(
                    f"no word occurs min_count={self.min_count} times ({scanned.tokens} tokens, "
                    f"{len(word_counts)} distinct words, the most frequent seen {max(word_counts.values())} times); "
                    "lower --min-count"
                )
            del word_counts
        else:
            rows = np.array([scanned.index.get(word, -1) for word in vocab.words], dtype=np.int64)
            counts = np.where(rows >= 0, scanned.counts[rows], 0)
            if not np.array_equal(counts, vocab.counts):
                raise WordvecError(f"the words of this corpus are not counted as in the saved run's vocabulary "
                                   f"({int(np.sum(counts != vocab.counts)):,} differ): it is not the same corpus")
        with tempfile.TemporaryDirectory(prefix="wordvec-") as folder:
            # The mapping outlives the file's name: the ids are deleted with the process.
            return vocab, encode(scanned, vocab, path=os.path.join(folder, "ids.npy"))

    def _saved_run(self) -> Model:
        """The unfinished run in ``checkpoint``, checked against these settings."""
        if not self.checkpoint:
            raise WordvecError("resume needs the checkpoint path of the run to continue")
        saved = Model.load(self.checkpoint, mmap=False)
        if saved.complete:
            raise WordvecError(f"{self.checkpoint} holds a finished run ({len(saved.record.get('epochs', []))} "
                               "epochs); there is nothing to resume")
        mine = self.settings()
        differ = [f"{key} {saved.config.get(key)!r} -> {mine[key]!r}" for key in mine
                  if key != "threads" and saved.config.get(key) != mine[key]]
        if differ:
            raise WordvecError(f"these settings differ from the run in {self.checkpoint}: {'; '.join(differ)}")
        return saved

    def _check_room(self, vocab: Vocabulary) -> None:
        """Fail before training, not after, when the model will not fit on the disk."""
        if not self.checkpoint:
            return
        folder = os.path.dirname(os.path.abspath(self.checkpoint))
        needed = 2 * len(vocab) * self.dim * 4 + sum(len(w) + 12 for w in vocab.words[:100_000]) + (1 << 20)
        free = shutil.disk_usage(folder).free
        if free < needed:
            raise WordvecError(f"the model needs about {needed / 2**20:,.0f} MB in {folder}, "
                               f"which has {free / 2**20:,.0f} MB free")

    def _train(self, vocab: Vocabulary, encoded: EncodedCorpus, saved: Model | None) -> tuple[np.ndarray, np.ndarray]:
        from .backend import CpuBackend  # imports numba

        vectors, output_weights = self._initial_weights(vocab, saved)
        backend = CpuBackend(vectors, output_weights, training_tables(vocab, self.sample, self.loss),
                             self.arch, self.loss, self.window, self.negative, self.cbow_mean,
                             self._workers(), self.seed)
        position = _Position.of(saved, backend)
        chunks = encoded.chunks
        encoded.release(0, len(encoded.ids))
        words_per_epoch = sum(words for _, _, words in chunks)
        schedule = _Schedule(self._alpha(), self.min_alpha, words_per_epoch * self.epochs)
        schedule.done = words_per_epoch * position.epochs_done
        self._curve = _CurvePoints(self.record_, max(words_per_epoch // 50, 1))
        self._curve.words = schedule.done + position.partial["words"]
        from threadpoolctl import threadpool_limits
        from tqdm.auto import tqdm

        if self.progress:
            memory = vocab.training_memory(self.dim, self.loss, self._workers(), CpuBackend.SOFTMAX_BATCH)
            say = functools.partial(tqdm.write, file=sys.stderr)  # what goes on: stderr, beside the bar
            say(f"{encoded.tokens:,} tokens, {len(vocab):,} words in the vocabulary; "
                f"training needs about {memory / 2**20:,.0f} MB")
            if self._workers() < self._threads():
                say("the full softmax updates all of W_out on every batch: training on one thread")
            if saved:
                say(f"resuming after {position.describe(len(chunks))}")
        # At these matrix sizes one BLAS thread is faster than several.
        blas = threadpool_limits(1, "blas") if self.loss == "softmax" else contextlib.nullcontext()
        bar = tqdm(total=words_per_epoch * self.epochs, initial=schedule.done + position.partial["words"],
                   unit="word", unit_scale=True, disable=not self.progress, smoothing=0.1, dynamic_ncols=True)
        self._stop_signal = None
        self._last_save = time.monotonic()
        with blas, self._signals_caught():
            try:
                for epoch in range(position.epochs_done + 1, self.epochs + 1):
                    record = self._run_epoch(epoch, backend, encoded, chunks, schedule, bar, vocab, position)
                    self.record_.epochs.append(record)
                    position = _Position.now(epoch, 0, dict(_Position.EMPTY), backend)
                    if epoch < self.epochs:
                        if self.checkpoint_every and epoch % self.checkpoint_every == 0:
                            self._save_checkpoint(vocab, backend, position)
                        self._between_segments(vocab, backend, position, len(chunks))
                    for callback in self.callbacks:
                        callback(self, record)
            finally:
                bar.close()
        _check_finite(vectors, output_weights, self._alpha())
        return vectors, output_weights

    def _initial_weights(self, vocab: Vocabulary, saved: Model | None) -> tuple[np.ndarray, np.ndarray]:
        """W_in ~ U(−0.5, 0.5) / d and W_out = 0, as word2vec; or the saved run's weights."""
        if saved is not None:
            return (np.ascontiguousarray(saved.vectors, dtype=np.float32),
                    np.ascontiguousarray(saved.output_weights, dtype=np.float32))
        init = np.random.default_rng(self.seed)
        vectors = init.random((len(vocab), self.dim), dtype=np.float32)
        vectors -= 0.5  # in place: no temporary copies of a |V| x d matrix
        vectors /= self.dim
        return vectors, np.zeros((len(vocab), self.dim), dtype=np.float32)

    def _run_epoch(self, epoch, backend, encoded, chunks, schedule, bar, vocab, position) -> EpochRecord:
        """One epoch in segments of :data:`SEGMENT_JOBS` jobs; between segments, every
        thread has finished, so a checkpoint can be taken and a signal acted on."""
        started = time.perf_counter()
        jobs = []
        for start, stop, words in interleave(chunks, backend.threads):
            jobs.append((start, stop, schedule.alpha(), schedule.advance(words)))
        first = position.jobs_done if position.epochs_done == epoch - 1 else 0
        totals = dict(position.partial) if first else dict(_Position.EMPTY)
        last_shown = 0.0
        for segment in range(first, len(jobs), SEGMENT_JOBS):
            for job, result in run_jobs(backend, encoded.ids, jobs[segment:segment + SEGMENT_JOBS], backend.threads):
                encoded.release(job[0], job[1])  # read once per epoch: let the page cache keep it
                for key, value in zip(("loss", "examples", "words", "kept"), result):
                    totals[key] += value
                self._curve.add(*result[:3])
                bar.update(result[2])
                now = time.perf_counter()
                if now - last_shown > 0.5:
                    bar.set_postfix(epoch=epoch, alpha=f"{job[3]:.5f}",
                                    loss=f"{totals['loss'] / max(totals['examples'], 1):.4f}", refresh=False)
                    last_shown = now
            if not np.isfinite(totals["loss"]):
                raise WordvecError(f"training diverged in epoch {epoch} (the loss is {totals['loss']}); nothing "
                                   f"was saved. The learning rate alpha={self._alpha()} is probably too high")
            done = min(segment + SEGMENT_JOBS, len(jobs))
            if done < len(jobs):
                partial = dict(totals, seconds=totals["seconds"] + time.perf_counter() - started)
                self._between_segments(vocab, backend, _Position.now(epoch - 1, done, partial, backend), len(chunks))
        self._curve.flush()
        return EpochRecord(epoch, totals["loss"] / max(totals["examples"], 1), totals["examples"], totals["words"],
                           totals["kept"], totals["seconds"] + time.perf_counter() - started, schedule.alpha())

    def _between_segments(self, vocab, backend, position: "_Position", chunks: int) -> None:
        """Save a checkpoint when one is due or a signal came; stop after a signal."""
        due = self.checkpoint_minutes and time.monotonic() - self._last_save >= 60 * self.checkpoint_minutes
        if due or self._stop_signal:
            self._save_checkpoint(vocab, backend, position)
        if self._stop_signal:
            name = signal.Signals(self._stop_signal).name
            where = f"the run so far is saved in {self.checkpoint}: continue it with --resume" if self.checkpoint \
                else "nothing was saved (give a checkpoint path to keep the work)"
            raise TrainingInterrupted(f"stopped by {name} after {position.describe(chunks)}; {where}",
                                      self._stop_signal)

    def _save_checkpoint(self, vocab, backend, position: "_Position") -> None:
        if not self.checkpoint:
            return
        _check_finite(backend.vectors, backend.output_weights, self._alpha())
        Model(vocab, backend.vectors, backend.output_weights, self.settings(), self.record_.as_dict(),
              position.as_dict()).save(self.checkpoint)
        self._last_save = time.monotonic()

    @contextlib.contextmanager
    def _signals_caught(self):
        """While training, SIGINT and SIGTERM ask it to stop at the next segment."""
        if threading.current_thread() is not threading.main_thread():
            yield
            return

        def ask_to_stop(number, frame):
            self._stop_signal = number

        previous = {number: signal.signal(number, ask_to_stop) for number in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield
        finally:
            for number, handler in previous.items():
                signal.signal(number, handler)


def _check_finite(vectors: np.ndarray, output_weights: np.ndarray, alpha: float) -> None:
    if not (np.isfinite(vectors).all() and np.isfinite(output_weights).all()):
        raise WordvecError(f"training diverged: the weights hold NaN or infinity, so nothing was saved. "
                           f"The learning rate alpha={alpha} is probably too high")


@dataclass
class _Position:
    """How far a run has got: whole epochs, then jobs into the next epoch (with
    that epoch's totals so far), and each thread's random state."""
    EMPTY = {"loss": 0.0, "examples": 0, "words": 0, "kept": 0, "seconds": 0.0}

    epochs_done: int
    jobs_done: int
    partial: dict
    rng: list

    @classmethod
    def of(cls, saved: Model | None, backend) -> "_Position":
        """The saved run's position, its random states put into ``backend``; or the start."""
        if saved is None:
            return cls(0, 0, dict(cls.EMPTY), [])
        mark = saved.checkpoint
        for scratch, state in zip(backend.scratch, mark["rng"]):  # more threads than before: fresh states
            scratch.rng[0] = np.uint64(state)
        return cls(mark["epochs_done"], mark["jobs_done"], dict(mark["partial"]), mark["rng"])

    @classmethod
    def now(cls, epochs_done: int, jobs_done: int, partial: dict, backend) -> "_Position":
        """This position, with the threads' random states as they are now."""
        return cls(epochs_done, jobs_done, partial, [int(scratch.rng[0]) for scratch in backend.scratch])

    def as_dict(self) -> dict:
        return asdict(self)

    def describe(self, chunks: int) -> str:
        if not self.jobs_done:
            return f"{self.epochs_done} epoch{'s' if self.epochs_done != 1 else ''}"
        return f"{self.epochs_done} epochs and {100 * self.jobs_done / max(chunks, 1):.0f} % of epoch {self.epochs_done + 1}"


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


def train(corpus, resume: bool = False, **settings) -> Model:
    """Train word vectors on ``corpus`` and return the :class:`Model`.

    Takes the settings of :class:`Trainer` (``dim``, ``window``, ``negative``,
    ``loss``, ``arch``, ``sample``, ``min_count``, ``max_vocab``, ``epochs``,
    ``alpha``, ``min_alpha``, ``threads``, ``seed``, ``checkpoint``, ...);
    ``resume=True`` continues the run saved in ``checkpoint``.
    """
    return Trainer(**settings).fit(corpus, resume=resume).model_


__all__ = ["Trainer", "TrainingRecord", "EpochRecord", "train"]
