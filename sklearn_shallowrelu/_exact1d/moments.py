"""What the solvers need of a knot measure: its moments over the gaps of the
sorted data.

A finite network gives the measure ``sum_k q_k delta_{xi_k}`` (``q_k = w_k^2 / n``,
knot ``xi_k = -b_k / w_k``); an initialisation at infinite width gives
``g_+(c) dc`` and ``g_-(c) dc`` (:mod:`.continuum`).  The solvers only see the
sums ``sum q d^k``, ``k = 0, 1, 2``, of each gap, with offsets ``d`` taken from
a gap end so that tiny gaps keep full relative accuracy:

- :class:`GapMoments`: split by direction (right-facing from the right end,
  left-facing from the left end), the input of the general system
  (:mod:`.general`) and of the free-affine chain (:mod:`.chain`);
- :class:`ChainMoments`: all knots that act on the one chain, plus the
  left-facing ones apart, the input of :mod:`.bordered`;
- :class:`Blocks`: the :class:`ChainMoments` of a finite network together with
  the grouping of its sorted knots by gap, which the jumps and the accuracy
  certificate need.
"""

import numpy as np

from . import _prepare


class GapMoments:
    """What the solver needs of a knot measure, split by direction.

    right, left : ndarray of shape (3, m - 1)
        On each gap ``[x_j, x_{j+1})``: ``sum q d^k`` over the right-facing knots
        with ``d = x_{j+1} - xi`` and ``sum q e^k`` over the left-facing ones with
        ``e = xi - x_j`` (``k = 0, 1, 2``).  Local offsets keep tiny gaps exact.
    outer_right, outer_left : ndarray of shape (3,)
        The same for the right-facing knots left of ``x_1`` (``d = x_1 - xi``) and
        the left-facing knots right of ``x_m`` (``e = xi - x_m``): on the data they
        are affine functions.
    """

    def __init__(self, right, left, outer_right, outer_left):
        self.right, self.left = np.asarray(right, float), np.asarray(left, float)
        self.outer_right, self.outer_left = np.asarray(outer_right, float), np.asarray(outer_left, float)


def knot_gaps(xs, knots):
    """Gap index of each knot: ``j`` for ``x_j <= xi < x_{j+1}``, -1 left of the data, m-1 right of it."""
    return np.searchsorted(xs, knots, side="right") - 1


def knot_moments(xs, knots, q, right, gap=None):
    """Gap moments of the finite knot measure ``sum_k q_k delta_{xi_k}``.

    ``right`` marks the right-facing units (``w_k > 0``); ``gap`` is
    ``knot_gaps(xs, knots)`` if already known.
    """
    m = len(xs)
    gap = gap if gap is not None else knot_gaps(xs, knots)
    out = {}
    for name, side in (("right", right), ("left", ~right)):
        inner = side & (gap >= 0) & (gap < m - 1)
        g = gap[inner]
        off = xs[g + 1] - knots[inner] if name == "right" else knots[inner] - xs[g]
        out[name] = np.stack([np.bincount(g, weights=q[inner] * off**k, minlength=m - 1) for k in range(3)])
    o_r = right & (gap == -1)
    o_l = ~right & (gap == m - 1)
    d, e = xs[0] - knots[o_r], knots[o_l] - xs[-1]
    return GapMoments(out["right"], out["left"], [np.sum(q[o_r] * d**k) for k in range(3)],
                      [np.sum(q[o_l] * e**k) for k in range(3)])


def kernel_diagonal(xs, gaps):
    """``K(x_i, x_i) = sum q relu(s (x_i - xi))^2`` at the sorted ``xs`` from their :class:`GapMoments`.

    The right-facing knots enter from the left (those left of ``x_1`` at
    ``x_1``, those of gap ``j`` at ``x_{j+1}``), the left-facing ones from the
    right (those of gap ``j`` at ``x_j``, those right of ``x_m`` at ``x_m``),
    each with its moments about the point where it enters.  From one point to
    the next each side's sums ``S_k = sum q d^k`` are shifted by the step ``h``
    (the binomial theorem: ``S_2 + 2 h S_1 + h^2 S_0``) and grow by what
    enters there (:func:`._prepare.kernel_diagonal`, compiled), so every term is
    non-negative: expanding ``(x - xi)^2`` around the origin instead (``x^2 sum
    q - 2 x sum q xi + sum q xi^2``) would cancel for data far from the origin
    relative to their spread.
    """
    m = len(xs)
    right, left = np.empty((3, m)), np.empty((3, m))
    right[:, 0], right[:, 1:] = gaps.outer_right, gaps.right
    left[:, -1], left[:, :-1] = gaps.outer_left, gaps.left
    return _prepare.kernel_diagonal(np.ascontiguousarray(xs, dtype=float), right, left)


class ChainMoments:
    """What :func:`solve` needs of a knot measure on sorted data ``xs`` (m,).

    M : (3, m) ``sum q d^k`` per block over the knots that act on the chain (all
        in the gaps, the right-facing ones in block 0), ``d`` from the block's
        right end
    ML : (3, m) the same over the left-facing knots of the gaps (zero in block 0)
    hat : (3,) ``sum q (xi - x_1)^k`` over the left-facing knots at or right of ``x_1``
    beyond : (3,) ``sum q (xi - x_m)^k`` over the left-facing knots at or right of ``x_m``

    gaps : :class:`GapMoments` or None
        the same knots split by direction, where the producer has them at
        little cost (the kernel's diagonal needs them: :func:`kernel_diagonal`)

    For the infinite-width limit the sums are integrals of the curvature
    weights (:func:`.continuum.chain_moments`).
    """

    def __init__(self, xs, M, ML, hat, beyond, gaps=None):
        self.xs, self.M, self.ML = xs, np.asarray(M, float), np.asarray(ML, float)
        self.hat, self.beyond = np.asarray(hat, float), np.asarray(beyond, float)
        self.gaps = gaps


def from_gap_moments(xs, mom):
    """The :class:`ChainMoments` of the knot measure that :class:`.GapMoments` ``mom`` describes.

    A left-facing knot of gap ``[x_j, x_{j+1})`` at offset ``e`` from the left
    end lies at ``d = h_j - e`` from the right end and at ``(x_j - x_1) + e``
    from ``x_1``; the moments in those offsets follow by the binomial theorem.
    Every term of ``hat`` is non-negative, and the shifted gap moments lose at
    most ``eps q h^2`` (absolute) to cancellation, the rounding of the offsets
    themselves.
    """
    m = len(xs)
    h = np.diff(xs)
    L0, L1, L2 = mom.left
    ML = np.zeros((3, m))
    ML[:, 1:] = [L0, h * L0 - L1, h * h * L0 - 2.0 * h * L1 + L2]
    M = ML.copy()
    M[:, 0] = mom.outer_right
    M[:, 1:] += mom.right
    hat = np.zeros(3)
    for (s0, s1, s2), a in ((mom.left, xs[:-1] - xs[0]), (mom.outer_left, xs[-1] - xs[0])):
        hat += [np.sum(s0), np.sum(s1 + a * s0), np.sum(s2 + 2.0 * a * s1 + a * a * s0)]
    return ChainMoments(xs, M, ML, hat, mom.outer_left, mom)


class Blocks(ChainMoments):
    """Sorted knots grouped by the sorted distinct data ``xs`` (m,): the
    :class:`ChainMoments` of a finite network, and what its jumps need.

    Parameters
    ----------
    xs : ndarray of shape (m,)
    knots, q, right : ndarray of shape (n,)
        Knots sorted ascending, their masses ``w^2 / n`` and directions (``w > 0``).

    Attributes
    ----------
    block : (n,) block of each knot;  d : (n,) its offset from the block's right end
    M, ML, hat, beyond : as in :class:`ChainMoments`
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
        lq, e = lq[self.stop - self.start:], -self.d[self.stop:]
        self.beyond = np.array([lq.sum(), lq @ e, (lq * e) @ e])

    def sums(self, rows):
        """Sums (r, m + 1) over the knots of each block of ``rows`` (r, n)."""
        out = np.zeros((rows.shape[0], len(self.xs) + 1))
        if len(self._first):  # reduceat over the nonempty blocks only: it mishandles empty segments
            out[:, self._full] = np.add.reduceat(rows, self._first, axis=1)
        return out
