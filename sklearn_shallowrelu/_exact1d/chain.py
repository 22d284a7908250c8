"""The free-affine chain: 4 unknowns per data point, the core of every solve.

With a free affine part a left-facing unit is a right-facing one at the same
knot plus an affine function, which the free part absorbs; so the units of
both directions form one chain of states ``R_i = (R(x_i), R'(x_i))``::

    R_{i+1} = T(h_i) R_i + M_i mult_i,       T(h) = [[1, h], [0, 1]],

with the gap's 2 x 2 moment matrix ``M_i = sum q (d, 1)(d, 1)^T`` and its
multiplier ``mult_i``, ``R_1`` free and ``f(x_i) = R(x_i)``.  Ordered as
``(mult_a, mult_b, value, slope)`` per point the optimality conditions are a
banded system with 2 + 2 bands, solved by LAPACK's pivoted banded LU
(:mod:`.banded`).  The penalised affine parts border this chain with two
unknowns (:mod:`.bordered`).

:class:`Solution` is the states form of any solved problem (right- and
left-facing parts apart, with their multipliers), which evaluation
(:func:`.continuum.evaluate`) and the jumps of arbitrary knots
(:func:`.network.knot_jumps`) read.
"""

import numpy as np

from .banded import band_writer, banded_solve, free_rows, inverse_diagonal_entries, scale_row


class Solution:
    """The solved system on pooled data ``xs``.

    mult_right : (m, 2, k) multipliers of the right-facing parts: row 0 for the
        outer knots, row ``j + 1`` for gap ``j``; the jump of a right-facing
        knot in that gap is ``q (d mult[0] + mult[1])``.
    mult_left : (m, 2, k) rows ``0..m-2`` for the gaps, row ``m - 1`` for the outer knots.
    R, L : (m, 2, k) the states at the data points.
    intercept : (k,);  fitted : (m, k) fitted values at ``xs``.
    """

    def __init__(self, xs, mult_right, mult_left, R, L, intercept):
        self.xs, self.mult_right, self.mult_left, self.R, self.L = xs, mult_right, mult_left, R, L
        self.intercept = intercept
        self.fitted = R[:, 0] + L[:, 0] + intercept


def chain_equations(put, a, b, v, s, h, M, step):
    """One chain of states ``S_i = T(h) S_{i+step} + M mult_i`` (``step=-1``: the
    right-facing part, built from the left; ``+1``: the left-facing part): its
    equations in rows ``a, b`` (the positions of ``mult``) and its multipliers'
    terms in the stationarity rows ``v, s`` of the state (value, slope)."""
    put(a, v, 1.0)
    put(b, s, 1.0)
    put(a, v, -1.0, step)
    put(a, s, -h, step)
    put(b, s, -1.0, step)
    put(a, a, -M[2])
    put(a, b, -M[1])
    put(b, a, -M[1])
    put(b, b, -M[0])
    put(v, a, 1.0)
    put(s, b, 1.0)
    put(v, a, -1.0, -step)
    put(s, a, -h, -step)
    put(s, b, -1.0, -step)


FA, FB, FV, FS = range(4)  # in-block positions of the free-affine chain: (mult_a, mult_b, value, slope)


KL = KU = 2


def rescaled(xs, right):
    """The chain's units: ``(sigma, h, M, mass)`` with the inputs over their range
    ``sigma = x_m - x_1`` (gaps ``h``, (m - 1,)), and the gap moments ``right``
    (3, m - 1) in those units over their total mass (1 if it is zero), so that
    every entry of the system is of order one whatever the scale of the data."""
    sigma = xs[-1] - xs[0]
    h = (xs[1:] - xs[:-1]) / sigma
    M = np.asarray(right, float) * (sigma ** _UNITS)[:, None]
    mass = float(M[0].sum())
    mass = mass if mass > 0 else 1.0
    M /= mass
    return sigma, h, M, mass


_UNITS = 2.0 - np.arange(3)  # moment k has the units of x^(k+1): over sigma^(k+1), times sigma^3 for the mass


def free_system(xs, weights, right, alpha):
    """The matrix of :func:`solve_free` (band storage with gbsv's spare rows).

    Returns ``(full, omega, shrink, sigma, mass)``: the data ``Y`` enter the
    right-hand side as ``(omega * shrink)[:, None] * Y`` in the value rows
    (position ``FV``), which are multiplied by ``shrink``; the inputs are
    rescaled by ``sigma`` and the knot masses by ``mass`` as in :func:`.general.solve`
    (multipliers come back as ``mult * (1, sigma) / mass``).
    """
    m = len(xs)
    sigma, h, M, mass = rescaled(xs, right)
    M = np.column_stack([np.zeros(3), M])
    omega = weights * mass / alpha
    shrink = 1.0 / np.maximum(omega, 1.0)  # as in general._system: alpha -> 0 tends to interpolation
    full = np.zeros((2 * KL + KU + 1, 4 * m), order="F")  # LAPACK's layout: no copy
    ab = full[KL:]
    view, put = band_writer(ab, m, 4, KL, KU)
    chain_equations(put, FA, FB, FV, FS, h, M, -1)
    put(FV, FV, omega)
    scale_row(view, FV, 4, m, shrink)  # the data row, shrunk as in general._system
    free_rows(ab, (FA, FB), KL, KU)  # R_1 is free: no equation, a zero multiplier
    return full, omega, shrink, sigma, mass


def solve_free(xs, Y, weights, right, alpha, leverages=False):
    """The ``affine='free'`` problem as one right-facing chain: 4 unknowns per point.

    With a free affine part a left-facing unit is a right-facing one at the same
    knot plus an affine function, which the free part absorbs; so the units of
    both directions form one chain ``R_{i+1} = T(h_i) R_i + M_i mult_i`` (``M``
    from the moments of all knots, anchored at the right end of each gap) with
    ``R_1`` free and ``f(x_i) = R(x_i)``.  The band is 2 + 2 wide instead of
    7 + 7, about 25 times less LU work than :func:`.general.solve`, which it equals.

    Parameters
    ----------
    xs, Y, weights, alpha, leverages : as in :func:`.general.solve`
    right : ndarray of shape (3, m - 1)
        ``sum q d^k`` over all knots in each gap, ``d = x_{j+1} - xi``.

    Returns
    -------
    Solution
        The left-facing parts' states are zero; their multipliers give a
        left-facing unit of a gap the jump of a right-facing one at the same
        knot, so that :func:`.network.knot_jumps` reads every unit's jump.
    """
    m, k = Y.shape
    full, omega, shrink, sigma, mass = free_system(xs, weights, right, alpha)
    data = omega * shrink
    N = 4 * m
    rhs = np.zeros((N, k), order="F")
    rhs[FV::4] = data[:, None] * Y
    diag = None
    if leverages:
        diag = data * inverse_diagonal_entries(full, 4, KL, KU, FV, (FV,))
    z = banded_solve(full, KL, KU, rhs).reshape(m, 4, k)
    return free_solution(xs, z[:, 0:2], z[:, 2:4], sigma, mass, diag)


def free_solution(xs, mult, states, sigma, mass, leverages=None):
    """The :class:`Solution` of :func:`solve_free` from its unknowns in the
    system's units (:func:`free_system`): the multipliers ``mult`` (m, 2, k),
    row ``j + 1`` for gap ``j``, and the states ``(value, slope)`` (m, 2, k)."""
    m, _, k = mult.shape
    mult = mult / mass
    mult[:, 1] *= sigma
    states = states.copy()
    states[:, 1] /= sigma
    # q ((h - e) mult_a + mult_b) in the offset e = xi - x_j from the gap's left end
    mult_left = np.zeros((m, 2, k))
    np.negative(mult[1:, 0], out=mult_left[:-1, 0])
    mult_left[:-1, 1] = (xs[1:] - xs[:-1])[:, None] * mult[1:, 0] + mult[1:, 1]
    sol = Solution(xs, mult, mult_left, states, np.zeros((m, 2, k)), np.zeros(k))
    sol.leverages = leverages
    return sol
