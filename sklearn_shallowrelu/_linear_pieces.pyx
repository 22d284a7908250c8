# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""The elementwise passes of the gradient of a network with a piecewise-linear
activation and one output, fused (see :meth:`._network.Network._linear_pieces_blocks`).

Between its two matrix products (``Z = [X, 1] [W, b]^T`` and ``[X, 1]^T D``) a
gradient step makes two passes over the ``m x n`` block: ``r = act(Z) v``, then
``D = p r act'(Z)`` with ``act(Z)^T (p r)``.  In numpy these were seven for ReLU
(``maximum`` alone, which must propagate NaN, costs four times a copy; the mask
went through a boolean array and a cast) and more for the others, and they took
most of a step whenever ``d`` is small.  Here each is one loop over a block that
is still in the cache.  NaN propagates as in numpy: a NaN pre-activation gives
a NaN ``r``.
"""

from cython cimport floating


def relu_forward(floating[:, ::1] Z, const floating[::1] v, floating[::1] out):
    """``Z <- relu(Z)`` in place and ``out = relu(Z) @ v``."""
    cdef Py_ssize_t i, k, rows = Z.shape[0], n = Z.shape[1], n4 = n - n % 4
    cdef floating a0, a1, a2, a3, s0, s1, s2, s3
    with nogil:
        for i in range(rows):
            # four partial sums: the products do not wait for one another
            s0 = s1 = s2 = s3 = 0
            for k in range(0, n4, 4):
                a0, a1, a2, a3 = Z[i, k], Z[i, k + 1], Z[i, k + 2], Z[i, k + 3]
                # "<= 0" and not "> 0": a NaN fails the test and stays
                a0 = 0 if a0 <= 0 else a0
                a1 = 0 if a1 <= 0 else a1
                a2 = 0 if a2 <= 0 else a2
                a3 = 0 if a3 <= 0 else a3
                Z[i, k], Z[i, k + 1], Z[i, k + 2], Z[i, k + 3] = a0, a1, a2, a3
                s0 += a0 * v[k]
                s1 += a1 * v[k + 1]
                s2 += a2 * v[k + 2]
                s3 += a3 * v[k + 3]
            for k in range(n4, n):
                a0 = Z[i, k]
                a0 = 0 if a0 <= 0 else a0
                Z[i, k] = a0
                s0 += a0 * v[k]
            out[i] = (s0 + s1) + (s2 + s3)


def relu_backward(floating[:, ::1] A, const floating[::1] pr, floating[::1] gv):
    """``gv += A^T pr`` and ``A <- pr * [A > 0]`` in place, for ``A = relu(Z)``."""
    cdef Py_ssize_t i, k, rows = A.shape[0], n = A.shape[1]
    cdef floating a, t
    with nogil:
        for i in range(rows):
            t = pr[i]
            for k in range(n):
                a = A[i, k]
                gv[k] += a * t
                A[i, k] = t if a > 0 else 0


# The other piecewise-linear activations, act(z) = z act'(z) with the slopes
# ``pos`` above 0, ``neg`` below and ``zero`` at 0 (leaky ReLU, absolute value).
# Z keeps the pre-activations through the forward pass: the backward pass needs
# their signs, which act(Z) loses for the absolute value.  (Measured: these
# general passes take 1.5 to 2 times the ReLU ones, so ReLU keeps its own.)

cdef inline floating _act(floating z, floating pos, floating neg) noexcept nogil:
    # selections, not branches, so that the loops vectorise: the first part keeps a NaN
    # ("z <= 0" fails); with neg = 0 (ReLU) the second is 0 even at -inf, where -inf * 0
    # would be NaN
    return (0 if z <= 0 else z) * pos + (0 if (z >= 0 or neg == 0) else z) * neg


cdef inline floating _slope(floating z, floating pos, floating neg, floating zero) noexcept nogil:
    return pos if z > 0 else (neg if z < 0 else zero)


def linear_pieces_forward(const floating[:, ::1] Z, const floating[::1] v, floating[::1] out,
                          floating pos, floating neg):
    """``out = act(Z) @ v`` for ``act(z) = pos z`` above 0 and ``neg z`` below; a NaN stays."""
    cdef Py_ssize_t i, k, rows = Z.shape[0], n = Z.shape[1], n4 = n - n % 4
    cdef floating z0, z1, z2, z3, s0, s1, s2, s3
    with nogil:
        for i in range(rows):
            s0 = s1 = s2 = s3 = 0
            for k in range(0, n4, 4):
                z0, z1, z2, z3 = Z[i, k], Z[i, k + 1], Z[i, k + 2], Z[i, k + 3]
                s0 += _act(z0, pos, neg) * v[k]
                s1 += _act(z1, pos, neg) * v[k + 1]
                s2 += _act(z2, pos, neg) * v[k + 2]
                s3 += _act(z3, pos, neg) * v[k + 3]
            for k in range(n4, n):
                s0 += _act(Z[i, k], pos, neg) * v[k]
            out[i] = (s0 + s1) + (s2 + s3)


def linear_pieces_backward(floating[:, ::1] Z, const floating[::1] pr, floating[::1] gv,
                           floating pos, floating neg, floating zero):
    """``gv += act(Z)^T pr`` and ``Z <- pr * act'(Z)`` in place (``act'`` is ``pos``,
    ``neg`` or ``zero`` by the sign of the pre-activation)."""
    cdef Py_ssize_t i, k, rows = Z.shape[0], n = Z.shape[1]
    cdef floating z, t, slope
    with nogil:
        for i in range(rows):
            t = pr[i]
            for k in range(n):
                z = Z[i, k]
                slope = _slope(z, pos, neg, zero)
                gv[k] += z * slope * t
                Z[i, k] = slope * t


# Several outputs: the products with the output weights are matrix products
# (BLAS), so the passes left are act(Z) and the product of D = (p R) V^T with act'(Z).

def linear_pieces_value(const floating[:, ::1] Z, floating[:, ::1] A, floating pos, floating neg):
    """``A = act(Z)`` for ``act(z) = pos z`` above 0 and ``neg z`` below; a NaN stays."""
    cdef Py_ssize_t i, k, rows = Z.shape[0], n = Z.shape[1]
    with nogil:
        for i in range(rows):
            for k in range(n):
                A[i, k] = _act(Z[i, k], pos, neg)


def linear_pieces_times_slope(floating[:, ::1] D, const floating[:, ::1] Z, floating pos, floating neg,
                              floating zero):
    """``D <- D * act'(Z)`` in place (``act'`` is ``pos``, ``neg`` or ``zero`` by the sign of ``Z``)."""
    cdef Py_ssize_t i, k, rows = Z.shape[0], n = Z.shape[1]
    with nogil:
        for i in range(rows):
            for k in range(n):
                D[i, k] *= _slope(Z[i, k], pos, neg, zero)
