"""The numba kernels around a round: what a worker changed, and the combining step.

Both pass over the weights once, row by row, without the full-size temporaries
of the numpy expressions they replace (a boolean matrix to find the changed
rows, gathered copies of both sides to subtract; a zeroed sum, a momentum
update and an addition).  With two workers on the bench corpus (78,011 x 100
weights, rounds of 4 M words) finding the changes took 0.08 – 0.24 s a round
on a worker in numpy and takes 0.03 s here, and combining 0.09 – 0.12 s on the
driver in numpy and 0.035 s here.
"""
import numpy as np
from numba import njit

#: ``combine_rows``'s rules: the summed change S of a row scaled by
#: ``min(1, Q / |S|²) ** power`` (COHERENT) or by ``k ** -power`` (BY_COUNT).
COHERENT, BY_COUNT = 0, 1
_TINY = np.finfo(np.float64).tiny


@njit(cache=True, nogil=True)
def changed_rows(after, before):
    """``(rows, after[rows] − before[rows])`` for the rows where ``after`` and
    ``before`` differ in any element (a NaN counts as a change)."""
    n, dim = after.shape
    changed = np.zeros(n, dtype=np.bool_)
    count = 0
    for row in range(n):
        for j in range(dim):
            if after[row, j] != before[row, j]:
                changed[row] = True
                count += 1
                break
    rows = np.empty(count, dtype=np.int64)
    deltas = np.empty((count, dim), dtype=np.float32)
    k = 0
    for row in range(n):
        if changed[row]:
            rows[k] = row
            for j in range(dim):
                deltas[k, j] = after[row, j] - before[row, j]
            k += 1
    return rows, deltas


@njit(cache=True, nogil=True)
def add_changes(total, squares, touched, rows, deltas):
    """Add one worker's changes: ``total[r] += Δ``, ``squares[r] += |Δ|²`` (float64)
    and ``touched[r] += 1`` for every changed row ``r``."""
    dim = total.shape[1]
    for k in range(rows.shape[0]):
        row = rows[k]
        square = 0.0
        for j in range(dim):
            value = deltas[k, j]
            total[row, j] += value
            square += np.float64(value) * value
        squares[row] += square
        touched[row] += 1


@njit(cache=True, nogil=True)
def combine_rows(weights, total, squares, touched, rule, power, summed_from, momentum, eta, use_momentum):
    """Move every row of ``weights`` by its combined change ``G = S · scale``, where
    ``S = total[r]`` and ``scale = min(1, squares[r] / |S|²) ** power`` (COHERENT; 1,
    the sum, for rows from ``summed_from`` on) or ``touched[r] ** −power`` (BY_COUNT);
    ``G = 0`` where no worker changed the row.
    With ``use_momentum``: ``M ← η M + G`` and the row moves by ``M`` (every row).
    Leaves ``total``, ``squares`` and ``touched`` at zero, ready for the next round."""
    dim = weights.shape[1]
    eta32 = np.float32(eta)
    for row in range(weights.shape[0]):
        scale = np.float32(0.0)
        if touched[row] > 0:
            if rule == COHERENT and row >= summed_from:
                scale = np.float32(1.0)
            elif rule == COHERENT:
                norm = 0.0
                for j in range(dim):
                    norm += np.float64(total[row, j]) * total[row, j]
                scale = np.float32(min(1.0, squares[row] / max(norm, _TINY)) ** power)
            else:
                scale = np.float32(np.float64(touched[row]) ** -power)
        if use_momentum:
            for j in range(dim):
                momentum[row, j] = eta32 * momentum[row, j] + total[row, j] * scale
                weights[row, j] += momentum[row, j]
        elif touched[row] > 0:
            for j in range(dim):
                weights[row, j] += total[row, j] * scale
        if touched[row] > 0:
            for j in range(dim):
                total[row, j] = 0.0
            squares[row] = 0.0
            touched[row] = 0
