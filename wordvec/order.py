"""The order an epoch trains the corpus in.

The encoded corpus is cut into chunks at sentence ends (:data:`wordvec.corpus.CHUNK_WORDS`
words or more).  An epoch trains them shuffled (:func:`epoch_order`), or in the
corpus's order with one stripe of it a thread (:func:`interleave`); a backend
that wants big jobs (a GPU) takes them joined (:func:`group_chunks`).

With ``spread`` the epoch is cut into spans of about :data:`SPAN_WORDS` words
(:func:`even_spans`), and the centres of each span are trained in blocks of
:data:`RUN` consecutive positions, block ``q · s mod n`` at step ``q``
(:func:`spread_stride`), in jobs of about :data:`JOB_STEPS` centres
(:func:`spread_jobs`): each step's centres from anywhere in the span, instead
of a Wikipedia article's words one after the next.  SGD then takes its steps
from examples nearer to independent draws, which on the bench corpus gave CBOW
and skip-gram about two analogy points (bench/RESULTS.md, sessions 18 and 19).
The GPU trains in this order always (one centre a step): its thousands of
warps must not train neighbouring centres at once.
"""
from __future__ import annotations

import functools
import itertools
import math
from typing import NamedTuple

import numpy as np

#: Words of a span whose centres are trained in spread order: the GPU's jobs, and
#: 64 MB of ids (random reads across it stay in memory).
SPAN_WORDS = 1 << 24
#: Steps of a span's spread order in one job of a CPU thread.
JOB_STEPS = 1 << 16
#: Consecutive centres trained at each step of the spread order (see :func:`spread_jobs`):
#: they share most of their windows' rows, which then come from memory once.  Blocks of 8
#: trained CBOW at 0.86x the words/s of the corpus's order on one thread (blocks of 1:
#: 0.60x), as accurately as far as runs could tell (bench/RESULTS.md, session 19).
RUN = 8
#: The golden ratio's fraction: consecutive multiples of ``0.618 n`` modulo ``n`` stay far apart.
_SPREAD = (math.sqrt(5.0) - 1.0) / 2.0


class SpreadSteps(NamedTuple):
    """Steps ``first ≤ q < last`` of the spread order of a span (block ``q · stride mod n``
    of its ``n = blocks`` blocks of ``run`` positions), with the epoch's subsampling seed
    (see :func:`wordvec.kernels.train_spread`)."""

    stride: int
    first: int
    last: int
    keep_seed: int
    run: int
    blocks: int


@functools.lru_cache(maxsize=256)
def spread_stride(n: int) -> int:
    """A stride ``s`` coprime to ``n`` for which the centres ``q · s mod n`` of consecutive
    ``q`` (the warps that run at the same time; a CPU thread's next centres) are spread
    over the whole range, every
    position coming once: the one nearest ``0.618 n`` whose ratio ``s / n`` has no partial
    quotient above 3 in its continued fraction.  The golden ratio's are all 1, and by
    the three-distance theorem the first ``G`` multiples of such a ratio are then at
    least about ``n / (5 G)`` apart; the stride nearest ``0.618 n`` alone can have a
    large quotient (``n = 1,048,583``: 36, and centres 11 apart among 4,224 warps)."""
    if n <= 2:
        return 1
    target = int(n * _SPREAD)
    best = (n, 1)  # (largest quotient, stride)
    for distance in range(min(n, 1 << 16)):
        for stride in (target - distance, target + 1 + distance):
            if 0 < stride < n and math.gcd(stride, n) == 1:
                best = min(best, (_largest_partial_quotient(stride, n), stride))
                if best[0] <= 3:
                    return best[1]
    return best[1]  # none so flat nearby (never seen): the flattest of those tried


def _largest_partial_quotient(numerator: int, denominator: int) -> int:
    """The largest of the partial quotients ``a_1, a_2, …`` of ``numerator / denominator`` (< 1)."""
    largest = 0
    while numerator:
        largest = max(largest, denominator // numerator)
        numerator, denominator = denominator % numerator, numerator
    return largest


def epoch_order(chunks: list, stripes: int, shuffle: bool, seed: int, epoch: int) -> list:
    """The order an epoch trains its ``chunks`` in: with ``shuffle`` a permutation
    drawn from ``(seed, epoch)``, so a resumed run redraws the same one; else
    :func:`interleave`'s (the corpus's order, one stripe a thread).

    Shuffled, the weights at the end of training owe no more to the end of the
    corpus than to any other part.  On the bench corpus (bench/RESULTS.md, session
    11, 2 threads): the loss of the final weights on 300,000 word pairs drawn
    from the whole corpus fell from 2.148 to 2.117 (skip-gram with subwords, its
    first 5 M words; six epochs in order instead of five: 2.128); analogy %
    (means of runs with seeds 1 and 2 against the runs of sessions 6 and 7)
    skip-gram with subwords 57.25 → 58.00, CBOW with subwords 61.49 → 62.32,
    plain CBOW 39.32 → 39.65; WordSim-353 +0.03 and +0.01 with subwords."""
    if not shuffle:
        return interleave(chunks, stripes)
    order = np.random.default_rng([seed, epoch]).permutation(len(chunks))
    return [chunks[i] for i in order]


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


def group_chunks(chunks: list, words: int) -> list:
    """Consecutive chunks joined into jobs of at least ``words`` words, for a backend
    that wants big jobs (a GPU); ``words`` 0 keeps the chunks as they are."""
    if words <= 0:
        return chunks
    jobs, first, total = [], None, 0
    for start, stop, count in chunks:
        first = start if first is None else first
        total += count
        if total >= words:
            jobs.append((first, stop, total))
            first, total = None, 0
    if first is not None:
        jobs.append((first, chunks[-1][1], total))
    return jobs


def even_spans(chunks: list, span_words: int) -> list:
    """Consecutive ``chunks`` joined into ``⌈words / span_words⌉`` spans of about
    equal words (each cut at a chunk's end): ``(start, stop, words)`` each."""
    total = sum(words for _, _, words in chunks)
    count = max(1, -(-total // span_words))
    spans, first, before, done = [], None, 0, 0
    for start, stop, words in chunks:
        first = start if first is None else first
        done += words
        if done * count >= total * (len(spans) + 1) or stop == chunks[-1][1]:
            spans.append((first, stop, done - before))
            first, before = None, done
    return spans


def spread_jobs(spans: list, seed: int, epoch: int, job_steps: int = JOB_STEPS, run: int = RUN) -> list:
    """The jobs of an epoch in spread order.  A span of ``m`` positions (sentence
    ends included) is ``n = ⌈m / run⌉`` blocks of ``run`` positions; step ``q``
    of its order trains block ``q · spread_stride(n) mod n``.  Its steps ``0..n−1``
    are cut into jobs of about ``job_steps`` centres, each ``(start, stop, words,
    SpreadSteps)`` with its share of the span's words (``words · steps / n``,
    rounded so that the shares add up).  Every job of the epoch subsamples with
    the same seed, drawn from ``(seed, epoch)``."""
    keep_seed = int(np.random.SeedSequence([seed, epoch]).generate_state(1, np.uint64)[0])
    jobs = []
    steps = max(job_steps // run, 1)
    for start, stop, words in spans:
        n = -(-(stop - start) // run)
        stride = spread_stride(n)
        for first in range(0, n, steps):
            last = min(first + steps, n)
            share = words * last // n - words * first // n
            jobs.append((start, stop, share, SpreadSteps(stride, first, last, keep_seed, run, n)))
    return jobs
