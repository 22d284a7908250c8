"""The two-layer network as a function of its parameters: forward pass, loss,
gradient, the analytic Hessian-vector product and the sharpness.

``f(x) = s * sum_k v_k act(w_k . x + b_k) + c`` with output scale ``s`` (1 for
the standard parametrisation, ``1/sqrt(n)`` for NTK, ``1/n`` for mean field), and
loss ``L = sum_i p_i |f(x_i) - y_i|^2 / 2`` with ``p_i = w_i / sum(w)``: half the
weighted mean squared error, summed over outputs, so that the gradient-descent
stability threshold is ``2 / eta``.  Shapes: ``W`` (n, d), ``b`` (n,), ``v``
(n, k), ``c`` (k,).
"""

import numpy as np
from scipy.sparse.linalg import LinearOperator, eigsh

GROUPS = ("W", "b", "v", "c")


class Params:
    """The parameters ``(W, b, v, c)`` of a two-layer network."""

    __slots__ = GROUPS

    def __init__(self, W, b, v, c):
        self.W, self.b, self.v, self.c = W, b, v, c

    def copy(self):
        return Params(*(getattr(self, g).copy() for g in GROUPS))

    def arrays(self):
        return [getattr(self, g) for g in GROUPS]

    def flat(self):
        return np.concatenate([a.ravel() for a in self.arrays()])

    def like(self, flat):
        """Parameters shaped like ``self`` from a flat vector."""
        out, i = [], 0
        for a in self.arrays():
            out.append(flat[i : i + a.size].reshape(a.shape))
            i += a.size
        return Params(*out)

    def all_finite(self):
        return all(np.all(np.isfinite(a)) for a in self.arrays())


class Batch:
    """Inputs, targets and normalised weights ``p`` (summing to one) of a loss."""

    def __init__(self, X, Y, sample_weight):
        self.X, self.Y = X, Y
        self.p = (sample_weight / np.sum(sample_weight)).astype(X.dtype)
        self._X1 = None

    @property
    def X1(self):
        """``[X, 1]``: the bias folds into the matrix products."""
        if self._X1 is None:
            self._X1 = np.hstack([self.X, np.ones((self.X.shape[0], 1), dtype=self.X.dtype)])
        return self._X1


class Network:
    """Forward pass, loss, gradient and Hessian-vector products at fixed data.

    Parameters
    ----------
    activation : Activation
    scale : float
        Output scale ``s``.
    """

    def __init__(self, activation, scale):
        self.act, self.s = activation, scale
        self._relu = activation.name == "relu"
        self._buffers = {}

    def _buffer(self, name, shape, dtype):
        """A work array kept between calls: the m x n temporaries of a training step
        are reused instead of being allocated (and faulted in) at every step."""
        key = (name, shape, np.dtype(dtype))
        buf = self._buffers.get(key)
        if buf is None:
            buf = self._buffers[key] = np.empty(shape, dtype=dtype)
        return buf

    def pre(self, params, X):
        Z = X @ params.W.T
        Z += params.b
        return Z

    def predict(self, params, X):
        return self.s * (self.act.value(self.pre(params, X)) @ params.v) + params.c

    def loss(self, params, batch):
        R = self.predict(params, batch.X) - batch.Y
        return 0.5 * float(batch.p @ np.sum(R * R, axis=1))

    def loss_and_grad(self, params, batch):
        """Loss and gradient (a Params) by backpropagation, in reused buffers."""
        X1, dt = batch.X1, batch.X.dtype
        m, n, d = X1.shape[0], params.W.shape[0], params.W.shape[1]
        W1 = np.empty((n, d + 1), dtype=dt)
        W1[:, :d], W1[:, d] = params.W, params.b
        Z = np.matmul(X1, W1.T, out=self._buffer("Z", (m, n), dt))
        A = self._buffer("A", (m, n), dt)
        if self._relu:
            np.maximum(Z, 0, out=A)
        else:
            A[...] = self.act.value(Z)
        R = A @ params.v
        if self.s != 1.0:
            R *= self.s
        R += params.c
        R -= batch.Y
        loss = 0.5 * float(batch.p @ np.sum(R * R, axis=1))
        PR = R * batch.p[:, None]
        gv = A.T @ PR
        if self.s != 1.0:
            gv *= self.s
        gc = PR.sum(axis=0)
        D = A  # A is no longer needed: its buffer takes the backpropagated signal
        if params.v.shape[1] == 1:  # an outer product, not a matrix product
            np.multiply(PR, params.v[:, 0], out=D)
        else:
            np.matmul(PR, params.v.T, out=D)
        if self._relu:
            D *= np.greater(Z, 0, out=self._buffer("mask", (m, n), bool))
        else:
            D *= self.act.first(Z)
        if self.s != 1.0:
            D *= self.s
        G1 = D.T @ X1  # weight and bias gradients in one product
        return loss, Params(G1[:, :d], G1[:, d], gv, gc)

    def hvp(self, params, batch, direction, gauss_newton=False):
        """Hessian-vector product ``H p`` (a Params), analytic.

        ``H = J^T P J + sum_i p_i r_i . grad^2 f(x_i)``; the second term has the
        cross blocks between ``v_k`` and ``(w_k, b_k)`` and, for smooth
        activations, the ``act''`` terms of ``(w_k, b_k)``.  ``gauss_newton``
        keeps the first term only.
        """
        X, s = batch.X, self.s
        Z = self.pre(params, X)
        A, A1 = self.act.value(Z), self.act.first(Z)
        dZ = X @ direction.W.T + direction.b  # change of the pre-activations
        A1dZ = A1 * dZ
        Jp = s * (A1dZ @ params.v + A @ direction.v) + direction.c  # (m, k)
        PJ = Jp * batch.p[:, None]
        gv = s * (A.T @ PJ)
        gc = PJ.sum(axis=0)
        D = s * (PJ @ params.v.T) * A1
        if not gauss_newton:
            R = s * (A @ params.v) + params.c - batch.Y
            PR = R * batch.p[:, None]
            gv += s * (A1dZ.T @ PR)
            D += s * A1 * (PR @ direction.v.T)
            A2 = self.act.second(Z)
            if np.any(A2):
                D += s * A2 * dZ * (PR @ params.v.T)
        return Params(D.T @ X, D.sum(axis=0), gv, gc)

    def sharpness(self, params, batch, gauss_newton=False, tol=1e-6, preconditioner=None, method="lanczos"):
        """Top eigenvalue of the loss Hessian by Lanczos (``which='LA'``) on
        analytic Hessian-vector products; ``method='dense'`` forms the matrix.

        ``preconditioner``: a flat vector ``M`` (the potential's Hessian for
        mirror descent); then the top eigenvalue of ``M^{-1/2} H M^{-1/2}``.
        """
        dim = params.flat().size
        scale = None if preconditioner is None else 1.0 / np.sqrt(preconditioner)

        def mv(x):
            x = np.asarray(x, dtype=np.float64).ravel()
            if scale is not None:
                x = scale * x
            out = self.hvp(params, batch, params.like(x.astype(batch.X.dtype)), gauss_newton).flat()
            out = out.astype(np.float64)
            return out if scale is None else scale * out

        if method == "dense" or dim < 3:
            H = np.column_stack([mv(e) for e in np.eye(dim)])
            return float(np.linalg.eigvalsh(0.5 * (H + H.T))[-1])
        op = LinearOperator((dim, dim), matvec=mv, dtype=np.float64)
        v0 = np.random.RandomState(0).standard_normal(dim)
        return float(eigsh(op, k=1, which="LA", v0=v0, tol=tol, return_eigenvectors=False)[0])
