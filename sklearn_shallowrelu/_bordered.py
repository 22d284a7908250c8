"""The fast exact path for the network's own 1-D ridge: one chain and a border of two unknowns.

A left-facing unit is a right-facing one at the same knot minus an affine
function, ``t relu(xi - x) = t relu(x - xi) - t (x - xi)``.  So on the data
every unit acts on the single right-facing chain of :func:`._knots.solve_free`,
and what the left-facing units add besides is an affine function, which joins
the right-facing knots left of ``x_1`` in the initial state::

    R_1     = sum_{A0} t_k a_k,       a_k = (x_1 - xi_k, 1) right-facing left of x_1,
                                      a_k = (xi_k - x_1, -1) left-facing at or right of x_1,
    R_{b+1} = T(h_b) R_b + sum_{gap b} t_k (x_{b+1} - xi_k, 1)     (all knots in the gap).

Minimising the penalty over the jumps gives ``t_k = q_k ((d_k, 1) . lam_b +
[k in A0] a_k . lam_0)``: the multiplier ``lam_0`` of the initial state reaches
every gap that holds left-facing knots.  The system is the free-affine chain
(4 unknowns per point, band 2 + 2) with ``R_1`` free, bordered by ``lam_0``
(two unknowns; one with a free constant, whose value row goes).  The border is
solved by its Schur complement: one banded LU with ``k + 2`` right-hand sides,
then a 2 x 2 system.  :func:`._knots.solve` (8 unknowns per point, band 7 + 7)
solves the same problem at about four times the cost; the estimator checks
this path's certificate and falls back to it.

Knots come sorted and grouped by the data into blocks: block 0 holds the knots
left of ``x_1``, block ``b`` (``1 <= b < m``) those in ``[x_b, x_{b+1})``
(1-based data), block ``m`` those at or right of ``x_m``.  Offsets ``d`` are
taken from each block's right end (``x_m`` for block ``m``, where ``d <= 0``),
so tiny gaps stay exact.
"""

import numpy as np

from . import _knots
from ._knots import _FA, _FB, _FKL, _FKU, _FS, _FV

__all__ = ["Blocks", "BorderedSolution", "solve", "jumps", "network_at_data"]


class Blocks:
    """Sorted knots grouped by the sorted distinct data ``xs`` (m,).

    Parameters
    ----------
    xs : ndarray of shape (m,)
    knots, q, right : ndarray of shape (n,)
        Knots sorted ascending, their masses ``w^2 / n`` and directions (``w > 0``).

    Attributes
    ----------
    block : (n,) block of each knot;  d : (n,) its offset from the block's right end
    M : (3, m) ``sum q d^k`` of the knots that act on the chain in each block
        (all in the gaps, the right-facing ones in block 0)
    ML : (3, m) the same over the left-facing knots of the gaps (zero in block 0)
    hat : (3,) ``sum q (xi - x_1)^k`` over the left-facing knots at or right of ``x_1``
    start, stop : index range of the knots in the gaps, ``[start, stop)``
    """

    def __init__(self, xs, knots, q, right):
        m, n = len(xs), len(knots)
        self.xs, self.knots, self.q, self.right = xs, knots, q, right
        pos = np.searchsorted(knots, xs, side="left")
        self.start, self.stop = int(pos[0]), int(pos[-1])
        counts = np.diff(pos, prepend=0, append=n)
        self.block = np.repeat(np.arange(m + 1), counts)
        self._full = counts > 0
        self._first = np.concatenate([[0], pos])[self._full]
        self.d = np.append(xs, xs[-1])[self.block] - knots
        # moments of the knots that act on the chain, then of the left-facing
        # ones in the gaps, in one reused buffer (large fresh arrays cost page faults)
        rows = np.empty((3, n))
        sums = []
        for weight in (right, ~right):
            np.multiply(q, weight, out=rows[0])
            if weight is right:  # all knots in the gaps, the right-facing ones in block 0
                rows[0, self.start:] = q[self.start:]
            else:
                rows[0, : self.start] = 0.0
            rows[0, self.stop:] = 0.0
            np.multiply(rows[0], self.d, out=rows[1])
            np.multiply(rows[1], self.d, out=rows[2])
            sums.append(self.sums(rows)[:, :m])
        self.M, self.ML = sums
        lq = q[self.start:] * ~right[self.start:]
        xh = knots[self.start:] - xs[0]
        self.hat = np.array([lq.sum(), lq @ xh, (lq * xh) @ xh])

    def sums(self, rows):
        """Sums (r, m + 1) over the knots of each block of ``rows`` (r, n)."""
        out = np.zeros((rows.shape[0], len(self.xs) + 1))
        if len(self._first):  # reduceat over the nonempty blocks only: it mishandles empty segments
            out[:, self._full] = np.add.reduceat(rows, self._first, axis=1)
        return out


class BorderedSolution:
    """``lam`` (m + 1, 2, k) per block in the units of the data (block ``m``
    zero), ``fitted`` (m, k) at ``xs``, ``intercept`` (k,)."""

    def __init__(self, lam, fitted, intercept):
        self.lam, self.fitted, self.intercept = lam, fitted, intercept


def solve(xs, Y, W, blk, alpha, affine="free_constant"):
    """Solve the network's ridge problem on pooled data (see the module docstring).

    Parameters
    ----------
    xs, Y, W, alpha : as in :func:`._knots.solve`
    blk : Blocks
    affine : {'free_constant', 'penalized'}

    Returns
    -------
    BorderedSolution
    """
    m, k = Y.shape
    full, omega, shrink, sigma, mass = _knots.free_system(xs, W, blk.M[:, 1:], alpha)
    pw = (sigma ** (2.0 - np.arange(3))) / mass  # moments in the rescaled units of free_system
    ML = blk.ML[:, 1:] * pw[:, None]
    xhat = (xs[1:] - xs[0]) / sigma
    # N_b = sum_L q (d, 1) (xi - x_1, -1)^T over the left-facing knots of gap b, with xi - x_1 = xhat_b - d
    N = np.empty((m - 1, 2, 2))
    N[:, 0, 0] = xhat * ML[1] - ML[2]
    N[:, 0, 1] = -ML[1]
    N[:, 1, 0] = xhat * ML[0] - ML[1]
    N[:, 1, 1] = -ML[0]
    outer, hat = blk.M[:, 0] * pw, blk.hat * pw
    M00 = np.array([[outer[2] + hat[2], outer[1] - hat[1]], [outer[1] - hat[1], outer[0] + hat[0]]])
    comps = [0, 1] if affine == "penalized" else [1]  # with a free constant lam_0 has no value part
    nb = len(comps)
    rhs = np.zeros((4 * m, k + nb))
    rhs[_FV::4, :k] = (omega * shrink)[:, None] * Y
    # lam_0's entries in the chain's rows, moved to the right-hand side: -N_b in
    # the equations of gap b, and its own terms in the stationarity of R_1
    # (the value row shrunk as free_system shrinks it)
    for j, c in enumerate(comps):
        rhs[4 + _FA::4, k + j] = N[:, 0, c]
        rhs[4 + _FB::4, k + j] = N[:, 1, c]
        rhs[(_FV, _FS)[c], k + j] = -(shrink[0] if c == 0 else 1.0)
    Z = _knots._banded_solve(full, _FKL, _FKU, rhs).reshape(m, 4, k + nb)
    # The border rows R_1 - M00 lam_0 - sum_b N_b^T lam_b = (c, 0): E^T z - M00 lam_0
    ET = Z[0, _FV:_FS + 1] - np.stack([N[:, 0, j] @ Z[1:, _FA] + N[:, 1, j] @ Z[1:, _FB] for j in range(2)])
    S = M00[np.ix_(comps, comps)] - ET[comps][:, k:]
    lam0 = np.zeros((2, k))
    lam0[comps] = np.linalg.solve(S, ET[comps][:, :k])
    z = Z[..., :k] + Z[..., k:] @ lam0[comps]
    c = np.zeros(k)
    if affine == "free_constant":
        c = ET[0, :k] + ET[0, k:] @ lam0[comps] - M00[0] @ lam0
    lam = np.zeros((m + 1, 2, k))
    lam[0], lam[1:m] = lam0, z[1:, _FA:_FB + 1]
    lam *= np.array([1.0, sigma])[None, :, None] / mass
    return BorderedSolution(lam, z[:, _FV], c)


def jumps(blk, sol):
    """The jumps ``t_k`` (n, k) of the sorted knots."""
    s, k = blk.start, sol.lam.shape[2]
    t = np.empty((len(blk.q), k))
    # the affine part of the left-facing knots at or right of x_1 (a_k . lam_0);
    # left of x_1 they vanish on the data and carry nothing
    xh = blk.knots[s:] - blk.xs[0]
    for j in range(k):
        tj = blk.q * (blk.d * sol.lam[:, 0, j].take(blk.block) + sol.lam[:, 1, j].take(blk.block))
        tj[:s] = np.where(blk.right[:s], tj[:s], 0.0)
        tj[s:] += np.where(blk.right[s:], 0.0, blk.q[s:] * (xh * sol.lam[0, 0, j] - sol.lam[0, 1, j]))
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
