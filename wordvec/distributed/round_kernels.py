"""The numba kernels around a round: what a worker changed, the combining step,
and the 16-bit steps both travel in (:func:`put_steps`).

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


#: A changed row travels as int16 steps of one float32 scale per row (see :func:`put_steps`).
STEP_LEVELS = 32767


@njit(cache=True, nogil=True)
def put_steps(change, scales, steps, k):
    """Write the change ``Δ`` (one float32 row) as ``steps[k] · scales[k]``:
    ``scales[k] = max_j |Δ_j| / STEP_LEVELS`` and ``steps[k]`` (int16) are ``Δ / scales[k]``
    rounded to the nearest integer, so every element comes back within
    ``scales[k] / 2 = max_j |Δ_j| / 65534`` of its change (and float32's rounding, a
    few thousandths of a step): half the bytes of float32, for an error far below
    the noise of the SGD steps themselves.  A change that is not finite (a run
    that diverged) gives the scale NaN, so the whole row comes back NaN."""
    largest = np.float32(0.0)
    for value in change:
        size = abs(value)
        if size > largest or size != size:  # a NaN, once met, stays: nothing compares with it
            largest = size
    if not np.isfinite(largest):
        scales[k] = np.nan
        steps[k, :] = 0
    elif largest > 0:
        scales[k] = largest / np.float32(STEP_LEVELS)
        inverse = np.float32(STEP_LEVELS) / largest
        for j in range(change.shape[0]):
            steps[k, j] = np.int16(np.floor(change[j] * inverse + np.float32(0.5)))
    else:
        scales[k] = 0.0
        steps[k, :] = 0


@njit(cache=True, nogil=True)
def _step_arrays(count, dim):
    """Room for ``count`` rows in 16-bit steps (rows, scales, steps) and one float32 row to fill them from."""
    return (np.empty(count, dtype=np.int64), np.empty(count, dtype=np.float32),
            np.empty((count, dim), dtype=np.int16), np.empty(dim, dtype=np.float32))


@njit(cache=True, nogil=True)
def changed_rows(after, before):
    """``(rows, scales, steps)`` for the rows where ``after`` and ``before`` differ in
    any element: row ``rows[k]`` changed by ``after − before ≈ steps[k] · scales[k]``
    (:func:`put_steps`)."""
    n, dim = after.shape
    changed = np.zeros(n, dtype=np.bool_)
    count = 0
    for row in range(n):
        for j in range(dim):
            if after[row, j] != before[row, j]:
                changed[row] = True
                count += 1
                break
    rows, scales, steps, change = _step_arrays(count, dim)
    k = 0
    for row in range(n):
        if changed[row]:
            rows[k] = row
            for j in range(dim):
                change[j] = after[row, j] - before[row, j]
            put_steps(change, scales, steps, k)
            k += 1
    return rows, scales, steps


@njit(cache=True, nogil=True)
def add_changes(total, squares, touched, rows, scales, steps):
    """Add one worker's changes (``Δ = steps[k] · scales[k]``, see :func:`put_steps`):
    ``total[r] += Δ``, ``squares[r] += |Δ|²`` (float64) and ``touched[r] += 1`` for
    every changed row ``r``."""
    dim = total.shape[1]
    for k in range(rows.shape[0]):
        row = rows[k]
        scale = scales[k]
        square = 0.0
        for j in range(dim):
            value = np.float32(steps[k, j]) * scale
            total[row, j] += value
            square += np.float64(value) * value
        squares[row] += square
        touched[row] += 1


@njit(cache=True, nogil=True)
def apply_steps(weights, rows, scales, steps):
    """``weights[rows[k]] += steps[k] · scales[k]``: the driver moves its weights with
    this and every worker moves its copy with it, so all hold the same bits."""
    dim = weights.shape[1]
    for k in range(rows.shape[0]):
        row = rows[k]
        scale = scales[k]
        for j in range(dim):
            weights[row, j] += np.float32(steps[k, j]) * scale


@njit(cache=True, nogil=True)
def combine_rows(total, squares, touched, rule, power, summed_from, summed_to, momentum, eta, use_momentum):
    """The move of every row: its combined change ``G = S · scale``, where
    ``S = total[r]`` and ``scale = min(1, squares[r] / |S|²) ** power`` (COHERENT; 1,
    the sum, for the rows ``summed_from ≤ r < summed_to``) or ``touched[r] ** −power`` (BY_COUNT);
    ``G = 0`` where no worker changed the row.
    With ``use_momentum``: ``M ← η M + G`` (exactly, in float32) and the row moves by
    ``M`` (every row).  Returns the moves in 16-bit steps, ``(rows, scales, steps)``
    of the rows that move (:func:`put_steps`), for the driver and every worker to
    apply alike (:func:`apply_steps`); leaves ``total``, ``squares`` and ``touched``
    at zero, ready for the next round."""
    n, dim = total.shape
    eta32 = np.float32(eta)
    rows, scales, steps, move = _step_arrays(n, dim)
    k = 0
    for row in range(n):
        if touched[row] == 0 and not use_momentum:
            continue
        scale = np.float32(0.0)
        if touched[row] > 0:
            if rule == COHERENT and summed_from <= row < summed_to:
                scale = np.float32(1.0)
            elif rule == COHERENT:
                norm = 0.0
                for j in range(dim):
                    norm += np.float64(total[row, j]) * total[row, j]
                scale = np.float32(min(1.0, squares[row] / max(norm, _TINY)) ** power)
            else:
                scale = np.float32(np.float64(touched[row]) ** -power)
        moving = False
        for j in range(dim):
            move[j] = total[row, j] * scale
            if use_momentum:
                momentum[row, j] = eta32 * momentum[row, j] + move[j]
                move[j] = momentum[row, j]
            moving = moving or move[j] != 0
        if moving:
            rows[k] = row
            put_steps(move, scales, steps, k)
            k += 1
        if touched[row] > 0:
            for j in range(dim):
                total[row, j] = 0.0
            squares[row] = 0.0
            touched[row] = 0
    return rows[:k], scales[:k], steps[:k]
