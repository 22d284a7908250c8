"""The weighted, centred random-feature design matrix, explicit or in row chunks.

All output-layer solvers work with the normalised design

    A = diag(sqrt(w / W)) (Phi - 1 phi_bar^T),    b = sqrt(w / W) (y - y_bar),

where ``Phi`` holds the random features, ``w`` the sample weights, ``W = sum w``
and the bars are weighted means (zero without an intercept).  Then the training
loss is ``L(v) = 1/2 ||A v - b||^2 = sum_i w_i (f(x_i) - y_i)^2 / (2 W)`` with
the intercept at its optimum for ``v``, and scikit-learn's ridge objective
``sum_i w_i r_i^2 + alpha ||v||^2`` is ``W`` times ``L(v) + alpha / (2 W) ||v||^2``.
When ``m x n`` features do not fit in ``working_memory`` the design never forms
``A``: products and Gram matrices are accumulated over chunks of rows.
"""

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


class Design:
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
    """

    def __init__(self, X, W, bias, y, sample_weight, fit_intercept, explicit=None, chunk_rows=None):
        self.X, self.W, self.bias = X, W, bias
        self.dtype = X.dtype
        self.m, self.n = X.shape[0], W.shape[0]
        self.weight_sum = float(np.sum(sample_weight))
        self.scale = np.sqrt(sample_weight / self.weight_sum).astype(X.dtype)
        self.fit_intercept = fit_intercept
        if explicit is None:
            explicit = fits_in_memory(self.m, self.n, self.dtype)
        self.explicit = explicit
        self.chunk_rows = chunk_rows or rows_per_chunk(self.n, self.dtype)
        self._set_means(y, sample_weight)
        self.b = self.scale[:, None] * (y - self.y_mean)
        self._A = self._centred(relu_features(X, W, bias), slice(None)) if explicit else None

    def _set_means(self, y, sample_weight):
        if not self.fit_intercept:
            self.y_mean = np.zeros(y.shape[1], dtype=self.dtype)
            self.phi_mean = np.zeros(self.n, dtype=self.dtype)
            return
        p = (sample_weight / self.weight_sum).astype(self.dtype)
        self.y_mean = p @ y
        mean = np.zeros(self.n, dtype=np.float64)
        for rows in gen_batches(self.m, self.chunk_rows):
            mean += p[rows] @ relu_features(self.X[rows], self.W, self.bias)
        self.phi_mean = mean.astype(self.dtype)

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

    def kernel_gram(self):
        """``A A^T`` (m x m); needs the explicit design."""
        return self.A @ self.A.T

    def centred_features(self, X):
        """``Phi(X) - phi_bar`` for new inputs (no weights), in row chunks."""
        out = np.empty((X.shape[0], self.n), dtype=self.dtype)
        for rows in gen_batches(X.shape[0], self.chunk_rows):
            out[rows] = relu_features(X[rows], self.W, self.bias) - self.phi_mean
        return out

    def intercept(self, coef):
        """Optimal intercept for output weights ``coef`` (n, k)."""
        return self.y_mean - self.phi_mean @ coef
