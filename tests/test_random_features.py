"""RandomFeatureReLURegressor against independent references: a dense lstsq solve,
the scikit-learn pipeline it stands for, explicit gradient-descent and
mirror-descent loops written here, a convex solver, and kernel ridge regression
with the closed-form kernel of the initialisation."""

import tracemalloc

import numpy as np
import pytest
from scipy import optimize
from sklearn import config_context
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import Ridge
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.utils import check_random_state

from sklearn_shallowrelu import RandomFeatureReLURegressor, ReLURandomFeatures
from sklearn_shallowrelu.init import Gaussian, RademacherUniform
from sklearn_shallowrelu.potentials import HyperbolicEntropy, Power, QuadraticPlusPower, WidthScaled


def _data(m=60, d=2, k=None, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.uniform(-2, 2, (m, d))
    y = np.sin(2 * X[:, 0]) + 0.3 * X[:, -1] + 0.1 * rng.standard_normal(m)
    if k is not None:
        y = np.column_stack([y + j * np.cos(X[:, 0]) for j in range(k)])
    return X, y


def _features(X, n, init="gaussian", seed=0):
    return ReLURandomFeatures(n_components=n, init=init, random_state=seed).fit(X).transform(X)


def _rel(a, b):
    return np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-300)


# --------------------------------------------------------------------- ridge
@pytest.mark.parametrize("algorithm", ["auto", "primal", "dual", "chunked"])
@pytest.mark.parametrize("shape", [(80, 30), (30, 120)])
@pytest.mark.parametrize("fit_intercept", [True, False])
def test_ridge_against_lstsq_on_augmented_system(algorithm, shape, fit_intercept):
    m, n = shape
    X, y = _data(m, d=3)
    sw = np.random.RandomState(1).uniform(0.5, 2.0, m)
    alpha = 0.7
    Phi = _features(X, n)
    # min sum w (y - Phi v - c)^2 + alpha |v|^2 as one least-squares system
    cols = [Phi, np.ones((m, 1))] if fit_intercept else [Phi]
    top = np.sqrt(sw)[:, None] * np.hstack(cols)
    pen = np.hstack([np.sqrt(alpha) * np.eye(n)] + ([np.zeros((n, 1))] if fit_intercept else []))
    sol = np.linalg.lstsq(np.vstack([top, pen]), np.concatenate([np.sqrt(sw) * y, np.zeros(n)]), rcond=None)[0]
    net = RandomFeatureReLURegressor(
        n_hidden=n, alpha=alpha, algorithm=algorithm, fit_intercept=fit_intercept, random_state=0
    ).fit(X, y, sample_weight=sw)
    assert _rel(net.coef_, sol[:n]) < 1e-8
    if fit_intercept:
        assert abs(net.intercept_ - sol[n]) < 1e-8 * max(1, abs(sol[n]))
    assert _rel(net.predict(X), np.hstack(cols) @ sol) < 1e-8


@pytest.mark.parametrize("init", ["gaussian", "rademacher_uniform", "uniform", "uniform_knots", "he"])
def test_ridge_is_the_pipeline_it_stands_for(init):
    X, y = _data(70, d=1)
    Xt = np.linspace(-2.5, 2.5, 31).reshape(-1, 1)
    pipe = make_pipeline(ReLURandomFeatures(n_components=400, init=init, random_state=7), Ridge(alpha=0.2))
    net = RandomFeatureReLURegressor(n_hidden=400, init=init, alpha=0.2, random_state=7)
    assert _rel(net.fit(X, y).predict(Xt), pipe.fit(X, y).predict(Xt)) < 1e-8


def test_ridge_multi_output_equals_separate_fits():
    X, Y = _data(50, k=3)
    net = RandomFeatureReLURegressor(n_hidden=100, alpha=0.5, random_state=0).fit(X, Y)
    assert net.coef_.shape == (3, 100) and net.predict(X).shape == (50, 3)
    for j in range(3):
        single = RandomFeatureReLURegressor(n_hidden=100, alpha=0.5, random_state=0).fit(X, Y[:, j])
        assert _rel(net.predict(X)[:, j], single.predict(X)) < 1e-10


def test_chunked_ridge_peak_memory_is_gram_plus_one_chunk():
    rng = np.random.RandomState(0)
    m, n = 40_000, 400
    X = rng.standard_normal((m, 3))
    y = X[:, 0] + 0.1 * rng.standard_normal(m)
    explicit_bytes = m * n * 8  # 128 MB
    net = RandomFeatureReLURegressor(n_hidden=n, alpha=1.0, random_state=0)
    with config_context(working_memory=4):
        tracemalloc.start()
        net.fit(X, y)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    assert peak < 0.25 * explicit_bytes
    ref = RandomFeatureReLURegressor(n_hidden=n, alpha=1.0, algorithm="primal", random_state=0).fit(X, y)
    assert _rel(net.coef_, ref.coef_) < 1e-8


# ------------------------------------------------------------ gradient descent
def _explicit_descent(X, y, n, eta, T, sw=None, alpha=0.0, fit_intercept=True, v0=None,
                      grad=lambda x: x, grad_inv=lambda z: z):
    """Mirror descent (plain GD for the identity map) written out on the features.

    Loss: sum w (Phi v + c - y)^2 / (2 sum w) + alpha |v|^2 / (2 sum w), with the
    intercept c at its optimum for v at every step.
    """
    Phi = _features(X, n)
    Y = y.reshape(len(y), -1)
    w = np.ones(len(y)) if sw is None else sw
    Wt = w.sum()
    pm = w @ Phi / Wt if fit_intercept else np.zeros(n)
    ym = w @ Y / Wt if fit_intercept else np.zeros(Y.shape[1])
    start = np.zeros((n, Y.shape[1])) if v0 is None else v0.reshape(n, -1)
    v = start.copy()
    z = grad(v - start)
    losses, coefs = [], []
    for t in range(T + 1):
        c = ym - pm @ v
        r = Phi @ v + c - Y
        losses.append(0.5 * np.sum(w[:, None] * r**2) / Wt)
        coefs.append(v.copy())
        if t == T:
            break
        g = (Phi - pm).T @ (w[:, None] * r) / Wt + alpha / Wt * v
        z = z - eta * g
        v = start + grad_inv(z)
    return np.array(losses), coefs, Phi, pm, ym


@pytest.mark.parametrize("algorithm", ["spectral", "iterative"])
@pytest.mark.parametrize("shape", [(40, 25), (25, 90)])
def test_gd_path_against_explicit_iteration(algorithm, shape):
    m, n = shape
    X, y = _data(m)
    sw = np.random.RandomState(2).uniform(0.5, 2, m)
    T, eta = 150, 0.9
    losses, coefs, Phi, pm, ym = _explicit_descent(X, y, n, eta, T, sw=sw, alpha=0.3)
    net = RandomFeatureReLURegressor(
        n_hidden=n, solver="gd", alpha=0.3, learning_rate=eta, max_iter=T, algorithm=algorithm, random_state=0
    ).fit(X, y, sample_weight=sw)
    assert net.n_iter_ == T
    np.testing.assert_allclose(net.loss_curve_, losses, rtol=1e-10, atol=1e-14)
    assert _rel(net.coef_, coefs[-1][:, 0]) < 1e-10
    staged = list(net.staged_predict(X))
    assert len(staged) == T
    for t in (1, 17, T):
        ref = Phi @ coefs[t][:, 0] + (ym - pm @ coefs[t])[0]
        assert _rel(staged[t - 1], ref) < 1e-10


def test_gd_spectral_and_iterative_agree_with_start_and_multi_output():
    X, Y = _data(30, k=2)
    v0 = np.random.RandomState(5).standard_normal((2, 50))
    kw = dict(n_hidden=50, solver="gd", max_iter=80, alpha=0.2, fit_intercept=False, random_state=0)
    a = RandomFeatureReLURegressor(algorithm="spectral", **kw).fit(X, Y, coef_init=v0)
    b = RandomFeatureReLURegressor(algorithm="iterative", **kw).fit(X, Y, coef_init=v0)
    losses, coefs, *_ = _explicit_descent(X, Y, 50, a.learning_rate_, 80, alpha=0.2, fit_intercept=False, v0=v0.T)
    assert _rel(a.coef_, coefs[-1].T) < 1e-10
    assert _rel(b.coef_, coefs[-1].T) < 1e-10
    np.testing.assert_allclose(a.loss_curve_, losses, rtol=1e-10)
    for pa, pb in zip(a.staged_predict(X), b.staged_predict(X)):
        assert _rel(pa, pb) < 1e-10


def test_auto_learning_rate_is_inverse_top_eigenvalue():
    X, y = _data(40)
    net = RandomFeatureReLURegressor(n_hidden=60, solver="gd", max_iter=5, random_state=0).fit(X, y)
    Phi = _features(X, 60)
    A = (Phi - Phi.mean(0)) / np.sqrt(len(y))
    assert net.learning_rate_ * np.linalg.eigvalsh(A.T @ A)[-1] == pytest.approx(1.0, rel=1e-10)


def test_plain_gd_runs_exactly_max_iter_steps():
    X, y = _data(40)
    net = RandomFeatureReLURegressor(n_hidden=60, solver="gd", max_iter=3000, random_state=0).fit(X, y)
    assert net.n_iter_ == 3000 and net.loss_curve_.shape == (3001,)
    assert np.all(np.diff(net.loss_curve_) <= 1e-15)  # monotone at the 'auto' step


def test_tol_stops_on_training_loss():
    X, y = _data(40)
    net = RandomFeatureReLURegressor(n_hidden=60, solver="gd", max_iter=5000, tol=1e-4, random_state=0).fit(X, y)
    assert net.n_iter_ < 5000
    assert len(net.loss_curve_) == net.n_iter_ + 1


@pytest.mark.parametrize("algorithm", ["spectral", "iterative"])
def test_early_stopping_validation_loss_is_in_loss_units(algorithm):
    X, y = _data(120, d=1)
    y = y + 0.5 * np.random.RandomState(3).standard_normal(120)
    net = RandomFeatureReLURegressor(
        n_hidden=300, solver="gd", learning_rate=1.0, max_iter=4000, early_stopping=True,
        validation_fraction=0.25, n_iter_no_change=20, tol=1e-6, algorithm=algorithm, random_state=4,
    ).fit(X, y)
    assert net.n_iter_ < 4000
    assert net.validation_loss_curve_.shape == net.loss_curve_.shape == (net.n_iter_ + 1,)
    assert net.best_iteration_ == np.argmin(net.validation_loss_curve_[1:]) + 1
    # rebuild the split the estimator made: features first, then the split
    rng = check_random_state(4)
    ReLURandomFeatures(n_components=300, random_state=rng).fit(X)
    _, X_val, _, y_val, _, _ = train_test_split(X, y, np.ones(120), test_size=0.25, random_state=rng)
    half_mse = 0.5 * np.mean((net.predict(X_val) - y_val) ** 2)
    assert half_mse == pytest.approx(net.validation_loss_curve_[net.best_iteration_], rel=1e-10)


def test_early_stopping_spectral_equals_iterative():
    X, y = _data(100, d=1)
    kw = dict(n_hidden=200, solver="gd", max_iter=3000, early_stopping=True, n_iter_no_change=15, random_state=2)
    a = RandomFeatureReLURegressor(algorithm="spectral", **kw).fit(X, y)
    b = RandomFeatureReLURegressor(algorithm="iterative", **kw).fit(X, y)
    assert a.n_iter_ == b.n_iter_ and a.best_iteration_ == b.best_iteration_
    np.testing.assert_allclose(a.validation_loss_curve_, b.validation_loss_curve_, rtol=1e-9)
    assert _rel(a.coef_, b.coef_) < 1e-9


def test_diverging_gd_step_raises_and_keeps_the_fitted_model():
    X, y = _data(40)
    net = RandomFeatureReLURegressor(n_hidden=60, solver="gd", max_iter=50, random_state=0).fit(X, y)
    before = net.predict(X)
    limit = 2.0 * net.learning_rate_  # 'auto' is 1 / lambda_max, the limit 2 / lambda_max
    net.set_params(learning_rate=1.2 * limit)
    with pytest.raises(ValueError, match="stability limit"):
        net.fit(X, y)
    np.testing.assert_array_equal(net.predict(X), before)
    net.set_params(learning_rate=0.99 * limit).fit(X, y)  # just inside: allowed, finite
    assert np.all(np.isfinite(net.predict(X)))


# -------------------------------------------------------------- mirror descent
def test_mirror_with_quadratic_potential_is_gd_step_for_step():
    X, y = _data(40)
    kw = dict(n_hidden=70, max_iter=120, learning_rate=0.8, random_state=0)
    gd = RandomFeatureReLURegressor(solver="gd", **kw).fit(X, y)
    md = RandomFeatureReLURegressor(solver="mirror", potential="quadratic", **kw).fit(X, y)
    np.testing.assert_allclose(md.loss_curve_, gd.loss_curve_, rtol=1e-10)
    assert _rel(md.coef_, gd.coef_) < 1e-10


@pytest.mark.parametrize("pot", [HyperbolicEntropy(0.3), Power(3.0), QuadraticPlusPower(3.0, 2.0)], ids=repr)
def test_mirror_matches_direct_update(pot):
    X, y = _data(30)
    eta = 0.2
    net = RandomFeatureReLURegressor(
        n_hidden=40, solver="mirror", potential=pot, learning_rate=eta, max_iter=60, random_state=0
    ).fit(X, y)
    if isinstance(pot, HyperbolicEntropy):  # the update written out by hand
        grad, grad_inv = (lambda x: np.arcsinh(x / 0.3)), (lambda z: 0.3 * np.sinh(z))
    else:
        grad, grad_inv = pot.grad, pot.grad_inv
    losses, coefs, *_ = _explicit_descent(X, y, 40, eta, 60, grad=grad, grad_inv=grad_inv)
    np.testing.assert_allclose(net.loss_curve_, losses, rtol=1e-9)
    assert _rel(net.coef_, coefs[-1][:, 0]) < 1e-9


@pytest.mark.parametrize(
    "pot", [HyperbolicEntropy(0.2), QuadraticPlusPower(3.0, 1.0), QuadraticPlusPower(4.0, 1.0), Power(1.5)], ids=repr
)
def test_mirror_converges_to_bregman_projection_of_the_start(pot):
    # Under-determined (3 samples, 30 units), no penalty: the limit is
    # argmin D_Phi(v, v0) subject to Phi v = y.  Reference: the convex dual
    # min_lam sum phi*(Phi^T lam) - lam.(y - Phi v0) by BFGS, polished by Newton
    # on the KKT system.  (|x|^p with p > 2 has phi''(0) = 0: the mirror map is
    # singular at the start, so it is tested step by step above, not here.)
    rng = np.random.RandomState(0)
    X = np.array([-0.8, 0.0, 0.8]).reshape(-1, 1)
    y = np.array([0.5, -0.3, 0.4])
    v0 = 0.2 * rng.standard_normal(30)
    Phi = _features(X, 30, init="uniform_knots", seed=1)
    target = y - Phi @ v0

    def dual(lam):
        s = Phi.T @ lam
        x = pot.grad_inv(s)
        return np.sum(s * x - pot.phi(x)) - lam @ target, Phi @ x - target

    lam = optimize.minimize(dual, np.zeros(3), jac=True, method="BFGS", options={"gtol": 1e-12}).x
    for _ in range(20):
        x = pot.grad_inv(Phi.T @ lam)
        lam = lam - np.linalg.solve((Phi / pot.hess(x)) @ Phi.T, Phi @ x - target)
    v_ref = v0 + pot.grad_inv(Phi.T @ lam)
    assert np.max(np.abs(Phi @ v_ref - y)) < 1e-12
    net = RandomFeatureReLURegressor(
        n_hidden=30, solver="mirror", potential=pot, init="uniform_knots",
        max_iter=20_000, tol=0.0, n_iter_no_change=50, fit_intercept=False, random_state=1,
    ).fit(X, y, coef_init=v0)
    assert np.max(np.abs(net.coef_ - v_ref)) < 1e-6
    # not the Euclidean projection (the potential matters)
    v_l2 = v0 + np.linalg.lstsq(Phi, target, rcond=None)[0]
    if not isinstance(pot, QuadraticPlusPower):
        assert np.max(np.abs(v_l2 - v_ref)) > 1e-3


def test_width_scaled_potential_uses_sqrt_width():
    X, y = _data(20)
    pot = WidthScaled(Power(3.0))
    net = RandomFeatureReLURegressor(n_hidden=49, solver="mirror", potential=pot, learning_rate=0.1,
                                     max_iter=10, random_state=0).fit(X, y)
    scale = 7.0
    losses, coefs, *_ = _explicit_descent(
        X, y, 49, 0.1, 10, grad=lambda x: Power(3.0).grad(scale * x) / scale,
        grad_inv=lambda z: Power(3.0).grad_inv(scale * z) / scale)
    assert _rel(net.coef_, coefs[-1][:, 0]) < 1e-10


def test_diverging_mirror_descent_warns_and_stays_finite():
    X, y = _data(40)
    net = RandomFeatureReLURegressor(n_hidden=60, solver="mirror", potential=HyperbolicEntropy(1.0),
                                     learning_rate=1e3, max_iter=500, random_state=0)
    with pytest.warns(ConvergenceWarning, match="diverged"):
        net.fit(X, y)
    assert np.all(np.isfinite(net.predict(X)))
    assert net.n_iter_ < 500
    assert net.loss_curve_.shape == (net.n_iter_ + 1,) and np.all(np.isfinite(net.loss_curve_))


# ----------------------------------------------------- the infinite-width limit
def _kernel_ridge_free_intercept(K, Kt, y, alpha):
    """Kernel ridge with an unpenalised constant: [[K + alpha I, 1], [1^T, 0]]."""
    m = len(y)
    M = np.block([[K + alpha * np.eye(m), np.ones((m, 1))], [np.ones((1, m)), np.zeros((1, 1))]])
    sol = np.linalg.solve(M, np.concatenate([y, [0.0]]))
    return Kt @ sol[:m] + sol[m]


@pytest.mark.parametrize("init", [Gaussian(1.0, 1.0), RademacherUniform(3.0)], ids=repr)
def test_ridge_tends_to_kernel_ridge_with_the_init_kernel(init):
    rng = np.random.RandomState(0)
    X = np.sort(rng.uniform(-2, 2, 20)).reshape(-1, 1)
    y = np.sin(2 * X[:, 0]) + 0.1 * rng.standard_normal(20)
    grid = np.linspace(-2, 2, 101).reshape(-1, 1)
    alpha = 0.05
    limit = _kernel_ridge_free_intercept(init.kernel(X), init.kernel(grid, X), y, alpha)
    errs = []
    for n in (1_000, 10_000, 100_000):
        e = [np.max(np.abs(RandomFeatureReLURegressor(n_hidden=n, init=init, alpha=alpha, random_state=s)
                           .fit(X, y).predict(grid) - limit)) for s in range(3)]
        errs.append(np.median(e))
    # n^{-1/2}: about sqrt(10) = 3.2 per decade; allow for noise but not for a plateau
    assert errs[0] > errs[1] > errs[2]
    assert errs[0] / errs[2] > 4.0
    assert errs[2] < 0.05


# ------------------------------------------------------- derivatives and knots
def test_predict_derivative_against_finite_differences():
    X, y = _data(50, d=3)
    net = RandomFeatureReLURegressor(n_hidden=80, alpha=0.1, random_state=0).fit(X, y)
    Xt = np.random.RandomState(9).uniform(-1.5, 1.5, (20, 3))
    D = net.predict_derivative(Xt)
    h = 1e-7
    for j in range(3):
        E = np.zeros(3)
        E[j] = h
        fd = (net.predict(Xt + E) - net.predict(Xt - E)) / (2 * h)
        np.testing.assert_allclose(D[:, j], fd, rtol=1e-5, atol=1e-6)
    net2 = RandomFeatureReLURegressor(n_hidden=80, random_state=0).fit(X, np.column_stack([y, -y]))
    assert net2.predict_derivative(Xt).shape == (20, 2, 3)


def test_knots_and_slope_jumps_rebuild_the_network_in_1d():
    X, y = _data(40, d=1)
    net = RandomFeatureReLURegressor(n_hidden=50, init="uniform", alpha=0.1, random_state=0).fit(X, y)
    assert np.all(np.diff(net.knots_) >= 0) and net.knots_.shape == net.slope_jumps_.shape
    x0 = net.knots_[0] - 1.0
    grid = np.linspace(x0, net.knots_[-1] + 1.0, 200)
    f0 = net.predict([[x0]])[0]
    s0 = net.predict_derivative([[x0]])[0, 0]
    rebuilt = f0 + s0 * (grid - x0) + np.maximum(grid[:, None] - net.knots_[None], 0) @ net.slope_jumps_
    np.testing.assert_allclose(net.predict(grid.reshape(-1, 1)), rebuilt, rtol=1e-10, atol=1e-10)


# ------------------------------------------------------------------- dtypes
@pytest.mark.parametrize("solver", ["ridge", "gd", "mirror"])
def test_float32_is_kept(solver):
    X, y = _data(60)
    kw = dict(n_hidden=100, solver=solver, max_iter=100, random_state=0)
    n32 = RandomFeatureReLURegressor(**kw).fit(X.astype(np.float32), y.astype(np.float32))
    n64 = RandomFeatureReLURegressor(**kw).fit(X, y)
    p32 = n32.predict(X.astype(np.float32))
    assert p32.dtype == np.float32 and n32.coef_.dtype == np.float32
    np.testing.assert_allclose(p32, n64.predict(X), atol=1e-4)


# ---------------------------------------------------------------- bad input
def test_bad_input_gets_clear_errors_and_keeps_the_model():
    X, y = _data(30)
    net = RandomFeatureReLURegressor(n_hidden=40, random_state=0).fit(X, y)
    before = net.predict(X)
    bad_X = X.copy()
    bad_X[3, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        net.fit(bad_X, y)
    bad_y = y.copy()
    bad_y[0] = np.inf
    with pytest.raises(ValueError, match="infinity"):
        net.fit(X, bad_y)
    with pytest.raises(ValueError, match="2D array"):
        net.fit(X[:, 0], y)
    with pytest.raises(ValueError):
        net.fit(np.array([["a", "b"]] * 30), y)
    with pytest.raises(ValueError, match="(?i)negative"):
        net.fit(X, y, sample_weight=-np.ones(30))
    with pytest.raises(ValueError, match="non-zero"):
        net.fit(X, y, sample_weight=np.zeros(30))
    np.testing.assert_array_equal(net.predict(X), before)
    with pytest.raises(ValueError, match="features"):
        net.predict(X[:, :1])
    with pytest.raises(ValueError, match="does not apply"):
        RandomFeatureReLURegressor(algorithm="spectral").fit(X, y)
    with pytest.raises(ValueError, match="coef_init"):
        RandomFeatureReLURegressor(n_hidden=40, solver="gd").fit(X, y, coef_init=np.ones(3))
    with pytest.raises(ValueError, match="at least 4 samples"):
        RandomFeatureReLURegressor(solver="gd", early_stopping=True).fit(X[:3], y[:3])


def test_zero_weights_equal_removing_samples():
    X, y = _data(40)
    sw = np.ones(40)
    sw[::4] = 0
    kw = dict(n_hidden=60, solver="gd", max_iter=40, random_state=0)
    a = RandomFeatureReLURegressor(**kw).fit(X, y, sample_weight=sw)
    b = RandomFeatureReLURegressor(**kw).fit(X[sw > 0], y[sw > 0])
    assert _rel(a.predict(X), b.predict(X)) < 1e-10


@pytest.mark.parametrize("algorithm", ["spectral", "iterative"])
def test_gd_with_chunked_features_equals_explicit(algorithm):
    X, y = _data(3000, d=2)
    kw = dict(n_hidden=300, solver="gd", max_iter=60, learning_rate=0.5, algorithm=algorithm, random_state=0)
    ref = RandomFeatureReLURegressor(**kw).fit(X, y)
    with config_context(working_memory=1):  # 1 MiB: 3000 x 300 features do not fit
        net = RandomFeatureReLURegressor(**kw).fit(X, y)
    assert _rel(net.coef_, ref.coef_) < 1e-9
    np.testing.assert_allclose(net.loss_curve_, ref.loss_curve_, rtol=1e-9)


def test_failed_refit_keeps_the_path_of_the_fitted_model():
    X, y = _data(40)
    net = RandomFeatureReLURegressor(n_hidden=60, solver="gd", max_iter=30, random_state=0).fit(X, y)
    staged = [p.copy() for p in net.staged_predict(X)]
    with pytest.raises(ValueError, match="stability limit"):
        net.set_params(learning_rate=10 * net.learning_rate_).fit(X, y)
    for a, b in zip(staged, net.staged_predict(X)):
        np.testing.assert_array_equal(a, b)


# ----------------------------------------------------- scale of sample_weight
# The documented objective sum_i w_i r_i^2 + alpha ||v||^2 depends on the
# weights only through their ratios and alpha / sum(w): scaling both by c
# changes nothing, however large or small c (sums of raw weights overflow).
from hypothesis import given, settings, strategies as st  # noqa: E402

from sklearn_shallowrelu import RandomFeatureReLURegressorCV  # noqa: E402

_SCALES = st.builds(lambda e, f: f * 10.0**e, st.integers(-300, 300), st.floats(1.0, 9.99))


def _issue_data():
    r = np.random.RandomState(0)
    X = np.sort(r.uniform(-2, 2, 60))[:, None]
    y = np.sin(2 * X[:, 0]) + 0.1 * r.standard_normal(60)
    return X, y, 1.0 + np.arange(60) % 3


def _same_fit(a, b):
    np.testing.assert_allclose(a.coef_, b.coef_, rtol=1e-9, atol=1e-9 * np.abs(b.coef_).max())
    np.testing.assert_allclose(a.intercept_, b.intercept_, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("c", [1e-300, 1e300, 1e307])
def test_cv_gd_with_huge_or_tiny_weights_is_the_unit_weight_fit(c):
    X, y, sw = _issue_data()
    kw = dict(solver="gd", n_hidden=200, max_iter=300, random_state=0)
    ref = RandomFeatureReLURegressorCV(**kw).fit(X, y, sample_weight=sw)
    cv = RandomFeatureReLURegressorCV(**kw).fit(X, y, sample_weight=c * sw)  # sum(c * sw) overflows for 1e307
    assert np.isfinite(cv.best_score_) and cv.n_iter_ == ref.n_iter_
    np.testing.assert_allclose(cv.cv_results_["mean_squared_error"], ref.cv_results_["mean_squared_error"], rtol=1e-9)
    _same_fit(cv, ref)


@settings(max_examples=12, deadline=None)
@given(c=_SCALES)
def test_cv_scaling_weights_and_alphas_together_changes_nothing(c):
    X, y, sw = _issue_data()
    gd = dict(solver="gd", n_hidden=60, max_iter=80, random_state=0)
    a, b = (RandomFeatureReLURegressorCV(**gd).fit(X, y, sample_weight=s) for s in (sw, c * sw))
    assert a.n_iter_ == b.n_iter_ and b.best_score_ == pytest.approx(a.best_score_, rel=1e-9)
    _same_fit(b, a)
    alphas = np.array([0.01, 0.3, 3.0])
    a = RandomFeatureReLURegressorCV(alphas=alphas, n_hidden=60, random_state=0).fit(X, y, sample_weight=sw)
    b = RandomFeatureReLURegressorCV(alphas=c * alphas, n_hidden=60, random_state=0).fit(X, y, sample_weight=c * sw)
    assert b.alpha_ == c * a.alpha_ and b.best_score_ == pytest.approx(a.best_score_, rel=1e-9)
    _same_fit(b, a)


_SOLVERS = [dict(alpha=0.3), dict(alpha=0.3, algorithm="dual"), dict(solver="gd", max_iter=40),
            dict(solver="gd", max_iter=40, alpha=0.5, algorithm="iterative"),
            dict(solver="mirror", max_iter=20, potential="hyperbolic_entropy")]


@settings(max_examples=8, deadline=None)
@given(c=_SCALES)
def test_scaling_weights_and_alpha_together_changes_nothing(c):
    X1, y, sw = _issue_data()
    for X in (X1, np.column_stack([X1[:, 0], np.cos(3 * X1[:, 0])])):
        for kw in _SOLVERS:
            scaled = dict(kw, alpha=c * kw["alpha"]) if "alpha" in kw else kw
            a = RandomFeatureReLURegressor(n_hidden=60, random_state=0, **kw).fit(X, y, sample_weight=sw)
            b = RandomFeatureReLURegressor(n_hidden=60, random_state=0, **scaled).fit(X, y, sample_weight=c * sw)
            _same_fit(b, a)


@pytest.mark.parametrize("kw", _SOLVERS)
def test_one_or_two_positive_weights_give_finite_fits(kw):
    X, y, _ = _issue_data()
    for positive in ([7], [7, 40]):
        sw = np.zeros(60)
        sw[positive] = 1.0
        net = RandomFeatureReLURegressor(n_hidden=60, random_state=0, **kw).fit(X, y, sample_weight=sw)
        pred = net.predict(X)
        assert np.all(np.isfinite(pred))
        if len(positive) == 1:  # the free intercept fits the one sample exactly
            np.testing.assert_allclose(pred, y[7], rtol=1e-10)
    with pytest.raises(ValueError, match="non-zero"):
        RandomFeatureReLURegressor(n_hidden=60, **kw).fit(X, y, sample_weight=np.zeros(60))


# -------------------------------------------- algorithms chosen by memory
@pytest.mark.parametrize("kw", [dict(alpha=0.3), dict(alpha=0.3, algorithm="dual"),
                                dict(solver="gd", max_iter=30), dict(solver="gd", max_iter=30, algorithm="iterative")])
def test_wide_design_over_blocks_of_units_equals_explicit(kw):
    X, y = _data(100, d=3)
    n = 20_000  # 100 x 20_000 features: 16 MB
    ref = RandomFeatureReLURegressor(n_hidden=n, random_state=0, **kw).fit(X, y)
    with config_context(working_memory=1):
        tracemalloc.start()
        ReLURandomFeatures(n, random_state=0).fit(X)
        draw = tracemalloc.get_traced_memory()[1]  # the hidden layer's own checks
        tracemalloc.reset_peak()
        net = RandomFeatureReLURegressor(n_hidden=n, random_state=0, **kw).fit(X, y)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    assert _rel(net.coef_, ref.coef_) < 1e-9 and abs(net.intercept_ - ref.intercept_) < 1e-9
    if kw.get("solver") != "gd":  # the GD path keeps V (n x 100), as large as the features
        assert peak < draw + 0.3 * 100 * n * 8  # a few vectors of length n and blocks of 1 MiB
    if "algorithm" not in kw and "solver" not in kw:
        assert net.algorithm_ == "dual"


def test_auto_never_picks_what_exceeds_the_memory(monkeypatch):
    from sklearn_shallowrelu import _memory

    X, y = _data(30, d=2)
    monkeypatch.setattr(_memory, "available_memory", lambda: 4 * 2**20)  # 4 MiB
    # ridge: the 3000 x 3000 primal system (144 MB) does not fit, the dual does
    net = RandomFeatureReLURegressor(n_hidden=3000, random_state=0).fit(X, y)
    assert net.algorithm_ == "dual"
    with pytest.raises(MemoryError, match="n x n Gram.*algorithm='auto'"):
        RandomFeatureReLURegressor(n_hidden=3000, algorithm="chunked", random_state=0).fit(X, y)
    # gd: the spectral path would keep V (3000 x 30 and the 30 x 30 kernel): 0.7 MB fits;
    # with 300 samples and 3000 units neither the 300 x 300 kernel with V (7.4 MB) nor the primal fits
    gd = RandomFeatureReLURegressor(solver="gd", n_hidden=3000, max_iter=20, random_state=0).fit(X, y)
    assert gd.algorithm_ == "spectral"
    X3, y3 = _data(300, d=2)
    gd = RandomFeatureReLURegressor(solver="gd", n_hidden=3000, max_iter=20, random_state=0).fit(X3, y3)
    assert gd.algorithm_ == "iterative"
    with pytest.raises(MemoryError, match="eigendecomposition"):
        RandomFeatureReLURegressor(solver="gd", n_hidden=3000, max_iter=20, algorithm="spectral",
                                   random_state=0).fit(X3, y3)


def test_knots_on_fewer_than_three_distinct_inputs_says_so():
    X, y = np.array([[0.0], [1.0], [0.0], [1.0]]), np.array([0.0, 1.0, 0.1, 1.1])
    with pytest.raises(ValueError, match="3 distinct inputs.*algorithm='auto'"):
        RandomFeatureReLURegressor(n_hidden=20, algorithm="knots", random_state=0).fit(X, y)
    net = RandomFeatureReLURegressor(n_hidden=20, random_state=0).fit(X, y)
    assert np.all(np.isfinite(net.predict(X)))
