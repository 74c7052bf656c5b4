"""Training on a Dask cluster: the driver around the pure functions of :mod:`.rounds`.

The corpus is read by the workers in blocks of whole lines
(``dask.bytes.read_bytes`` with a newline delimiter; fsspec URLs such as
``s3://`` work; compressed files are whole blocks), never through the client.
The vocabulary is counted on the workers and merged by addition; each block is
encoded once on a worker and kept there (spilled to disk under memory pressure,
recomputed from the text if lost).  A worker's part of the corpus is the blocks
it encoded (:func:`block_places`).  Then the rounds: the
driver sends every worker the last round's moves (the whole weights in the
first round), every worker trains the next stretch of its part of the corpus
(its share of ``round_words`` words), the changed rows come back and are added
up, and the next round starts.  A round's tasks are pure, so when a worker dies
Dask reruns its task elsewhere with the same inputs and nothing is counted twice.
The model file is saved between rounds (``checkpoint_every`` epochs,
``checkpoint_minutes``, Ctrl-C), and ``resume`` continues from it.
"""
from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass

import numpy as np

from ..checkpoint import EMPTY_TOTALS, Position, StopSignals
from ..checks import check_finite
from ..errors import TrainingInterrupted, WordvecError
from ..tokenize import text_files_of_folder
from ..trainer import EpochRecord, TrainingRecord, _CurvePoints, _Schedule
from ..vocab import Vocabulary
from . import rounds

#: Words one round trains, all workers together, with one or two workers ...
ROUND_WORDS = 8_000_000
#: ... in a run that trains at least this many words (corpus words x epochs); a
#: shorter run starts from :data:`SHORT_RUN_ROUND_WORDS` instead.
LONG_RUN_WORDS = 60_000_000
SHORT_RUN_ROUND_WORDS = 500_000
#: The longest round of skip-gram with subwords on more than one worker (see :func:`default_round_words`).
SKIPGRAM_SUBWORD_ROUND_WORDS = 1_000_000
#: The shortest round (8 workers'; nothing was measured beyond 8).
MIN_ROUND_WORDS = 250_000
#: Bytes of text in one block read by a worker, at most ...
BLOCK_BYTES = 64 << 20
#: ... and at least (unless a file is smaller); within these bounds a corpus is cut
#: into :data:`BLOCKS_PER_WORKER` blocks a worker, so that each worker's part of the
#: corpus is whole blocks that it encodes and keeps (see :func:`block_places`).
MIN_BLOCK_BYTES = 1 << 20
BLOCKS_PER_WORKER = 4
#: How far above an even share of the words a part of whole blocks may go (see :func:`plan_parts`).
PART_SLACK = 0.05
CONNECT_SECONDS = 10
#: Seconds to wait before sending the weights or moves again after a send failed (a
#: worker died and the scheduler has not yet dropped it), before going through the scheduler.
BROADCAST_WAITS = (0.1, 0.3, 1.0, 3.0)
#: The name of the thread in which the driver loads its round kernels.
LOADING_THREAD = "wordvec-load-kernels"
#: Copies of the weights (``W_in`` and ``W_out``) the driver holds at most: its own, the
#: momentum, the round's summed changes (:class:`rounds.RoundSum`), the moves in 16-bit
#: steps (half a copy when every row moves) and what sending them takes ...
DRIVER_WEIGHT_COPIES = 4.6
#: ... and up to half a copy more for each worker's changes, kept until the round ends.
#: Measured (``bench/cluster_memory.py``: peak memory at dim 300 less that at dim 100,
#: over the weights' growth; bench/RESULTS.md, session 16): 4.98 – 5.10 copies with 2
#: workers, 5.04 – 5.63 with 4.
DRIVER_COPIES_PER_WORKER = 0.5
#: Copies a worker holds at most: the weights its rounds start from
#: (:func:`rounds.start_weights`), the copy it trains in, and the moves it receives and
#: the changes it sends back (measured as above: 3.19 – 3.30).
WORKER_WEIGHT_COPIES = 3.5


@dataclass
class Task:
    """One worker's part of a round: ``(block, first chunk, stop chunk)`` pieces, trained in order."""

    pieces: list[tuple[int, int, int]]
    words: int
    part: int  # the part of the corpus it trains, and the worker that keeps it


def connect(cluster):
    """``(client, cluster we started or None)`` for a ``dask.distributed.Client``,
    a scheduler address, or ``"local:N"`` (a local cluster of N worker processes)."""
    from distributed import Client, LocalCluster

    if isinstance(cluster, Client):
        return cluster, None
    if not isinstance(cluster, str) or not cluster:
        raise WordvecError(f"cluster must be a dask Client, a scheduler address or 'local:N', not {cluster!r}")
    if cluster.startswith("local:"):
        count = cluster.split(":", 1)[1]
        if not count.isdigit() or int(count) < 1:
            raise WordvecError(f"'{cluster}': a local cluster needs at least 1 worker, as in local:4")
        import dask

        # Dask's statistical profiler samples each worker's running task every 10 ms on the worker's
        # event loop; here the task is one numba call, which it cannot see into, and the sampling cost
        # each worker 0.2 - 0.3 s of CPU in a 10 s round on cores that the kernels fill.
        with dask.config.set({"distributed.worker.profile.enabled": False}):
            # Only critical logs from the workers: at shutdown a worker's heartbeat can meet the closed
            # scheduler and log a traceback under wordvec's one-line message (wordvec raises what matters).
            started = LocalCluster(n_workers=int(count), threads_per_worker=1, processes=True,
                                   dashboard_address=":0", silence_logs=logging.CRITICAL)
        return Client(started, set_as_default=False), started
    try:
        return Client(cluster, timeout=f"{CONNECT_SECONDS}s", set_as_default=False), None
    except (OSError, TimeoutError) as error:
        raise WordvecError(f"no Dask scheduler answers at {cluster} (waited {CONNECT_SECONDS} s: {error})") from None


def check_workers(client, package: str = "wordvec", expected: str | None = None) -> int:
    """The number of workers, once every one has ``package`` at the version this
    process has (``expected``); otherwise a one-line error naming them."""
    import importlib.metadata

    if expected is None:
        expected = importlib.metadata.version(package)
    found = client.run(importlib.metadata.version, package, on_error="return")
    if not found:
        raise WordvecError("the Dask cluster has no workers")
    missing = sorted(worker for worker, version in found.items() if isinstance(version, BaseException))
    if missing:
        raise WordvecError(f"{package} is not installed on the workers {', '.join(missing)}: "
                           f"pip install '{package}[distributed]=={expected}' there")
    other = {worker: version for worker, version in found.items() if version != expected}
    if other:
        listed = ", ".join(f"{worker} has {version}" for worker, version in sorted(other.items()))
        raise WordvecError(f"the workers need {package} {expected}, as here: {listed}")
    return len(found)


def check_worker_memory(client, needed: int, hint: str) -> None:
    """Every machine of the cluster has the memory its workers need, ``needed`` bytes
    each (workers on one machine add up); otherwise a one-line error naming it."""
    from ..checks import available_memory

    available = client.run(available_memory)
    hosts: dict[str, list] = {}
    for worker, free in available.items():
        host = worker.split("://")[-1].rsplit(":", 1)[0]
        hosts.setdefault(host, []).append(free)
    for host, frees in sorted(hosts.items()):
        known = [free for free in frees if free is not None]
        if known and len(frees) * needed > min(known):
            raise WordvecError(f"the {len(frees)} worker{'s' if len(frees) > 1 else ''} on {host} need about "
                               f"{len(frees) * needed / 2**20:,.0f} MB of memory ({WORKER_WEIGHT_COPIES:g} copies "
                               f"of the weights each), but only {min(known) / 2**20:,.0f} MB are available there; "
                               f"{hint}")


def check_readable(client, paths: list[str]) -> None:
    """Every worker can read every local path (URLs are left to fsspec)."""
    local = [path for path in paths if "://" not in path or path.startswith("file://")]
    for path in local:
        readable = client.run(os.access, path.removeprefix("file://"), os.R_OK)
        cannot = sorted(worker for worker, ok in readable.items() if not ok)
        if cannot:
            raise WordvecError(f"the worker{'s' if len(cannot) > 1 else ''} {', '.join(cannot)} cannot read {path}: "
                               "the corpus must be readable at the same path on every worker")


def text_blocks(corpus, workers: int = 1):
    """``(paths, delayed blocks of whole lines, their sizes in bytes)`` of a path, glob,
    folder or URL (or a list): :data:`BLOCKS_PER_WORKER` blocks a worker, of
    :data:`MIN_BLOCK_BYTES` to :data:`BLOCK_BYTES` (a compressed file is one block).
    ``read_bytes`` cuts a file into blocks of equal size, which then end at a line
    break; the sizes given are those equal sizes."""
    from dask.bytes import read_bytes

    sources = [_list_files(source) for source in map(os.fspath, corpus if isinstance(corpus, (list, tuple))
                                                                 else [corpus])]
    total = sum(sum(sizes) for _, _, _, sizes in sources)
    blocksize = min(BLOCK_BYTES, max(MIN_BLOCK_BYTES, total // (BLOCKS_PER_WORKER * max(workers, 1))))
    paths, blocks, block_sizes = [], [], []
    for source, fs, found, sizes in sources:
        compressed = any(path.endswith((".gz", ".bz2", ".xz")) for path in found)
        _, per_file = read_bytes([fs.unstrip_protocol(path) if "://" in source else path for path in found],
                                 delimiter=b"\n", blocksize=None if compressed else blocksize, sample=False,
                                 compression="infer")
        paths += found
        for size, file_blocks in zip(sizes, per_file):  # an empty file has no blocks
            blocks += file_blocks
            block_sizes += [size / max(len(file_blocks), 1)] * len(file_blocks)
    return paths, blocks, block_sizes


def _list_files(source: str):
    """``(source, filesystem, files, their sizes)`` of one path, glob, folder or URL."""
    from fsspec.core import get_fs_token_paths

    if source == "-":
        raise WordvecError("a cluster's workers read the corpus themselves: give files, folders or URLs they "
                           "can read, not '-' (standard input)")

    folder = source if "://" not in source and os.path.isdir(source) else None
    if folder is not None:
        source = os.path.join(folder, "**")
    try:
        fs, _, found = get_fs_token_paths(source, mode="rb", expand=True)
        found = [path for path in found if not _hidden(path, folder) and fs.isfile(path)]
    except (OSError, ValueError) as error:
        raise WordvecError(f"cannot list {source}: {error}") from None
    if not found:
        raise WordvecError(f"no such file or folder: {source}")
    if folder is not None:  # skipped as one machine skips them: no worker reads a model or a picture as text
        found = text_files_of_folder(folder, found)
    try:
        sizes = [fs.size(path) for path in found]
    except OSError as error:
        raise WordvecError(f"cannot list {source}: {error}") from None
    return source, fs, found, sizes


def _hidden(path: str, folder: str | None) -> bool:
    """A hidden file, or in a folder's listing one below a hidden folder (``.git``), as one machine skips them."""
    parts = os.path.relpath(path, folder).split(os.sep) if folder is not None else [os.path.basename(path)]
    return any(part.startswith(".") for part in parts)


def block_places(block_sizes: list[float], workers: int) -> list[int]:
    """The part of the corpus (and so the worker) each block belongs to: the corpus cut
    into ``workers`` stretches of equal bytes, a block going where its middle falls.
    The block is encoded on that worker and trained there (:func:`plan_parts`), so
    no worker fetches the ids of another's block, round after round: Dask's memory
    manager drops a copy that no waiting task needs, and with the bench corpus in
    one block (``read_bytes`` makes ``size // blocksize`` blocks) the second worker
    fetched it again for many rounds."""
    total = max(sum(block_sizes), 1.0)
    middles = np.cumsum(block_sizes) - np.asarray(block_sizes) / 2
    return [min(workers - 1, int(middle * workers / total)) for middle in middles]


def plan_parts(summaries: list, workers: int, places: list[int] | None = None) -> list[list[tuple[int, int, int]]]:
    """Split the corpus's chunks, in order, into ``workers`` contiguous parts of
    about equal words: ``(block, chunk, words)`` each.  Each worker trains its
    own part, as each thread on one machine trains its own stripe.  With
    ``places`` (:func:`block_places`), part ``p`` is the blocks placed on worker
    ``p``, whole, if no part then holds more than :data:`PART_SLACK` above an even
    share of the words; otherwise (a few blocks of unequal sizes, fewer blocks
    than workers) the parts are cut at the chunk where the words divide evenly."""
    flat = [(b, c, words) for b, (chunks, _, _) in enumerate(summaries) for c, (_, _, words) in enumerate(chunks)]
    total = sum(words for *_, words in flat)
    if places is not None:
        parts = [[] for _ in range(workers)]
        for item in flat:
            parts[places[item[0]]].append(item)
        if max(sum(words for *_, words in part) for part in parts) <= (1 + PART_SLACK) * total / workers:
            return parts
    parts, done = [[] for _ in range(workers)], 0
    for item in flat:
        parts[min(workers - 1, done * workers // max(total, 1))].append(item)
        done += item[2]
    return [part for part in parts if part]


def epoch_parts(parts: list, shuffle: bool, seed: int, epoch: int) -> list:
    """Each part's chunks in the order an epoch trains them: with ``shuffle`` a
    permutation of part ``p`` drawn from ``(seed, epoch, p)`` (a resumed run redraws
    it; see :func:`wordvec.trainer.epoch_order`), else as planned."""
    if not shuffle:
        return parts
    return [[part[i] for i in np.random.default_rng([seed, epoch, p]).permutation(len(part))]
            for p, part in enumerate(parts)]


def round_tasks(parts: list, cursors: list[int], round_words: int) -> list[Task]:
    """The next round: one task per part, its chunks from the part's cursor until
    ``round_words`` words (in pieces of consecutive chunks of one block); moves the cursors."""
    tasks = []
    for p, part in enumerate(parts):
        pieces, taken = [], 0
        while cursors[p] < len(part) and taken < round_words:
            block, chunk, words = part[cursors[p]]
            if pieces and pieces[-1][0] == block and pieces[-1][2] == chunk:
                pieces[-1] = (block, pieces[-1][1], chunk + 1)
            else:
                pieces.append((block, chunk, chunk + 1))
            cursors[p] += 1
            taken += words
        if pieces:
            tasks.append(Task(pieces, taken, p))
    return tasks


def default_round_words(workers: int, run_words: int, skipgram_subwords: bool = False) -> int:
    """Words one round trains, all workers together, in a run that trains
    ``run_words`` words (the corpus's words times the epochs): ``B · (2/k)³`` for
    ``k`` workers, within ``[MIN_ROUND_WORDS, B]``, where ``B`` is
    :data:`ROUND_WORDS` (8 M words with 2 workers, 1 M with 4, 0.25 M with 8) or,
    for a run shorter than :data:`LONG_RUN_WORDS` on more than one worker,
    :data:`SHORT_RUN_ROUND_WORDS` (0.5 M with 2 workers, 0.25 M with more).

    A worker does not see the others' changes until the round ends; the more
    workers, the shorter the round must be for their combined changes to stay
    close to one machine's.  On the bench corpus at 5 epochs, over two seeds each
    (bench/RESULTS.md): 4 workers 37.1 % with rounds of 2 M words, 38.7 % with
    1 M; 8 workers 37.7 % with 0.5 M, 39.4 % with 0.25 M; one worker 38.3 %.
    Two workers lose nothing with rounds of 8 M (38.6 % against 38.0 % with 4 M;
    12 M and 16 M were worse), which halves the time a round spends outside the
    kernels.  A short run has no later epochs to even out what long rounds cost
    (sessions 10 and 11): 2 workers with 8 M-word rounds lost 7.2 points after
    one epoch of the bench corpus, 3.7 after two and 0.4 after three, and 1.2 –
    1.3 after five epochs of its first 10 M words (4 workers with 1 M: 1.3);
    with 0.5 M-word rounds, 2 workers lost 0.6, gained 0.7 and lost 0 – 0.8 in
    those runs, and 4 workers with 0.25 M gained 0.4 (one epoch) and 0.8 (10 M
    words).  Short rounds cost traffic: on a real network, more workers may
    want longer rounds (``round_words``).

    Skip-gram with subwords (``skipgram_subwords``), whose every example steps all
    the rows of its centre, takes rounds of at most :data:`SKIPGRAM_SUBWORD_ROUND_WORDS`
    on more than one worker: on the bench corpus (seed 1) 2 workers scored 53.74 %
    with 8 M-word rounds and 58.76 % with 1 M, one machine 58.49 % (plain
    skip-gram lost nothing with 8 M: 40.92 % against 40.90 %)."""
    base = ROUND_WORDS if run_words >= LONG_RUN_WORDS or workers <= 1 else SHORT_RUN_ROUND_WORDS
    words = int(min(base, max(MIN_ROUND_WORDS, base * 8 / max(workers, 1) ** 3)))
    return min(words, SKIPGRAM_SUBWORD_ROUND_WORDS) if skipgram_subwords and workers > 1 else words


@dataclass(frozen=True)
class RoundSettings:
    """How a run's rounds go: each worker's share of a round in words, the momentum
    ``eta``, the first row whose changes are summed and the agreement power (see
    :func:`rounds.combine`)."""

    share: int
    eta: float
    summed_from: int
    power: float


def round_settings(workers: int, counts, epochs: int, round_words: int | None = None,
                   momentum: float | None = None, skipgram_subwords: bool = False) -> RoundSettings:
    """The rounds of ``workers`` workers training ``epochs`` epochs on a vocabulary with
    ``counts``: by default :func:`default_round_words`, :func:`rounds.block_momentum`,
    :func:`rounds.first_summed_row` and :func:`rounds.agreement_power`."""
    run_words = int(np.sum(counts, dtype=np.int64)) * epochs
    share = max((round_words or default_round_words(workers, run_words, skipgram_subwords)) // workers, 1)
    eta = rounds.block_momentum(workers) if momentum is None else momentum
    return RoundSettings(share, eta, rounds.first_summed_row(counts, share), rounds.agreement_power(workers))


def task_seed(seed: int, epoch: int, round_index: int, task: int) -> int:
    """A task's random seed: a function of its place in the run only, so a rerun draws the same."""
    return int(np.random.SeedSequence([seed, epoch, round_index, task]).generate_state(1, np.uint32)[0])


def fit_on_cluster(trainer, corpus, cluster, resume: bool = False, round_words: int | None = None,
                   how: str = "coherent", momentum: float | None = None):
    """Run ``trainer`` (its settings, checkpoint and callbacks) on a Dask cluster; returns it.
    A round trains ``round_words`` words (default :func:`default_round_words`), shared by the workers,
    and their changes are combined by ``how`` (see :func:`rounds.combine`; ``coherent``
    with the momentum was the best measured at 2, 4 and 8 workers, bench/RESULTS.md) and carried on across
    rounds with ``momentum`` (default :func:`rounds.block_momentum`; a resumed run
    starts it again from zero)."""
    try:
        import distributed  # noqa: F401
    except ImportError:
        raise WordvecError("training on a cluster needs Dask: pip install 'wordvec[distributed]'") from None
    if how not in rounds.COMBINE:
        raise WordvecError(f"how must be one of {', '.join(rounds.COMBINE)}, not {how!r}")
    trainer.check_settings()
    if trainer._device()[0] != "cpu":
        raise WordvecError("a cluster trains on its workers' CPUs: --device cuda and --cluster do not combine yet")
    client, started = connect(cluster)
    try:
        return _ClusterRun(trainer, client, round_words, how, momentum).fit(corpus, resume)
    finally:
        if started is not None:
            client.close()
            started.close()


class _ClusterRun:
    """One training run on a cluster; the trainer keeps the settings and the results."""

    def __init__(self, trainer, client, words: int | None, how: str, momentum: float | None = None):
        self.trainer, self.client = trainer, client
        self.workers = check_workers(client)
        self.addresses = sorted(client.scheduler_info()["workers"])  # part p is kept on worker p
        self.how = how
        self.words, self.eta_given = words, momentum
        self.direct = True  # the client talks to the workers directly, until that fails
        self.run = uuid.uuid4().hex  # names this run's weights kept on the workers (rounds.start_weights)
        self.version = 0  # rounds trained in this run: the version of the weights the next one starts from
        self.move = None  # the last round's moves of (W_in, W_out), sent instead of the weights
        self.moved: set[int] = set()  # the parts of the last round: their workers' copies are one move behind
        self.warming: list = []  # the workers' loading of their kernels (rounds.load_worker_kernels)

    def fit(self, corpus, resume: bool):
        trainer, client = self.trainer, self.client
        trainer._say(f"Dask cluster: {self.workers} workers; dashboard {client.dashboard_link}")
        saved, finished = trainer._open_run(resume)
        if finished:
            return trainer
        started = time.perf_counter()
        paths, blocks, block_sizes = text_blocks(corpus, self.workers)
        check_readable(client, paths)
        # The driver waits while the workers count and encode: it loads its round kernels meanwhile
        # (0.4 s on the first round's path otherwise; seconds the first time, when they compile).  That
        # and the workers' loading (see _vocabulary) are waited for however this ends: left running at
        # exit, they printed a traceback or Dask's warnings under a one-line error.
        loading = threading.Thread(target=rounds.load_kernels, name=LOADING_THREAD, daemon=True)
        loading.start()
        try:
            keeps, duplicates = self._repeats(blocks) if trainer.dedup else ([None] * len(blocks), {})
            self.phrases = self._phrase_table(saved, blocks, keeps)
            vocab, bad_input = self._vocabulary(blocks, keeps, saved)
            self.places = block_places(block_sizes, self.workers)
            encoded, summaries = self._encode(blocks, keeps, vocab)
        finally:
            loading.join()
            client.gather(self.warming, errors="skip")
        tokens = sum(tokens for _, tokens, _ in summaries)
        if saved:
            record = TrainingRecord.from_dict(saved.record)
        else:
            record = TrainingRecord(corpus_tokens=tokens, vocab_size=len(vocab),
                                    prepare_seconds=time.perf_counter() - started)
        record.bad_input, record.duplicates, record.phrases = bad_input, duplicates, self.phrase_report
        trainer._start_run(vocab, record, driver_copies=DRIVER_WEIGHT_COPIES + DRIVER_COPIES_PER_WORKER * self.workers)
        check_worker_memory(client, int(WORKER_WEIGHT_COPIES * trainer.weights_bytes(vocab)),
                            "lower --dim or --max-vocab, or run fewer workers on a machine")
        started = time.perf_counter()
        try:
            vectors, output_weights = self._train(vocab, encoded, summaries, saved)
        finally:  # let the workers free the arrays the rounds trained in; never hide the run's own error
            with contextlib.suppress(OSError, TimeoutError):
                client.run(rounds.release_working_copies, on_error="ignore")
        record.train_seconds += time.perf_counter() - started
        trainer._keep(vocab, *trainer.finished_vectors(vocab, vectors, output_weights), output_weights, record,
                      self.position_weights)
        if trainer.checkpoint:
            trainer.model_.save(trainer.checkpoint)
        return trainer

    def _repeats(self, blocks) -> tuple[list[np.ndarray], dict]:
        """Which sentences of each block ``dedup`` keeps: the first of equal sentences in
        block order, as one machine reading the corpus in that order keeps.  The workers
        hash each sentence by its words' letters; the hashes meet here (8 bytes a
        sentence, and its length)."""
        import dask

        trainer = self.trainer
        hashed = self.client.gather(self.client.compute(
            [dask.delayed(rounds.hash_block_sentences)(block, trainer.lowercase, trainer.whitespace)
             for block in blocks]))
        hashes = np.concatenate([np.empty(0, np.uint64), *(block_hashes for block_hashes, _ in hashed)])
        tokens = np.concatenate([np.empty(0, np.int64), *(block_tokens for _, block_tokens in hashed)])
        _, first = np.unique(hashes, return_index=True)
        keep = np.zeros(len(hashes), dtype=bool)
        keep[first] = True
        bounds = np.cumsum([0, *(len(block_hashes) for block_hashes, _ in hashed)])
        report = {"sentences_dropped": int(np.count_nonzero(~keep)), "tokens_dropped": int(tokens[~keep].sum()),
                  "distinct_sentences": len(first), "memory_bytes": hashes.nbytes + tokens.nbytes}
        return [keep[start:stop] for start, stop in zip(bounds, bounds[1:])], report

    def _phrase_table(self, saved, blocks, keeps):
        """The phrases every block joins, as a constant of the graphs: the saved run's,
        else those of ``phrase_table``, else those found in ``phrases`` passes (or
        ``None``); the trainer keeps them for the model."""
        import dask

        trainer = self.trainer
        trainer.phrase_table_, self.phrase_report = trainer._given_phrases(saved.phrases if saved else None), {}
        if trainer.phrase_table_ is None and trainer.phrases:
            trainer.phrase_table_, self.phrase_report = self._find_phrases(blocks, keeps)
        return dask.delayed(trainer.phrase_table_.as_dict(), pure=True) if trainer.phrase_table_ else None

    def _find_phrases(self, blocks, keeps):
        """``phrases`` passes of word2phrase over the blocks, as one machine makes them
        (:func:`wordvec.phrases.detect`): in each pass the workers join the phrases
        found so far and count their blocks' words and pairs; the counts meet here in
        the corpus's numbering (the words as first seen in block order, then the
        phrases in the table's order), 16 bytes a distinct pair of a block, and the
        pass's phrases are chosen from their sums.  Returns the table and the report
        (its joins are counted with the words)."""
        import dask

        from ..phrases import DEFAULT_MAX_PAIRS, PhraseReport, PhraseTable, check_phrase_settings, choose

        trainer, client = self.trainer, self.client
        threshold = check_phrase_settings(trainer.phrases, trainer.phrase_scoring, trainer._phrase_threshold(),
                                          trainer._phrase_min_count(), PhraseTable.delimiter, DEFAULT_MAX_PAIRS)
        table = PhraseTable(trainer.phrase_scoring, threshold, trainer._phrase_min_count())
        report, number, words = PhraseReport(), {}, [None]  # word 0: the sentence end
        for _ in range(trainer.phrases):
            found = dask.delayed(table.as_dict(), pure=True) if table.passes else None
            counted = client.gather(client.compute(
                [dask.delayed(rounds.count_block_pairs)(block, trainer.lowercase, trainer.whitespace, keep, found,
                                                        DEFAULT_MAX_PAIRS)
                 for block, keep in zip(blocks, keeps)]))
            word_counts, keys, counts, pruned_pairs = _summed_counts(counted, number, words)
            _, pairs = choose(keys, counts, word_counts, int(word_counts[1:].sum()), words, table)
            table.passes.append(pairs)
            report.pairs_counted.append(len(keys))
            report.pairs_pruned.append(pruned_pairs)
            report.phrases.append(len(pairs))
            report.memory_bytes = max(report.memory_bytes, 4 * keys.nbytes)
            for a, b, _, _ in pairs:  # the phrases' numbers, as one machine gives them when it joins them
                _number(table.phrase(a, b), number, words)
        return table, report.as_dict()

    def _vocabulary(self, blocks, keeps, saved):
        """Counted on the workers (the sentences ``keeps`` flags, where it is not None;
        the phrases joined), merged by addition, finalised as on one machine."""
        import dask

        trainer, client = self.trainer, self.client
        counting = client.compute([dask.delayed(rounds.count_block)(block, trainer.lowercase, trainer.whitespace,
                                                                    keep, self.phrases)
                                   for block, keep in zip(blocks, keeps)])
        # Each worker loads its training kernels once its blocks are counted, while the driver merges the
        # counts (0.3 - 0.5 s on the first round's path otherwise); a failure there would show in the round.
        self.warming = [client.submit(rounds.load_worker_kernels, pure=False, workers=[address],
                                      allow_other_workers=True, priority=-10) for address in self.addresses]
        counted = client.gather(counting)
        counts, bad_input = Counter(), Counter()
        joins = np.zeros(len(trainer.phrase_table_.passes) if trainer.phrase_table_ else 0, dtype=np.int64)
        for block_counts, stats, block_joins in counted:
            counts.update(block_counts)
            bad_input.update(stats)
            joins += np.array(block_joins, dtype=np.int64)  # each block joins every pass of the table
        if self.phrase_report:
            self.phrase_report["joins"] = joins.tolist()
            trainer._say_phrases_found(self.phrase_report["joins"])
        if not counts:
            raise WordvecError("the corpus holds no words")
        if saved:
            found = np.array([counts.get(word, 0) for word in saved.vocab.words], dtype=np.int64)
            if not np.array_equal(found, saved.vocab.counts):
                raise WordvecError("the words of this corpus are not counted as in the saved run's vocabulary: "
                                   "it is not the same corpus")
            return saved.vocab, {"replaced": bad_input["replaced"], "capped": bad_input["capped"]}
        vocab = Vocabulary.from_counts(counts, trainer.min_count, trainer.max_vocab)
        if len(vocab) == 0:
            raise WordvecError(f"no word occurs min_count={trainer.min_count} times ({sum(counts.values())} tokens, "
                               f"{len(counts)} distinct words); lower --min-count")
        return vocab, {"replaced": bad_input["replaced"], "capped": bad_input["capped"]}

    def _encode(self, blocks, keeps, vocab):
        """Each block (the sentences ``keeps`` flags) encoded once on the worker of its
        part (:func:`block_places`) and kept there; their chunk plans come back."""
        import dask

        trainer = self.trainer
        # The words are a constant of the graph (not scattered data): a block lost with its worker is
        # recomputed from the text and these words, whichever workers are left.  One string, not a list:
        # Dask serialises a list of strings one element at a time (1.3 s for the bench corpus's 78,011).
        words = dask.delayed("\n".join(vocab.words), pure=True)
        # Futures of computed graphs: Dask keeps each block on a worker and recomputes it if lost; the
        # worker named is a preference, so a block whose worker is gone is encoded by another.
        encoded = [self.client.compute(dask.delayed(rounds.encode_block)(block, words, trainer.lowercase,
                                                                         trainer.whitespace, keep=keep,
                                                                         phrases=self.phrases),
                                       workers=[self.addresses[place]], allow_other_workers=True)
                   for block, place, keep in zip(blocks, self.places, keeps)]
        summaries = self.client.gather(self.client.map(rounds.block_summary, encoded))
        return encoded, list(summaries)

    def _train(self, vocab, encoded, summaries, saved):
        from tqdm.auto import tqdm

        trainer, client = self.trainer, self.client
        W_in, W_out, self.position_weights = trainer._initial_weights(vocab, saved)
        self.plan = round_settings(self.workers, vocab.counts, trainer.epochs, self.words, self.eta_given,
                                   skipgram_subwords=trainer.subwords and trainer.arch == "skipgram")
        self.momentum = (np.zeros_like(W_in), np.zeros_like(W_out)) if self.plan.eta else None
        positions = self.position_weights
        self.position_momentum = np.zeros_like(positions) if self.plan.eta and positions is not None else None
        self.changes = rounds.RoundSum(W_in, W_out)
        parts = plan_parts(summaries, self.workers, self.places)
        words_per_epoch = sum(words for part in parts for *_, words in part)
        position = Position(**saved.position) if saved else Position.start()
        layout = {"workers": self.workers, "round_share": self.plan.share, "shuffle": trainer.shuffle}
        resumed_shuffle = trainer.shuffle
        if position.inside_epoch():
            self._check_resumed_layout(position, layout)
            resumed_shuffle = position.layout.get("shuffle", False)  # the stopped epoch's order; in order before
        schedule = _Schedule(trainer._alpha(), trainer.min_alpha, words_per_epoch * trainer.epochs)
        schedule.done = words_per_epoch * position.epochs_done
        tables = client.submit(_constant, trainer._tables(vocab), pure=False)
        settings = {key: getattr(trainer, key) for key in ("arch", "loss", "window", "negative", "cbow_mean")}
        trainer._curve = _CurvePoints(trainer.record_, max(words_per_epoch // 50, 1))
        trainer._curve.words = schedule.done + position.partial["words"]
        cluster_record = trainer.record_.cluster or {"workers": self.workers, "rounds": 0, "bytes_to_workers": 0,
                                                     "bytes_from_workers": 0, "kernel_seconds": 0.0,
                                                     "round_seconds": 0.0, "combine": self.how,
                                                     "momentum": self.plan.eta}
        trainer.record_.cluster = cluster_record
        bar = tqdm(total=words_per_epoch * trainer.epochs, initial=trainer._curve.words, unit="word",
                   unit_scale=True, disable=not trainer.progress, dynamic_ncols=True)
        signals = StopSignals()
        last_save = time.monotonic()
        with signals.active():
            try:
                for epoch in range(position.epochs_done + 1, trainer.epochs + 1):
                    epoch_started = time.perf_counter()
                    cursors = [0] * len(parts)
                    first_round = position.jobs_done if position.epochs_done == epoch - 1 else 0
                    totals = dict(position.partial) if first_round else dict(EMPTY_TOTALS)
                    epoch_layout = dict(layout, shuffle=resumed_shuffle if first_round else trainer.shuffle)
                    ordered = epoch_parts(parts, epoch_layout["shuffle"], trainer.seed, epoch)
                    plan = []
                    while tasks := round_tasks(ordered, cursors, self.plan.share):
                        plan.append(tasks)
                    for round_index in range(len(plan)):
                        if round_index < first_round:
                            schedule.advance(sum(task.words for task in plan[round_index]))
                            continue
                        results = self._round(W_in, W_out, encoded, plan[round_index], tables, settings, schedule,
                                              epoch, round_index, cluster_record)
                        for result in results:
                            for key, value in zip(("loss", "examples", "words", "kept"),
                                                  (result.loss, result.examples, result.words, result.kept)):
                                totals[key] += value
                            trainer._curve.add(result.loss, result.examples, result.words)
                            bar.update(result.words)
                        bar.set_postfix(epoch=epoch, round=round_index + 1, alpha=f"{schedule.alpha():.5f}",
                                        loss=f"{totals['loss'] / max(totals['examples'], 1):.4f}", refresh=False)
                        trainer._check_divergence(epoch, totals, W_in, W_out)
                        if round_index + 1 < len(plan):
                            partial = dict(totals, seconds=totals["seconds"] + time.perf_counter() - epoch_started)
                            here = Position(epoch - 1, round_index + 1, partial, [], epoch_layout)
                            last_save = self._between_rounds(vocab, W_in, W_out, here, signals, last_save, len(plan))
                    trainer._curve.flush()
                    if totals["examples"] == 0:
                        raise WordvecError(trainer._why_no_example(totals))
                    record = EpochRecord(epoch, totals["loss"] / max(totals["examples"], 1), totals["examples"],
                                         totals["words"], totals["kept"],
                                         totals["seconds"] + time.perf_counter() - epoch_started, schedule.alpha())
                    trainer.record_.epochs.append(record)
                    position = Position(epoch, 0, dict(EMPTY_TOTALS), [], layout)
                    if epoch < trainer.epochs:
                        due = trainer.checkpoint_every and epoch % trainer.checkpoint_every == 0
                        if due:
                            self._save(vocab, W_in, W_out, position)
                            last_save = time.monotonic()
                        last_save = self._between_rounds(vocab, W_in, W_out, position, signals, last_save, 1)
                    for callback in trainer.callbacks:
                        callback(trainer, record)
            finally:
                bar.close()
        check_finite(trainer._alpha(), W_in, W_out)
        return W_in, W_out

    def _check_resumed_layout(self, position, layout: dict) -> None:
        """A run stopped inside an epoch continues only on rounds cut as before: the
        rounds to skip are those done (a file from before layouts were kept is trusted)."""
        saved, checkpoint = position.layout, self.trainer.checkpoint
        cut = {key: value for key, value in saved.items() if key != "shuffle"}  # the order is the saved one
        if not saved or cut == {key: value for key, value in layout.items() if key != "shuffle"}:
            return
        epoch = position.epochs_done + 1
        if "workers" not in saved:
            raise WordvecError(f"{checkpoint} was saved inside epoch {epoch} by a run on one machine, whose jobs cut "
                               "the epoch differently from a cluster's rounds: resume it on one machine "
                               "(without --cluster)")
        raise WordvecError(f"{checkpoint} was saved inside epoch {epoch} by a run on {saved['workers']} workers with "
                           f"rounds of {saved['workers'] * saved['round_share']:,} words; here {self.workers} "
                           f"workers with rounds of {self.workers * self.plan.share:,}: resume it with the same "
                           "workers and --round-words")

    def _round(self, W_in, W_out, encoded, tasks, tables, settings, schedule, epoch, round_index, cluster_record):
        """Send the last round's moves to every worker (the whole weights in the first
        round, and to the worker of a part that sat out the last round: its copy is
        behind), train every task, combine the changes."""
        started = time.perf_counter()
        client, trainer = self.client, self.trainer
        alpha_start = schedule.alpha()
        alpha_stop = schedule.advance(sum(task.words for task in tasks))
        sent = [W_in, W_out] if self.move is None else list(self.move)
        shipped = self._broadcast(sent)
        cluster_record["bytes_to_workers"] += sum(item.nbytes for item in sent) * self.workers

        def submit(i: int, weights, move):
            task = tasks[i]
            return client.submit(rounds.train_round_from, self.run, self.version, weights, move,
                                 [(encoded[block], first, stop) for block, first, stop in task.pieces], tables,
                                 settings, task_seed(trainer.seed, epoch, round_index, i), alpha_start, alpha_stop,
                                 1, self.position_weights, pure=True, workers=[self.addresses[task.part]],
                                 allow_other_workers=True)

        def whole_weights(i: int):  # to the worker of task i alone
            cluster_record["bytes_to_workers"] += W_in.nbytes + W_out.nbytes
            return submit(i, self._send([W_in, W_out], self.addresses[tasks[i].part]), None)

        futures = [submit(i, shipped, None) if self.move is None
                   else submit(i, None, shipped) if task.part in self.moved
                   else whole_weights(i) for i, task in enumerate(tasks)]
        results = self._gather_as_completed(futures, self.changes.add, whole_weights)
        del futures, shipped
        self.move = self.changes.apply(W_in, W_out, self.how, self.momentum, self.plan.eta, self.plan.summed_from,
                                       self.plan.power, len(W_out))
        self._move_position_weights(results)
        self.moved = {task.part for task in tasks}
        self.version += 1
        cluster_record["rounds"] += 1
        cluster_record["bytes_from_workers"] += sum(result.nbytes for result in results)
        cluster_record["kernel_seconds"] += max(result.kernel_seconds for result in results)
        cluster_record["round_seconds"] += time.perf_counter() - started
        return results

    def _move_position_weights(self, results: list) -> None:
        """Move the position weights ``D`` by the mean of the workers' changes (with the
        momentum, as the word rows): every worker changes every row of ``D``, and each
        change keeps each dimension's mean over the positions (``kernels.flush_position_steps``),
        which a mean keeps too (a row's own factor, as ``coherent`` gives, would not)."""
        if self.position_weights is None:
            return
        step = np.mean([result.changes_position for result in results], axis=0, dtype=np.float64)
        if self.position_momentum is not None:
            self.position_momentum *= self.plan.eta
            self.position_momentum += step.astype(np.float32)
            step = self.position_momentum
        self.position_weights += step.astype(np.float32)

    def _gather_as_completed(self, futures: list, consume, again) -> list:
        """The tasks' results, in task order, each fetched as soon as its task ends
        (``client.gather`` of them all waits for the last before fetching any: with
        2 workers the faster one's 50 MB of changes then came over after the slower
        one ended, not while it was still training), and given to ``consume`` in task
        order as soon as the results before it are in: while the slower workers still
        train, and in the same order whichever ends first, so that sums in float32
        come out the same every time.  A task whose worker holds no weights to move
        (:class:`rounds.MissingWeights`) is replaced by ``again(i)``."""
        from distributed import as_completed

        results = [None] * len(futures)
        place = {future.key: i for i, future in enumerate(futures)}
        consumed = 0
        pending = as_completed(futures, loop=self.client.loop)
        for done in pending:
            try:
                results[place[done.key]] = self.client.gather(done, direct=self.direct)
            except rounds.MissingWeights:
                replaced = again(place[done.key])
                place[replaced.key] = place[done.key]
                pending.add(replaced)
                continue
            while consumed < len(results) and results[consumed] is not None:
                consume(results[consumed])
                consumed += 1
        return results

    def _broadcast(self, data: list) -> list:
        """Futures of ``data`` on every worker, sent straight to the workers when
        they can be reached (several times faster than through the scheduler).  A
        worker that died since the last round fails the send until the scheduler
        has dropped it, so a failed send is tried again after waits of
        :data:`BROADCAST_WAITS` seconds, then through the scheduler."""
        for wait in BROADCAST_WAITS if self.direct else ():
            try:
                return self.client.scatter(data, broadcast=True, hash=False, direct=True)
            except OSError:
                time.sleep(wait)
        self.direct = False
        return self.client.scatter(data, broadcast=True, hash=False)

    def _send(self, data: list, address: str) -> list:
        """Futures of ``data`` on the worker at ``address`` (on any worker when that one is gone)."""
        alive = address in self.client.scheduler_info()["workers"]
        try:
            return self.client.scatter(data, workers=[address] if alive else None, hash=False, direct=self.direct)
        except OSError:  # it died just now: the task's other worker fetches the data from wherever it is
            return self.client.scatter(data, hash=False)

    def _between_rounds(self, vocab, W_in, W_out, position, signals, last_save, rounds_per_epoch) -> float:
        """Save when due or asked to stop; stop after a signal.  Returns the time of the last save."""
        trainer = self.trainer
        due = trainer.checkpoint_minutes and time.monotonic() - last_save >= 60 * trainer.checkpoint_minutes
        if due or signals.caught:
            self._save(vocab, W_in, W_out, position)
            last_save = time.monotonic()
        if signals.caught:
            where = (f"the run so far is saved in {trainer.checkpoint}: continue it with --resume"
                     if trainer.checkpoint else "nothing was saved (give a checkpoint path to keep the work)")
            raise TrainingInterrupted(f"stopped by {signals.name} after {position.describe(rounds_per_epoch)}; "
                                      f"{where}", signals.caught)
        return last_save

    def _save(self, vocab, W_in, W_out, position) -> None:
        trainer = self.trainer
        if not trainer.checkpoint:
            return
        check_finite(trainer._alpha(), W_in, W_out)
        model = trainer._model(vocab, *trainer._split_input(vocab, W_in), W_out, self.position_weights,
                               position.as_dict())
        model.save(trainer.checkpoint)


def _summed_counts(counted: list, number: dict, words: list) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """The words' counts, the distinct pairs' keys and counts, and the pairs dropped,
    summed over the blocks' :func:`rounds.count_block_pairs` in the corpus's numbering
    (``number[word]``; ``words``, its inverse, grows by the words first seen)."""
    word_counts, pruned_pairs = np.zeros(len(words), np.int64), 0
    pair_keys, pair_counts = [np.empty(0, np.int64)], [np.empty(0, np.int64)]  # where no block has a pair
    for block_words, block_counts, keys, counts, pruned in counted:
        block_words = block_words.split("\n") if block_words else []
        ours = np.array([0, *(_number(word, number, words) for word in block_words)], dtype=np.int64)
        word_counts = np.pad(word_counts, (0, len(words) - len(word_counts)))
        np.add.at(word_counts, ours, block_counts[:len(ours)])
        pair_keys.append((ours[keys >> 32] << 32) | ours[keys & 0xFFFFFFFF])
        pair_counts.append(counts)
        pruned_pairs += pruned
    keys, where = np.unique(np.concatenate(pair_keys), return_inverse=True)
    counts = np.bincount(where, weights=np.concatenate(pair_counts), minlength=len(keys)).astype(np.int64)
    return word_counts, keys, counts, pruned_pairs


def _number(word: str, number: dict, words: list) -> int:
    """``word``'s number in the corpus's numbering ``number`` (``words`` its inverse), a
    new one after the others when it is new."""
    if word not in number:
        number[word] = len(words)
        words.append(word)
    return number[word]


def _constant(value):
    """``value`` itself: as a task, it lives in the graph and can be recomputed anywhere."""
    return value
