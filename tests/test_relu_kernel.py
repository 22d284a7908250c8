"""The fused ReLU passes (``_relu_kernel``) against plain numpy, and the gradient
that uses them against the same gradient written out in numpy, over several row
blocks, in float64 and float32.

Tolerances: the kernel sums ``A v`` in another order than BLAS, so sums of ``n``
terms agree to ``n eps`` times the sum of the terms' absolute values; the
other entries are exact (a maximum, a selection, a product)."""

import numpy as np
import pytest

from sklearn_shallowrelu import _network, _relu_kernel
from sklearn_shallowrelu._network import Batch, Network, Params
from sklearn_shallowrelu.activations import ACTIVATIONS

EPS = {np.float64: float(np.finfo(np.float64).eps), np.float32: float(np.finfo(np.float32).eps)}


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("n", [1, 3, 4, 7, 64])
def test_forward_and_backward_equal_numpy(dtype, n):
    rng = np.random.default_rng(n)
    Z0 = rng.standard_normal((9, n)).astype(dtype)
    Z0[0, 0] = 0.0  # relu(0) = 0 and the derivative there is 0, as np.greater(Z, 0) has it
    v = rng.standard_normal(n).astype(dtype)
    pr = rng.standard_normal(9).astype(dtype)
    A_ref = np.maximum(Z0, 0)
    Z, out = Z0.copy(), np.empty(9, dtype)
    _relu_kernel.relu_forward(Z, v, out)
    np.testing.assert_array_equal(Z, A_ref)
    bound = n * EPS[dtype] * (np.abs(A_ref) @ np.abs(v))
    assert np.all(np.abs(out - A_ref @ v) <= bound)

    gv = np.ones(n, dtype)  # accumulated into
    _relu_kernel.relu_backward(Z, pr, gv)
    np.testing.assert_array_equal(Z, pr[:, None] * (A_ref > 0))
    bound = 9 * EPS[dtype] * (np.abs(A_ref).T @ np.abs(pr) + 1)
    assert np.all(np.abs(gv - (1 + A_ref.T @ pr)) <= bound)


def test_forward_keeps_nan():
    """A NaN pre-activation stays NaN, as numpy's maximum keeps it, so a step that
    produced one shows a NaN loss."""
    Z = np.array([[np.nan, -1.0, 2.0, 0.5, -3.0]])
    out = np.empty(1)
    _relu_kernel.relu_forward(Z, np.ones(5), out)
    assert np.isnan(Z[0, 0]) and np.isnan(out[0])
    np.testing.assert_array_equal(Z[0, 1:], [0.0, 2.0, 0.5, 0.0])


def _numpy_loss_and_grad(params, batch, s):
    """The loss and gradient of a ReLU network with one output, written out."""
    X, y, p = batch.X.astype(np.float64), batch.Y[:, 0].astype(np.float64), batch.p.astype(np.float64)
    W, b, v, c = (a.astype(np.float64) for a in params.arrays())
    Z = X @ W.T + b
    A = np.maximum(Z, 0)
    r = s * (A @ v[:, 0]) + c[0] - y
    pr = p * r
    D = (pr[:, None] * (Z > 0)) * (s * v[:, 0])
    return 0.5 * pr @ r, [D.T @ X, D.sum(axis=0), s * (A.T @ pr)[:, None], np.array([pr.sum()])]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("scale", [1.0, 0.25])
def test_gradient_over_row_blocks_equals_numpy(dtype, scale, monkeypatch):
    """Blocks of 16 rows over 50 samples: four blocks, the last one short."""
    monkeypatch.setattr(_network, "BLOCK_ROWS", 16)
    rng = np.random.default_rng(7)
    m, n, d = 50, 13, 4
    X = rng.standard_normal((m, d)).astype(dtype)
    params = Params(*(a.astype(dtype) for a in (rng.standard_normal((n, d)), rng.standard_normal(n),
                                                 rng.standard_normal((n, 1)), rng.standard_normal(1))))
    batch = Batch(X, rng.standard_normal((m, 1)).astype(dtype), rng.uniform(0.5, 2.0, m))
    loss, grad = Network(ACTIVATIONS["relu"], scale)._data_loss_and_grad(params, batch)
    ref_loss, ref = _numpy_loss_and_grad(params, batch, scale)
    # float32 data: every entry is a sum of at most m * (n + d) rounded terms
    tol = 4 * m * (n + d) * EPS[dtype]
    assert loss == pytest.approx(ref_loss, rel=tol)
    for got, want in zip(grad.arrays(), ref):
        assert got.dtype == dtype
        np.testing.assert_allclose(got, want, rtol=tol, atol=tol * np.abs(want).max())
