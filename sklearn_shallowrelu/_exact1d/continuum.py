"""The infinite-width input of the exact 1-D solver: moments of an
initialisation's curvature weights ``g_+`` and ``g_-`` over intervals, and the
evaluation of the solved problem anywhere on the line.

In the limit the knot measure ``sum_k q_k delta_{xi_k}`` becomes ``g_+(c) dc``
(right-facing) and ``g_-(c) dc`` (left-facing), so the solvers need
``int g_+(c) (b - c)^k dc`` and ``int g_-(c) (c - a)^k dc`` over each gap
``[a, b]``.  They are computed by Gauss-Legendre quadrature on pieces split at
the breakpoints of ``g`` and no wider than a quarter of ``max(scale, |c|)``
(sinh-spaced), with the offsets ``b - c`` formed from the piece ends so that a gap
of width 1e-12 keeps full relative accuracy (a difference of cumulative moments
would lose it all).
"""

import numpy as np

from .moments import ChainMoments, GapMoments

__all__ = ["interval_moments", "tail_moments", "gap_moments", "chain_moments", "evaluate", "Combined"]

NODES, WEIGHTS = np.polynomial.legendre.leggauss(10)
NODES2, WEIGHTS2 = np.polynomial.legendre.leggauss(2)
_PIECE = 0.25  # widest piece, in units of asinh(c / scale)


def pieces(init, a, b):
    """Quadrature pieces ``(owner, lo, hi)`` covering each ``[a_i, b_i]``."""
    s = init.length_scale()
    if s is None:  # g constant between breakpoints: one piece per interval, split at them below
        count = np.ones(len(a), dtype=np.intp)
        s, fa, fb = 1.0, np.arcsinh(a), np.arcsinh(b)
    else:
        fa, fb = np.arcsinh(a / s), np.arcsinh(b / s)
        count = np.maximum(1, np.ceil((fb - fa) / _PIECE)).astype(np.intp)
    owner = np.repeat(np.arange(len(a)), count)
    first = np.cumsum(count) - count
    frac = (np.arange(owner.size) - first[owner]) / count[owner]
    step = ((fb - fa) / count)[owner]
    lo = s * np.sinh(fa[owner] + frac * (fb - fa)[owner])
    hi = s * np.sinh(fa[owner] + frac * (fb - fa)[owner] + step)
    lo[first], hi[first + count - 1] = a, b  # exact ends: offsets are taken from them
    hi[:-1] = np.where(owner[1:] == owner[:-1], lo[1:], hi[:-1])  # pieces tile without gaps
    for p in init.breakpoints():
        cut = (lo < p) & (p < hi)
        if np.isfinite(p) and cut.any():
            owner = np.concatenate([owner, owner[cut]])
            lo = np.concatenate([lo, np.full(int(cut.sum()), float(p))])
            hi = np.concatenate([np.where(cut, p, hi), hi[cut]])
    return owner, lo, hi


class Combined:
    """All units of an initialisation as right-facing ones: ``g_+ + g_-`` on one side.

    With a free affine part this is the same problem (:func:`.chain.solve_free`), and
    its moments anchored at the right end of each gap keep full accuracy.  The
    outer knots play no part then, so the tail moments are zero.
    """

    def __init__(self, init):
        self.init = init

    def curvature_weight_parts(self, x):
        gp, gm = self.init.curvature_weight_parts(x)
        return gp + gm, np.zeros_like(gp)

    def length_scale(self):
        return self.init.length_scale()

    def breakpoints(self):
        return self.init.breakpoints()

    def cumulative_moments(self, u, side):
        return np.zeros((3,) + np.shape(u))

    def tail_moments(self, x, side):
        return np.zeros((3,) + np.shape(x))


def gauss(lo, hi, nodes, weights):
    """Gauss-Legendre nodes ``c`` and weights ``wq`` (pieces x nodes) on the pieces ``[lo, hi]``."""
    half = 0.5 * (hi - lo)
    return 0.5 * (hi + lo)[:, None] + half[:, None] * nodes, half[:, None] * weights


def offsets(a, b, owner, lo, hi, nodes):
    """``(b - c, c - a)`` for the nodes of the pieces ``[lo, hi]`` of ``[a, b][owner]``,
    formed from the piece ends: exact for an interval of width 1e-12 too."""
    half = 0.5 * (hi - lo)[:, None]
    return (b[owner] - hi)[:, None] + half * (1.0 - nodes), (lo - a[owner])[:, None] + half * (1.0 + nodes)


def _quadrature(init, a, b):
    """Nodes on the pieces of each ``[a_i, b_i]``: ``(owner, wq, gp, gm, d, e)`` with
    the piece of each row, the weights, ``g_+`` and ``g_-`` at the nodes and the
    offsets ``(b - c, c - a)``."""
    owner, lo, hi = pieces(init, a, b)
    # a constant g times a quadratic: the two-point rule is exact
    nodes, weights = (NODES2, WEIGHTS2) if init.length_scale() is None else (NODES, WEIGHTS)
    c, wq = gauss(lo, hi, nodes, weights)
    gp, gm = init.curvature_weight_parts(c)
    d, e = offsets(a, b, owner, lo, hi, nodes)
    return owner, wq, gp, gm, d, e


def _moments(owner, n, density, off):
    """``sum density off^k`` per interval (3, n) from the quadrature rows."""
    return np.stack([np.bincount(owner, weights=np.sum(density * off**k, axis=1), minlength=n) for k in range(3)])


def interval_moments(init, a, b):
    """Moments of the curvature weights over intervals.

    Returns ``(right, left)``, each of shape (3, len(a)): ``right[k] = int_a^b
    g_+(c) (b - c)^k dc`` and ``left[k] = int_a^b g_-(c) (c - a)^k dc``.
    """
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    owner, wq, gp, gm, d, e = _quadrature(init, a, b)
    return _moments(owner, len(a), wq * gp, d), _moments(owner, len(a), wq * gm, e)


def tail_moments(init, x, side):
    """``int_{-inf}^x g_+(c) (x - c)^k dc`` (side '+') or ``int_x^inf g_-(c) (c - x)^k dc`` (side '-')
    (:meth:`..init.Initialization.tail_moments`)."""
    return init.tail_moments(x, side)


def gap_moments(init, xs):
    """:class:`GapMoments` of the initialisation's curvature weights on sorted data ``xs``."""
    right, left = interval_moments(init, xs[:-1], xs[1:])
    return GapMoments(right, left, tail_moments(init, xs[:1], "+")[:, 0], tail_moments(init, xs[-1:], "-")[:, 0])


def constant_between(init, lo, hi):
    """``(g_+, g_-)`` if both are constant on ``[lo, hi]`` (weights constant
    between breakpoints, none of them inside), else None."""
    if init.length_scale() is not None or any(lo < p < hi for p in init.breakpoints()):
        return None
    gp, gm = init.curvature_weight_parts(np.array([0.5 * (lo + hi)]))
    return float(gp[0]), float(gm[0])


def chain_moments(init, xs):
    """:class:`.ChainMoments` of the curvature weights on sorted data ``xs``:
    over each gap the moments of ``g_+ + g_-`` and of ``g_-`` anchored at its
    right end, and the tails; with the :class:`.GapMoments` of the same
    quadrature (``g_+`` from the right end, ``g_-`` from the left end)."""
    a, b = xs[:-1], xs[1:]
    M = np.empty((3, len(xs)))
    ML = np.zeros((3, len(xs)))
    M[:, 0] = tail_moments(init, xs[:1], "+")[:, 0]
    constant = constant_between(init, xs[0], xs[-1])
    if constant is not None:  # int_a^b g (b - c)^k dc = g h^(k+1) / (k+1), without the quadrature's set-up
        powers = np.empty((3, len(a)))  # h, h^2 / 2, h^3 / 3 (written in place: np.stack costs more)
        h = np.subtract(b, a, out=powers[0])
        np.multiply(h, h / 2.0, out=powers[1])
        np.multiply(powers[1], h / 1.5, out=powers[2])
        right, ML[:, 1:] = constant[0] * powers, constant[1] * powers
        left = ML[:, 1:]  # a constant weight has the same moments from either end
    else:
        owner, wq, gp, gm, d, e = _quadrature(init, a, b)
        right, ML[:, 1:] = _moments(owner, len(a), wq * gp, d), _moments(owner, len(a), wq * gm, d)
        left = _moments(owner, len(a), wq * gm, e)
    M[:, 1:] = right + ML[:, 1:]
    tails = tail_moments(init, xs[[0, -1]], "-")  # the left-facing tails at both ends
    return ChainMoments(xs, M, ML, tails[:, 0], tails[:, 1], GapMoments(right, left, M[:, 0], tails[:, 1]))


def evaluate(init, sol, x, order=0):
    """The infinite-width solution, or its first or second derivative, at ``x`` (p,); shape (p, k).

    Inside a gap ``[x_j, x_{j+1}]`` the right-facing part grows from the state
    at ``x_j`` by the jump density ``g_+(c) ((x_{j+1} - c) mult_a + mult_b)`` of
    the gap, and the left-facing part from the state at ``x_{j+1}``; outside
    the data only the outer knots act, so a free affine part extends linearly.
    """
    xs = sol.xs
    m = len(xs)
    x = np.asarray(x, dtype=float)
    out = np.empty((len(x), sol.intercept.shape[0]))
    lo, hi = x < xs[0], x > xs[-1]
    mid = ~(lo | hi)
    j = np.clip(np.searchsorted(xs, x[mid], side="right") - 1, 0, m - 2)
    xm = x[mid]
    I = interval_moments(init, xs[j], xm)[0][..., None]  # (3, p, 1)
    J = interval_moments(init, xm, xs[j + 1])[1][..., None]
    lr, ll = sol.mult_right[j + 1], sol.mult_left[j]  # (p, 2, k)
    beta = (xs[j + 1] - xm)[:, None] * lr[:, 0] + lr[:, 1]
    gamma = (xm - xs[j])[:, None] * ll[:, 0] + ll[:, 1]
    out[mid] = _combine(init, order, xm, sol.R[j], (xm - xs[j])[:, None], lr[:, 0], beta, I,
                        sol.L[j + 1], (xs[j + 1] - xm)[:, None], ll[:, 0], gamma, J)
    for sel, side in ((lo, "+"), (hi, "-")):
        if not sel.any():
            continue
        xo = x[sel]
        T = tail_moments(init, xo, side)[..., None]
        zero = np.zeros((3, xo.size, 1))
        if side == "+":  # left of the data: outer right-facing knots; the left part is linear
            mult = sol.mult_right[0]
            beta = (xs[0] - xo)[:, None] * mult[0] + mult[1]
            # what the outer knots do not explain of R_1 is a free affine part
            T1 = tail_moments(init, xs[:1], "+")[:, 0]
            free = sol.R[0] - np.stack([mult[0] * T1[2] + mult[1] * T1[1], mult[0] * T1[1] + mult[1] * T1[0]])
            Rstate = np.broadcast_to(free, (xo.size,) + free.shape)
            Lstate = np.broadcast_to(sol.L[0], (xo.size,) + sol.L[0].shape)
            out[sel] = _combine(init, order, xo, Rstate, (xo - xs[0])[:, None], mult[0], beta, T,
                                Lstate, (xs[0] - xo)[:, None], 0.0, 0.0, zero)
        else:
            mult = sol.mult_left[-1]
            gamma = (xo - xs[-1])[:, None] * mult[0] + mult[1]
            Rstate = np.broadcast_to(sol.R[-1], (xo.size,) + sol.R[-1].shape)
            out[sel] = _combine(init, order, xo, Rstate, (xo - xs[-1])[:, None], 0.0, 0.0, zero,
                                np.zeros_like(Rstate), 0.0, mult[0], gamma, T)
    return out + (sol.intercept if order == 0 else 0.0)


def _combine(init, order, x, R, dR, aR, beta, I, L, dL, aL, gamma, J):
    """Value, slope or curvature from the two parts.

    ``R`` (p, 2, k) is the right-facing state at the left end, moved over ``dR``
    with jump density ``g_+ (mult_a (x - c) + beta)`` (moments ``I`` anchored at x);
    ``L`` the left-facing state at the right end, moved over ``dL`` with density
    ``g_- (mult_a (c - x) + gamma)`` (moments ``J``).
    """
    if order == 0:
        return (R[:, 0] + dR * R[:, 1] + aR * I[2] + beta * I[1]) + (L[:, 0] + dL * L[:, 1] + aL * J[2] + gamma * J[1])
    if order == 1:
        return (R[:, 1] + aR * I[1] + beta * I[0]) - (L[:, 1] + aL * J[1] + gamma * J[0])
    gp, gm = init.curvature_weight_parts(x)
    return gp[:, None] * beta + gm[:, None] * gamma
