"""The numba kernels against the float64 reference: same hidden vector, same
loss, and an SGD step equal to −lr times the reference gradient."""
import numpy as np
import pytest

from wordvec import kernels, reference
from wordvec.backend import SoftmaxBatches, kernel_tables, make_scratch
from wordvec.vocab import Vocabulary, alias_table, huffman_tree

V, D, WINDOW = 9, 6, 3
COUNTS = np.array([50, 40, 22, 15, 9, 7, 4, 2, 1])
LR = 0.05  # each row is touched once per step, so the step is exactly −LR·gradient


def _setup(objective, arch=kernels.CBOW, mean=True, seed=0):
    rng = np.random.default_rng(seed)
    W_in = rng.normal(0, 0.3, (V, D)).astype(np.float32)
    W_out = rng.normal(0, 0.3, (V, D)).astype(np.float32)
    noise = COUNTS ** 0.75 / (COUNTS ** 0.75).sum()
    tables = {"keep_prob": np.ones(V, np.float32)}
    tables["noise_prob"], tables["noise_alias"] = alias_table(noise)
    tables["hs_points"], tables["hs_codes"], tables["hs_lengths"] = huffman_tree(COUNTS)
    settings = kernels.Settings(arch, objective, WINDOW, 4, int(mean), -1, 0, 0, 0)
    scratch = make_scratch(np.random.SeedSequence(seed), D, WINDOW, tables["hs_points"].shape[1], queue=8)
    return W_in, W_out, kernel_tables(tables), settings, scratch


def _replay_negatives(tables, settings, scratch):
    """The noise words the kernel will draw, from a copy of its random state."""
    rng = scratch.rng.copy()
    return [kernels.draw_noise(rng, tables.noise_prob, tables.noise_alias) for _ in range(settings.negative)]


OBJECTIVES = {"ns": kernels.NEGATIVE_SAMPLING, "hs": kernels.HIERARCHICAL_SOFTMAX}


@pytest.mark.parametrize("name", ["ns", "hs"])
@pytest.mark.parametrize("window,mean", [([0, 2, 2, 5], True), ([0, 2, 2, 5], False), ([4], True)])
def test_one_example_matches_the_reference(name, window, mean):
    target = 3
    W_in, W_out, tables, settings, scratch = _setup(OBJECTIVES[name], mean=mean, seed=6)
    negatives = _replay_negatives(tables, settings, scratch) if name == "ns" else []
    # The draws include the target itself (skipped); repeated draws are covered in test_train_chunk.
    assert name == "hs" or negatives == [0, 3, 2, 1]
    bag = reference.context_vector(window, V)
    tree = (tables.hs_points, tables.hs_codes, tables.hs_lengths)
    loss, grad_in, grad_out = reference.loss_and_gradients(name, W_in, W_out, bag, target, mean, negatives, tree)

    before_in, before_out = W_in.copy(), W_out.copy()
    inputs = np.array(window, dtype=np.int32)
    kernel_loss = kernels.train_example(W_in, W_out, inputs, 0, len(inputs), target, np.float32(LR), settings,
                                        scratch.hidden, scratch.grad_hidden, scratch.rng, scratch.noise,
                                        scratch.scores, tables.noise_prob, tables.noise_alias, *tables[3:6],
                                        scratch.positions, np.ones((1, 1), np.float32), np.ones((1, 1), np.float32),
                                        scratch.context_mean, *tables[6:], *scratch[-2:])

    np.testing.assert_allclose(scratch.hidden, reference.hidden_layer(before_in, bag, mean), rtol=1e-5, atol=1e-7)
    assert kernel_loss == pytest.approx(loss, rel=1e-5)
    np.testing.assert_allclose((W_out - before_out) / -LR, grad_out, rtol=1e-4, atol=2e-6)
    input_scale = len(window) if mean else 1.0  # word2vec's step for the input rows, see kernels' docstring
    np.testing.assert_allclose((W_in - before_in) / -LR, input_scale * grad_in, rtol=1e-4, atol=2e-6)


def _train_one(W_in, W_out, tables, settings, scratch, window, positions, D_weights, target=3):
    """One example; ``D_weights`` takes its step after it, as a thread's sum of steps does."""
    inputs = np.array(window, dtype=np.int32)
    scratch.positions[: len(positions)] = positions
    D_steps = np.zeros_like(D_weights)
    loss = kernels.train_example(W_in, W_out, inputs, 0, len(inputs), target, np.float32(LR), settings,
                                 scratch.hidden, scratch.grad_hidden, scratch.rng, scratch.noise, scratch.scores,
                                 tables.noise_prob, tables.noise_alias, *tables[3:6], scratch.positions, D_weights,
                                 D_steps, scratch.context_mean, *tables[6:], *scratch[-2:])
    kernels.flush_position_steps(D_weights, D_steps)
    return loss


@pytest.mark.parametrize("name", ["ns", "hs"])
@pytest.mark.parametrize("mean", [True, False])
def test_position_weights_step_matches_the_reference(name, mean):
    window, positions, target = [0, 2, 2, 5], [0, 2, 3, 5], 3
    W_in, W_out, tables, settings, scratch = _setup(OBJECTIVES[name], mean=mean, seed=6)
    settings = settings._replace(position_weights=1)
    D_weights = np.random.default_rng(2).uniform(0.5, 1.5, (2 * WINDOW, D)).astype(np.float32)
    negatives = _replay_negatives(tables, settings, scratch) if name == "ns" else []
    tree = (tables.hs_points, tables.hs_codes, tables.hs_lengths)
    loss, grad_in, grad_out, grad_D = reference.weighted_loss_and_gradients(
        name, W_in, W_out, D_weights, window, positions, target, mean, negatives, tree)
    before_in, before_out, before_D = W_in.copy(), W_out.copy(), D_weights.copy()
    kernel_loss = _train_one(W_in, W_out, tables, settings, scratch, window, positions, D_weights, target)
    np.testing.assert_allclose(scratch.hidden, reference.weighted_hidden_layer(before_in, before_D, window,
                                                                               positions, mean), rtol=1e-5)
    assert kernel_loss == pytest.approx(loss, rel=1e-5)
    scale = len(window) if mean else 1.0  # word2vec's per-layer rate, see kernels' docstring
    np.testing.assert_allclose((W_out - before_out) / -LR, grad_out, rtol=1e-4, atol=2e-6)
    np.testing.assert_allclose((W_in - before_in) / -LR, scale * grad_in, rtol=1e-4, atol=2e-6)
    np.testing.assert_allclose((D_weights - before_D) / -LR, _within_example(grad_D, positions), rtol=1e-4,
                               atol=2e-6)


def _within_example(grad_D, positions):
    """``D``'s step for one example: its gradient less the gradient's mean over the
    example's own positions (the other rows of ``D`` do not move)."""
    step = np.zeros_like(grad_D)
    step[positions] = grad_D[positions] - grad_D[positions].mean(axis=0)
    return step


@pytest.mark.parametrize("name", ["ns", "hs"])
def test_unit_position_weights_take_plain_cbows_step_exactly(name):
    plain = _setup(OBJECTIVES[name], seed=4)
    weighted = _setup(OBJECTIVES[name], seed=4)
    weighted = (*weighted[:3], weighted[3]._replace(position_weights=1), weighted[4])
    loss_plain = _train_one(*plain, [0, 2, 2, 5], [0, 1, 3, 4], np.ones((1, 1), np.float32))
    loss_weighted = _train_one(*weighted, [0, 2, 2, 5], [0, 1, 3, 4], np.ones((2 * WINDOW, D), np.float32))
    assert loss_plain == loss_weighted
    np.testing.assert_array_equal(plain[0], weighted[0])
    np.testing.assert_array_equal(plain[1], weighted[1])


def _softmax_batch(W_in, W_out, tables, settings, scratch, examples, parts, D_weights=None):
    """Queue ``examples`` ((inputs, positions, target) each) and train them as one
    batch, the vocabulary split in ``parts`` blocks; returns the loss."""
    queued = 0
    for inputs, positions, target in examples:
        queued = kernels.queue_example(scratch.queue_inputs, scratch.queue_positions, scratch.queue_counts,
                                       scratch.queue_targets, scratch.queue_rates, queued,
                                       np.array(inputs, np.int32), np.array(positions, np.int32), 0, len(inputs),
                                       target, np.float32(LR))
    scratch.queued[0] = queued
    weighted = D_weights is not None
    return SoftmaxBatches(D, V, parts, 8).train(W_in, W_out, scratch, tables,
                                                settings._replace(position_weights=int(weighted)),
                                                D_weights if weighted else np.ones((1, 1), np.float32))


@pytest.mark.parametrize("parts", [1, 3])
def test_softmax_batch_with_position_weights_matches_the_reference(parts):
    window, positions, target = [0, 2, 5], [1, 2, 4], 7
    W_in, W_out, tables, settings, scratch = _setup(kernels.FULL_SOFTMAX)
    D_weights = np.random.default_rng(3).uniform(0.5, 1.5, (2 * WINDOW, D)).astype(np.float32)
    loss, grad_in, grad_out, grad_D = reference.weighted_loss_and_gradients(
        "softmax", W_in, W_out, D_weights, window, positions, target)
    before_in, before_out, before_D = W_in.copy(), W_out.copy(), D_weights.copy()
    kernel_loss = _softmax_batch(W_in, W_out, tables, settings, scratch, [(window, positions, target)], parts,
                                 D_weights=D_weights)
    assert kernel_loss == pytest.approx(loss, rel=1e-5)
    np.testing.assert_allclose((W_out - before_out) / -LR, grad_out, rtol=1e-4, atol=2e-6)
    np.testing.assert_allclose((W_in - before_in) / -LR, 3 * grad_in, rtol=1e-4, atol=2e-6)
    np.testing.assert_allclose((D_weights - before_D) / -LR, _within_example(grad_D, positions), rtol=1e-4,
                               atol=2e-6)


@pytest.mark.parametrize("parts", [1, 2, 3])
@pytest.mark.parametrize("window,mean", [([0, 2, 2, 5], True), ([4], False)])
def test_softmax_batch_matches_the_reference(window, mean, parts):
    """One batch of two examples; with ``parts`` blocks of the vocabulary the
    targets 3 and 7 fall in different blocks, and the step is the same."""
    W_in, W_out, tables, settings, scratch = _setup(kernels.FULL_SOFTMAX, mean=mean)
    targets = [3, 7]
    before_in, before_out = W_in.copy(), W_out.copy()
    bag = reference.context_vector(window, V)
    expected_loss, expected_in, expected_out = 0.0, 0.0, 0.0
    for target in targets:
        loss, grad_in, grad_out = reference.loss_and_gradients("softmax", before_in, before_out, bag, target, mean)
        expected_loss, expected_in, expected_out = expected_loss + loss, expected_in + grad_in, expected_out + grad_out
    examples = [(window, list(range(len(window))), target) for target in targets]
    loss = _softmax_batch(W_in, W_out, tables, settings, scratch, examples, parts)
    assert loss == pytest.approx(expected_loss, rel=1e-5)
    np.testing.assert_allclose((W_out - before_out) / -LR, expected_out, rtol=1e-4, atol=2e-6)
    input_scale = len(window) if mean else 1.0
    np.testing.assert_allclose((W_in - before_in) / -LR, input_scale * expected_in, rtol=1e-4, atol=2e-6)


def test_hierarchical_softmax_skips_only_nodes_already_right_and_saturated():
    W_in, W_out, tables, settings, scratch = _setup(kernels.HIERARCHICAL_SOFTMAX)
    target = 8  # the rarest word: the longest path
    path = tables.hs_points[target, : tables.hs_lengths[target]]
    signs = 1.0 - 2.0 * tables.hs_codes[target, : len(path)]  # +1 where the label is 1
    hidden = np.full(D, 1.0 / D, np.float32)
    W_out[path] = 0.0
    W_out[path[0]] = 7.0 * signs[0]  # s = +7 on the right side: skipped
    W_out[path[1]] = -7.0 * signs[1]  # s = 7 on the wrong side: learns
    before = W_out.copy()
    grad_hidden = np.zeros(D, np.float32)
    loss = kernels.hierarchical_softmax_layer(hidden, target, W_out, tables.hs_points, tables.hs_codes,
                                              tables.hs_lengths, np.float32(LR), grad_hidden, scratch.scores,
                                              0, 0, 0)
    np.testing.assert_array_equal(W_out[path[0]], before[path[0]])
    assert np.all(W_out[path[1:]] != before[path[1:]])
    right, wrong = np.logaddexp(0, -7.0), np.logaddexp(0, 7.0)  # −log σ(7), −log σ(−7)
    assert loss == pytest.approx(right + wrong + (len(path) - 2) * np.log(2), rel=1e-5)


def test_log_sigmoid_is_accurate_everywhere():
    for x in np.concatenate([np.linspace(-30, 30, 2001), [-1e4, 1e4, 0.0]]).astype(np.float32):
        sigmoid, log = kernels.log_sigmoid(x)
        assert sigmoid == pytest.approx(np.exp(-np.logaddexp(0, -np.float64(x))), abs=1e-6)
        assert log == pytest.approx(-np.logaddexp(0, -np.float64(x)), abs=2e-6, rel=1e-6)


def test_noise_sampler_frequencies_match_count_to_the_three_quarters():
    vocab = Vocabulary([f"w{i}" for i in range(len(COUNTS))], COUNTS)
    expected = vocab.noise_distribution()
    keep, alias = alias_table(expected)
    rng = np.random.SeedSequence(3).generate_state(1, np.uint64)
    draws = 200_000
    samples = [kernels.draw_noise(rng, keep, alias) for _ in range(draws)]
    observed = np.bincount(samples, minlength=len(COUNTS)) / draws
    # Tolerance: 5 binomial standard deviations per word.
    np.testing.assert_array_less(np.abs(observed - expected), 5 * np.sqrt(expected * (1 - expected) / draws))


def test_subsampler_keeps_each_word_with_its_probability():
    vocab = Vocabulary([f"w{i}" for i in range(len(COUNTS))], COUNTS * 1000)
    keep = vocab.keep_probabilities(1e-2)
    assert keep.min() < 0.5 and keep.max() == 1.0  # the test covers both cases
    rng = np.random.SeedSequence(4).generate_state(1, np.uint64)
    ids = np.tile(np.arange(V, dtype=np.int32), 1000)  # 9,000 words, one sentence
    sentence = np.zeros(10_000, dtype=np.int32)
    kept = np.zeros(V)
    rounds = 40
    for _ in range(rounds):
        _, length, read = kernels._read_sentence(ids, 0, len(ids), keep, rng, sentence, -1)
        assert read == len(ids)
        kept += np.bincount(sentence[:length], minlength=V)
    observed = kept / (rounds * 1000)
    trials = rounds * 1000
    # Tolerance: 5 binomial standard deviations per word.
    np.testing.assert_array_less(np.abs(observed - keep), 5 * np.sqrt(keep * (1 - keep) / trials) + 1e-9)


# Subwords: words 0..8 have their own rows 0..8 and n-gram rows 9..13 (word 2 has
# n-gram 10 twice, words 0, 2 and 5 share n-gram 11; word 4 has none).
SUBWORD_ROWS = [[0, 9, 11], [1, 12], [2, 10, 10, 11], [3, 13], [4], [5, 11, 12, 13], [6, 9], [7, 10], [8, 13]]
ROW_STARTS = np.concatenate([[0], np.cumsum([len(r) for r in SUBWORD_ROWS])]).astype(np.int64)
ROW_IDS = np.concatenate(SUBWORD_ROWS).astype(np.int32)
N_ROWS = 14


def _subword_setup(objective, arch, seed=6):
    W_in, W_out, tables, settings, scratch = _setup(objective, arch=arch, mean=True, seed=seed)
    W_in = np.random.default_rng(seed + 1).normal(0, 0.3, (N_ROWS, D)).astype(np.float32)
    tables = tables._replace(row_starts=ROW_STARTS, row_ids=ROW_IDS)
    return W_in, W_out, tables, settings._replace(subwords=1), scratch


@pytest.mark.parametrize("name", ["ns", "hs", "softmax"])
@pytest.mark.parametrize("arch,words", [(kernels.CBOW, [0, 2, 2, 5]), (kernels.SKIPGRAM, [2]),
                                        (kernels.SKIPGRAM, [4])])
def test_subword_example_matches_the_reference(name, arch, words):
    """The hidden layer is the mean of every row of every input word (repeats
    counted); each occurrence of a row takes the step −lr ∂L/∂h, which is
    −lr |R| ∂L/∂W_in[r] / (its count) (the reference's gradient, checked by
    finite differences in test_reference)."""
    target = 3
    objective = {"ns": kernels.NEGATIVE_SAMPLING, "hs": kernels.HIERARCHICAL_SOFTMAX,
                 "softmax": kernels.FULL_SOFTMAX}[name]
    W_in, W_out, tables, settings, scratch = _subword_setup(objective, arch)
    negatives = _replay_negatives(tables, settings, scratch) if name == "ns" else []
    bag = reference.subword_bag(words, ROW_STARTS, ROW_IDS, N_ROWS)
    tree = (tables.hs_points, tables.hs_codes, tables.hs_lengths)
    loss, grad_in, grad_out = reference.loss_and_gradients(name, W_in, W_out, bag, target, True, negatives, tree)
    before_in, before_out = W_in.copy(), W_out.copy()
    if name == "softmax":
        kernel_loss = _softmax_batch(W_in, W_out, tables, settings, scratch, [(words, [0] * len(words), target)], 2)
    else:
        inputs = np.array(words, dtype=np.int32)
        kernel_loss = kernels.train_example(W_in, W_out, inputs, 0, len(inputs), target, np.float32(LR), settings,
                                            scratch.hidden, scratch.grad_hidden, scratch.rng, scratch.noise,
                                            scratch.scores, tables.noise_prob, tables.noise_alias, *tables[3:6],
                                            scratch.positions, np.ones((1, 1), np.float32),
                                            np.ones((1, 1), np.float32), scratch.context_mean, *tables[6:],
                                            *scratch[-2:])
        np.testing.assert_allclose(scratch.hidden, reference.hidden_layer(before_in, bag), rtol=1e-5, atol=1e-7)
    assert kernel_loss == pytest.approx(loss, rel=1e-5)
    np.testing.assert_allclose((W_out - before_out) / -LR, grad_out, rtol=1e-4, atol=2e-6)
    n_rows = bag[1].sum()
    np.testing.assert_allclose((W_in - before_in) / -LR, n_rows * grad_in, rtol=1e-4, atol=2e-6)
    untouched = np.setdiff1d(np.arange(N_ROWS), bag[0])
    np.testing.assert_array_equal(W_in[untouched], before_in[untouched])
