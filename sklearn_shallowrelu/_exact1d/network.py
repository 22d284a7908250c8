"""Finite networks on the line: sorting, pooling ties, the optimal jumps of
any knots, and evaluation by prefix sums.

A 1-D ReLU network ``sum_k t_k relu(s_k (x - xi_k)) + c`` is a piecewise-linear
function whose slope jumps by ``t_k`` at the knot ``xi_k``.  With the knots
sorted, its values and slopes at sorted points are prefix sums
(:class:`PiecewiseLinear`): ``O((n + p) log n)`` and never a ``p x n``
matrix.
"""

import numpy as np

from . import _prepare
from .moments import knot_gaps


def pool_ties(x, Y, w, return_group=False):
    """Sort, drop zero weights and pool tied inputs.

    Returns the distinct sorted ``x`` of positive weight, the weighted mean
    targets (m, k) and the summed weights; with ``return_group`` also the
    pooled index of each given sample (n,) (a sample of zero weight gets the
    index of the first distinct input at or above its own, or of the last: it
    carries no weight there).  One sort, then one compiled pass
    (:func:`._prepare.pool`).
    """
    x = np.ascontiguousarray(x, dtype=np.float64)
    order, _ = sort_order(x)
    xs, Ym, weights, group = _prepare.pool(x, np.asarray(Y, dtype=np.float64), np.ascontiguousarray(w, dtype=np.float64),
                                           order)
    return (xs, Ym, weights, group) if return_group else (xs, Ym, weights)


def sort_order(values):
    """An ascending order of ``values`` (ties in any order), exact, and for large
    arrays about twice as fast as ``numpy.argsort``; returns ``(order, values[order])``.

    The order comes from ``numpy.sort`` on the values with their index written
    into the lowest mantissa bits (a value sort is much faster than an index
    sort); that orders the values up to a relative ``n 2^-52``, and a stable
    pass over the almost sorted result, linear in practice, makes it exact.
    """
    values = np.ascontiguousarray(values, dtype=np.float64)
    n = len(values)
    if n < 50_000 or not np.all(np.isfinite(values)):
        order = np.argsort(values, kind="stable")
        return order, values[order]
    low = np.uint64((1 << (n - 1).bit_length()) - 1)
    key = (values.view(np.uint64) & ~low) | np.arange(n, dtype=np.uint64)
    order = (np.sort(key.view(np.float64)).view(np.uint64) & low).astype(np.intp)
    almost = values[order]
    fix = np.argsort(almost, kind="stable")
    return order[fix], almost[fix]


def knot_jumps(sol, knots, q, right, gap=None):
    """Optimal jumps ``t_k`` (n, k) of the finite-width solution (``gap`` as in :func:`knot_moments`)."""
    xs = sol.xs
    m = len(xs)
    gap = gap if gap is not None else knot_gaps(xs, knots)
    t = np.zeros((len(knots), sol.intercept.shape[0]))
    # right-facing: outer (gap -1) uses row 0, gap j row j+1; beyond x_m nothing
    sel = right & (gap < m - 1)
    g = gap[sel]
    d = xs[np.maximum(g, -1) + 1] - knots[sel]
    mult = sol.mult_right[g + 1]
    t[sel] = q[sel, None] * (d[:, None] * mult[:, 0] + mult[:, 1])
    sel = ~right & (gap >= 0)
    g = gap[sel]
    e = knots[sel] - xs[g]
    mult = sol.mult_left[g]
    t[sel] = q[sel, None] * (e[:, None] * mult[:, 0] + mult[:, 1])
    return t


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
        order, xi = sort_order(xi)
        self._build(xi, w[has][order] > 0, t[order], const)

    @classmethod
    def from_jumps(cls, knots, right, jumps, const):
        """The network with slope ``jumps`` (n, k) at ``knots`` sorted ascending;
        its prefix sums are formed at the first evaluation (a fit that is never
        evaluated does not pay for them)."""
        pl = cls.__new__(cls)
        pl._build(knots, right, jumps, const)
        return pl

    def _build(self, knots, right, jumps, const):
        self.const = np.asarray(const, dtype=np.float64)
        self._pending, self._sides = (knots, right, jumps), None

    @property
    def sides(self):
        """Per direction: the sorted knots and the prefix sums of ``t`` and ``t xi``."""
        if self._sides is None:
            knots, right, jumps = self._pending
            zero = np.zeros((1, jumps.shape[1]))
            self._sides = []
            for sel in (right, ~right):  # each side's knots stay sorted
                k, t = knots[sel], jumps[sel]
                self._sides.append((k, np.vstack([zero, np.cumsum(t, axis=0)]),
                                    np.vstack([zero, np.cumsum(t * k[:, None], axis=0)])))
            self._pending = None
        return self._sides

    def _positions(self, x):
        """For each ``x``: how many knots of each side lie at or left of it.  The
        queries are sorted first: ``searchsorted`` with sorted queries stays in
        cache, several times faster than with scattered ones."""
        order, xsorted = sort_order(x)
        out = []
        for k, _, _ in self.sides:
            pos = np.empty(len(x), dtype=np.intp)
            pos[order] = np.searchsorted(k, xsorted, side="right")
            out.append(pos)
        return out

    def __call__(self, x):
        """Values (p, k) at ``x`` (p,)."""
        (_, r0, r1), (_, l0, l1) = self.sides
        x = np.asarray(x, dtype=np.float64)
        i, j = self._positions(x)
        x = x[:, None]
        right = x * r0[i] - r1[i]  # sum over xi <= x of t (x - xi)
        left = (l1[-1] - l1[j]) - x * (l0[-1] - l0[j])  # sum over xi > x of t (xi - x)
        return right + left + self.const

    def derivative(self, x):
        """Right derivative (p, k) at ``x`` (p,)."""
        (_, r0, _), (_, l0, _) = self.sides
        i, j = self._positions(np.asarray(x, dtype=np.float64))
        return r0[i] - (l0[-1] - l0[j])


def set_knot_attributes(est, W, b, v, single, presorted=None):
    """Set ``knots_`` (sorted ``-b_k / w_k``) and ``slope_jumps_`` (``|w_k| v_k``) on a
    fitted 1-D network; remove them otherwise, so a refit never leaves stale ones.

    ``v`` (n, k) is the slope of each unit's output per unit of ``relu``: output
    weights times the output scale and the activation's jump.  ``presorted``:
    the knots already sorted and their jumps, when a solver has them.
    """
    for name in ("knots_", "slope_jumps_"):
        if hasattr(est, name):
            delattr(est, name)
    if v is None or W.shape[1] != 1:
        return
    if presorted is not None:  # (sorted knots, their jumps) from the exact solver
        est.knots_, jumps = presorted
        est.slope_jumps_ = jumps[:, 0] if single else jumps
        return
    w = W[:, 0]
    has = w != 0
    knots = -b[has] / w[has]
    order = np.argsort(knots, kind="stable")
    jumps = (np.abs(w[has])[:, None] * v[has])[order]
    est.knots_ = knots[order]
    est.slope_jumps_ = jumps[:, 0] if single else jumps
