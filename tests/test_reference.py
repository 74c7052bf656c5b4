"""The float64 reference network: its gradients against finite differences, and
its probabilities summing to one."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wordvec import reference
from wordvec.vocab import huffman_tree

V, D = 7, 4
COUNTS = np.array([30, 20, 12, 9, 5, 3, 1])


def _weights(seed):
    rng = np.random.default_rng(seed)
    return rng.normal(0, 0.5, (V, D)), rng.normal(0, 0.5, (V, D))


def test_context_vector_counts_each_word_of_the_window():
    indices, counts = reference.context_vector([3, 1, 3, 6], V)
    assert indices.tolist() == [1, 3, 6]
    assert counts.tolist() == [1.0, 2.0, 1.0]
    with pytest.raises(ValueError):
        reference.context_vector([7], V)


def test_hidden_layer_is_the_mean_of_the_context_rows():
    W_in, _ = _weights(0)
    bag = reference.context_vector([3, 1, 3, 6], V)
    expected = (W_in[3] + W_in[1] + W_in[3] + W_in[6]) / 4
    np.testing.assert_allclose(reference.hidden_layer(W_in, bag), expected)
    np.testing.assert_allclose(reference.hidden_layer(W_in, bag, mean=False), expected * 4)


def _numeric_gradient(function, matrix, eps=1e-6):
    grad = np.zeros_like(matrix)
    for index in np.ndindex(*matrix.shape):
        saved = matrix[index]
        matrix[index] = saved + eps
        up = function()
        matrix[index] = saved - eps
        down = function()
        matrix[index] = saved
        grad[index] = (up - down) / (2 * eps)
    return grad


CASES = [  # (objective, context window, target, mean) -- skip-gram is a one-word bag
    (objective, window, target, mean)
    for objective in ("softmax", "hs", "ns")
    for window, target, mean in (([0, 2, 2, 5], 3, True), ([0, 2, 2, 5], 3, False), ([4], 1, True))
]


@pytest.mark.parametrize("objective,window,target,mean", CASES)
def test_backward_pass_matches_finite_differences(objective, window, target, mean):
    W_in, W_out = _weights(1)
    bag = reference.context_vector(window, V)
    tree = huffman_tree(COUNTS)
    negatives = [6, 2, 3, 6, 0]  # a repeat and the target itself are both handled

    def loss():
        return reference.loss_and_gradients(objective, W_in, W_out, bag, target, mean, negatives, tree)[0]

    _, grad_in, grad_out = reference.loss_and_gradients(objective, W_in, W_out, bag, target, mean, negatives, tree)
    np.testing.assert_allclose(grad_in, _numeric_gradient(loss, W_in), atol=1e-7, rtol=1e-5)
    np.testing.assert_allclose(grad_out, _numeric_gradient(loss, W_out), atol=1e-7, rtol=1e-5)


@settings(max_examples=50, deadline=None)
@given(st.lists(st.floats(-20, 20), min_size=D, max_size=D), st.integers(0, 2**31))
def test_softmax_and_hierarchical_softmax_probabilities_sum_to_one(h, seed):
    h = np.array(h)
    _, W_out = _weights(seed)
    assert reference.softmax_probabilities(W_out, h).sum() == pytest.approx(1.0, abs=1e-12)
    leaves = reference.hs_leaf_probabilities(W_out, h, *huffman_tree(COUNTS))
    assert leaves.sum() == pytest.approx(1.0, abs=1e-9)
    assert (leaves >= 0).all()


@pytest.mark.parametrize("objective", ["softmax", "hs", "ns"])
@pytest.mark.parametrize("mean", [True, False])
def test_position_weight_gradients_match_finite_differences(objective, mean):
    W_in, W_out = _weights(2)
    positions_D = np.random.default_rng(5).normal(1.0, 0.3, (6, D))  # window 3: offsets −3..−1, 1..3
    context, positions = [0, 2, 2, 5], [0, 2, 3, 5]  # a word twice, at two offsets
    tree, negatives = huffman_tree(COUNTS), [6, 2, 3, 6, 0]

    def loss():
        return reference.weighted_loss_and_gradients(objective, W_in, W_out, positions_D, context, positions, 3,
                                                     mean, negatives, tree)[0]

    _, grad_in, grad_out, grad_D = reference.weighted_loss_and_gradients(
        objective, W_in, W_out, positions_D, context, positions, 3, mean, negatives, tree)
    np.testing.assert_allclose(grad_in, _numeric_gradient(loss, W_in), atol=1e-7, rtol=1e-5)
    np.testing.assert_allclose(grad_out, _numeric_gradient(loss, W_out), atol=1e-7, rtol=1e-5)
    np.testing.assert_allclose(grad_D, _numeric_gradient(loss, positions_D), atol=1e-7, rtol=1e-5)
    assert np.all(grad_D[[1, 4]] == 0)  # offsets no word stood at


def test_unit_position_weights_are_plain_cbow():
    W_in, W_out = _weights(3)
    bag = reference.context_vector([0, 2, 2, 5], V)
    plain = reference.loss_and_gradients("ns", W_in, W_out, bag, 3, True, [6, 1])
    weighted = reference.weighted_loss_and_gradients("ns", W_in, W_out, np.ones((6, D)), [0, 2, 2, 5],
                                                     [0, 1, 3, 4], 3, True, [6, 1])
    assert weighted[0] == pytest.approx(plain[0])
    np.testing.assert_allclose(weighted[1], plain[1])
    np.testing.assert_allclose(weighted[2], plain[2])


def test_subword_bag_gradient_matches_finite_differences():
    """fastText's CBOW bag: every row of every context word, repeats counted
    (word 1's n-gram row 8 twice, and row 7 shared by words 0 and 1)."""
    rng = np.random.default_rng(5)
    W_in, W_out = rng.normal(0, 0.5, (10, D)), rng.normal(0, 0.5, (V, D))
    row_starts, row_ids = np.array([0, 3, 7, 8]), np.array([0, 7, 9, 1, 7, 8, 8, 2])
    bag = reference.subword_bag([0, 1, 1, 2], row_starts, row_ids, 10)
    assert bag[0].tolist() == [0, 1, 2, 7, 8, 9] and bag[1].tolist() == [1, 2, 1, 3, 4, 1]
    np.testing.assert_allclose(reference.hidden_layer(W_in, bag), W_in[[0, 7, 9, 1, 7, 8, 8, 1, 7, 8, 8, 2]].mean(0))
    tree = huffman_tree(COUNTS)
    for objective in ("softmax", "hs", "ns"):
        def loss():
            return reference.loss_and_gradients(objective, W_in, W_out, bag, 3, True, [1, 5], tree)[0]

        _, grad_in, grad_out = reference.loss_and_gradients(objective, W_in, W_out, bag, 3, True, [1, 5], tree)
        np.testing.assert_allclose(grad_in, _numeric_gradient(loss, W_in), rtol=1e-5, atol=1e-8)
        np.testing.assert_allclose(grad_out, _numeric_gradient(loss, W_out), rtol=1e-5, atol=1e-8)
