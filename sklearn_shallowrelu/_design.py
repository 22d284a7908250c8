"""The weighted, centred random-feature design matrix, explicit, in row chunks,
or (1-D inputs) as an operator on sorted knots and prefix sums.

All output-layer solvers work with the normalised design

    A = diag(sqrt(w / W)) (Phi - 1 phi_bar^T),    b = sqrt(w / W) (y - y_bar),

where ``Phi`` holds the random features, ``w`` the sample weights, ``W = sum w``
and the bars are weighted means (zero without an intercept).  Then the training
loss is ``L(v) = 1/2 ||A v - b||^2 = sum_i w_i (f(x_i) - y_i)^2 / (2 W)`` with
the intercept at its optimum for ``v``, and scikit-learn's ridge objective
``sum_i w_i r_i^2 + alpha ||v||^2`` is ``W`` times ``L(v) + alpha / (2 W) ||v||^2``.
When ``m x n`` features do not fit in ``working_memory`` the design never forms
``A``: products and Gram matrices are accumulated over chunks of rows.  On 1-D
inputs :class:`Design1D` never forms it either: each product costs ``O(m + n)``.
"""

import numpy as np
from scipy.sparse.linalg import LinearOperator
from sklearn import get_config
from sklearn.utils import gen_batches

from .features import relu_features


def feature_bytes(n_rows, n_features, dtype):
    return n_rows * n_features * np.dtype(dtype).itemsize


def rows_per_chunk(n_features, dtype, working_memory=None):
    """Rows of features that fit in ``working_memory`` MiB (scikit-learn's setting)."""
    if working_memory is None:
        working_memory = get_config()["working_memory"]
    per_row = feature_bytes(1, n_features, dtype)
    return max(1, int(working_memory * 2**20 // per_row))


def fits_in_memory(n_rows, n_features, dtype, working_memory=None):
    return n_rows <= rows_per_chunk(n_features, dtype, working_memory)


def unit_weights(sample_weight):
    """Sample weights divided by their largest, in float64, with that largest.

    Every solver reads the weights through this: sums of weights in ``(0, 1]``
    neither overflow nor underflow, so weights of any scale give the same fit.
    """
    sw = np.asarray(sample_weight, dtype=np.float64)
    top = float(np.max(sw)) if sw.size else 0.0
    if not top > 0:
        raise ValueError(
            "All sample weights are zero; give at least one sample a positive weight."
        )
    return sw / top, top


class _WeightedDesign:
    """What every design shares: the sample weights, the centred targets and the intercept.

    Subclasses set ``phi_mean`` in ``_feature_mean``.
    """

    def _set_targets(self, y, sample_weight, fit_intercept, weight_unit=1.0):
        self.dtype = y.dtype
        self.m = y.shape[0]
        # Weights are read relative to the largest: sum(w) may overflow (or
        # w_i W underflow) where the normalised quantities are all moderate.
        self.weights, top = unit_weights(sample_weight)
        self.weight_scale = top * weight_unit  # the largest weight, in the caller's units
        self.weight_total = float(np.sum(self.weights))  # sum(w) / weight_scale, in [1, m]
        self.weight_sum = self.weight_total * self.weight_scale  # may be inf; use penalty()
        self.p = self.weights / self.weight_total
        self.scale = np.sqrt(self.p).astype(self.dtype)
        self.fit_intercept = fit_intercept
        if fit_intercept:
            p = self.p.astype(self.dtype)
            self.y_mean = p @ y
            self.phi_mean = self._feature_mean(p).astype(self.dtype)
        else:
            self.y_mean = np.zeros(y.shape[1], dtype=self.dtype)
            self.phi_mean = np.zeros(self.n, dtype=self.dtype)
        self.b = self.scale[:, None] * (y - self.y_mean)

    def intercept(self, coef):
        """Optimal intercept for output weights ``coef`` (n, k)."""
        return self.y_mean - self.phi_mean @ coef

    def penalty(self, alpha):
        """``mu = alpha / sum(w)``, the ridge ``alpha`` in loss units, without forming ``sum(w)``.

        Raises
        ------
        ValueError
            When ``alpha / sum(w)`` overflows.
        """
        mu = alpha / self.weight_scale / self.weight_total
        if not np.isfinite(mu):
            raise ValueError(
                f"alpha / sum(sample_weight) = {alpha:.3g} / {self.weight_total * self.weight_scale:.3g} "
                "overflows; scale alpha and sample_weight down together (the fit depends only on their ratio)."
            )
        return float(mu)


class Design(_WeightedDesign):
    """Weighted centred random-feature design; see the module docstring.

    Parameters
    ----------
    X : ndarray of shape (m, d)
    W, bias : hidden weights (n, d) and biases (n,)
    y : ndarray of shape (m, k)
    sample_weight : ndarray of shape (m,)
    fit_intercept : bool
    explicit : bool or None
        Form ``A`` explicitly; ``None`` decides from ``working_memory``.
    chunk_rows : int or None
        Rows per chunk when not explicit (default from ``working_memory``).
    weight_unit : float, default=1.0
        ``sample_weight`` is given in units of this (weights divided by
        their largest keep sums in range; the unit keeps ``alpha / sum(w)``).
    """

    def __init__(self, X, W, bias, y, sample_weight, fit_intercept, explicit=None, chunk_rows=None,
                 weight_unit=1.0):
        self.X, self.W, self.bias = X, W, bias
        self.n = W.shape[0]
        if explicit is None:
            explicit = fits_in_memory(X.shape[0], self.n, X.dtype)
        self.explicit = explicit
        self.chunk_rows = chunk_rows or rows_per_chunk(self.n, X.dtype)
        self._set_targets(np.asarray(y, dtype=X.dtype), sample_weight, fit_intercept, weight_unit)
        self._A = self._centred(relu_features(X, W, bias), slice(None)) if explicit else None

    def _feature_mean(self, p):
        mean = np.zeros(self.n, dtype=np.float64)
        if self._by_units():
            for cols in self._unit_blocks():
                # as a matrix product: numpy's vector-matrix path is several times slower
                mean[cols] = (p[None, :] @ self._features(cols))[0]
            return mean
        for rows in gen_batches(self.m, self.chunk_rows):
            mean += p[rows] @ relu_features(self.X[rows], self.W, self.bias)
        return mean

    # Without the explicit design, products run over blocks of units (all rows)
    # when there are fewer samples than units, else over chunks of rows: the
    # blocks then span the long side, and an m x m kernel needs no row chunks.
    def _by_units(self):
        return not self.explicit and self.m < self.n

    def _unit_blocks(self):
        """Blocks of units whose features for all rows fit in ``min(working_memory, 8 MiB)``.

        Small blocks stay in cache: measured 4x faster for 60 x 1e7 features
        than blocks of 1 GiB (one core).
        """
        per_unit = feature_bytes(self.m, 1, self.dtype)
        size = max(1, min(rows_per_chunk(1, np.uint8), 2**23) // per_unit)
        return gen_batches(self.n, size)

    def _features(self, cols):
        """``Phi[:, cols]`` with the scale ``1 / sqrt(n)`` of the whole layer."""
        W = self.W[cols].astype(self.X.dtype, copy=False)
        if self.X.shape[1] == 1:  # an outer product: a matrix product with inner size 1 is ~5x slower
            Z = np.multiply.outer(self.X[:, 0], W[:, 0])
        else:
            Z = self.X @ W.T
        Z += self.bias[cols].astype(self.X.dtype, copy=False)
        np.maximum(Z, 0, out=Z)
        Z *= self.X.dtype.type(1.0 / np.sqrt(self.n))
        return Z

    def _unit_block(self, cols):
        """``A[:, cols]``."""
        F = self._features(cols)
        F -= self.phi_mean[cols]
        F *= self.scale[:, None]
        return F

    def _centred(self, F, rows):
        F -= self.phi_mean
        F *= self.scale[rows, None]
        return F

    def chunks(self):
        """Yield ``(rows, A[rows])`` blocks."""
        if self.explicit:
            yield slice(None), self._A
            return
        for rows in gen_batches(self.m, self.chunk_rows):
            yield rows, self._centred(relu_features(self.X[rows], self.W, self.bias), rows)

    @property
    def A(self):
        if not self.explicit:
            raise MemoryError(
                "The feature matrix does not fit in working_memory; this path needs "
                "it explicitly. Raise sklearn.set_config(working_memory=...) or use "
                "a chunked algorithm."
            )
        return self._A

    def matvec(self, v):
        """``A v`` for ``v`` of shape (n, k)."""
        if self.explicit:
            return self._A @ v
        if self._by_units():
            out = np.zeros((self.m, v.shape[1]), dtype=np.result_type(self.dtype, v.dtype))
            for cols in self._unit_blocks():
                out += self._unit_block(cols) @ v[cols]
            return out
        out = np.empty((self.m, v.shape[1]), dtype=np.result_type(self.dtype, v.dtype))
        for rows, Ac in self.chunks():
            out[rows] = Ac @ v
            del Ac  # else it stays alive while the next chunk is built
        return out

    def rmatvec(self, r):
        """``A^T r`` for ``r`` of shape (m, k)."""
        if self.explicit:
            return self._A.T @ r
        out = np.zeros((self.n, r.shape[1]), dtype=np.result_type(self.dtype, r.dtype))
        if self._by_units():
            for cols in self._unit_blocks():
                out[cols] = (r.T @ self._unit_block(cols)).T
            return out
        for rows, Ac in self.chunks():
            out += Ac.T @ r[rows]
            del Ac
        return out

    def gram(self):
        """``A^T A`` (n x n), accumulated over chunks when ``A`` is not explicit."""
        if self.explicit:
            return self._A.T @ self._A
        G = np.zeros((self.n, self.n), dtype=self.dtype)
        for _, Ac in self.chunks():
            G += Ac.T @ Ac
            del Ac
        return G

    def sum_of_squares(self):
        """``||A||_F^2``, the trace of ``A^T A``."""
        return sum(float(np.sum(Ac.astype(np.float64) ** 2)) for _, Ac in self.chunks())

    def kernel_gram(self):
        """``A A^T`` (m x m), accumulated over blocks of units when ``A`` is not explicit.

        The peak is the m x m result plus one block of :meth:`_unit_blocks`.
        """
        if self.explicit:
            return self._A @ self._A.T
        K = np.zeros((self.m, self.m), dtype=self.dtype)
        for cols in self._unit_blocks():
            F = self._unit_block(cols)
            K += F @ F.T
        return K

    def centred_features(self, X, dtype=None):
        """``Phi(X) - phi_bar`` for new inputs (no weights), in row chunks, as ``dtype``."""
        out = np.empty((X.shape[0], self.n), dtype=dtype or self.dtype)
        for rows in gen_batches(X.shape[0], self.chunk_rows):
            out[rows] = relu_features(X[rows], self.W, self.bias) - self.phi_mean
        return out


# ------------------------------------------------------------------ 1-D


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


class Design1D(_WeightedDesign):
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
