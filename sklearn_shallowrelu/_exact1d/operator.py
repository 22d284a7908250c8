"""The random-feature design of 1-D inputs as an ``O(m + n)`` operator.

The iterative output-layer solvers (gradient and mirror descent) need only
products with the normalised design ``A`` of :mod:`sklearn_shallowrelu._design`
and its transpose.  On 1-D inputs a unit is active on an interval of the
sorted inputs, so both products are prefix sums over sorted inputs and sorted
units: one sort, then about a dozen passes over arrays of length ``m`` or
``n`` per product.
"""

import numpy as np
from scipy.sparse.linalg import LinearOperator
from sklearn.utils import gen_batches

from .._design import WeightedDesign, rows_per_chunk, unit_weights


def operator_1d_helps(m, n):
    """Whether :class:`Design1D` should replace the dense design for ``m`` samples and ``n`` units.

    A dense product reads the ``m x n`` matrix (or rebuilds it chunk by chunk
    when it exceeds ``working_memory``); the 1-D operator makes about a dozen
    passes over arrays of length ``m`` or ``n`` after a fixed overhead of some
    tens of numpy calls.  Measured (``benchmarks/bench_gd_1d.py``, one core):
    the two break even near ``m n = 5e5`` entries when ``m`` and ``n`` are
    comparable (dense time over 1-D time: 1000 x 500: 0.9, 1000 x 1000: 1.7,
    3000 x 3000: 20 to 40), and near ``m n / (m + n) = 32`` when one of them
    is small (1e5 x 32: 0.8 to 1.6, 1e5 x 64: 4 to 9; 30 x 1e5: 0.4 to 0.6,
    60 x 1e5: 1.0 to 1.2; ranges over runs on a shared machine).  The
    threshold sits just past break-even: below it a step takes well under a
    millisecond either way.
    """
    return m * n >= _MIN_ENTRIES_1D and m * n >= _MIN_RATIO_1D * (m + n)


_MIN_ENTRIES_1D = 2**20


_MIN_RATIO_1D = 32


def spectral_beats_operator_1d(m, n, steps):
    """Whether one eigendecomposition (``m n r + r^3`` flops, ``r = min(m, n)``) is
    cheaper than ``steps`` iterations of the 1-D operator.

    A step (one ``matvec`` and one ``rmatvec``) of :class:`Design1D` costs
    about as much as ``_STEP_COST_1D (m + n)`` multiply-adds of a matrix
    product (measured about 1400 in ``benchmarks/bench_gd_1d.py``; the
    eigendecomposition runs well below the speed of a matrix product, hence
    the rounder, smaller value).
    """
    r = min(m, n)
    return m * n * r + r**3 <= _STEP_COST_1D * (m + n) * steps


_STEP_COST_1D = 1000


class _Features1D:
    """Random ReLU features ``relu(w_k x + b_k) / sqrt(n)`` of 1-D inputs as an operator.

    A unit is active on an interval of the sorted inputs: ``x > -b/w`` for
    ``w > 0``, ``x < -b/w`` for ``w < 0``, everywhere or nowhere for ``w = 0``.
    Units active up to the largest input form the block ``R`` (active from
    sorted position ``lo``), the others the block ``L`` (active below
    position ``hi``); each block is sorted once by that position.  Then
    ``(Phi^T r)_k = (w_k S_1 + b_k S_0) / sqrt(n)`` with ``S_j`` the sum of
    ``x^j r`` over the unit's interval (prefix sums over the sorted inputs), and
    ``(Phi v)_i = x_i a_i + c_i`` with ``a_i``, ``c_i`` the sums of ``w v`` and
    ``b v`` over the units active at ``x_i`` (prefix sums over a block).  Each
    product is a few gathers and cumulative sums: ``O(m + n)``.

    Parameters
    ----------
    x : ndarray of shape (m,)
    w, b : ndarray of shape (n,)
    drop : ndarray of bool of shape (n,) or None
        Units to treat as identically zero.
    """

    def __init__(self, x, w, b, drop=None):
        x, w, b = (np.asarray(a, dtype=np.float64) for a in (x, w, b))
        m, self.n = len(x), len(w)
        self.order = np.argsort(x, kind="stable")
        xs = x[self.order]
        # Products cancel between x * sum(w v) and sum(b v); measuring x from
        # the middle of the data keeps both terms of the size of the features.
        centre = 0.5 * (xs[0] + xs[-1]) if m else 0.0
        self.xs, self.x = xs - centre, x - centre
        with np.errstate(divide="ignore", invalid="ignore"):
            knot = -b / w
        # Activity is decided on the original knots and inputs; where rounding could
        # make it disagree with the sign of w x + b, the feature is zero to rounding.
        lo = np.where(w > 0, np.searchsorted(xs, knot, side="right"), 0)
        hi = np.where(w < 0, np.searchsorted(xs, knot, side="left"), m)
        hi = np.where((w == 0) & (b <= 0), 0, hi)
        if drop is not None:
            hi = np.where(drop, 0, hi)
        active = lo < hi
        right, left = np.flatnonzero(active & (hi == m)), np.flatnonzero(active & (hi < m))
        self.right = right[np.argsort(lo[right], kind="stable")]
        self.left = left[np.argsort(hi[left], kind="stable")]
        self.lo, self.hi = lo[self.right], hi[self.left]
        shifted = b + w * centre
        self.wr, self.br = w[self.right], shifted[self.right]
        self.wl, self.bl = w[self.left], shifted[self.left]
        rank = np.empty(m, dtype=np.intp)
        rank[self.order] = np.arange(m)
        # per sample (original order): how many R units have started, how many L units have ended
        self.started = np.searchsorted(self.lo, rank, side="right")
        self.ended = np.searchsorted(self.hi, rank, side="right")
        self.inv_sqrt_n = 1.0 / np.sqrt(self.n)

    def matvec(self, v):
        """``Phi v`` (m, k) for ``v`` (n, k), in float64."""
        V = np.asarray(v, dtype=np.float64).T
        k = V.shape[0]
        VR, VL = V.take(self.right, axis=1), V.take(self.left, axis=1)
        R = _take_rows(_cumsum0(np.concatenate([self.wr * VR, self.br * VR])), self.started)
        C = _cumsum0(np.concatenate([self.wl * VL, self.bl * VL]))
        R += C[:, -1:]
        R -= _take_rows(C, self.ended)  # the L units still active
        out = self.x * R[:k]
        out += R[k:]
        out *= self.inv_sqrt_n
        return out.T

    def interval_sums(self, Q):
        """Sums of the rows of ``Q`` (c, m), sorted inputs, over each unit's interval: (c, n)."""
        C = _cumsum0(Q)
        out = np.zeros((Q.shape[0], self.n))
        out[:, self.right] = C[:, -1:] - _take_rows(C, self.lo)
        out[:, self.left] = _take_rows(C, self.hi)
        return out

    def _combine(self, S1, S0):
        """``(w S_1 + b S_0) / sqrt(n)`` for every unit (zero where inactive)."""
        out = np.zeros((S0.shape[0], self.n))
        for units, w, b in ((self.right, self.wr, self.br), (self.left, self.wl, self.bl)):
            out[:, units] = (w * S1[:, units] + b * S0[:, units]) * self.inv_sqrt_n
        return out

    def rmatvec(self, r):
        """``Phi^T r`` (n, k) for ``r`` (m, k), in float64."""
        Q = _take_rows(np.asarray(r, dtype=np.float64).T, self.order)
        k = Q.shape[0]
        S = self.interval_sums(np.concatenate([Q, self.xs * Q]))
        return self._combine(S[k:], S[:k]).T

    def moments(self, p):
        """Mean and mean square of each feature under sample weights ``p`` (m,)."""
        ps = p[self.order]
        S0, S1, S2 = self.interval_sums(np.stack([ps, ps * self.xs, ps * self.xs**2]))
        mean = self._combine(S1[None], S0[None])[0]
        # (w x + b)^2 = w (w x^2 + b x) + b (w x + b): the same combination twice
        square = self._combine(self._combine(S2[None], S1[None]), mean[None])[0]
        return mean, square


def _take_rows(C, idx):
    """``C[:, idx]``, row by row: a 1-D gather is about twice as fast as ``take(axis=1)``."""
    out = np.empty((C.shape[0], len(idx)))
    for row, dest in zip(C, out):
        row.take(idx, out=dest)
    return out


def _cumsum0(a):
    """Cumulative sums along the last axis with a leading zero."""
    out = np.empty(a.shape[:-1] + (a.shape[-1] + 1,), dtype=np.float64)
    out[..., 0] = 0
    np.cumsum(a, axis=-1, out=out[..., 1:])
    return out


class Design1D(WeightedDesign):
    """The design of :class:`Design` for 1-D inputs, as an ``O(m + n)`` operator.

    ``matvec``, ``rmatvec``, ``sum_of_squares`` and ``centred_features`` cost
    ``O((m + n) k)`` after one sort of the inputs and of the units (see
    :class:`_Features1D`); ``A`` is never formed, so the eigendecompositions
    and the dense ridge solvers do not apply.  Products are computed in
    float64 and returned in the dtype :class:`Design` would return.

    Parameters
    ----------
    X : ndarray of shape (m, 1)
    W, bias : hidden weights (n, 1) and biases (n,)
    y : ndarray of shape (m, k)
    sample_weight : ndarray of shape (m,)
    fit_intercept : bool
    """

    explicit = False

    def __init__(self, X, W, bias, y, sample_weight, fit_intercept):
        self.n = W.shape[0]
        self._w, self._bias = W[:, 0], bias
        x = X[:, 0]
        weighted = x[sample_weight > 0]
        # With a free intercept a feature constant on the weighted data centres to
        # exactly zero; leaving it out keeps that zero exact instead of a rounding residue.
        constant = np.zeros(self.n, dtype=bool)
        if fit_intercept:
            constant = self._w == 0
            if weighted.size == 0 or np.all(weighted == weighted[0]):
                constant[:] = True
        self._raw = _Features1D(x, self._w, bias)
        self._phi = _Features1D(x, self._w, bias, drop=constant) if constant.any() else self._raw
        unit = unit_weights(sample_weight)[0]
        self._s = np.sqrt(unit / np.sum(unit))
        self._set_targets(np.asarray(y, dtype=X.dtype), sample_weight, fit_intercept)
        self._mean64 = np.where(constant, 0.0, self.phi_mean.astype(np.float64))

    def _feature_mean(self, p):
        # the float64 weights rather than p, which is in the dtype of X
        return self._raw.moments(self._s**2)[0]

    def _out(self, a, other):
        return a.astype(np.result_type(self.dtype, other.dtype), copy=False)

    def matvec(self, v):
        """``A v`` for ``v`` of shape (n, k)."""
        v64 = np.asarray(v, dtype=np.float64)
        out = self._phi.matvec(v64)
        out -= self._mean64 @ v64
        out *= self._s[:, None]
        return self._out(out, v)

    def rmatvec(self, r):
        """``A^T r`` for ``r`` of shape (m, k)."""
        sr = self._s[:, None] * np.asarray(r, dtype=np.float64)
        out = self._phi.rmatvec(sr)
        out -= self._mean64[:, None] * sr.sum(axis=0)
        return self._out(out, r)

    def sum_of_squares(self):
        """``||A||_F^2 = sum_k (E[phi_k^2] - phi_bar_k^2)`` from prefix sums of ``p x^j``."""
        mean, square = self._phi.moments(self._s**2)
        var = square - (mean**2 if self.fit_intercept else 0.0)
        return float(np.sum(np.clip(var, 0.0, None)))

    def gram(self):
        """``A^T A`` column block by column block, ``O(n (m + n))``: for small ``n`` only."""
        G = np.empty((self.n, self.n), dtype=np.float64)
        for cols in gen_batches(self.n, rows_per_chunk(self.m, np.float64)):
            E = np.zeros((self.n, cols.stop - cols.start))
            E[np.arange(cols.start, cols.stop), np.arange(E.shape[1])] = 1.0
            G[:, cols] = self.rmatvec(self.matvec(E))
        return G.astype(self.dtype)

    @property
    def A(self):
        raise ValueError(
            "The 1-D operator design has no explicit matrix; the eigendecompositions and "
            "the dense ridge solvers need Design."
        )

    def centred_features(self, X, dtype=None):
        """``Phi(X) - phi_bar`` for new inputs as a linear operator (p x n) of that dtype."""
        feats = _Features1D(X[:, 0], self._w, self._bias)
        mean = self.phi_mean.astype(np.float64)
        dtype = dtype or self.dtype

        def matmat(V):
            V = np.asarray(V, dtype=np.float64).reshape(self.n, -1)
            return (feats.matvec(V) - mean @ V).astype(dtype, copy=False)

        return LinearOperator((X.shape[0], self.n), matvec=matmat, matmat=matmat, dtype=dtype)
