"""The sorted 1-D path of the two-layer network (:mod:`sklearn_shallowrelu._sorted1d`).

References: dense formulas written here (the activations and their derivatives
as ``m x n`` matrices), and the package's dense path.  Both compute the same
sums in another order, so each entry agrees within twice the summation bound
``gamma_N sum |terms|`` (``N`` terms, ``gamma_N = N eps / (1 - N eps)``), with
``sum |terms|`` computed from the same formulas on absolute values.
"""

import numpy as np
import pytest

from sklearn_shallowrelu import ShallowReLURegressor, _sorted1d
from sklearn_shallowrelu._network import Batch, Network, Params
from sklearn_shallowrelu.activations import get_activation

PIECEWISE = ["relu", "leaky_relu", "abs"]


def _problem(m, n, k, dtype, seed, tie=True):
    rng = np.random.default_rng(seed)
    X = rng.uniform(-2, 2, (m, 1)).astype(dtype)
    Y = rng.standard_normal((m, k)).astype(dtype)
    sw = rng.uniform(0.5, 2.0, m).astype(dtype)
    P = Params(rng.standard_normal((n, 1)).astype(dtype), rng.uniform(-2, 2, n).astype(dtype),
               (rng.standard_normal((n, k)) / np.sqrt(n)).astype(dtype), rng.standard_normal(k).astype(dtype))
    P.W[:4] = 0.0  # units with w = 0: z = b on all the data, one of them at z = 0 exactly
    P.b[0] = 0.0
    if tie:  # a knot at (about) a data point
        P.b[5] = -P.W[5, 0] * X[7, 0]
    D = Params(*(rng.standard_normal(a.shape).astype(dtype) for a in P.arrays()))
    return X, Y, sw, P, D


def _reference(act, s, P, X, Y, sw, D):
    """Dense formulas: ``(value, bound)`` pairs for the outputs, the gradient and
    the Hessian-vector product, ``bound`` the sum of the absolute terms."""
    p = Batch(X, Y, sw).p.astype(float)  # the normalised weights as the package rounds them
    X, Y = (np.asarray(a, float) for a in (X, Y))
    W, b, v, c = (np.asarray(a, float) for a in P.arrays())
    dW, db, dv, dc = (np.asarray(a, float) for a in D.arrays())
    Z = X @ W.T + b
    A, A1 = act.value(Z), act.first(Z)
    x = X[:, 0]
    f = s * A @ v + c
    f_abs = abs(s) * np.abs(A) @ np.abs(v) + np.abs(c)
    PR = (f - Y) * p[:, None]
    PR_abs = (f_abs + np.abs(Y)) * p[:, None]
    grad = {"v": (s * A.T @ PR, abs(s) * np.abs(A).T @ PR_abs),
            "W": (s * np.sum(v * ((A1 * x[:, None]).T @ PR), axis=1),
                  abs(s) * np.sum(np.abs(v) * ((np.abs(A1) * np.abs(x)[:, None]).T @ PR_abs), axis=1)),
            "b": (s * np.sum(v * (A1.T @ PR), axis=1), abs(s) * np.sum(np.abs(v) * (np.abs(A1).T @ PR_abs), axis=1))}
    dZ = x[:, None] * dW[:, 0] + db
    Jd = s * ((A1 * dZ) @ v + A @ dv) + dc
    Jd_abs = abs(s) * ((np.abs(A1) * np.abs(dZ)) @ np.abs(v) + np.abs(A) @ np.abs(dv)) + np.abs(dc)
    PJ, PJ_abs = Jd * p[:, None], Jd_abs * p[:, None]
    hvp = {"v": (s * (A.T @ PJ + (A1 * dZ).T @ PR),
                 abs(s) * (np.abs(A).T @ PJ_abs + (np.abs(A1) * np.abs(dZ)).T @ PR_abs)),
           "W": (s * np.sum(v * ((A1 * x[:, None]).T @ PJ) + dv * ((A1 * x[:, None]).T @ PR), axis=1),
                 abs(s) * np.sum(np.abs(v) * ((np.abs(A1) * np.abs(x)[:, None]).T @ PJ_abs)
                                 + np.abs(dv) * ((np.abs(A1) * np.abs(x)[:, None]).T @ PR_abs), axis=1)),
           "b": (s * np.sum(v * (A1.T @ PJ) + dv * (A1.T @ PR), axis=1),
                 abs(s) * np.sum(np.abs(v) * (np.abs(A1).T @ PJ_abs) + np.abs(dv) * (np.abs(A1).T @ PR_abs), axis=1)),
           "c": (PJ.sum(axis=0), PJ_abs.sum(axis=0))}
    return (f, f_abs), grad, hvp


def _agree(got, want, bound, N):
    """Within twice the float64 summation bound of ``N`` terms, plus the one
    rounding to the output's dtype (the sorted path sums in float64)."""
    eps = np.finfo(np.float64).eps
    gamma = N * eps / (1 - N * eps)
    tol = 2 * gamma * bound + np.finfo(np.asarray(got).dtype).eps * np.abs(want)
    got = np.asarray(got, float).reshape(want.shape)
    assert np.all(np.abs(got - want) <= tol), np.max(np.abs(got - want) / (bound + 1e-300))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("k", [1, 2])
@pytest.mark.parametrize("name", PIECEWISE)
def test_values_gradients_and_hvps_equal_dense_formulas(name, k, dtype, monkeypatch):
    monkeypatch.setattr(_sorted1d, "MIN_PRODUCTS", 0)  # the sorted path at any size
    act = get_activation(name)
    m, n = 300, 500
    # at z = 0 exactly the sorted path takes the slope of the unit's inactive
    # side, as ReLU's [z > 0]; the dense abs' takes sign(0) = 0 there (a tie of
    # measure zero, left out for it)
    X, Y, sw, P, D = _problem(m, n, k, dtype, seed=len(name) + k, tie=name != "abs")
    net = Network(act, 0.7)
    (f, f_abs), grad, hvp = _reference(act, 0.7, P, X, Y, sw, D)
    N = 4 * (m + n)  # terms per entry, the products inside each term included
    _agree(net.predict(P, X), f, f_abs, N)
    batch = Batch(X, Y, sw)
    _, G = net.loss_and_grad(P, batch)
    H = net.hvp(P, batch, D)
    for group in ("v", "W", "b"):
        _agree(getattr(G, group), *grad[group], N)
        _agree(getattr(H, group), *hvp[group], N)
    _agree(H.c, *hvp["c"], N)
    assert G.W.dtype == G.b.dtype == G.v.dtype == G.c.dtype == np.dtype(dtype)


@pytest.mark.parametrize("name", PIECEWISE)
def test_stale_and_wrong_slot_hints_give_the_same_result(name, monkeypatch):
    """The units' slots are searched from the last call's: a hint from other
    parameters, or garbage, changes nothing."""
    monkeypatch.setattr(_sorted1d, "MIN_PRODUCTS", 0)
    act = get_activation(name)
    X, Y, sw, P, _ = _problem(200, 300, 1, np.float64, seed=9)
    net = Network(act, 1.0)
    fresh = net.loss_and_grad(P, Batch(X, Y, sw))[1]
    rng = np.random.default_rng(0)
    for hint in (rng.integers(0, 2 * 200 + 2, 300), np.zeros(300, dtype=np.intp), np.arange(7)):
        batch = Batch(X, Y, sw)
        batch._slots1d = hint
        again = net.loss_and_grad(P, batch)[1]
        for a, b in zip(again.arrays(), fresh.arrays()):
            np.testing.assert_array_equal(a, b)
    moved = Params(P.W * 1.01, P.b - 0.003, P.v, P.c)  # the next step's knots, near the last
    batch = Batch(X, Y, sw)
    net.loss_and_grad(P, batch)
    after = net.loss_and_grad(moved, batch)[1]
    for a, b in zip(after.arrays(), net.loss_and_grad(moved, Batch(X, Y, sw))[1].arrays()):
        np.testing.assert_array_equal(a, b)


def test_the_sorted_path_is_chosen_on_one_feature_piecewise_linear_and_large_enough():
    relu, tanh = get_activation("relu"), get_activation("tanh")
    X1, X2 = np.zeros((1000, 1)), np.zeros((1000, 2))
    assert _sorted1d.wins(relu, X1, 1000)
    assert not _sorted1d.wins(relu, X1, 10)  # m n below MIN_PRODUCTS: the dense path is faster
    assert not _sorted1d.wins(relu, X2, 1000)
    assert not _sorted1d.wins(tanh, X1, 1000)


def _fit(monkeypatch, products, **params):
    monkeypatch.setattr(_sorted1d, "MIN_PRODUCTS", products)
    rng = np.random.default_rng(3)
    x = np.sort(rng.uniform(-2, 2, 200))[:, None]
    y = np.sin(2 * x[:, 0]) + 0.1 * rng.standard_normal(200)
    est = ShallowReLURegressor(n_hidden=400, random_state=0, **params).fit(x, y)
    return est, x, y


@pytest.mark.parametrize("params", [
    {"solver": "gd", "max_iter": 1000, "learning_rate": 0.05},
    {"solver": "sgd", "max_iter": 20, "batch_size": 100, "learning_rate": 0.02},
    {"solver": "mirror", "max_iter": 300, "learning_rate": 0.02, "potential": "hyperbolic_entropy"},
])
def test_trajectories_equal_the_dense_path(params, monkeypatch):
    """At a step below the stability limit the sorted path's trajectory is the
    dense one's: rounding differences of 1e-16 per step do not grow."""
    sorted_fit, x, y = _fit(monkeypatch, 0, **params)
    dense_fit, _, _ = _fit(monkeypatch, 1 << 62, **params)
    for attr in ("hidden_weights_", "hidden_bias_", "output_weights_", "intercept_"):
        a, b = np.asarray(getattr(sorted_fit, attr)), np.asarray(getattr(dense_fit, attr))
        assert np.max(np.abs(a - b)) <= 1e-10 * np.max(np.abs(b)), attr
    np.testing.assert_allclose(sorted_fit.loss_curve_, dense_fit.loss_curve_, rtol=1e-10)
    # the sharpness through the sorted Hessian-vector products
    monkeypatch.setattr(_sorted1d, "MIN_PRODUCTS", 0)
    s_sorted = sorted_fit.sharpness(x, y)
    monkeypatch.setattr(_sorted1d, "MIN_PRODUCTS", 1 << 62)
    s_dense = sorted_fit.sharpness(x, y)
    assert s_sorted == pytest.approx(s_dense, rel=1e-6)  # Lanczos' own tolerance
