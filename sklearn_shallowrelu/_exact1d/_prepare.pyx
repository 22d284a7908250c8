# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""The ``O(n)`` passes that prepare a 1-D problem, compiled: pooling tied inputs
(:func:`.network.pool_ties`) and the kernel's diagonal from the gaps' moments
(:func:`.moments.kernel_diagonal`).

Each is a few dozen numpy calls when written with arrays, and at 100 samples
the calls themselves, a microsecond or two each, cost more than a whole
criterion evaluation of the search: one loop each here.  The tests check both
against their plain numpy formulas.
"""

import numpy as np


def pool(const double[::1] x, const double[:, :] Y, const double[::1] w, const Py_ssize_t[::1] order):
    """Pool the samples taken in ``order`` (ascending ``x``): the distinct
    inputs of positive weight, their weighted mean targets and summed weights,
    and the pooled index of every sample.

    Returns ``(xs (m,), Ym (m, k), weights (m,), group (n,))``.  A sample of
    zero weight gets the index of the first distinct input at or above its own
    (the last one beyond them), as ``searchsorted`` would give.
    """
    cdef Py_ssize_t n = x.shape[0], k = Y.shape[1], m = 0, i, j, s, r
    cdef double prev = 0.0, wi
    if Y.shape[0] != n or w.shape[0] != n or order.shape[0] != n:
        raise ValueError(f"pool: x has {n} samples, Y {Y.shape[0]}, w {w.shape[0]}, order {order.shape[0]}.")
    for i in range(n):
        if order[i] < 0 or order[i] >= n:
            raise ValueError("pool: order is not a permutation of the samples.")
    xs_a, Ym_a, w_a = np.empty(n), np.zeros((n, k)), np.zeros(n)
    group_a = np.empty(n, dtype=np.intp)
    cdef double[::1] xs = xs_a, weights = w_a
    cdef double[:, ::1] Ym = Ym_a
    cdef Py_ssize_t[::1] group = group_a
    with nogil:
        for i in range(n):  # sums over each run of equal inputs
            s = order[i]
            wi = w[s]
            if not wi > 0:
                continue
            if m == 0 or x[s] != prev:
                prev = x[s]
                xs[m] = prev
                m += 1
            weights[m - 1] += wi
            for j in range(k):
                Ym[m - 1, j] += wi * Y[s, j]
        for r in range(m):
            for j in range(k):
                Ym[r, j] /= weights[r]
        r = 0
        for i in range(n):  # the first distinct input at or above each sample's
            s = order[i]
            while r < m - 1 and xs[r] < x[s]:
                r += 1
            group[s] = r
    return xs_a[:m], Ym_a[:m], w_a[:m], group_a


def kernel_diagonal(const double[::1] xs, const double[:, ::1] right, const double[:, ::1] left):
    """``sum q relu(s (x_i - xi))^2`` at the sorted ``xs`` (m,) from the moments
    of the knots by the point where they enter: ``right[:, i]`` holds ``sum q
    d^k`` of the right-facing knots that enter at ``x_i`` (``d = x_i - xi``),
    ``left[:, i]`` that of the left-facing ones (``d = xi - x_i``).

    Each side carries ``S_k = sum q d^k`` from one point to the next, shifted
    by the step ``h`` (``S_2 + 2 h S_1 + h^2 S_0``), so every term is
    non-negative."""
    cdef Py_ssize_t m = xs.shape[0], i
    cdef double s0 = 0.0, s1 = 0.0, s2 = 0.0, h
    if right.shape[0] != 3 or left.shape[0] != 3 or right.shape[1] != m or left.shape[1] != m:
        raise ValueError(f"kernel_diagonal: the moments must be (3, {m}); got ({right.shape[0]}, {right.shape[1]}) "
                         f"and ({left.shape[0]}, {left.shape[1]}).")
    out_a = np.empty(m)
    cdef double[::1] out = out_a
    with nogil:
        for i in range(m):
            h = xs[i] - xs[i - 1] if i > 0 else 0.0
            s2 = s2 + (right[2, i] + 2.0 * h * s1 + h * h * s0)
            s1 = s1 + (right[1, i] + h * s0)
            s0 = s0 + right[0, i]
            out[i] = s2
        s0, s1, s2 = 0.0, 0.0, 0.0
        for i in range(m - 1, -1, -1):
            h = xs[i + 1] - xs[i] if i < m - 1 else 0.0
            s2 = s2 + (left[2, i] + 2.0 * h * s1 + h * h * s0)
            s1 = s1 + (left[1, i] + h * s0)
            s0 = s0 + left[0, i]
            out[i] += s2
    return out_a
