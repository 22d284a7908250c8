"""The two-layer network's gradient and Hessian-vector product against finite
differences, and Lanczos sharpness against the dense Hessian's eigvalsh."""

import numpy as np
import pytest

from sklearn_shallowrelu import _network
from sklearn_shallowrelu._network import Batch, Network, Params
from sklearn_shallowrelu.activations import ACTIVATIONS

SCALES = {"standard": 1.0, "ntk": 1 / np.sqrt(7), "mean_field": 1 / 7}


def _setup(k=1, seed=0, n=7, d=3, m=11):
    rng = np.random.RandomState(seed)
    X = rng.standard_normal((m, d))
    Y = rng.standard_normal((m, k))
    params = Params(rng.standard_normal((n, d)), rng.standard_normal(n), rng.standard_normal((n, k)),
                    rng.standard_normal(k))
    return Batch(X, Y, rng.uniform(0.5, 2, m)), params, rng


@pytest.mark.parametrize("act", sorted(ACTIVATIONS))
@pytest.mark.parametrize("param", sorted(SCALES))
@pytest.mark.parametrize("k", [1, 2])
def test_gradient_against_finite_differences(act, param, k):
    batch, params, rng = _setup(k)
    net = Network(ACTIVATIONS[act], SCALES[param])
    loss, grad = net.loss_and_grad(params, batch)
    assert loss == pytest.approx(net.loss(params, batch), rel=1e-14)
    theta, g = params.flat(), grad.flat()
    h = 1e-6
    for _ in range(6):
        u = rng.standard_normal(theta.size)
        fd = (net.loss(params.like(theta + h * u), batch) - net.loss(params.like(theta - h * u), batch)) / (2 * h)
        assert g @ u == pytest.approx(fd, rel=1e-6, abs=1e-9)


@pytest.mark.parametrize("act", sorted(ACTIVATIONS))
@pytest.mark.parametrize("param", sorted(SCALES))
@pytest.mark.parametrize("k", [1, 2])
def test_hvp_against_finite_differences_of_the_gradient(act, param, k):
    batch, params, rng = _setup(k, seed=1)
    net = Network(ACTIVATIONS[act], SCALES[param])
    theta = params.flat()
    h = 1e-6
    for _ in range(4):
        u = rng.standard_normal(theta.size)
        Hu = net.hvp(params, batch, params.like(u)).flat()
        gp = net.loss_and_grad(params.like(theta + h * u), batch)[1].flat()
        gm = net.loss_and_grad(params.like(theta - h * u), batch)[1].flat()
        np.testing.assert_allclose(Hu, (gp - gm) / (2 * h), rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("act", ["relu", "tanh", "x2tanh"])
def test_lanczos_sharpness_equals_dense_eigvalsh(act):
    batch, params, _ = _setup(k=1, seed=2, n=40, d=2, m=30)
    net = Network(ACTIVATIONS[act], 1.0)
    dim = params.flat().size
    H = np.column_stack([net.hvp(params, batch, params.like(e)).flat() for e in np.eye(dim)])
    np.testing.assert_allclose(H, H.T, atol=1e-10)
    top = np.linalg.eigvalsh(H)[-1]
    assert net.sharpness(params, batch, tol=1e-10) == pytest.approx(top, rel=1e-8)
    # the Gauss-Newton part alone is (1/m) J^T P J: its top eigenvalue from the m x m side
    J = np.column_stack([net.hvp(params, batch, params.like(e), gauss_newton=True).flat() for e in np.eye(dim)])
    assert net.sharpness(params, batch, gauss_newton=True, tol=1e-10) == pytest.approx(np.linalg.eigvalsh(J)[-1], rel=1e-8)


@pytest.mark.parametrize("act", ["relu", "tanh"])
@pytest.mark.parametrize("k", [1, 2])
@pytest.mark.parametrize("d", [1, 3])
def test_row_blocks_give_the_gradient_of_all_rows(monkeypatch, act, k, d):
    # blocks of 3 rows of the 11 (the last one shorter), against one block of all rows
    batch, params, _ = _setup(k, seed=3, d=d)
    loss, grad = Network(ACTIVATIONS[act], 0.5).loss_and_grad(params, batch)
    # Row blocks change only the order of the sum over the m rows, so an entry may
    # move by about m eps times the sum of the rows' absolute contributions
    # (a factor 4 for the products inside each row's term).
    m = len(batch.p)
    rows = [Network(ACTIVATIONS[act], 0.5).loss_and_grad(params, Batch(batch.X[i:i + 1], batch.Y[i:i + 1],
                                                                       np.ones(1)))[1].flat() for i in range(m)]
    bound = 4 * m * np.finfo(float).eps * sum(p * np.abs(g) for p, g in zip(batch.p, rows))
    monkeypatch.setattr(_network, "BLOCK_ROWS", 3)
    monkeypatch.setattr(_network, "rows_kernel_wins", lambda *shape: False)  # the blocks, not the row kernel
    net = Network(ACTIVATIONS[act], 0.5)
    for _ in range(2):  # the second call reuses the work buffers of the first
        loss_b, grad_b = net.loss_and_grad(params, batch)
        assert loss_b == pytest.approx(loss, rel=1e-14)
        assert np.all(np.abs(grad_b.flat() - grad.flat()) <= bound)
    assert net._buffers[("Z", (3, params.W.shape[0]), np.dtype(float))].shape == (3, 7)


def test_float32_gradient_stays_float32():
    # an np.float64 output scale (NTK) must not promote the float32 gradient
    batch, params, _ = _setup(1, seed=4)
    ones = np.ones(len(batch.X))
    batch32 = Batch(batch.X.astype(np.float32), batch.Y.astype(np.float32), ones)
    params32 = Params(*(a.astype(np.float32) for a in params.arrays()))
    net = Network(ACTIVATIONS["relu"], 1 / np.sqrt(7))
    loss32, grad32 = net.loss_and_grad(params32, batch32)
    loss, grad = net.loss_and_grad(params, Batch(batch.X, batch.Y, ones))
    assert all(g.dtype == np.float32 for g in grad32.arrays())
    assert loss32 == pytest.approx(loss, rel=1e-5)
    np.testing.assert_allclose(grad32.flat(), grad.flat(), rtol=1e-4, atol=1e-5)
