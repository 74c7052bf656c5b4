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
import math
import os
import queue
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from typing import Callable

import numpy as np

from . import checks
from .checkpoint import EMPTY_TOTALS, Position, StopSignals, remove_stale_temporaries
from .corpus import EncodedCorpus, encode, scan_source
from .errors import TrainingInterrupted, WordvecError
from .model import Model
from .order import JOB_STEPS, SPAN_WORDS, epoch_order, even_spans, group_chunks, spread_jobs
from .tokenize import Tokenizer
from .vocab import Vocabulary, alias_table

#: Jobs between two points where every thread has finished (about 1 M words):
#: where a checkpoint can be taken or a signal acted on.
SEGMENT_JOBS = 64
#: With subwords, a word whose rows repeat one row this many times is named when
#: training diverges (ordinary words repeat an n-gram at most a few times).
REPEATED_ROW_HINT = 16
#: A run whose mean loss per example rises to this many times the most it can start at
#: has diverged, even while the loss is finite (alpha 0.2 with subwords on the bench
#: corpus reached 4.6e15): see :meth:`Trainer._diverged_loss`.
DIVERGED_LOSS_FACTOR = 100
#: More noise words an example than this (word2vec's papers use 5 – 20) are named
#: when training diverges: their steps on the context's rows add up (on 57 k tokens of
#: the demo corpus, CBOW at alpha 0.05 trained with --negative 600 and diverged with 1,000).
MANY_NEGATIVES = 25
ARCHS, LOSSES = checks.ARCHS, checks.LOSSES
#: Settings a resumed run may change: how many threads, and the order of the epochs
#: still to come (an epoch stopped inside keeps its saved order, :meth:`Trainer._resumed_layout`).
_MAY_CHANGE_ON_RESUME = ("threads", "shuffle", "spread", "add_output")
#: Settings added after models were first saved: a file without them had their defaults.
_LATER_SETTINGS = ("phrases", "phrase_scoring", "phrase_threshold", "phrase_min_count", "phrase_table", "dedup",
                   "position_weights", "subwords", "minn", "maxn", "bucket", "ns_exponent", "device", "spread")


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
    #: On a cluster: workers, rounds, bytes each way, seconds in the kernels and in whole rounds.
    cluster: dict = field(default_factory=dict)
    #: Phrase detection: pairs counted and dropped, memory, phrases and joins per pass (see wordvec.phrases).
    phrases: dict = field(default_factory=dict)
    #: De-duplication: sentences and tokens dropped, distinct sentences, memory of their hashes.
    duplicates: dict = field(default_factory=dict)

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
                                                  "train_seconds", "loss_curve", "bad_input", "cluster",
                                                  "phrases", "duplicates")
                  if name in data}
        return cls(**fields, epochs=[EpochRecord(**epoch) for epoch in data.get("epochs", [])])


class Trainer:
    """Trains word vectors, scikit-learn style: settings in the constructor,
    ``fit(corpus)`` does the work and returns ``self``; what was learned ends in
    ``_`` (``model_``, ``vocabulary_``, ``record_``, ``loss_history_``).

    ``corpus`` is a path (file, folder, ``.gz``/``.bz2``/``.xz``, a pipe, ``-``
    for stdin), a list of paths, or a re-iterable of sentences (lists of str).
    ``callbacks`` are called from the calling thread after every epoch with
    ``(trainer, epoch_record)``.

    Beyond word2vec's recipe (Mikolov et al. 2018): ``phrases=N`` finds and joins
    phrases in ``N`` passes before the vocabulary is built (``phrase_scoring``,
    ``phrase_threshold``, ``phrase_min_count``: see :mod:`wordvec.phrases`), or
    ``phrase_table`` joins those of a saved table; ``dedup`` drops sentences that
    repeat an earlier one exactly; ``position_weights`` (CBOW) learns one weight
    vector per context position (see :mod:`wordvec.kernels`).

    ``shuffle`` trains the chunks of each epoch (16,384 words each, cut at sentence
    ends) in an order drawn afresh every epoch from ``seed``, instead of the
    corpus's order that word2vec, gensim and fastText keep (see :func:`epoch_order`).

    ``spread`` trains each span of about 16.8 M words (:data:`~wordvec.order.SPAN_WORDS`)
    with its centres in an order spread over the whole span, 8 consecutive centres
    a step (see :mod:`wordvec.order`), as the GPU does always: SGD's steps then come
    from all over the corpus instead of one article's words after another's.  By
    default (``None``) it does so with negative sampling on one machine, where it
    gave about 2 analogy points more for CBOW and skip-gram on the bench corpus at
    about 0.85x the words/s; not with hierarchical softmax (+0.2 point at 0.7x),
    subwords (trained example by example, much slower) or on a cluster.

    ``add_output`` makes each word's vector the sum of its input row and its
    output row, ``W_in + W_out`` (the "w + c" of Levy, Goldberg & Dagan 2015;
    GloVe's sum of its two vectors) instead of the input row alone.  By default
    (``None``) it does so for CBOW with negative sampling, where it gave about
    3 analogy points and 0.02 of WordSim-353 more on the bench corpus, at no
    cost in training; not for skip-gram (about 1.4 analogy points fewer).
    Hierarchical softmax has no output row per word and a subword model none
    for unseen words, so neither takes it.  Only the finished model's vectors
    are summed: a checkpoint holds the input rows, to train on from.

    ``subwords`` trains fastText's model (Bojanowski et al. 2017): each word's
    input is the mean of its own row and the rows of its character n-grams of
    ``minn..maxn`` characters, hashed into ``bucket`` buckets (see
    :mod:`wordvec.subwords`); the model then gives vectors to unseen words.

    With ``checkpoint`` (a model path), the run is saved there every
    ``checkpoint_every`` epochs and every ``checkpoint_minutes`` minutes, on
    Ctrl-C / SIGTERM (then :class:`TrainingInterrupted` is raised), and when it
    ends; ``fit(corpus, resume=True)`` continues from that file, starts afresh
    when there is none yet, and does nothing when it holds a finished run
    (``resumed_`` says which: ``"started"``, ``"continued"``, ``"finished"``),
    so a preemptible job can rerun the same call until it is done.  Every save
    is atomic, so the file is always a complete, loadable model.
    """

    def __init__(self, dim: int = 100, window: int = 5, negative: int = 5, loss: str = "ns",
                 arch: str = "cbow", sample: float = 1e-3, min_count: int = 5, max_vocab: int | None = None,
                 epochs: int = 5, alpha: float | None = None, min_alpha: float = 1e-4,
                 threads: int | None = None, seed: int = 1, cbow_mean: bool = True,
                 lowercase: bool = True, whitespace: bool = False, progress: bool = False,
                 callbacks: tuple[Callable, ...] = (), checkpoint: str | os.PathLike | None = None,
                 checkpoint_every: int | None = None, checkpoint_minutes: float | None = None,
                 phrases: int = 0, phrase_scoring: str = "word2phrase", phrase_threshold: float | None = None,
                 phrase_min_count: int | None = None, phrase_table: str | os.PathLike | None = None,
                 dedup: bool = False, position_weights: bool = False, subwords: bool = False,
                 minn: int = 3, maxn: int = 6, bucket: int = 2_000_000, ns_exponent: float | None = None,
                 device: str = "cpu", shuffle: bool = True, spread: bool | None = None,
                 add_output: bool | None = None):
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
        self.phrases = phrases
        self.phrase_scoring = phrase_scoring
        self.phrase_threshold = phrase_threshold
        self.phrase_min_count = phrase_min_count
        self.phrase_table = phrase_table
        self.dedup = dedup
        self.position_weights = position_weights
        self.subwords = subwords
        self.minn = minn
        self.maxn = maxn
        self.bucket = bucket
        self.ns_exponent = ns_exponent
        self.device = device
        self.shuffle = shuffle
        self.spread = spread
        self.add_output = add_output
        self._on_cluster = False  # whether the run is on a Dask cluster (fit's cluster)
        self._rows = None  # the subword row table of a run (_subword_rows)
        self._words: list[str] = []  # that run's vocabulary, in id order

    # -- settings ---------------------------------------------------------------
    def settings(self) -> dict:
        """The settings of a run, with defaults resolved (stored in the model)."""
        return {
            "dim": self.dim, "window": self.window, "negative": self.negative, "loss": self.loss,
            "arch": self.arch, "sample": self.sample, "min_count": self.min_count,
            "max_vocab": self.max_vocab, "epochs": self.epochs, "alpha": self._alpha(),
            "min_alpha": self.min_alpha, "threads": self._threads(), "seed": self.seed,
            "cbow_mean": self.cbow_mean, "lowercase": self.lowercase, "whitespace": self.whitespace,
            "phrases": self.phrases, "phrase_scoring": self.phrase_scoring,
            "phrase_threshold": self._phrase_threshold(), "phrase_min_count": self._phrase_min_count(),
            "phrase_table": os.fspath(self.phrase_table) if self.phrase_table else None,
            "dedup": self.dedup, "position_weights": self.position_weights,
            "subwords": self.subwords, "minn": self.minn, "maxn": self.maxn, "bucket": self.bucket,
            "ns_exponent": self._ns_exponent(), "device": self._device()[0], "shuffle": self.shuffle,
            "spread": self._spread(), "add_output": self._add_output(),
        }

    def _phrase_min_count(self) -> int:
        return self.min_count if self.phrase_min_count is None else self.phrase_min_count

    def _phrase_threshold(self) -> float | None:
        from .phrases import DEFAULT_THRESHOLDS

        if self.phrase_threshold is not None:
            return self.phrase_threshold
        return DEFAULT_THRESHOLDS.get(self.phrase_scoring)

    def _alpha(self) -> float:
        if self.alpha is not None:
            return self.alpha
        return 0.05 if self.arch == "cbow" else 0.025  # word2vec's defaults

    def _ns_exponent(self) -> float:
        """The power of the counts in the noise distribution: word2vec's 0.75, except
        fastText's 0.5 for skip-gram with subwords (on 5 M tokens of the bench corpus,
        0.5 gave skip-gram with subwords +2.0 analogy points, but CBOW with subwords
        −3.4 and plain skip-gram −0.9)."""
        if self.ns_exponent is not None:
            return self.ns_exponent
        return 0.5 if self.subwords and self.arch == "skipgram" else 0.75

    def _spread(self) -> bool:
        """Whether epochs train in spread order: as asked, else with negative sampling
        of whole words on one machine (see the class's docstring)."""
        if self.spread is not None:
            return self.spread
        return self.loss == "ns" and not self.subwords and not self._on_cluster

    def _add_output(self) -> bool:
        """Whether the finished vectors are ``W_in + W_out``: as asked, else for CBOW
        with negative sampling of whole words (see the class's docstring)."""
        if self.add_output is not None:
            return self.add_output
        return self.arch == "cbow" and self.loss == "ns" and not self.subwords

    def _device(self) -> tuple[str, int]:
        """``("cpu", 0)`` or ``("cuda", GPU number)``."""
        from .cuda import parse_device

        return parse_device(self.device)

    def _threads(self) -> int:
        return self.threads if self.threads is not None else (os.cpu_count() or 1)

    def _workers(self) -> int:
        """Threads that train chunks.  The full softmax rewrites every output row
        on each batch, so lock-free threads would only fight over W_out: it trains
        one chunk at a time and splits each batch's output layer over the threads."""
        return 1 if self.loss == "softmax" else self._threads()

    def check_settings(self) -> None:
        """Reject bad values (and an output folder that cannot be written) before any work starts."""
        checks.check_settings({**self.settings(), "checkpoint": self.checkpoint,
                               "checkpoint_every": self.checkpoint_every,
                               "checkpoint_minutes": self.checkpoint_minutes})
        if isinstance(self.callbacks, (str, bytes)) or not hasattr(self.callbacks, "__iter__") or not all(
                map(callable, self.callbacks)):
            raise WordvecError(f"callbacks must be a list of functions f(trainer, epoch), not {self.callbacks!r}")
        if self.phrases:
            from .phrases import DEFAULT_MAX_PAIRS, check_phrase_settings

            check_phrase_settings(self.phrases, self.phrase_scoring, self.phrase_threshold, self._phrase_min_count(),
                                  "_", DEFAULT_MAX_PAIRS)
        if self.subwords:
            from .subwords import check_settings

            check_settings(self.minn, self.maxn, self.bucket)
            if self.position_weights:
                raise WordvecError("position weights and subwords do not combine yet: choose one")
            if self.arch == "cbow" and not self.cbow_mean:
                raise WordvecError("subwords average every row of the context, as fastText does: "
                                   "they need --cbow-mean, not --cbow-sum")
        if self.add_output and self.loss == "hs":
            raise WordvecError("--add-output adds each word's output row to its vector, and hierarchical softmax "
                               "has no output row per word (its rows are the tree's inner nodes): drop "
                               "--add-output or train with --loss ns")
        if self.add_output and self.subwords:
            raise WordvecError("--add-output adds each word's output row to its vector, and a subword model has "
                               "none for the words it never saw: drop --add-output or --subwords")
        kind, index = self._device()
        if kind == "cuda":
            from .cuda import check_device, check_settings as check_cuda_settings

            check_cuda_settings(self.settings())
            check_device(index)
        if self.phrase_table and not os.path.isfile(self.phrase_table):
            raise WordvecError(f"no such phrase table: {self.phrase_table}")
        if self.checkpoint:
            checks.check_output_folder(self.checkpoint)

    # -- the run ----------------------------------------------------------------
    def fit(self, corpus, resume: bool = False, cluster=None, round_words: int | None = None) -> "Trainer":
        """Build the vocabulary, encode the corpus, train; returns ``self``.
        With ``resume``, continue the run saved in ``checkpoint`` instead.  With
        ``cluster`` (a ``dask.distributed.Client``, a scheduler address or
        ``"local:N"``), train on a Dask cluster (see :mod:`wordvec.distributed`)
        in rounds of ``round_words`` words (by default set by the number of workers)."""
        self._on_cluster = cluster is not None
        if self.checkpoint:
            checks.check_not_the_corpus(self.checkpoint, corpus)
        if cluster is not None:
            if self.spread:
                raise WordvecError("--spread trains on one machine's threads or its GPU; on a cluster, each task's "
                                   "chunks in spread order gave no better vectors, at 0.7x the speed: drop --spread "
                                   "or --cluster")
            from .corpus import is_text_source

            if not is_text_source(corpus):
                raise WordvecError("a cluster's workers read the corpus themselves: give files, folders or URLs "
                                   "they can read, not sentences held in this process (write them to a file, "
                                   "one sentence a line, or train here)")
            from .distributed.driver import fit_on_cluster

            return fit_on_cluster(self, corpus, cluster, resume, round_words)
        if round_words is not None:
            raise WordvecError("round_words applies to training on a cluster: give cluster too")
        self.check_settings()
        started = time.perf_counter()
        saved, finished = self._open_run(resume)
        if finished:
            return self
        vocab, encoded = self.prepare(corpus, saved.vocab if saved else None, saved.phrases if saved else None)
        if saved:
            record = TrainingRecord.from_dict(saved.record)
            if encoded.tokens != record.corpus_tokens:
                raise WordvecError(f"the corpus has {encoded.tokens:,} tokens, but the run in {self.checkpoint} "
                                   f"was trained on {record.corpus_tokens:,}: it is not the same corpus")
        else:
            record = TrainingRecord(corpus_tokens=encoded.tokens, vocab_size=len(vocab),
                                    prepare_seconds=time.perf_counter() - started)
        record.bad_input = dict(self._bad_input)
        record.phrases, record.duplicates = self._phrase_report, self._duplicates
        self._start_run(vocab, record)
        started = time.perf_counter()
        vectors, output_weights, position_weights = self._train(vocab, encoded, saved)
        record.train_seconds += time.perf_counter() - started
        self._keep(vocab, *self.finished_vectors(vocab, vectors, output_weights), output_weights, record,
                   position_weights)
        if self.checkpoint:
            self.model_.save(self.checkpoint)
        return self

    def _open_run(self, resume: bool) -> tuple[Model | None, bool]:
        """``(the saved run to continue or None, whether it is already finished)``;
        sets ``resumed_``, and for a finished run keeps what it learned."""
        saved = self._saved_run() if resume else None
        self.resumed_ = "finished" if saved is not None and saved.complete else "continued" if saved else "started"
        if saved is not None and saved.complete:
            self._say(f"{self.checkpoint} holds a finished run: nothing left to do")
            self.phrase_table_ = saved.phrase_table()
            self._keep(saved.vocab, saved.vectors, saved.subwords, saved.output_weights,
                       TrainingRecord.from_dict(saved.record), saved.position_weights)
            return saved, True
        if resume and saved is None:
            self._say(f"{self.checkpoint} does not exist yet: starting the run")
        return saved, False

    def _keep(self, vocab: Vocabulary, vectors, subwords, output_weights, record: "TrainingRecord",
              position_weights=None) -> None:
        """Set what :meth:`fit` learned."""
        self.vocabulary_, self.record_, self.loss_history_ = vocab, record, record.loss_history
        self.model_ = self._model(vocab, vectors, subwords, output_weights, position_weights)

    def _model(self, vocab, vectors, subwords, output_weights, position_weights, position=None) -> Model:
        table = getattr(self, "phrase_table_", None)
        table = table.as_dict() if table is not None else None
        return Model(vocab, vectors, output_weights, self.settings(), self.record_.as_dict(), position,
                     position_weights, table, subwords)

    def _start_run(self, vocab: Vocabulary, record: "TrainingRecord", driver_copies: float | None = None) -> None:
        """Take ``record`` as the run's, build the subword row table, and check that
        the run fits (:meth:`_check_resources`): in this process or on a cluster's driver."""
        self.record_ = record
        self._rows, self._words = self._subword_rows(vocab), vocab.words
        self._check_resources(vocab, driver_copies)

    def _subword_rows(self, vocab: Vocabulary):
        """``(row_starts, row_ids, buckets)`` of every word's input rows (see
        :func:`wordvec.subwords.training_rows`), or ``None`` without subwords."""
        if not self.subwords:
            return None
        from .subwords import training_rows

        rows = training_rows(vocab.words, self.minn, self.maxn, self.bucket)
        self._say(f"subwords: {len(rows[1]) - len(vocab):,} n-grams of {self.minn}..{self.maxn} characters in "
                  f"{len(rows[2]):,} of {self.bucket:,} buckets")
        return rows

    def finished_vectors(self, vocab: Vocabulary, W_in: np.ndarray, W_out: np.ndarray):
        """``(word vectors, Subwords or None)`` of a finished run: :meth:`_split_input`'s,
        plus each word's output row with ``add_output`` (added in place: the trained
        ``W_in`` is not needed again, and a second |V| x d matrix would raise the peak)."""
        vectors, subwords = self._split_input(vocab, W_in)
        if self._add_output():
            vectors += W_out[:len(vocab)]
        return vectors, subwords

    def _split_input(self, vocab: Vocabulary, W_in: np.ndarray):
        """``(word vectors, Subwords or None)`` from the trained input rows: with
        subwords each word's vector is the mean of its own row and its n-grams'."""
        if self._rows is None:
            return W_in, None
        from .subwords import Subwords, mean_of_rows

        subwords = Subwords(self.minn, self.maxn, self.bucket, self._rows[2], W_in[len(vocab):])
        return mean_of_rows(self._rows[0], self._rows[1], W_in), subwords

    def _say(self, message: str) -> None:
        """A line about what goes on, on stderr beside the progress bar (only with ``progress``)."""
        if self.progress:
            import sys

            from tqdm.auto import tqdm

            tqdm.write(message, file=sys.stderr)

    def prepare(self, corpus, vocab: Vocabulary | None = None,
                phrase_table: dict | None = None) -> tuple[Vocabulary, EncodedCorpus]:
        """Count the words (dropping repeated sentences with ``dedup``), join the
        phrases (those of ``phrase_table``, a saved run's, when given), build the
        vocabulary (unless given) and encode the corpus to ids."""
        tokenizer = Tokenizer(lowercase=self.lowercase, whitespace=self.whitespace)
        self._bad_input = tokenizer.stats
        scanned = scan_source(corpus, tokenizer, dedup=self.dedup)
        self._duplicates = scanned.duplicates or {}
        if scanned.tokens == 0:
            raise WordvecError("the corpus holds no words")
        scanned = self._join_phrases(scanned, phrase_table)
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

    def _join_phrases(self, scanned, saved_table: dict | None):
        """``scanned`` with phrases joined: a saved run's table, else ``phrase_table``'s,
        else ``phrases`` passes of detection; sets ``phrase_table_``."""
        from . import phrases

        self.phrase_table_, self._phrase_report = self._given_phrases(saved_table), {}
        if self.phrase_table_ is not None:
            return phrases.apply(scanned, self.phrase_table_)
        if not self.phrases:
            return scanned
        scanned, table, report = phrases.detect(scanned, self.phrases, self.phrase_scoring, self._phrase_threshold(),
                                                self._phrase_min_count())
        self.phrase_table_, self._phrase_report = table, report.as_dict()
        self._say_phrases_found(report.joins)
        return scanned

    def _given_phrases(self, saved_table: dict | None):
        """The phrase table to join instead of finding one: the saved run's, else
        ``phrase_table``'s, else ``None``; says which."""
        from .phrases import PhraseTable

        if saved_table is None and not self.phrase_table:
            return None
        table = PhraseTable.from_dict(saved_table) if saved_table is not None else PhraseTable.load(self.phrase_table)
        self._say(f"joining the {len(table):,} phrases of "
                  f"{'the saved run' if saved_table is not None else self.phrase_table}")
        return table

    def _say_phrases_found(self, joins: list[int]) -> None:
        """Say how many phrases ``phrase_table_`` holds and how many times they were joined."""
        self._say(f"phrases: {len(self.phrase_table_):,} found in {self.phrases} pass(es), {sum(joins):,} joined")

    def _saved_run(self) -> Model | None:
        """The run in ``checkpoint`` (``None`` if there is no file yet), checked against these settings."""
        if not self.checkpoint:
            raise WordvecError("resume needs the checkpoint path of the run to continue")
        remove_stale_temporaries(self.checkpoint)
        if not os.path.exists(self.checkpoint):
            return None
        saved = Model.load(self.checkpoint, mmap=False)
        mine = self.settings()
        earlier = {key: Trainer().settings()[key] for key in _LATER_SETTINGS}  # files from before these settings
        differ = [f"{key} {saved.config.get(key, earlier.get(key))!r} -> {mine[key]!r}" for key in mine
                  if key not in _MAY_CHANGE_ON_RESUME and saved.config.get(key, earlier.get(key)) != mine[key]]
        if differ:
            raise WordvecError(f"these settings differ from the run in {self.checkpoint}: {'; '.join(differ)}")
        return saved

    def weights_bytes(self, vocab: Vocabulary) -> int:
        """Bytes of the two weight matrices: ``W_in`` (with subwords, its n-gram rows too) and ``W_out``."""
        ngram_rows = len(self._rows[2]) if self._rows is not None else 0
        return (2 * len(vocab) + ngram_rows) * self.dim * 4

    def _tables(self, vocab: Vocabulary) -> dict:
        """The kernels' sampling tables (:func:`training_tables`), and with subwords the word → rows table."""
        tables = training_tables(vocab, self.sample, self.loss, self._ns_exponent())
        if self._rows is not None:
            tables["row_starts"], tables["row_ids"] = self._rows[:2]
        return tables

    def _check_resources(self, vocab: Vocabulary, driver_copies: float | None = None) -> None:
        """Fail before allocating anything, not after, when training in this process
        (or on a cluster's driver, which trains nothing but holds ``driver_copies``
        copies of the weights) will not fit in memory or the model will not fit on the disk."""
        from .backend import CpuBackend, hot_output_rows, position_reach

        threads = self._workers() if driver_copies is None else 1
        needed = vocab.training_memory(self.dim, self.loss, threads, CpuBackend.SOFTMAX_BATCH)
        if self.position_weights:  # D, and each thread's sum of its steps
            needed += (1 + threads) * 2 * position_reach(self.window) * self.dim * 4
        hot = hot_output_rows(self.loss, len(vocab), threads) if self._device()[0] == "cpu" else range(0)
        if hot:  # the CPU backend's copy of W_out with the threads' rows (backend.with_spare_rows)
            needed += (len(vocab) + threads * len(hot)) * self.dim * 4
        if self._rows is not None:  # the n-gram rows, the row table, and the composed vectors at the end
            needed += (len(self._rows[2]) + len(vocab)) * self.dim * 4 + self._rows[1].nbytes * 3
        if driver_copies is not None:
            needed += int((driver_copies - 1) * self.weights_bytes(vocab))
        elif self._spread() and self._device()[0] == "cpu":  # a span's subsampled ids (backend.SubsampledSpan):
            # its positions are its words and sentence ends, at most twice its words
            needed += 4 * min(self.record_.corpus_tokens + (1 << 20), 2 * SPAN_WORDS)
        checks.check_memory(needed, f"training {len(vocab):,} words x {self.dim} dims",
                            "lower --dim or --max-vocab")
        self._say(f"{self.record_.corpus_tokens:,} tokens, {len(vocab):,} words in the vocabulary; "
                  f"training needs about {needed / 2**20:,.0f} MB")
        if self.checkpoint:
            remove_stale_temporaries(self.checkpoint)
            checks.check_disk_room(self.checkpoint, self.weights_bytes(vocab)
                                   + sum(len(w) + 12 for w in vocab.words[:100_000]) + (1 << 20))

    def _train(self, vocab: Vocabulary, encoded: EncodedCorpus, saved: Model | None) -> tuple[np.ndarray, np.ndarray]:
        from threadpoolctl import threadpool_limits
        from tqdm.auto import tqdm

        vectors, output_weights, position_weights = self._initial_weights(vocab, saved)
        tables = self._tables(vocab)
        backend = self._backend(vectors, output_weights, tables, position_weights, encoded.ids)
        del vectors, output_weights  # the backend's now (several CPU threads train a copy of W_out)
        position = Position.restore(saved.position, backend) if saved else Position.start()
        chunks = group_chunks(encoded.chunks, backend.job_words)
        encoded.release(0, len(encoded.ids))
        words_per_epoch = sum(words for _, _, words in chunks)
        schedule = _Schedule(self._alpha(), self.min_alpha, words_per_epoch * self.epochs)
        schedule.done = words_per_epoch * position.epochs_done
        self._curve = _CurvePoints(self.record_, max(words_per_epoch // 50, 1))
        self._curve.words = schedule.done + position.partial["words"]
        if saved:
            layout = self._resumed_layout(position, backend) if position.inside_epoch() else self._layout(backend)
            jobs = self._epoch_jobs(encoded, layout, position.epochs_done + 1)
            self._say(f"resuming after {position.describe(len(jobs))}")
        # At these matrix sizes one BLAS thread is faster than several.
        blas = threadpool_limits(1, "blas") if self.loss == "softmax" else contextlib.nullcontext()
        bar = tqdm(total=words_per_epoch * self.epochs, initial=schedule.done + position.partial["words"],
                   unit="word", unit_scale=True, disable=not self.progress, smoothing=0.1, dynamic_ncols=True)
        self._signals = StopSignals()
        self._last_save = time.monotonic()
        with blas, self._signals.active():
            try:
                for epoch in range(position.epochs_done + 1, self.epochs + 1):
                    record = self._run_epoch(epoch, backend, encoded, schedule, bar, vocab, position)
                    self.record_.epochs.append(record)
                    position = Position.now(epoch, 0, dict(EMPTY_TOTALS), backend, self._layout(backend))
                    if epoch < self.epochs:
                        if self.checkpoint_every and epoch % self.checkpoint_every == 0:
                            self._save_checkpoint(vocab, backend, position)
                        self._between_segments(vocab, backend, position)
                    for callback in self.callbacks:
                        callback(self, record)
            finally:
                bar.close()
        vectors, output_weights = backend.weights()
        checks.check_finite(self._alpha(), vectors, output_weights, hint=self._divergence_hint)
        return vectors, output_weights, position_weights

    def _backend(self, vectors, output_weights, tables, position_weights, ids):
        """The backend of ``device``: the numba kernels on the CPU's threads, or numba-cuda's on a GPU."""
        kind, index = self._device()
        if kind == "cuda":
            from .cuda import open_backend

            return open_backend(index, vectors=vectors, output_weights=output_weights, tables=tables,
                                arch=self.arch, loss=self.loss, window=self.window, negative=self.negative,
                                cbow_mean=self.cbow_mean, seed=self.seed, ids=ids, say=self._say)
        from .backend import CpuBackend  # imports numba

        return CpuBackend(vectors, output_weights, tables, self.arch, self.loss, self.window, self.negative,
                          self.cbow_mean, self._workers(), self.seed, position_weights,
                          softmax_threads=self._threads())

    def _initial_weights(self, vocab: Vocabulary, saved: Model | None):
        """W_in ~ U(−0.5, 0.5) / d and W_out = 0, as word2vec, and position weights
        of 1 (plain CBOW at the start); or the saved run's weights.  With subwords
        (one row per word, then one per n-gram bucket used) W_in ~ U(−1, 1) / d,
        fastText's range: a word's input is the mean of its rows, so it starts
        smaller than one row.  On the bench corpus fastText's range gave +0.33 and
        +0.56 analogy points for skip-gram and +0.40 and +0.32 for CBOW (seeds 1, 2)."""
        from .backend import position_reach

        reach = position_reach(self.window)
        if saved is not None:
            return (self._saved_input(vocab, saved), np.ascontiguousarray(saved.output_weights, dtype=np.float32),
                    None if saved.position_weights is None
                    else np.ascontiguousarray(_offsets_within(saved.position_weights, reach), dtype=np.float32))
        init = np.random.default_rng(self.seed)
        rows = len(vocab) + (len(self._rows[2]) if self._rows is not None else 0)
        vectors = init.random((rows, self.dim), dtype=np.float32)
        vectors -= 0.5  # in place: no temporary copies of a |V| x d matrix
        vectors *= (2.0 if self._rows is not None else 1.0) / self.dim
        position_weights = np.ones((2 * reach, self.dim), np.float32) if self.position_weights else None
        return vectors, np.zeros((len(vocab), self.dim), dtype=np.float32), position_weights

    def _saved_input(self, vocab: Vocabulary, saved: Model) -> np.ndarray:
        """The input rows of a saved run: its vectors, or with subwords the words'
        own rows (recovered from their means) and the n-gram rows."""
        if self._rows is None:
            return np.ascontiguousarray(saved.vectors, dtype=np.float32)
        if saved.subwords is None or not np.array_equal(saved.subwords.buckets, self._rows[2]):
            raise WordvecError(f"the n-gram buckets of the run in {self.checkpoint} are not this vocabulary's")
        return np.concatenate([saved.subwords.own_rows(vocab.words, saved.vectors),
                               np.asarray(saved.subwords.vectors, dtype=np.float32)])

    def _layout(self, backend) -> dict:
        """How this run cuts and orders an epoch's jobs (see :class:`Position`)."""
        return {"stripes": backend.threads, "job_words": backend.job_words, "shuffle": self.shuffle,
                "spread": self._spread() and not backend.job_words}

    def _resumed_layout(self, position: Position, backend) -> dict:
        """The layout of the epoch a run stopped inside: the saved one, so that the jobs
        skipped are the jobs done even with other threads or another backend now."""
        saved = position.layout
        if "workers" in saved:
            raise WordvecError(f"{self.checkpoint} was saved inside epoch {position.epochs_done + 1} by a run on a "
                               f"cluster of {saved['workers']} workers, whose rounds cut the epoch differently: "
                               f"resume it on such a cluster (--cluster local:{saved['workers']})")
        # saved before epochs were shuffled or spread: in order
        return {**self._layout(backend), "shuffle": False, "spread": False, **saved}

    def _run_epoch(self, epoch, backend, encoded, schedule, bar, vocab, position) -> EpochRecord:
        """One epoch in segments of :data:`SEGMENT_JOBS` jobs (one job for a backend that
        wants big jobs); between segments, every thread has finished, so a checkpoint
        can be taken and a signal acted on."""
        started = time.perf_counter()
        resumed = position.epochs_done == epoch - 1 and position.inside_epoch()
        layout = self._resumed_layout(position, backend) if resumed else self._layout(backend)
        jobs = []
        for start, stop, words, *steps in self._epoch_jobs(encoded, layout, epoch):
            jobs.append((start, stop, schedule.alpha(), schedule.advance(words), *steps))
        first = position.jobs_done if resumed else 0
        totals = dict(position.partial) if first else dict(EMPTY_TOTALS)
        last_shown = 0.0
        for segment, done in segments(jobs, first, 1 if backend.job_words else SEGMENT_JOBS):
            for job, result in run_jobs(backend, encoded.ids, jobs[segment:done], backend.threads):
                if spread_steps(job) is None:  # (a span in spread order lets go of each piece it subsamples)
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
            self._check_divergence(epoch, totals, *backend.weights(checks.WATCHED_ROWS))
            if done < len(jobs):
                partial = dict(totals, seconds=totals["seconds"] + time.perf_counter() - started)
                self._between_segments(vocab, backend, Position.now(epoch - 1, done, partial, backend, layout),
                                       len(jobs))
        self._curve.flush()
        if totals["examples"] == 0:
            raise WordvecError(self._why_no_example(totals))
        return EpochRecord(epoch, totals["loss"] / max(totals["examples"], 1), totals["examples"], totals["words"],
                           totals["kept"], totals["seconds"] + time.perf_counter() - started, schedule.alpha())

    def _epoch_jobs(self, encoded: EncodedCorpus, layout: dict, epoch: int) -> list:
        """An epoch's jobs in the order they start: ``(start, stop, words)`` for a piece
        of the corpus trained in its order, and ``(start, stop, words, steps)`` for
        :class:`~wordvec.order.SpreadSteps` of a span (see :mod:`wordvec.order`)."""
        chunks = group_chunks(encoded.chunks, layout["job_words"])
        if not layout.get("spread"):
            return epoch_order(chunks, layout["stripes"], layout["shuffle"], self.seed, epoch)
        spans = epoch_order(even_spans(chunks, SPAN_WORDS), 1, layout["shuffle"], self.seed, epoch)
        return spread_jobs(spans, self.seed, epoch, JOB_STEPS)

    def _check_divergence(self, epoch: int, totals: dict, vectors: np.ndarray, output_weights: np.ndarray) -> None:
        """Stop when the epoch's loss so far (``totals``) is no longer finite or its mean
        per example is above :meth:`_diverged_loss`, or when the most used rows of the
        weights are no longer finite; checking the weights does not rely on NaN
        reaching the loss."""
        loss, mean = totals["loss"], totals["loss"] / max(totals["examples"], 1)
        if not np.isfinite(loss) or mean > self._diverged_loss():
            shown = f"the loss is {loss}" if not np.isfinite(loss) else f"the loss per example is {mean:.3g}"
            raise WordvecError(f"training diverged in epoch {epoch} ({shown}); nothing "
                               f"was saved. {checks.divergence_cause(self._alpha(), self._divergence_hint)}")
        checks.check_finite(self._alpha(), vectors, output_weights, rows=checks.WATCHED_ROWS,
                            hint=self._divergence_hint)

    def _diverged_loss(self) -> float:
        """:data:`DIVERGED_LOSS_FACTOR` times the most a mean loss per example can start
        at, from which training only brings it down: negative sampling ``(K + 1) ln 2``
        (``W_out`` starts at 0), hierarchical softmax ``ln 2`` a node of a path of at
        most 64, the full softmax ``ln |V|`` (below 32)."""
        start = {"ns": (self.negative + 1) * math.log(2), "hs": 64 * math.log(2), "softmax": 32.0}[self.loss]
        return DIVERGED_LOSS_FACTOR * start

    def _divergence_hint(self) -> str:
        """What else may have made a run diverge.  Many noise words an example
        (:data:`MANY_NEGATIVES`): each takes a step on the context's rows, so the
        rate that suits 5 is too high for 1,000.  With subwords, a word that
        repeats one n-gram many times (``xxxx…``): every occurrence of a row takes
        a full step (fastText's rule, under which fastText's own vectors blow up
        on such a word too).  It sorts every word's rows, so it is called only
        once training has diverged."""
        many = (f" for {self.negative:,} noise words an example (--negative; 5 to 20 is usual)"
                if self.loss == "ns" and self.negative > MANY_NEGATIVES else "")
        return many + self._repeated_row_hint()

    def _repeated_row_hint(self) -> str:
        if self._rows is None:
            return ""
        from .subwords import most_repeated_row

        word, times = most_repeated_row(*self._rows[:2])
        if times < REPEATED_ROW_HINT:
            return ""
        text = self._words[word]
        shown = text if len(text) <= 20 else f"{text[:20]}… ({len(text):,} characters)"
        return (f", or the word {shown!r}, whose n-grams repeat one row {times:,} times, each repeat a full "
                "step with --subwords: remove such tokens from the text")

    def _why_no_example(self, totals: dict) -> str:
        reason = (f"of {totals['words']:,} words read, subsampling (sample={self.sample:g}) kept {totals['kept']:,}"
                  if totals["kept"] < totals["words"] else f"{totals['words']:,} words were read")
        return (f"no example was trained: {reason}, and an example needs a sentence with at least two kept words; "
                "lower --sample (0 keeps every word) or give more text")

    def _between_segments(self, vocab, backend, position: Position, jobs: int = 0) -> None:
        """Save a checkpoint when one is due or a signal came; stop after a signal
        (``jobs``: the epoch's, to say how far it got)."""
        due = self.checkpoint_minutes and time.monotonic() - self._last_save >= 60 * self.checkpoint_minutes
        if due or self._signals.caught:
            self._save_checkpoint(vocab, backend, position)
        if self._signals.caught:
            where = f"the run so far is saved in {self.checkpoint}: continue it with --resume" if self.checkpoint \
                else "nothing was saved (give a checkpoint path to keep the work)"
            raise TrainingInterrupted(f"stopped by {self._signals.name} after {position.describe(jobs)}; {where}",
                                      self._signals.caught)

    def _save_checkpoint(self, vocab, backend, position: Position) -> None:
        if not self.checkpoint:
            return
        vectors, output_weights = backend.weights()
        checks.check_finite(self._alpha(), vectors, output_weights, hint=self._divergence_hint)
        position_weights = backend.position_weights if self.position_weights else None
        self._model(vocab, *self._split_input(vocab, vectors), output_weights, position_weights,
                    position.as_dict()).save(self.checkpoint)
        self._last_save = time.monotonic()


def _offsets_within(position_weights: np.ndarray, reach: int) -> np.ndarray:
    """The rows of ``D`` for the offsets ``−reach..−1, 1..reach``: all of them, or
    the middle ones of a model saved when ``D`` had a row for every offset of a
    window wider than a sentence (rows no context word ever reached)."""
    half = len(position_weights) // 2
    return position_weights[half - reach:half + reach] if half > reach else position_weights


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


def spread_steps(job: tuple):
    """The :class:`~wordvec.order.SpreadSteps` of a job ``(start, stop, alpha_start,
    alpha_stop[, steps])``, or None for a job trained in the corpus's order."""
    return job[4] if len(job) > 4 else None


def segments(jobs: list, first: int, most: int):
    """``(first job, end)`` of each segment of ``jobs`` from ``first`` on: ``most`` jobs
    (a backend with big jobs: one), fewer where a span in spread order ends, so that
    no segment runs two spans' jobs (see :meth:`wordvec.backend.CpuBackend.train_chunk`)."""
    while first < len(jobs):
        done = min(first + most, len(jobs))
        while spread_steps(jobs[first]) is not None and jobs[done - 1][:2] != jobs[first][:2]:
            done -= 1
        yield first, done
        first = done


def run_jobs(backend, ids, jobs, threads):
    """Run ``backend.train_chunk`` over ``jobs`` on a pool of ``threads`` threads;
    yield each ``(job, result)`` in the calling thread as it finishes.  Each
    running job holds one of the backend's scratch slots.  The first error is
    raised here, and the jobs not yet started are cancelled.  One thread runs them
    here, without a pool (a cluster worker's shuffled part is a piece a chunk,
    and a pool each cost 0.1 – 0.4 s a round)."""
    if threads == 1:
        for job in jobs:
            yield job, backend.train_chunk(0, ids, *job)
        return
    slots: queue.SimpleQueue = queue.SimpleQueue()
    for slot in range(threads):
        slots.put(slot)

    def run(job):
        slot = slots.get()
        try:
            return job, backend.train_chunk(slot, ids, *job)
        finally:
            slots.put(slot)

    with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="wordvec-train") as pool:
        futures = [pool.submit(run, job) for job in jobs]
        try:
            for future in as_completed(futures):
                yield future.result()
        finally:
            for future in futures:
                future.cancel()


def training_tables(vocab: Vocabulary, sample: float, loss: str, ns_exponent: float = 0.75) -> dict:
    """The sampling tables a loss needs: keep-probabilities always, the noise
    alias table for ``ns`` (counts to the power ``ns_exponent``), the Huffman paths for ``hs``."""
    tables = {"keep_prob": vocab.keep_probabilities(sample)}
    if loss == "ns":
        tables["noise_prob"], tables["noise_alias"] = alias_table(vocab.noise_distribution(ns_exponent))
    if loss == "hs":
        tables["hs_points"], tables["hs_codes"], tables["hs_lengths"] = vocab.huffman_tree()
    return tables


def train(corpus, resume: bool = False, cluster=None, **settings) -> Model:
    """Train word vectors on ``corpus`` and return the :class:`Model`.

    Takes the settings of :class:`Trainer` (``dim``, ``window``, ``negative``,
    ``loss``, ``arch``, ``sample``, ``min_count``, ``max_vocab``, ``epochs``,
    ``alpha``, ``min_alpha``, ``threads``, ``seed``, ``checkpoint``, ...);
    ``resume=True`` continues the run saved in ``checkpoint``; ``cluster`` trains on Dask.
    """
    return Trainer(**settings).fit(corpus, resume=resume, cluster=cluster).model_


__all__ = ["Trainer", "TrainingRecord", "EpochRecord", "train"]
