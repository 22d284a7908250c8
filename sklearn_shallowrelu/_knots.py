"""The exact 1-D solver: ridge on random ReLU features as a banded problem over
the gaps between sorted data points (a generalised Reinsch algorithm).

Setting.  ``f(x) = sum_k t_k psi_k(x) + c`` with ``psi_k(x) = relu(s_k (x - xi_k))``
(knot ``xi_k``, direction ``s_k``) and the penalty ``alpha sum_k t_k^2 / q_k``.  For
random features ``relu(w_k x + b_k) / sqrt(n)`` with output weights ``v_k`` this is
scikit-learn's ridge: ``t_k = v_k |w_k| / sqrt(n)`` and ``q_k = w_k^2 / n``.  With
the knot measure ``sum_k q_k delta_{xi_k}`` replaced by the curvature weights
``g_+(xi) d xi`` and ``g_-(xi) d xi`` of an initialisation, the same problem is
its infinite-width limit (kernel ridge with the kernel of the initialisation).

Reduction.  On the sorted distinct data ``x_1 < ... < x_m`` let ``L`` map values to
``(f(x_1), second divided differences at x_2..x_{m-1}, f(x_m))``.  For any such f,
``(L f)_j = int f'' B_j`` with the hat functions ``B_j`` of the data, so
``L f - c e = A t`` with ``A_{jk} = B_j(xi_k)`` inside and ``psi_k(x_1)``,
``psi_k(x_m)`` on the two border rows (``e`` marks the border rows).  The cheapest
jumps for given ``L f`` cost ``(L f - c e)^T G^+ (L f - c e)`` with
``G = A diag(q) A^T``: tridiagonal inside, with two dense border rows; its
entries need only the moments ``int q u^k`` (k = 0, 1, 2) of the knot measure on
each gap, in the gap's local coordinate ``u``, and the kernel at the ends.  The
optimality conditions are

    (G + alpha L W^-1 L^T) gamma + c e = L y,    e^T gamma = 0 (free intercept),
    f = y - alpha W^-1 L^T gamma,                t_k = q_k (A^T gamma)_k,

a pentadiagonal system bordered by two rows, solved by a banded Cholesky
factorisation and a 2x2 (or 3x3) Schur complement in ``O(m)`` after an
``O(n log n)`` sort of the knots.  The unknowns live at the data points, so nearly
coinciding knots do not hurt the conditioning, and rank-deficient gaps (fewer
than three knots, or none) need no special care: ``L W^-1 L^T`` is positive
definite.  ``affine='free'`` (an unpenalised affine part, as with a skip
connection) keeps only the interior rows.
"""

import numpy as np
from scipy import linalg

__all__ = ["pool_ties", "GapMoments", "knot_moments", "solve"]


def pool_ties(x, Y, w):
    """Sort, drop zero weights and pool tied inputs.

    Returns the distinct sorted ``x``, the weighted mean targets (m, k), the summed
    weights, and the within-tie weighted sum of squares (a constant of the fit).
    """
    keep = w > 0
    x, Y, w = x[keep], Y[keep], w[keep]
    order = np.argsort(x, kind="stable")
    x, Y, w = x[order], Y[order], w[order]
    xs, start = np.unique(x, return_index=True)
    W = np.add.reduceat(w, start)
    Ym = np.add.reduceat(w[:, None] * Y, start, axis=0) / W[:, None]
    idx = np.repeat(np.arange(len(xs)), np.diff(np.append(start, len(x))))
    within = float(np.sum(w[:, None] * (Y - Ym[idx]) ** 2))
    return xs, Ym, W, within


class GapMoments:
    """What the solver needs of a knot measure, split by direction.

    plus, minus : (3, m-1) arrays
        ``int_gap u^k dq_+`` and ``int_gap u^k dq_-`` on each gap ``[x_j, x_{j+1}]``
        with ``u = (xi - x_j) / h_j``.
    K11, K1m, Kmm : float
        The kernel ``int psi(x_a) psi(x_b) dq`` at the two ends of the data.
    """

    def __init__(self, plus, minus, K11, K1m, Kmm):
        self.plus, self.minus = plus, minus
        self.K11, self.K1m, self.Kmm = K11, K1m, Kmm


def knot_moments(xs, knots, q, right):
    """Gap moments of the finite knot measure ``sum_k q_k delta_{xi_k}``.

    ``right`` marks the right-facing units (``w_k > 0``).
    """
    m = len(xs)
    gap = np.searchsorted(xs, knots, side="right") - 1  # -1: left of the data, m-1: right of it
    inside = (gap >= 0) & (gap < m - 1)
    h = np.diff(xs)
    out = []
    for side in (right, ~right):
        sel = inside & side
        g = gap[sel]
        u = (knots[sel] - xs[g]) / h[g]
        out.append(np.stack([np.bincount(g, weights=q[sel] * u**k, minlength=m - 1) for k in range(3)]))
    psi1 = np.where(right, np.maximum(xs[0] - knots, 0), np.maximum(knots - xs[0], 0))
    psim = np.where(right, np.maximum(xs[-1] - knots, 0), np.maximum(knots - xs[-1], 0))
    return GapMoments(out[0], out[1], float(q @ psi1**2), float(q @ (psi1 * psim)), float(q @ psim**2))


def _second_differences(xs):
    """Rows of L for the interior points: coefficients on f_{j-1}, f_j, f_{j+1}."""
    h = np.diff(xs)
    lo, hi = 1.0 / h[:-1], 1.0 / h[1:]
    return lo, -(lo + hi), hi


def solve(xs, Y, W, mom, alpha, affine="free_constant"):
    """Solve the ridge problem on pooled data; see the module docstring.

    Parameters
    ----------
    xs : (m,) sorted distinct inputs, m >= 3
    Y : (m, k) targets;  W : (m,) positive weights
    mom : GapMoments
    alpha : float > 0
    affine : {'penalized', 'free_constant', 'free'}

    Returns
    -------
    gamma : (m, k) multipliers (rows 0 and m-1 are the border rows; zero for 'free')
    c : (k,) intercept (zero unless 'free_constant')
    fitted : (m, k) fitted values at ``xs``
    """
    m, k = Y.shape
    h = np.diff(xs)
    a, d, b = _second_differences(xs)  # row j (interior index 0..m-3) touches points j, j+1, j+2
    iw = 1.0 / W
    mu = mom.plus + mom.minus  # (3, m-1)
    # G on the interior hats: B_j is u on gap j-1 and 1-u on gap j
    left_sq = mu[2]  # int u^2 on each gap
    right_sq = mu[0] - 2 * mu[1] + mu[2]  # int (1-u)^2
    cross = mu[1] - mu[2]  # int u (1-u)
    n_int = m - 2
    diag = left_sq[:-1] + right_sq[1:]
    off1 = cross[1:-1]
    # alpha L W^-1 L^T on the interior rows
    diag = diag + alpha * (a**2 * iw[:-2] + d**2 * iw[1:-1] + b**2 * iw[2:])
    off1 = off1 + alpha * (d[:-1] * a[1:] * iw[1:-2] + b[:-1] * d[1:] * iw[2:-1])
    off2 = alpha * (b[:-2] * a[2:] * iw[2:-2])
    # Symmetric Jacobi scaling: gaps between data points may differ by many orders
    # of magnitude (second divided differences scale like 1/h^2); unit diagonal
    # keeps the banded Cholesky factorisation well posed (van der Sluis).
    sc = 1.0 / np.sqrt(diag)
    band = np.zeros((3, n_int))
    band[0], band[1, :-1], band[2, :-2] = 1.0, off1 * sc[:-1] * sc[1:], off2 * sc[:-2] * sc[2:]
    rhs_I = a[:, None] * Y[:-2] + d[:, None] * Y[1:-1] + b[:, None] * Y[2:]

    def banded_solve(rhs):
        return sc[:, None] * linalg.solveh_banded(band, sc[:, None] * rhs, lower=True)

    if affine == "free":
        gI = banded_solve(rhs_I)
        gamma = np.vstack([np.zeros((1, k)), gI, np.zeros((1, k))])
        return gamma, np.zeros(k), Y - alpha * iw[:, None] * _LT(gamma, a, d, b, border=False)
    # Border rows: f(x_1) couples to interior hats through left-facing units
    # (psi(x_1) = xi - x_1 = (x_j - x_1) + h_j u) and f(x_m) through right-facing ones.
    nu, rho = mom.minus, mom.plus
    off_lo = xs[:-1] - xs[0]
    g1_right = off_lo * (nu[0] - nu[1]) + h * (nu[1] - nu[2])  # int (xi - x_1)(1 - u) dq_-
    g1_left = off_lo * nu[1] + h * nu[2]  # int (xi - x_1) u dq_-
    off_hi = xs[-1] - xs[1:]
    gm_right = off_hi * (rho[0] - rho[1]) + h * (rho[0] - 2 * rho[1] + rho[2])  # int (x_m - xi)(1-u) dq_+
    gm_left = off_hi * rho[1] + h * (rho[1] - rho[2])  # int (x_m - xi) u dq_+
    col1 = g1_left[:-1] + g1_right[1:]
    colm = gm_left[:-1] + gm_right[1:]
    # alpha L W^-1 L^T between the border rows and the first / last interior rows
    col1[0] += alpha * a[0] * iw[0]
    colm[-1] += alpha * b[-1] * iw[-1]
    MBB = np.array([[mom.K11 + alpha * iw[0], mom.K1m], [mom.K1m, mom.Kmm + alpha * iw[-1]]])
    if m == 2:
        raise ValueError("The exact 1-D solver needs at least 3 distinct inputs.")
    sol = banded_solve(np.column_stack([col1, colm, rhs_I]))
    XB, XY = sol[:, :2], sol[:, 2:]
    S = MBB - np.column_stack([col1, colm]).T @ XB
    rB = np.vstack([Y[:1], Y[-1:]]) - np.column_stack([col1, colm]).T @ XY
    if affine == "free_constant":
        K = np.block([[S, np.ones((2, 1))], [np.ones((1, 2)), np.zeros((1, 1))]])
        z = np.linalg.solve(K, np.vstack([rB, np.zeros((1, k))]))
        gB, c = z[:2], z[2]
    elif affine == "penalized":
        gB, c = np.linalg.solve(S, rB), np.zeros(k)
    else:
        raise ValueError(f"Unknown affine option {affine!r}.")
    gI = XY - XB @ gB
    gamma = np.vstack([gB[:1], gI, gB[1:]])
    return gamma, c, Y - alpha * iw[:, None] * _LT(gamma, a, d, b, border=True)


def _LT(gamma, a, d, b, border):
    """``L^T gamma``: each interior row spreads over its three points."""
    gI = gamma[1:-1]
    out = np.zeros_like(gamma)
    out[:-2] += a[:, None] * gI
    out[1:-1] += d[:, None] * gI
    out[2:] += b[:, None] * gI
    if border:
        out[0] += gamma[0]
        out[-1] += gamma[-1]
    return out


def knot_jumps(xs, gamma, knots, q, right):
    """Optimal jumps ``t_k = q_k (A^T gamma)_k`` of the finite-width solution, (n, k)."""
    m = len(xs)
    gap = np.searchsorted(xs, knots, side="right") - 1
    inside = (gap >= 0) & (gap < m - 1)
    g = np.clip(gap, 0, m - 2)
    u = np.where(inside, (knots - xs[g]) / np.diff(xs)[g], 0.0)
    hat = np.zeros_like(gamma)
    hat[1:-1] = gamma[1:-1]  # only interior points carry hats
    interior = np.where(inside[:, None], (1 - u)[:, None] * hat[g] + u[:, None] * hat[g + 1], 0.0)
    psi1 = np.where(right, np.maximum(xs[0] - knots, 0), np.maximum(knots - xs[0], 0))
    psim = np.where(right, np.maximum(xs[-1] - knots, 0), np.maximum(knots - xs[-1], 0))
    return q[:, None] * (interior + psi1[:, None] * gamma[0] + psim[:, None] * gamma[-1])


class PiecewiseLinear:
    """A 1-D network ``sum_k t_k relu(s_k (x - xi_k)) + const`` evaluated by
    sorted knots and prefix sums in ``O((n + p) log n)``, never a p x n matrix.

    Built from hidden weights ``w`` (n,), biases ``b`` (n,) and output
    coefficients ``coef`` (n, k) scaled by ``scale``; units with ``w = 0`` are
    constants ``relu(b)``.
    """

    def __init__(self, w, b, coef, scale, intercept):
        coef = np.asarray(coef, dtype=np.float64).reshape(len(w), -1) * scale
        const = intercept + np.maximum(b[w == 0], 0) @ coef[w == 0]
        has = w != 0
        xi, t = -b[has] / w[has], np.abs(w[has])[:, None] * coef[has]
        self.const = np.asarray(const, dtype=np.float64)
        right = w[has] > 0
        self.sides = []
        for sel in (right, ~right):
            order = np.argsort(xi[sel], kind="stable")
            knots, jumps = xi[sel][order], t[sel][order]
            zero = np.zeros((1, jumps.shape[1]))
            p0 = np.vstack([zero, np.cumsum(jumps, axis=0)])
            p1 = np.vstack([zero, np.cumsum(jumps * knots[:, None], axis=0)])
            self.sides.append((knots, p0, p1))

    def __call__(self, x):
        """Values (p, k) at ``x`` (p,)."""
        (kr, r0, r1), (kl, l0, l1) = self.sides
        x = np.asarray(x, dtype=np.float64)[:, None]
        i = np.searchsorted(kr, x[:, 0], side="right")
        j = np.searchsorted(kl, x[:, 0], side="right")
        right = x * r0[i] - r1[i]  # sum over xi <= x of t (x - xi)
        left = (l1[-1] - l1[j]) - x * (l0[-1] - l0[j])  # sum over xi > x of t (xi - x)
        return right + left + self.const

    def derivative(self, x):
        """Right derivative (p, k) at ``x`` (p,)."""
        (kr, r0, _), (kl, l0, _) = self.sides
        x = np.asarray(x, dtype=np.float64)
        return r0[np.searchsorted(kr, x, side="right")] - (l0[-1] - l0[np.searchsorted(kl, x, side="right")])


def set_knot_attributes(est, W, b, v, single):
    """Set ``knots_`` (sorted ``-b_k / w_k``) and ``slope_jumps_`` (``|w_k| v_k``) on a
    fitted 1-D network; remove them otherwise, so a refit never leaves stale ones.

    ``v`` (n, k) is the slope of each unit's output per unit of ``relu``: output
    weights times the output scale and the activation's jump.
    """
    for name in ("knots_", "slope_jumps_"):
        if hasattr(est, name):
            delattr(est, name)
    if v is None or W.shape[1] != 1:
        return
    w = W[:, 0]
    has = w != 0
    knots = -b[has] / w[has]
    order = np.argsort(knots, kind="stable")
    jumps = (np.abs(w[has])[:, None] * v[has])[order]
    est.knots_ = knots[order]
    est.slope_jumps_ = jumps[:, 0] if single else jumps
