"""The two-layer network on 1-D inputs in ``O((m + n) log(m + n))``: values,
loss gradients and Hessian-vector products by prefix sums over sorted data.

With a piecewise-linear activation, ``act(z) = a_- z + (a_+ - a_-) z [z > 0]``
(ReLU: ``a_+ = 1, a_- = 0``; leaky ReLU: ``a_- = 0.01``; absolute value:
``a_- = -1``), a unit ``v act(w x + b)`` on 1-D inputs is the affine function
``a_- v (w x + b)`` plus ``(a_+ - a_-) v (w x + b)`` on its active side: ``x >
-b / w`` if ``w > 0``, ``x < -b / w`` if ``w < 0`` (all or nothing if ``w =
0``).  With the data sorted, each unit's active side is a suffix or a prefix
of them, found by a binary search, so that:

* the network's values are a global affine part plus, at each point, the sums
  of ``v w`` and ``v b`` over the units active there: a histogram of the units
  by the index where they switch on, then a cumulative sum (``O(n + m)``);
* every gradient needs, per unit, the sums of the (weighted) residuals ``r_i``
  and of ``r_i x_i`` over its active side: cumulative sums of the data, read at
  each unit's index (``O(m + n)``);
* a Hessian-vector product is one of each: ``J d`` has the same form as the
  values with the coefficients ``dv w + v dw`` and ``dv b + v db``, and ``J^T``
  and the residual term the same form as the gradient.

These are the dense path's sums (:class:`._network.Network`) in another order,
so the two agree to rounding; the dense path costs ``O(m n)``.  A point exactly
at a unit's knot takes the slope of the unit's inactive side, ``a_-``, as
``[z > 0]`` of the dense ReLU path does (the dense absolute value takes
``sign(0) = 0`` there: the two differ on that set of measure zero).  A unit
with ``w = 0`` has ``act'(b)`` on all the data, as in the dense path.
"""

import contextlib

import numpy as np

__all__ = ["Sorted", "applies", "dense_only", "wins"]

# the sorted path is chosen from this many products m * n on (measured: bench_gd_1d.py)
MIN_PRODUCTS = 1 << 16


@contextlib.contextmanager
def dense_only():
    """Switch the sorted path off inside a ``with`` block (the dense step, for comparisons)."""
    global MIN_PRODUCTS
    saved, MIN_PRODUCTS = MIN_PRODUCTS, 1 << 62
    try:
        yield
    finally:
        MIN_PRODUCTS = saved


def applies(act, X):
    """Whether the sorted path can run: one input feature and a piecewise-linear activation."""
    return X.ndim == 2 and X.shape[1] == 1 and act.kink_jump is not None


def wins(act, X, n):
    """Whether the sorted path runs: it applies and the problem is large enough to gain."""
    return applies(act, X) and X.shape[0] * n >= MIN_PRODUCTS


class Sorted:
    """The sorted data of one batch and the units' active sides on them.

    Parameters
    ----------
    act : Activation
        Piecewise linear (``kink_jump`` set).
    x : ndarray of shape (m,)
        The inputs (any order).
    W : ndarray of shape (n, 1)
    b : ndarray of shape (n,)
    order : ndarray of int, optional
        The permutation that sorts ``x``, if known.
    hint : ndarray of int (n,), optional
        The units' :attr:`slot` at nearby parameters (the last step's): the
        units whose knot is still in the same gap of the data keep it, the
        others are searched again.

    Attributes
    ----------
    order, xs : the permutation that sorts ``x`` and the sorted inputs
    slot : ndarray of int (n,)
        Where each unit's active side starts or ends: ``j`` for a unit active
        on the sorted data from ``j`` on (``w > 0``; ``m``, no data, for ``w =
        0``), ``m + 1 + j`` for one active before ``j`` (``w < 0``).  One index,
        so that every histogram and every gather is one call.
    base : ndarray (n,)
        Each unit's ``act'`` off its active side: ``a_-``, or ``act'(b)`` on
        all the data for ``w = 0``.
    """

    def __init__(self, act, x, W, b, order=None, hint=None):
        self.a_minus = float(act.first(np.array(-1.0)))
        self.jump = float(act.first(np.array(1.0))) - self.a_minus
        self.order = np.argsort(x, kind="stable") if order is None else order
        # float64 throughout (float32 inputs too): one rounding at the end, and the
        # knots -b / w of float32 parameters exact enough to side with w x + b
        self.xs = xs = x[self.order].astype(np.float64, copy=False)
        w, b = W[:, 0].astype(np.float64, copy=False), b.astype(np.float64, copy=False)
        m = self.m = len(xs)
        left = w < 0
        with np.errstate(divide="ignore", invalid="ignore"):
            knot = -b / w
        start = np.empty(len(w), dtype=np.intp)
        todo = np.ones(len(w), dtype=bool)
        if hint is not None and len(hint) == len(w):
            # the knot is still in the gap of the hint: xs[j - 1] <= knot < xs[j]
            # (right-facing, active for x > knot) or xs[j - 1] < knot <= xs[j] (left)
            j = np.where(hint > m, hint - (m + 1), hint)
            padded = np.concatenate([[-np.inf], xs, [np.inf]])
            lo, hi = padded[j], padded[j + 1]
            same = np.where(left, (lo < knot) & (knot <= hi), (lo <= knot) & (knot < hi)) & (w != 0)
            same &= (hint > m) == left  # the unit did not turn around
            start[same] = j[same]
            todo = ~same
        r = todo & (w > 0)
        start[r] = np.searchsorted(xs, knot[r], side="right")  # active: x > knot
        lt = todo & left
        start[lt] = np.searchsorted(xs, knot[lt], side="left")  # active: x < knot
        # a unit with w = 0 has z = b everywhere: no active side (its slot m is
        # empty) and act'(b) as its slope on all the data
        flat = w == 0
        start[flat] = m
        self.slot = start + (m + 1) * left
        self.base = np.full(len(w), self.a_minus)
        if flat.any():
            self.base[flat] = act.first(b[flat])

    def values(self, A, B):
        """``F_i = sum_k act'(z_ik) (A_k x_i + B_k)`` in sorted order: the sum over
        all units weighted by their :attr:`base` slope plus ``jump`` times the
        sum over the units active at ``x_i``; ``A``, ``B`` of shape (n, q), the
        result (m, q)."""
        m, q = self.m, A.shape[1]
        out = np.empty((m, q))
        for j in range(q):
            active = None
            for c, scale in ((A[:, j], self.xs), (B[:, j], 1.0)):
                # the right-facing units switch on at their slot, the left-facing off after it
                hist = np.bincount(self.slot, c, minlength=2 * (m + 1))
                on = np.cumsum(hist[:m])
                off = np.cumsum(hist[:m:-1])[::-1][1:]  # sum of hist[m + 2 + i:], i < m
                part = (on + off) * scale
                active = part if active is None else active + part
            out[:, j] = self.jump * active + (self.base @ A[:, j]) * self.xs + self.base @ B[:, j]
        return out

    def sums(self, U):
        """Per unit ``k``, ``sum_i act'(z_ik) U_i``: its :attr:`base` slope times
        the sum of ``U`` over all the data plus ``jump`` times its sum over the
        unit's active side; ``U`` (m, q) in sorted order, the result (n, q)."""
        m, q = U.shape
        # rows 0..m: the suffix sums (from row i on), rows m+1..2m+1: the prefix
        # sums (of the first i rows), both without subtraction, read at the slots
        table = np.zeros((2 * (m + 1), q))
        np.cumsum(U[::-1], axis=0, out=table[m - 1::-1])
        np.cumsum(U, axis=0, out=table[m + 2:])
        out = np.take(table, self.slot, axis=0)
        out *= self.jump
        out += self.base[:, None] * table[0]
        return out


def _sorted(batch, act, params):
    """The batch's sorted order (kept on the batch: its data do not change) and
    the units' sides, searched from those of the last call on the batch."""
    x = batch.X[:, 0]
    if batch._order1d is None:
        batch._order1d = np.argsort(x, kind="stable")
    srt = Sorted(act, x, params.W, params.b, batch._order1d, batch._slots1d)
    batch._slots1d = srt.slot  # the next step's parameters are near these
    return srt


def _float64(params):
    """``w`` (n,), ``b``, ``v`` in float64: the sums and their coefficients are formed in it."""
    return tuple(a.astype(np.float64, copy=False) for a in (params.W[:, 0], params.b, params.v))


def predict(act, s, params, X):
    """The network's output at ``X`` (m, 1) (:meth:`._network.Network.predict`)."""
    srt = Sorted(act, X[:, 0], params.W, params.b)
    w, b, v = _float64(params)
    F = srt.values(w[:, None] * v, b[:, None] * v)
    out = np.empty((X.shape[0], v.shape[1]), dtype=np.result_type(X.dtype, params.W.dtype))
    out[srt.order] = s * F + params.c
    return out


def loss_and_grad(act, s, params, batch, Params):
    """Loss and gradient (:meth:`._network.Network.loss_and_grad`)."""
    srt = _sorted(batch, act, params)
    w, b, v = _float64(params)
    F = s * srt.values(w[:, None] * v, b[:, None] * v) + params.c
    Y, p = batch.Y[srt.order], batch.p[srt.order]
    R = F - Y
    PR = R * p[:, None]
    loss = 0.5 * float(p @ np.sum(R * R, axis=1))
    k = v.shape[1]
    S = srt.sums(np.hstack([PR, PR * srt.xs[:, None]]))  # (n, 2k): sums of p r and p r x
    S0, S1 = S[:, :k], S[:, k:]
    gv = s * (w[:, None] * S1 + b[:, None] * S0)
    gw = s * np.sum(v * S1, axis=1)
    gb = s * np.sum(v * S0, axis=1)
    dt = batch.X.dtype
    return loss, Params(gw[:, None].astype(dt), gb.astype(dt), gv.astype(dt), PR.sum(axis=0).astype(dt))


def hvp_operator(act, s, params, batch, gauss_newton, Params):
    """The map ``direction -> H direction`` (:meth:`._network.Network._hvp_operator`)."""
    srt = _sorted(batch, act, params)
    w, b, v = _float64(params)
    k = v.shape[1]
    p = batch.p[srt.order][:, None]
    xs = srt.xs[:, None]
    dt = batch.X.dtype
    S = None
    if not gauss_newton:
        PR = (s * srt.values(w[:, None] * v, b[:, None] * v) + params.c - batch.Y[srt.order]) * p
        S = srt.sums(np.hstack([PR, PR * xs]))  # the residual term's sums, fixed for every product

    def apply(direction):
        dw, db, dv = _float64(direction)
        # J d: the values of a network with coefficients dv (w, b) + v (dw, db)
        Jd = s * srt.values(dv * w[:, None] + v * dw[:, None], dv * b[:, None] + v * db[:, None]) + direction.c
        PJ = Jd * p
        T = srt.sums(np.hstack([PJ, PJ * xs]))
        T0, T1 = T[:, :k], T[:, k:]
        gv = s * (w[:, None] * T1 + b[:, None] * T0)
        gw = s * np.sum(v * T1, axis=1)
        gb = s * np.sum(v * T0, axis=1)
        if not gauss_newton:  # sum_i p_i r_i grad^2 f(x_i) d: the cross terms of v and (w, b)
            S0, S1 = S[:, :k], S[:, k:]
            gv += s * (dw[:, None] * S1 + db[:, None] * S0)
            gw += s * np.sum(dv * S1, axis=1)
            gb += s * np.sum(dv * S0, axis=1)
        return Params(gw[:, None].astype(dt), gb.astype(dt), gv.astype(dt), PJ.sum(axis=0).astype(dt))

    return apply
