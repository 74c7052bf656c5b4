"""The training loop itself (``kernels.train_chunk``), pinned on tiny hand-made ids:
what a window may hold, the dynamic window, subsampling before windowing,
skip-gram's direction and the learning rate along a chunk."""
import numpy as np
import pytest

from wordvec import kernels
from wordvec.backend import kernel_tables, make_scratch
from wordvec.vocab import Vocabulary, alias_table

V, D = 8, 6


def _run(ids, arch=kernels.CBOW, window=3, negative=2, mean=True, keep=None, seed=0, alpha=(0.05, 0.01),
         positions=None, rows=None, windowed=True):
    """One ``train_chunk`` over ``ids``; returns the weights before and after,
    the kernel's totals and the random state it started from.  ``positions``:
    position weights ``D`` to train (changed in place), or None for plain CBOW;
    ``rows``: with subwords, each word's input rows (a list of lists), trained a
    window at a time when ``windowed``, else example by example."""
    rng = np.random.default_rng(seed)
    n_rows = V if rows is None else max(max(r) for r in rows) + 1
    W_in = (rng.random((n_rows, D), dtype=np.float32) - 0.5) / D
    W_out = (rng.random((V, D), dtype=np.float32) - 0.5) / D
    noise_prob, noise_alias = alias_table(Vocabulary([f"w{i}" for i in range(V)], np.arange(V, 0, -1))
                                          .noise_distribution())
    subword_tables = {} if rows is None else {
        "row_starts": np.concatenate([[0], np.cumsum([len(r) for r in rows])]), "row_ids": np.concatenate(rows)}
    tables = kernel_tables({"keep_prob": np.ones(V, np.float32) if keep is None else np.asarray(keep, np.float32),
                            "noise_prob": noise_prob, "noise_alias": noise_alias, **subword_tables})
    settings = kernels.Settings(arch, kernels.NEGATIVE_SAMPLING, window, negative, int(mean), -1,
                                int(positions is not None), int(rows is not None), int(rows is not None and windowed))
    scratch = make_scratch(np.random.SeedSequence(seed), D, window, negative + 1, row_starts=tables.row_starts)
    start_rng = scratch.rng.copy()
    before = W_in.copy(), W_out.copy()
    ids = np.asarray(ids, dtype=np.int32)
    totals = kernels.train_chunk(ids, 0, len(ids), W_in, W_out, tables, settings, scratch, *alpha,
                                 np.ones((1, 1), np.float32) if positions is None else positions)
    return before, (W_in, W_out), totals, (tables, start_rng)


def _reference_chunk(ids, W_in, W_out, tables, rng, arch, window, negative, mean, alpha_start, alpha_stop,
                     positions=None, word_rows=None):
    """train_chunk's semantics in plain float64 Python, drawing from the same
    random stream in the same order (the kernels' own generator functions):

    * a sentence ends at ``-1``; each word is kept with probability ``keep_prob``
      before any window is formed;
    * each kept word is a centre with a reach ``b`` drawn uniformly from 1..window;
      its context is the kept words within ``b`` of it in the same sentence;
    * CBOW: one example (context bag -> centre); skip-gram: one example per
      context word (that word -> centre: word2vec's direction);
    * negative sampling: the centre (label 1) and ``negative`` noise draws
      (label 0; a draw equal to the centre is skipped), one SGD step per
      example: every score with the rows as they were, then every update
      (a word drawn twice moves twice, by its gradient at the same point);
    * the learning rate falls linearly over the chunk's words, set per sentence;
    * with position weights ``positions`` (``D``, 2·window rows: offsets
      −window..−1, 1..window), CBOW's context word at offset ``o`` is scaled by
      its row; the word steps by the row times the step, the row by the word
      less the mean of the example's words, times the step over |C| (with the
      mean; so each dimension of ``D`` keeps its mean over the offsets); the
      rows' steps are summed and added to ``D`` every ``POSITION_FLUSH``
      examples and at the end;
    * with subwords (``word_rows``: each word's input rows), a word stands for its
      rows: CBOW's bag holds every row of every context word and the mean is
      over all of them; skip-gram is fastText's, the centre's rows (their mean)
      predicting each context word; every occurrence of a row takes the step.
    """
    W_in, W_out = W_in.astype(np.float64), W_out.astype(np.float64)
    offset_weights = None if positions is None else positions.astype(np.float64)
    offset_steps = None if positions is None else np.zeros_like(offset_weights)
    total = max(int(np.sum(ids != -1)), 1)
    loss, examples, read, kept = 0.0, 0, 0, 0
    position = 0
    while position < len(ids):
        lr = np.float32(alpha_start + (alpha_stop - alpha_start) / total * read)
        sentence = []
        while position < len(ids):
            word = int(ids[position])
            position += 1
            if word == -1:
                break
            read += 1
            if tables.keep_prob[word] < 1.0 and tables.keep_prob[word] < kernels.random_uniform(rng):
                continue
            sentence.append(word)
        kept += len(sentence)
        for centre, target in enumerate(sentence):
            reach = window - kernels.random_below(rng, window)
            near = [j for j in range(max(centre - reach, 0), min(centre + reach + 1, len(sentence))) if j != centre]
            context = [sentence[j] for j in near]
            offsets = [j - centre + window - (j > centre) for j in near]
            rows_of = (lambda word: [word]) if word_rows is None else (lambda word: list(word_rows[word]))
            if arch == kernels.CBOW:
                examples_here = [(sum(map(rows_of, context), []), target)] if context else []
            elif word_rows is None:
                examples_here = [([word], target) for word in context]
            else:
                examples_here = [(rows_of(target), word) for word in context]
            for bag, goal in examples_here:
                weights = np.ones((len(bag), D)) if offset_weights is None else offset_weights[offsets]
                hidden = (weights * W_in[bag]).sum(axis=0) / (len(bag) if mean or arch == kernels.SKIPGRAM else 1)
                step = np.zeros(D)
                draws = [goal] + [int(kernels.draw_noise(rng, tables.noise_prob, tables.noise_alias))
                                  for _ in range(negative)]
                scores = [W_out[word] @ hidden for word in draws]
                for k, (word, score) in enumerate(zip(draws, scores)):
                    if k and word == goal:
                        continue
                    label = 1.0 if k == 0 else 0.0
                    probability = 1 / (1 + np.exp(-score))
                    loss -= np.log(probability) if k == 0 else np.log(1 - probability)
                    gradient = float(lr) * (label - probability)
                    step += gradient * W_out[word]
                    W_out[word] += gradient * hidden
                rows = W_in[bag].copy()
                for word, weight in zip(bag, weights):
                    W_in[word] += weight * step
                examples += 1
                if offset_weights is not None:
                    offset_steps[offsets] += (rows - rows.mean(axis=0)) * step / (len(bag) if mean else 1)
                    if examples % kernels.POSITION_FLUSH == 0:
                        offset_weights += offset_steps
                        offset_steps[:] = 0
    if offset_weights is not None:
        offset_weights += offset_steps
    return W_in, W_out, (loss, examples, read, kept), offset_weights


#: A sentence of 16 words that subsampling keeps whole: with sentences cut at 16, its
#: centres have every other word of it in a window of 40 (15: the context's most).
FULL_SENTENCE = [1, 2, 4, 5, 7] * 3 + [1, -1]


@pytest.fixture
def sentences_of_16_words(monkeypatch):
    """Sentences cut at 16 words: the scratch arrays sized by the window are then
    capped by the sentence (a window of 40 gets a context of 15 words, a ring of 16)."""
    from wordvec import backend

    monkeypatch.setattr(backend, "MAX_SENTENCE_TOKENS", 16)


@pytest.mark.parametrize("arch", [kernels.CBOW, kernels.SKIPGRAM])
@pytest.mark.parametrize("mean, window", [(True, 3), (False, 3), (True, 40)])
def test_train_chunk_equals_its_reference_step_for_step(arch, mean, window, sentences_of_16_words):
    ids = [0, 1, 2, 3, 4, 5, -1, 6, -1, 2, 7, 0, 0, 3, -1, 4, 4, 1, 5, 6, 7, 2, -1] + FULL_SENTENCE
    keep = [0.5, 1, 1, 0.7, 1, 1, 0.3, 1]  # words 0, 3 and 6 are thinned out
    before, after, totals, (tables, rng) = _run(ids, arch=arch, mean=mean, keep=keep, window=window)
    W_in, W_out, expected, _ = _reference_chunk(np.array(ids), *before, tables, rng, arch, window, 2, mean, 0.05,
                                                0.01)
    np.testing.assert_allclose(after[0], W_in, atol=2e-6)
    np.testing.assert_allclose(after[1], W_out, atol=2e-6)
    assert totals[1:] == expected[1:] and totals[0] == pytest.approx(expected[0], rel=1e-5)
    assert totals[3] < totals[2]  # some words were dropped


def test_scratch_arrays_grow_with_the_window_only_up_to_a_sentence(sentences_of_16_words):
    """A window of a million (item2vec's "the whole basket") trains with arrays no
    larger than a sentence needs; the subword ring only where subwords are trained."""
    plain = make_scratch(np.random.SeedSequence(0), D, 10 ** 6, 3, queue=2)
    assert plain.inputs.shape == plain.positions.shape == (16,)  # 15 context words, then the centre
    assert plain.queue_inputs.shape == plain.queue_positions.shape == (2, 15)
    assert plain.window_overlap.shape == (1, 1) and plain.window_sums.shape == (1, D)
    with_rows = make_scratch(np.random.SeedSequence(0), D, 10 ** 6, 3, row_starts=np.array([0, 2, 5]))
    assert with_rows.window_overlap.shape == (16, 16) and with_rows.window_sums.shape == (16, D)
    small = make_scratch(np.random.SeedSequence(0), D, 3, 3, row_starts=np.array([0, 2, 5]))
    assert small.inputs.shape == (7,) and small.window_overlap.shape == (7, 7)


def test_a_sentence_wide_subword_ring_stays_off_the_resident_set():
    """A window of a million with subwords: the ring's shared-row counts are 10,000 x
    10,000 (400 MB) of zeros, made resident only where a sentence's positions touch them."""
    def resident_mb():
        with open("/proc/self/status") as status:
            return int(status.read().split("VmRSS:")[1].split()[0]) / 1024

    before = resident_mb()
    scratch = make_scratch(np.random.SeedSequence(0), D, 10 ** 6, 3, row_starts=np.array([0, 2, 5]))
    assert scratch.window_overlap.shape == (10_000, 10_000)
    assert resident_mb() - before < 64


SUBWORD_ROWS = [[0, 8, 9], [1, 10], [2, 9, 9, 11], [3], [4, 12, 8], [5, 13], [6, 11, 12], [7, 13, 10, 8]]


@pytest.mark.parametrize("windowed, window", [(True, 3), (False, 3), (True, 40)])
@pytest.mark.parametrize("arch", [kernels.CBOW, kernels.SKIPGRAM])
def test_train_chunk_with_subwords_equals_its_reference_step_for_step(arch, windowed, window, sentences_of_16_words):
    """Words stand for their rows (own row, then n-gram rows 8..13, shared and
    repeated); skip-gram goes fastText's way, the centre's rows to each context
    word; a window at a time or example by example, the same steps."""
    ids = [0, 1, 2, 3, 4, 5, -1, 6, -1, 2, 7, 0, 0, 3, -1, 4, 4, 1, 5, 6, 7, 2, -1] * 3 + FULL_SENTENCE
    keep = [0.5, 1, 1, 0.7, 1, 1, 0.3, 1]
    before, after, totals, (tables, rng) = _run(ids, arch=arch, keep=keep, rows=SUBWORD_ROWS, windowed=windowed,
                                                window=window)
    W_in, W_out, expected, _ = _reference_chunk(np.array(ids), *before, tables, rng, arch, window, 2, True, 0.05,
                                                0.01, word_rows=SUBWORD_ROWS)
    np.testing.assert_allclose(after[0], W_in, atol=2e-6)
    np.testing.assert_allclose(after[1], W_out, atol=2e-6)
    assert totals[1:] == expected[1:] and totals[0] == pytest.approx(expected[0], rel=1e-5)
    assert np.all(np.any(after[0][8:] != before[0][8:], axis=1))  # every n-gram row was trained


def test_a_long_sentence_with_subwords_equals_its_reference_past_rebuilds_of_the_row_table():
    """One sentence of 400 words: the kernel's table of the rows in the window
    fills up with the rows of words gone by and is rebuilt many times while
    words with shared rows are in the window."""
    ids = np.random.default_rng(3).integers(0, V, 400).tolist() + [-1]
    before, after, totals, (tables, rng) = _run(ids, rows=SUBWORD_ROWS)
    W_in, W_out, expected, _ = _reference_chunk(np.array(ids), *before, tables, rng, kernels.CBOW, 3, 2, True, 0.05,
                                                0.01, word_rows=SUBWORD_ROWS)
    np.testing.assert_allclose(after[0], W_in, atol=2e-6)
    np.testing.assert_allclose(after[1], W_out, atol=2e-6)
    assert totals[1:] == expected[1:] and totals[0] == pytest.approx(expected[0], rel=1e-5)


def test_subword_skip_gram_predicts_each_context_word_from_the_centre():
    """Sentence [0, 1, 2], window 1, no noise words: fastText's direction makes
    the centre 1 predict 0 and 2 (their output rows move), and 0 and 2 predict 1."""
    ids = [0, 1, 2, -1]
    rows = [[0, 3], [1, 3, 4], [2, 4]]
    before, after, (_, examples, _, _), (tables, rng) = _run(ids, arch=kernels.SKIPGRAM, window=1, negative=0,
                                                             rows=rows + [[w] for w in range(5, V)])
    assert examples == 4
    W_in, W_out, _, _ = _reference_chunk(np.array(ids), *before, tables, rng, kernels.SKIPGRAM, 1, 0, True, 0.05,
                                         0.01, word_rows=rows + [[w] for w in range(5, V)])
    np.testing.assert_allclose(after[0], W_in, atol=2e-6)
    np.testing.assert_allclose(after[1], W_out, atol=2e-6)


def test_position_weights_train_as_their_reference_at_every_offset():
    """CBOW with a weight row per offset: the dynamic window shrinks the reach,
    but a word at offset o always uses row o (rows for −3..−1, 1..3).  Long
    enough for the summed steps to be added to D several times."""
    ids = [0, 1, 2, 3, 4, 5, -1, 6, -1, 2, 7, 0, 0, 3, -1, 4, 4, 1, 5, 6, 7, 2, -1] * 16
    D0 = np.random.default_rng(4).uniform(0.5, 1.5, (6, D)).astype(np.float32)
    trained = D0.copy()
    before, after, totals, (tables, rng) = _run(ids, positions=trained)
    W_in, W_out, expected, D_ref = _reference_chunk(np.array(ids), *before, tables, rng, kernels.CBOW, 3, 2, True,
                                                    0.05, 0.01, positions=D0)
    np.testing.assert_allclose(after[0], W_in, atol=2e-6)
    np.testing.assert_allclose(after[1], W_out, atol=2e-6)
    np.testing.assert_allclose(trained, D_ref, atol=2e-6)
    assert totals[1:] == expected[1:] and totals[0] == pytest.approx(expected[0], rel=1e-5)
    assert np.all(np.any(trained != D0, axis=1))  # every offset was used
    assert totals[1] > 2 * kernels.POSITION_FLUSH  # the summed steps were added to D on the way, not only at the end


def test_a_noise_word_drawn_twice_takes_two_steps_from_the_same_point():
    """With 8 words and 6 draws per example, repeats are certain; the kernel
    still equals the one-step-per-example reference."""
    ids = [0, 1, 2, 3, 4, 5, 6, 7, -1] * 3
    before, after, totals, (tables, rng) = _run(ids, arch=kernels.SKIPGRAM, negative=6)
    replay = rng.copy()
    draws = [kernels.draw_noise(replay, tables.noise_prob, tables.noise_alias) for _ in range(200)]
    assert len(set(draws[:6])) < 6 or len(set(draws[6:12])) < 6
    W_in, W_out, expected, _ = _reference_chunk(np.array(ids), *before, tables, rng, kernels.SKIPGRAM, 3, 6, True,
                                             0.05, 0.01)
    np.testing.assert_allclose(after[0], W_in, atol=2e-6)
    np.testing.assert_allclose(after[1], W_out, atol=2e-6)


def test_a_window_never_crosses_a_sentence_end():
    _, (W_in, _), (_, examples, read, kept), _ = _run([0, 1, -1, 2, -1, 3, -1], window=5)
    before = _run([0, 1, -1, 2, -1, 3, -1], window=5)[0][0]
    assert (examples, read, kept) == (2, 4, 4)  # only 0 <-> 1: words 2 and 3 stand alone
    np.testing.assert_array_equal(W_in[2:4], before[2:4])
    assert not np.array_equal(W_in[:2], before[:2])


def test_subsampled_words_are_dropped_before_windowing():
    keep = [1, 1, 1, 0, 1, 1, 1, 1]  # word 3 is never kept
    _, _, (_, examples, read, kept), _ = _run([1, 3, 3, 3, 2, -1], window=1, keep=keep)
    assert (read, kept) == (5, 2) and examples == 2  # 1 and 2 become neighbours once the 3s are gone


@pytest.mark.parametrize("window", [1, 3, 5])
def test_the_dynamic_window_draws_every_reach_from_1_to_window(window):
    """Skip-gram makes one example per (centre, context) pair, so the examples
    of one long sentence count the reaches drawn: with reach b ~ U{1..window},
    a pair at distance d is an example with probability (window − d + 1) / window."""
    length, sentences = 2 * window + 2, 400
    ids = (list(np.arange(length) % V) + [-1]) * sentences
    _, _, (_, examples, _, _), _ = _run(ids, arch=kernels.SKIPGRAM, window=window, negative=1)

    def expected(reaches):
        """Mean and variance of the examples when the reach is uniform over ``reaches``."""
        chance = [np.mean([b >= d for b in reaches]) for d in range(1, length)]
        pairs = [2 * (length - d) for d in range(1, length)]  # ordered pairs at distance d
        return (sentences * sum(p * c for p, c in zip(pairs, chance)),
                sentences * sum(p * c * (1 - c) for p, c in zip(pairs, chance)))

    mean, variance = expected(range(1, window + 1))
    assert abs(examples - mean) <= 5 * np.sqrt(variance)  # window 1: always exactly the mean
    for wrong in (range(0, window), range(2, window + 1)):  # reach 0 allowed, or 1 never drawn
        if len(wrong):
            assert abs(expected(wrong)[0] - mean) > 10 * np.sqrt(variance)


def test_skip_gram_trains_each_context_word_towards_the_centre():
    """word2vec's direction: the context word's input row predicts the centre.
    With window 1 and the sentence [0, 1, 2], word 1 is the centre of two
    examples, so its output row takes two positive steps; words 0 and 2 one each."""
    ids = [0, 1, 2, -1]
    before, after, (_, examples, _, _), (tables, rng) = _run(ids, arch=kernels.SKIPGRAM, window=1, negative=0)
    assert examples == 4  # (1 <- 0), (0 <- 1), (2 <- 1), (1 <- 2)
    W_in, W_out, _, _ = _reference_chunk(np.array(ids), *before, tables, rng, kernels.SKIPGRAM, 1, 0, True, 0.05, 0.01)
    np.testing.assert_allclose(after[1], W_out, atol=2e-6)
    changed = np.flatnonzero(np.any(after[1] != before[1], axis=1))
    assert changed.tolist() == [0, 1, 2]  # with no noise words, only the centres' output rows move


def test_the_learning_rate_falls_along_the_chunk():
    """The same sentence at the start and at the end of a chunk: the step of the
    last sentence is taken with a rate near alpha_stop."""
    ids = [0, 1, -1] + [4, 5, -1] * 50 + [2, 3, -1]
    before, after, _, (tables, rng) = _run(ids, window=1, negative=0, alpha=(0.1, 0.001))
    first = np.abs(after[0][0] - before[0][0]).sum()
    last = np.abs(after[0][2] - before[0][2]).sum()
    assert last < first / 20  # about 0.1 / 0.003
    W_in, _, _, _ = _reference_chunk(np.array(ids), *before, tables, rng, kernels.CBOW, 1, 0, True, 0.1, 0.001)
    np.testing.assert_allclose(after[0], W_in, atol=2e-6)


@pytest.mark.parametrize("arch, threads", [("cbow", 1), ("cbow", 2), ("skipgram", 2)])
def test_subword_rows_go_a_window_at_a_time_on_any_number_of_threads(arch, threads):
    """Both architectures train subword rows a window at a time, however many
    threads share them (on two threads it was as accurate as example by
    example on the bench corpus: see the comment above
    ``kernels.train_sentence_by_window``)."""
    from wordvec.backend import CpuBackend

    rows = {"row_starts": np.array([0, 2, 3]), "row_ids": np.array([0, 2, 1]), "keep_prob": np.ones(2),
            "noise_prob": np.ones(2), "noise_alias": np.zeros(2)}
    backend = CpuBackend(np.zeros((3, D), np.float32), np.zeros((2, D), np.float32), rows, arch, "ns", 3, 2, True,
                         threads, 0)
    assert backend.settings.subwords == 1 and backend.settings.windowed == 1
