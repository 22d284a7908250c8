"""The weighted, centred random-feature design matrix, explicit, in row chunks,
or (1-D inputs) as an operator on sorted knots and prefix sums.

All output-layer solvers work with the normalised design

    A = diag(sqrt(w / w_sum)) (Phi - 1 phi_bar^T),    b = sqrt(w / w_sum) (y - y_bar),

where ``Phi`` holds the random features, ``w`` the sample weights, ``w_sum = sum w``
and the bars are weighted means (zero without an intercept).  Then the training
loss is ``L(v) = 1/2 ||A v - b||^2 = sum_i w_i (f(x_i) - y_i)^2 / (2 w_sum)`` with
the intercept at its optimum for ``v``, and scikit-learn's ridge objective
``sum_i w_i r_i^2 + alpha ||v||^2`` is ``w_sum`` times ``L(v) + alpha / (2 w_sum) ||v||^2``.
When ``m x n`` features do not fit in ``working_memory`` the design never forms
``A``: products and Gram matrices are accumulated over chunks of rows.  On 1-D
inputs :class:`._exact1d.operator.Design1D` never forms it either: each product costs ``O(m + n)``.
"""

import copy

import numpy as np
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


class WeightedDesign:
    """What every design shares: the sample weights, the centred targets and the intercept.

    Subclasses set ``phi_mean`` in ``_feature_mean``.
    """

    def _set_targets(self, y, sample_weight, fit_intercept, weight_unit=1.0):
        self.dtype = y.dtype
        self.m = y.shape[0]
        # Weights are read relative to the largest: sum(w) may overflow (or
        # w_i w_sum underflow) where the normalised quantities are all moderate.
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


class Design(WeightedDesign):
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

    def as_chunked(self):
        """The same design computed over row chunks (a shallow copy without the explicit features)."""
        chunked = copy.copy(self)
        chunked.explicit, chunked._A = False, None
        return chunked

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

