"""The network in plain float64 numpy: the definition the fast kernels must match.

This is the seed's view made explicit.  A context is a bag-of-words vector
``x`` (sparse, |V| wide); the hidden layer is ``h = W_inᵀ x / |C|``; the output
layer scores ``s = W_out h``; the loss is ``−log p(w | C)`` under the full
softmax, hierarchical softmax or negative sampling.  Gradients are derived by
hand here and checked against finite differences in the tests.  Slow, exact,
and used only by tests and by people reading the maths.
"""
from __future__ import annotations

import numpy as np


def context_vector(window_ids, vocab_size: int) -> tuple[np.ndarray, np.ndarray]:
    """The bag-of-words vector ``x`` of a window of word ids, in sparse form:
    ``(indices, counts)`` with ``x[indices] = counts`` and 0 elsewhere."""
    indices, counts = np.unique(np.asarray(window_ids, dtype=np.int64), return_counts=True)
    if len(indices) and (indices[0] < 0 or indices[-1] >= vocab_size):
        raise ValueError("word id outside the vocabulary")
    return indices, counts.astype(np.float64)


def subword_bag(words, row_starts, row_ids, n_rows: int) -> tuple[np.ndarray, np.ndarray]:
    """With subwords, the bag ``x`` of a window is over rows, not words: every row
    of every word (its own and its n-grams', ``row_ids[row_starts[c]:row_starts[c + 1]]``),
    counted as often as it occurs.  :func:`hidden_layer` of it is fastText's mean of
    those rows, and :func:`loss_and_gradients` gives ``∂L/∂W_in[r] = (x_r/|R|) ∂L/∂h``."""
    rows = [row_ids[k] for c in words for k in range(row_starts[c], row_starts[c + 1])]
    return context_vector(rows, n_rows)


def hidden_layer(W_in: np.ndarray, bag, mean: bool = True) -> np.ndarray:
    """``h = W_inᵀ x / |C|`` (``|C| = Σ x``; no division when ``mean`` is false)."""
    indices, counts = bag
    h = counts @ np.asarray(W_in, dtype=np.float64)[indices]
    return h / counts.sum() if mean else h


def softmax_probabilities(W_out: np.ndarray, h: np.ndarray) -> np.ndarray:
    """``p = softmax(W_out h)`` over the whole vocabulary."""
    scores = np.asarray(W_out, dtype=np.float64) @ h
    e = np.exp(scores - scores.max())
    return e / e.sum()


def hs_leaf_probabilities(W_out, h, points, codes, lengths) -> np.ndarray:
    """``p(w) = Π_j σ((1 − 2 b_j) W_out[n_j]·h)`` for every leaf ``w`` of the tree."""
    W_out = np.asarray(W_out, dtype=np.float64)
    probabilities = np.ones(len(lengths))
    for word, length in enumerate(lengths):
        scores = W_out[points[word, :length]] @ h
        signs = 1.0 - 2.0 * codes[word, :length]
        probabilities[word] = np.prod(_sigmoid(signs * scores))
    return probabilities


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def output_scores_and_gradient(objective: str, W_out, h, target: int, negatives=(), tree=None):
    """Loss ``L`` and ``∂L/∂s`` for the output rows that the objective touches.

    Returns ``(loss, rows, dscores)``: ``∂L/∂W_out[rows[k]] += dscores[k] · h``
    and ``∂L/∂h = Σ_k dscores[k] · W_out[rows[k]]``.
    """
    W_out = np.asarray(W_out, dtype=np.float64)
    if objective == "softmax":
        p = softmax_probabilities(W_out, h)
        dscores = p.copy()
        dscores[target] -= 1.0  # ∂L/∂s = p − e_w
        return -np.log(p[target]), np.arange(len(W_out)), dscores
    if objective == "ns":
        rows = np.array([target, *[n for n in negatives if n != target]], dtype=np.int64)
        labels = np.zeros(len(rows))
        labels[0] = 1.0
        scores = W_out[rows] @ h
        signs = 2.0 * labels - 1.0
        loss = -np.sum(np.log(_sigmoid(signs * scores)))  # −log σ(s_0) − Σ log σ(−s_k)
        return loss, rows, _sigmoid(scores) - labels
    if objective == "hs":
        points, codes, lengths = tree
        rows = points[target, : lengths[target]].astype(np.int64)
        labels = 1.0 - codes[target, : lengths[target]]
        scores = W_out[rows] @ h
        loss = -np.sum(np.log(_sigmoid((2.0 * labels - 1.0) * scores)))
        return loss, rows, _sigmoid(scores) - labels
    raise ValueError(objective)


def loss_and_gradients(objective: str, W_in, W_out, bag, target: int, mean: bool = True,
                       negatives=(), tree=None):
    """``(L, ∂L/∂W_in, ∂L/∂W_out)`` for one example, all float64 and full size.

    Backward pass: ``∂L/∂W_out[r] = ∂L/∂s_r · h``; ``∂L/∂h = W_outᵀ ∂L/∂s``;
    ``∂L/∂W_in = x (∂L/∂h)ᵀ / |C|`` (no division when ``mean`` is false).
    """
    W_out = np.asarray(W_out, dtype=np.float64)
    h = hidden_layer(W_in, bag, mean)
    loss, rows, dscores = output_scores_and_gradient(objective, W_out, h, target, negatives, tree)
    grad_out = np.zeros_like(W_out)
    np.add.at(grad_out, rows, np.outer(dscores, h))
    grad_h = dscores @ W_out[rows]
    indices, counts = bag
    grad_in = np.zeros(np.shape(W_in), dtype=np.float64)
    grad_in[indices] = np.outer(counts / (counts.sum() if mean else 1.0), grad_h)
    return loss, grad_in, grad_out


def weighted_hidden_layer(W_in, D, context, positions, mean: bool = True) -> np.ndarray:
    """CBOW with position weights: ``h = (1/|C|) Σ_j D[p_j] ⊙ W_in[c_j]``."""
    rows = np.asarray(W_in, dtype=np.float64)[list(context)] * np.asarray(D, dtype=np.float64)[list(positions)]
    return rows.sum(axis=0) / (len(context) if mean else 1.0)


def weighted_loss_and_gradients(objective: str, W_in, W_out, D, context, positions, target: int,
                                mean: bool = True, negatives=(), tree=None):
    """``(L, ∂L/∂W_in, ∂L/∂W_out, ∂L/∂D)`` for one example of CBOW with position weights.

    Backward pass: as :func:`loss_and_gradients` up to ``∂L/∂h``; then, with
    ``a = 1/|C|`` (1 when ``mean`` is false), ``∂L/∂W_in[c_j] += a · D[p_j] ⊙ ∂L/∂h``
    and ``∂L/∂D[p_j] += a · W_in[c_j] ⊙ ∂L/∂h``.
    """
    W_in, W_out, D = (np.asarray(m, dtype=np.float64) for m in (W_in, W_out, D))
    h = weighted_hidden_layer(W_in, D, context, positions, mean)
    loss, rows, dscores = output_scores_and_gradient(objective, W_out, h, target, negatives, tree)
    grad_out = np.zeros_like(W_out)
    np.add.at(grad_out, rows, np.outer(dscores, h))
    grad_h = dscores @ W_out[rows] / (len(context) if mean else 1.0)
    grad_in, grad_D = np.zeros_like(W_in), np.zeros_like(D)
    for word, position in zip(context, positions):
        grad_in[word] += D[position] * grad_h
        grad_D[position] += W_in[word] * grad_h
    return loss, grad_in, grad_out, grad_D
