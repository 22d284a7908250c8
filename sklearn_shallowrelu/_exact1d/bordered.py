"""The ridge problem of a knot measure with a penalised or partly free affine part
as one chain and a border of two unknowns: the solver of the networks' 1-D ridge
and of ``SmoothingSplineEquivalent`` with ``affine='free_constant' | 'penalized'``.

A left-facing unit is a right-facing one at the same knot minus an affine
function, ``t relu(xi - x) = t relu(x - xi) - t (x - xi)``.  So on the data
every unit acts on the single right-facing chain of :func:`.chain.solve_free`,
and what the left-facing units add besides is an affine function, which joins
the right-facing knots left of ``x_1`` in the initial state::

    R_1     = sum_{A0} t_k a_k,       a_k = (x_1 - xi_k, 1) right-facing left of x_1,
                                      a_k = (xi_k - x_1, -1) left-facing at or right of x_1,
    R_{b+1} = T(h_b) R_b + sum_{gap b} t_k (x_{b+1} - xi_k, 1)     (all knots in the gap).

Minimising the penalty over the jumps gives ``t_k = q_k ((d_k, 1) . mult_b +
[k in A0] a_k . mult_0)``: the multiplier ``mult_0`` of the initial state reaches
every gap that holds left-facing knots.  The system is the free-affine chain
(4 unknowns per point, band 2 + 2) with ``R_1`` free, bordered by ``mult_0``
(two unknowns; one with a free constant, whose value row goes).  The border is
solved by its Schur complement: one banded LU with ``k + 2`` right-hand sides,
then a 2 x 2 system; the exact leverages are the chain's plus a rank-two
correction.  :func:`.general.solve` (8 unknowns per point, band 7 + 7) solves
the same problem at two to three times the cost and, on badly scaled data,
with less accuracy (measured against 60-digit kernel ridge regression); the
entry point :func:`sklearn_shallowrelu._exact1d.solve` checks this path's
certificate and falls back to it.
With the moments of the curvature weights (:func:`.continuum.chain_moments`)
the same solver gives the infinite-width limit.

Knots come sorted and grouped by the data into blocks: block 0 holds the knots
left of ``x_1``, block ``b`` (``1 <= b < m``) those in ``[x_b, x_{b+1})``
(1-based data), block ``m`` those at or right of ``x_m``.  Offsets ``d`` are
taken from each block's right end (``x_m`` for block ``m``, where ``d <= 0``),
so tiny gaps stay exact.
"""

import numpy as np

from .banded import banded_lu, inverse_diagonal_entries, lu_solve
from .chain import FA, FB, FS, FV, KL, KU, Solution, free_system


class BorderedSolution:
    """``mult`` (m + 1, 2, k) per block in the units of the data (block ``m``
    zero), ``fitted`` (m, k) and ``slope`` (m, k) of the fit at ``xs`` (its
    free constant included), ``intercept`` (k,), ``leverages`` (m,) or None."""

    def __init__(self, mult, fitted, slope, intercept, leverages=None):
        self.mult, self.fitted, self.slope, self.intercept = mult, fitted, slope, intercept
        self.leverages = leverages


def _border(xs, mom, sigma, mass):
    """``N_b`` (m - 1, 2, 2), the coupling of gap ``b``'s equations to ``mult_0``, and
    ``M00`` (2, 2), the moment matrix of the initial state, in the rescaled units."""
    m = len(xs)
    pw = (sigma ** (2.0 - np.arange(3))) / mass
    ML = mom.ML[:, 1:] * pw[:, None]
    xhat = (xs[1:] - xs[0]) / sigma
    # N_b = sum_L q (d, 1) (xi - x_1, -1)^T over the left-facing knots of gap b, with xi - x_1 = xhat_b - d
    N = np.empty((m - 1, 2, 2))
    N[:, 0, 0] = xhat * ML[1] - ML[2]
    N[:, 0, 1] = -ML[1]
    N[:, 1, 0] = xhat * ML[0] - ML[1]
    N[:, 1, 1] = -ML[0]
    outer, hat = mom.M[:, 0] * pw, mom.hat * pw
    M00 = np.array([[outer[2] + hat[2], outer[1] - hat[1]], [outer[1] - hat[1], outer[0] + hat[0]]])
    return N, M00


def _border_columns(m, N, comps, first):
    """The columns (4 m, nb) of ``mult_0``'s entries in the chain's rows: ``-N_b``
    in the equations of gap ``b``, and its own terms ``first`` in the
    stationarity rows (value, slope) of ``R_1``; and the rows (4 m, 2) of the
    border equations, which pick ``R_1 - sum_b N_b^T mult_b``."""
    E = np.zeros((4 * m, 2), order="F")
    for c in range(2):
        E[4 + FA::4, c], E[4 + FB::4, c] = -N[:, 0, c], -N[:, 1, c]
        E[(FV, FS)[c], c] = 1.0
    B = E[:, comps]
    if 0 in comps:
        B[FV, comps.index(0)] = first[0]
    return B, E


def solve(xs, Y, weights, mom, alpha, affine="free_constant", leverages=False):
    """Solve the ridge problem of a knot measure on pooled data (see the module docstring).

    Parameters
    ----------
    xs, Y, weights, alpha : as in :func:`.general.solve`
    mom : ChainMoments (a :class:`Blocks` for a finite network)
    affine : {'free_constant', 'penalized'}
    leverages : bool, default=False
        Also the diagonal of the smoother: that of the chain (block cyclic
        reduction, as :func:`.chain.solve_free`) plus a rank-``nb`` correction
        for the border, at the cost of ``nb`` transposed solves.

    Returns
    -------
    BorderedSolution
    """
    m, k = Y.shape
    full, omega, shrink, sigma, mass = free_system(xs, weights, mom.M[:, 1:], alpha)
    N, M00 = _border(xs, mom, sigma, mass)
    comps = [0, 1] if affine == "penalized" else [1]  # with a free constant mult_0 has no value part
    nb = len(comps)
    B, E = _border_columns(m, N, comps, (shrink[0], 1.0))  # R_1's value row is shrunk as free_system shrinks it
    data = omega * shrink
    diag = None
    if leverages:
        diag = inverse_diagonal_entries(full, 4, KL, KU, FV, (FV,))
    rhs = np.zeros((4 * m, k + nb), order="F")
    rhs[FV::4, :k] = data[:, None] * Y
    rhs[:, k:] = -B
    lu, piv = banded_lu(full, KL, KU)
    Z = lu_solve(lu, piv, KL, KU, rhs)
    # The border rows R_1 - M00 mult_0 - sum_b N_b^T mult_b = (c, 0): E^T z - M00 mult_0
    ET = E.T @ Z
    S = M00[np.ix_(comps, comps)] - ET[comps, k:]
    mult0 = np.zeros((2, k))
    mult0[comps] = np.linalg.solve(S, ET[comps, :k])
    z = (Z[:, :k] + Z[:, k:] @ mult0[comps]).reshape(m, 4, k)
    c = np.zeros(k)
    if affine == "free_constant":
        c = ET[0, :k] + ET[0, k:] @ mult0[comps] - M00[0] @ mult0
    if leverages:
        # d mult_0 / d Y_i = S^-1 (E^T A^-1)[:, v_i] data_i: the rows of A^-T E at the value rows
        U = lu_solve(lu, piv, KL, KU, np.asfortranarray(E[:, comps]), trans=1)
        ZB = Z[FV::4, k:]
        diag = data * (diag + np.einsum("ip,pq,iq->i", ZB, np.linalg.inv(S), U[FV::4]))
    mult = np.zeros((m + 1, 2, k))
    mult[0], mult[1:m] = mult0, z[1:, FA:FB + 1]
    mult *= np.array([1.0, sigma])[None, :, None] / mass
    return BorderedSolution(mult, z[:, FV], z[:, FS] / sigma, c, diag)


def to_solution(xs, mom, sol):
    """The same fit as a :class:`.Solution` (right- and left-facing parts
    apart, multipliers of the left-facing knots anchored at the left end of
    each gap), which :func:`.continuum.evaluate` and :func:`.knot_jumps` read."""
    m, k = len(xs), sol.fitted.shape[1]
    h = np.diff(xs)[:, None]
    mult, mult0 = sol.mult, sol.mult[0]
    # a left-facing knot of gap b: t = q (d, 1) . (mult_b + (-mult0_a, xhat_b mult0_a - mult0_b)),
    # xhat_b the gap's right end from x_1; in offsets e = h - d from the left end
    xr = (xs[1:] - xs[0])[:, None]
    la = mult[1:m, 0] - mult0[0]
    lb = mult[1:m, 1] + xr * mult0[0] - mult0[1]
    mult_left = np.empty((m, 2, k))
    mult_left[:-1, 0], mult_left[:-1, 1] = -la, h * la + lb
    mult_left[-1, 0], mult_left[-1, 1] = mult0[0], (xs[-1] - xs[0]) * mult0[0] - mult0[1]  # at or right of x_m
    # the left-facing part's state (L(x_i), -L'(x_i)), built leftwards from x_m
    ML = mom.ML[:, 1:, None]
    mass = ML[1] * la + ML[0] * lb  # sum t over the gap
    moment = ML[2] * la + ML[1] * lb  # sum t d
    Lm = mom.beyond[1] * mult_left[-1, 0] + mom.beyond[0] * mult_left[-1, 1]
    Lm_value = mom.beyond[2] * mult_left[-1, 0] + mom.beyond[1] * mult_left[-1, 1]
    slope = np.concatenate([np.cumsum((mass[::-1]), axis=0)[::-1], np.zeros((1, k))]) + Lm
    steps = h * slope[1:] + h * mass - moment  # T(h) L_{b+1} plus the gap's sum t (h - d)
    value = np.concatenate([np.cumsum(steps[::-1], axis=0)[::-1], np.zeros((1, k))]) + Lm_value
    L = np.stack([value, slope], axis=1)
    R = np.stack([sol.fitted - sol.intercept - value, sol.slope + slope], axis=1)
    return Solution(xs, mult[:m].copy(), mult_left, R, L, sol.intercept)


def jumps(blk, sol):
    """The jumps ``t_k`` (n, k) of the sorted knots."""
    s, k = blk.start, sol.mult.shape[2]
    t = np.empty((len(blk.q), k))
    # the affine part of the left-facing knots at or right of x_1 (a_k . mult_0);
    # left of x_1 they vanish on the data and carry nothing
    xh = blk.knots[s:] - blk.xs[0]
    for j in range(k):
        tj = blk.q * (blk.d * sol.mult[:, 0, j].take(blk.block) + sol.mult[:, 1, j].take(blk.block))
        tj[:s] = np.where(blk.right[:s], tj[:s], 0.0)
        tj[s:] += np.where(blk.right[s:], 0.0, blk.q[s:] * (xh * sol.mult[0, 0, j] - sol.mult[0, 1, j]))
        t[:, j] = tj
    return t


def network_at_data(blk, t, const):
    """``const + sum_k t_k relu(+-(x_i - xi_k))`` (m, k) at the data, from block sums
    of the jumps in ``O(n + m)``: the estimator's accuracy certificate compares
    it with the fitted values of the solve."""
    xs = blk.xs
    m = len(xs)
    h = np.diff(xs)
    out = np.empty((m, t.shape[1]))
    rows = np.empty((4, len(blk.d)))
    for j in range(t.shape[1]):
        np.multiply(t[:, j], blk.right, out=rows[0])
        np.subtract(t[:, j], rows[0], out=rows[2])
        np.multiply(rows[0], blk.d, out=rows[1])
        np.multiply(rows[2], blk.d, out=rows[3])
        S, D, T, E = blk.sums(rows)
        # right-facing knots in blocks b <= i: sum S_b (x_i - x_b) + D_b
        right = np.cumsum(D[:m] + np.concatenate([[0.0], np.cumsum(S[: m - 1]) * h]))
        # left-facing knots in blocks b > i: sum T_b (x_b - x_i) - E_b
        tail = np.cumsum(T[::-1])[::-1]  # sum over b >= i
        steps = tail[1:m] * h - E[1:m]
        left = np.concatenate([np.cumsum(steps[::-1])[::-1], [0.0]]) - E[m]
        out[:, j] = right + left + const[j]
    return out
