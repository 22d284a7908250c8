"""Descent on 1-D inputs through the O(m + n) prefix-sum operator (Design1D)."""

import tracemalloc

import numpy as np
import pytest

from sklearn_shallowrelu import RandomFeatureReLURegressor, random_features
from sklearn_shallowrelu._design import Design
from sklearn_shallowrelu._exact1d.operator import Design1D
from sklearn_shallowrelu._solvers import top_eigenvalue
from sklearn_shallowrelu.potentials import HyperbolicEntropy


def _awkward_1d(m=240, n=400, k=2, seed=0):
    """Ties, zero weights, knots on data points, units with w = 0 (live and dead)."""
    rng = np.random.RandomState(seed)
    x = np.round(rng.uniform(-2, 2, m), 1)  # about 40 distinct values
    W = rng.standard_normal((n, 1))
    b = rng.standard_normal(n)
    W[:30] = 0.0
    b[:10] = -np.abs(b[:10])
    b[30:80] = -W[30:80, 0] * x[rng.randint(0, m, 50)]
    y = np.column_stack([np.sin(2 * x), np.abs(x)])[:, :k] + 0.1 * rng.standard_normal((m, k))
    sw = rng.randint(0, 4, m).astype(float)
    return x[:, None], W, b, y, sw


def _rel(a, b):
    return np.max(np.abs(a - b)) / np.max(np.abs(b))


@pytest.mark.parametrize("fit_intercept", [True, False])
def test_operator_equals_dense_design(fit_intercept):
    X, W, b, y, sw = _awkward_1d()
    dense = Design(X, W, b, y, sw, fit_intercept)
    op = Design1D(X, W, b, y, sw, fit_intercept)
    rng = np.random.RandomState(1)
    v, r = rng.standard_normal((W.shape[0], 3)), rng.standard_normal((X.shape[0], 3))
    assert _rel(op.matvec(v), dense.matvec(v)) < 1e-12
    assert _rel(op.rmatvec(r), dense.rmatvec(r)) < 1e-12
    np.testing.assert_allclose(op.phi_mean, dense.phi_mean, rtol=0, atol=1e-14)
    np.testing.assert_allclose(op.b, dense.b, rtol=0, atol=1e-14)
    assert abs(op.sum_of_squares() - dense.sum_of_squares()) < 1e-12 * dense.sum_of_squares()
    assert _rel(op.gram(), dense.gram()) < 1e-12
    assert abs(top_eigenvalue(op) - top_eigenvalue(dense)) < 1e-10 * top_eigenvalue(dense)
    X_new = np.linspace(-3, 3, 37)[:, None]
    assert _rel(op.centred_features(X_new) @ v, dense.centred_features(X_new) @ v) < 1e-12
    with pytest.raises(ValueError, match="no explicit matrix"):
        _ = op.A


def test_operator_keeps_the_dtype_and_handles_constant_data():
    X, W, b, y, sw = _awkward_1d(k=1)
    X32, y32 = X.astype(np.float32), y.astype(np.float32)
    op, dense = Design1D(X32, W, b, y32, sw, True), Design(X32, W, b, y32, sw, True)
    v = np.random.RandomState(2).standard_normal((W.shape[0], 1)).astype(np.float32)
    assert op.matvec(v).dtype == np.float32 and op.phi_mean.dtype == np.float32 and op.b.dtype == np.float32
    assert op.matvec(v.astype(np.float64)).dtype == np.float64
    assert _rel(op.matvec(v), dense.matvec(v)) < 1e-5
    # one distinct weighted input: with an intercept every centred feature vanishes exactly
    Xc = np.full_like(X, 0.3)
    flat = Design1D(Xc, W, b, y, sw, True)
    assert flat.sum_of_squares() == 0.0 and top_eigenvalue(flat) == 0.0
    assert not np.any(flat.matvec(v.astype(np.float64))) and not np.any(flat.rmatvec(y))


@pytest.fixture
def force_path(monkeypatch):
    """``force_path(True)``: the estimator takes the 1-D operator wherever it applies; ``False``:
    never; ``None``: by the real rule.  Returns the list of the operators built since."""
    built = []

    class Spy(Design1D):
        def __init__(self, *args, **kwargs):
            built.append(self)
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(random_features, "Design1D", Spy)

    def force(on):
        if on is not None:
            monkeypatch.setattr(random_features, "operator_1d_helps", lambda m, n: on)
        built.clear()
        return built

    return force


def _fit_both(force_path, make, X, y, **fit):
    built = force_path(True)
    a = make().fit(X, y, **fit)
    assert len(built) == 1
    built = force_path(False)
    b = make().fit(X, y, **fit)
    assert not built
    return a, b


@pytest.mark.parametrize("fit_intercept", [True, False])
def test_gd_fit_through_the_operator_equals_the_dense_fit(force_path, fit_intercept):
    X, _, _, y, sw = _awkward_1d()
    v0 = np.random.RandomState(3).standard_normal((2, 300)) * 0.1

    def make():
        return RandomFeatureReLURegressor(n_hidden=300, solver="gd", algorithm="iterative", max_iter=300,
                                          fit_intercept=fit_intercept, random_state=0)

    a, b = _fit_both(force_path, make, X, y, sample_weight=sw, coef_init=v0)
    assert a.algorithm_ == b.algorithm_ == "iterative"
    assert a.learning_rate_ == pytest.approx(b.learning_rate_, rel=1e-10)
    assert _rel(a.coef_, b.coef_) < 1e-10
    np.testing.assert_allclose(a.intercept_, b.intercept_, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(a.loss_curve_, b.loss_curve_, rtol=1e-10)
    # the descent did something: the fit is far from the start
    assert a.loss_curve_[-1] < 0.2 * a.loss_curve_[0]


def test_mirror_fit_through_the_operator_equals_the_dense_fit(force_path):
    X, _, _, y, sw = _awkward_1d(k=1)

    def make():
        return RandomFeatureReLURegressor(n_hidden=300, solver="mirror", potential=HyperbolicEntropy(0.05),
                                          max_iter=200, random_state=1)

    a, b = _fit_both(force_path, make, X, y[:, 0], sample_weight=sw)
    assert _rel(a.coef_, b.coef_) < 1e-10
    assert a.intercept_ == pytest.approx(b.intercept_, rel=1e-10)
    np.testing.assert_allclose(a.loss_curve_, b.loss_curve_, rtol=1e-10)


def test_early_stopping_and_float32_through_the_operator(force_path):
    X, _, _, y, _ = _awkward_1d(k=1)

    def make():
        return RandomFeatureReLURegressor(n_hidden=300, solver="gd", algorithm="iterative", max_iter=400,
                                          learning_rate=2.0, early_stopping=True, n_iter_no_change=5,
                                          random_state=2)

    a, b = _fit_both(force_path, make, X, y[:, 0])
    assert a.best_iteration_ == b.best_iteration_ and a.n_iter_ == b.n_iter_
    np.testing.assert_allclose(a.validation_loss_curve_, b.validation_loss_curve_, rtol=1e-10)
    assert _rel(a.coef_, b.coef_) < 1e-10
    a, b = _fit_both(force_path, make, X.astype(np.float32), y[:, 0].astype(np.float32))
    assert a.coef_.dtype == np.float32 and a.predict(X.astype(np.float32)).dtype == np.float32
    assert _rel(a.coef_, b.coef_) < 1e-3


def test_auto_picks_the_operator_only_where_it_helps(force_path):
    rng = np.random.RandomState(0)
    X = rng.uniform(-2, 2, (4000, 1))
    y = np.sin(2 * X[:, 0])
    built = force_path(None)
    small = RandomFeatureReLURegressor(n_hidden=200, solver="gd", max_iter=50, random_state=0).fit(X[:500], y[:500])
    assert small.algorithm_ == "spectral" and not built
    # 4000 x 5000: an eigendecomposition would cost far more than 50 steps of the operator
    big = RandomFeatureReLURegressor(n_hidden=5000, solver="gd", max_iter=50, random_state=0).fit(X, y)
    assert big.algorithm_ == "iterative" and len(built) == 1
    assert big.score(X, y) > 0.5


def test_large_1d_descent_never_forms_the_feature_matrix():
    m, n = 20_000, 100_000
    rng = np.random.RandomState(0)
    X = rng.uniform(-2, 2, (m, 1))
    y = np.sin(2 * X[:, 0]) + 0.1 * rng.standard_normal(m)
    net = RandomFeatureReLURegressor(n_hidden=n, solver="gd", max_iter=5, random_state=0)
    tracemalloc.start()
    try:
        net.fit(X, y)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert net.algorithm_ == "iterative"
    assert peak < 200 * 2**20 < m * n * 8 / 50
    assert net.loss_curve_[-1] < net.loss_curve_[0]
