"""RandomFeatureReLURegressorCV: exact leave-one-out and GCV against brute force."""

import numpy as np
import pytest

from sklearn_shallowrelu import RandomFeatureReLURegressor, RandomFeatureReLURegressorCV, ReLURandomFeatures


def _data(m=24, d=2, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.uniform(-2, 2, (m, d))
    y = np.sin(X[:, 0]) + 0.2 * X[:, -1] + 0.15 * rng.standard_normal(m)
    return X, y


def _brute_force_loo(X, y, sw, make, staged):
    """Weighted mean of squared leave-one-out residuals from m refits."""
    m = len(y)
    errs = 0.0
    for i in range(m):
        keep = np.arange(m) != i
        net = make().fit(X[keep], y[keep], sample_weight=sw[keep])
        pred = np.array([p[0] for p in net.staged_predict(X[i : i + 1])]) if staged else net.predict(X[i : i + 1])[0]
        errs = errs + sw[i] * (y[i] - pred) ** 2
    return errs / sw.sum()


@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("shape", [(24, 40), (24, 12)])
def test_gd_leave_one_out_over_stopping_time_equals_refits(fit_intercept, weighted, shape):
    m, n = shape
    X, y = _data(m)
    sw = np.random.RandomState(1).randint(1, 4, m).astype(float) if weighted else np.ones(m)
    T = 40
    cv = RandomFeatureReLURegressorCV(solver="gd", n_hidden=n, max_iter=T, alphas=[0.0, 0.5],
                                      fit_intercept=fit_intercept, random_state=3).fit(X, y, sample_weight=sw)
    mse = cv.cv_results_["mean_squared_error"].reshape(2, T)
    for a_idx, alpha in enumerate([0.0, 0.5]):
        ref = _brute_force_loo(X, y, sw, lambda: RandomFeatureReLURegressor(
            solver="gd", n_hidden=n, max_iter=T, alpha=alpha, learning_rate=cv.learning_rate_,
            fit_intercept=fit_intercept, random_state=3), staged=True)
        np.testing.assert_allclose(mse[a_idx], ref, rtol=1e-7)
    a_best, t_best = np.unravel_index(np.argmin(mse), mse.shape)
    assert cv.n_iter_ == t_best + 1 and cv.alpha_ == [0.0, 0.5][a_best]
    assert cv.best_score_ == pytest.approx(-mse.min())


@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("weighted", [False, True])
def test_ridge_leave_one_out_over_alpha_equals_refits(fit_intercept, weighted):
    X, y = _data(20)
    sw = np.random.RandomState(2).uniform(0.5, 3, 20) if weighted else np.ones(20)
    alphas = [0.01, 0.3, 5.0]
    cv = RandomFeatureReLURegressorCV(alphas=alphas, n_hidden=30, fit_intercept=fit_intercept,
                                      random_state=0).fit(X, y, sample_weight=sw)
    ref = [_brute_force_loo(X, y, sw, lambda a=a: RandomFeatureReLURegressor(
        n_hidden=30, alpha=a, fit_intercept=fit_intercept, random_state=0), staged=False) for a in alphas]
    np.testing.assert_allclose(cv.cv_results_["mean_squared_error"], ref, rtol=1e-9)
    assert cv.alpha_ == alphas[int(np.argmin(ref))]


def _hat_matrix(fit_map, m):
    """The smoother matrix of a linear fitting map, column by column."""
    return np.column_stack([fit_map(np.eye(m)[:, j]) for j in range(m)])


@pytest.mark.parametrize("solver", ["ridge", "gd"])
def test_gcv_against_the_explicit_smoother_matrix(solver):
    X, y = _data(18)
    m = 18
    if solver == "ridge":
        alphas = [0.05, 1.0]
        cv = RandomFeatureReLURegressorCV(alphas=alphas, criterion="gcv", n_hidden=25, random_state=0).fit(X, y)
        makes = [lambda a=a: RandomFeatureReLURegressor(n_hidden=25, alpha=a, random_state=0) for a in alphas]
    else:
        cv = RandomFeatureReLURegressorCV(solver="gd", criterion="gcv", n_hidden=25, max_iter=30, random_state=0).fit(X, y)
        makes = [lambda t=t: RandomFeatureReLURegressor(n_hidden=25, solver="gd", max_iter=t,
                                                        learning_rate=cv.learning_rate_, random_state=0)
                 for t in range(1, 31)]
    ref = []
    for make in makes:
        H = _hat_matrix(lambda yy: make().fit(X, yy).predict(X), m)
        r = y - H @ y
        ref.append(np.mean(r**2) / (1 - np.trace(H) / m) ** 2)
    np.testing.assert_allclose(cv.cv_results_["mean_squared_error"], ref, rtol=1e-8)


def test_selected_model_equals_refit_with_selected_values():
    X, y = _data(40, d=1)
    cv = RandomFeatureReLURegressorCV(solver="gd", n_hidden=200, max_iter=500, random_state=0).fit(X, y)
    net = RandomFeatureReLURegressor(solver="gd", n_hidden=200, max_iter=cv.n_iter_,
                                     learning_rate=cv.learning_rate_, random_state=0).fit(X, y)
    np.testing.assert_allclose(cv.predict(X), net.predict(X), rtol=1e-9, atol=1e-12)
    cvr = RandomFeatureReLURegressorCV(alphas=np.logspace(-3, 2, 11), n_hidden=200, random_state=0).fit(X, y)
    ridge = RandomFeatureReLURegressor(n_hidden=200, alpha=cvr.alpha_, random_state=0).fit(X, y)
    np.testing.assert_allclose(cvr.predict(X), ridge.predict(X), rtol=1e-9, atol=1e-12)


def test_multi_output_loo_is_the_sum_over_outputs():
    X, y = _data(20)
    Y = np.column_stack([y, np.cos(X[:, 0])])
    cv = RandomFeatureReLURegressorCV(alphas=[0.1, 1.0], n_hidden=30, random_state=0).fit(X, Y)
    parts = [RandomFeatureReLURegressorCV(alphas=[0.1, 1.0], n_hidden=30, random_state=0).fit(X, Y[:, j])
             .cv_results_["mean_squared_error"] for j in range(2)]
    np.testing.assert_allclose(cv.cv_results_["mean_squared_error"], parts[0] + parts[1], rtol=1e-12)
    assert cv.predict(X).shape == (20, 2)


def test_cv_bad_input():
    X, y = _data(20)
    with pytest.raises(ValueError, match="alpha=0"):
        RandomFeatureReLURegressorCV(alphas=[0.0, 1.0]).fit(X, y)
    with pytest.raises(ValueError, match="non-negative"):
        RandomFeatureReLURegressorCV(alphas=[-1.0]).fit(X, y)
    with pytest.raises(ValueError, match="at least 3 samples"):
        RandomFeatureReLURegressorCV().fit(X[:2], y[:2])
    with pytest.raises(ValueError, match="stability limit"):
        RandomFeatureReLURegressorCV(solver="gd", learning_rate=1e3, n_hidden=30).fit(X, y)


@pytest.mark.parametrize("fit_intercept", [True, False])
def test_both_exact_gd_loo_methods_agree(fit_intercept):
    from sklearn_shallowrelu import _solvers
    from sklearn_shallowrelu._design import Design

    X, y = _data(30)
    sw = np.random.RandomState(4).randint(1, 3, 30).astype(float)
    rf = ReLURandomFeatures(50, random_state=0).fit(X)
    design = Design(X, rf.weights_, rf.bias_, y.reshape(-1, 1), sw, fit_intercept)
    spec = _solvers.spectrum(design, need_U=True)
    eta = 1.0 / spec.lam_max
    steps = np.array([1, 2, 7, 60, 300, 1000])
    rec = _solvers.loo_gd(design, spec, eta, 0.01, steps, method="recursion")
    eig = _solvers.loo_gd(design, spec, eta, 0.01, steps, method="eigen")
    np.testing.assert_allclose(eig, rec, rtol=1e-10, atol=1e-12)


def test_gd_loo_on_a_stopping_time_grid_equals_refits():
    X, y = _data(20)
    steps = [1, 5, 40, 400, 3000]
    cv = RandomFeatureReLURegressorCV(solver="gd", n_hidden=15, stopping_times=steps, random_state=1).fit(X, y)
    sw = np.ones(20)
    ref = [_brute_force_loo(X, y, sw, lambda t=t: RandomFeatureReLURegressor(
        solver="gd", n_hidden=15, max_iter=t, learning_rate=cv.learning_rate_, random_state=1), staged=False)
        for t in steps]
    np.testing.assert_allclose(cv.cv_results_["mean_squared_error"], ref, rtol=1e-7)
    np.testing.assert_array_equal(cv.cv_results_["param_n_iter"], steps)
    assert cv.n_iter_ == steps[int(np.argmin(ref))]
    with pytest.raises(ValueError, match="positive integers"):
        RandomFeatureReLURegressorCV(solver="gd", stopping_times=[0, 2]).fit(X, y)


def test_recursion_stays_exact_when_eigenvalues_are_tiny():
    # no penalty and many tiny eigenvalues: rho = 1 - eta lambda is close to one,
    # where (1 - rho^t) / (1 - rho) cancels if written naively
    from sklearn_shallowrelu import _solvers
    from sklearn_shallowrelu._design import Design

    rng = np.random.RandomState(0)
    X = rng.uniform(-2, 2, (120, 1))
    y = np.tanh(2 * X[:, 0]) + 0.3 * rng.standard_normal(120)
    rf = ReLURandomFeatures(300, random_state=0).fit(X)
    design = Design(X, rf.weights_, rf.bias_, y.reshape(-1, 1), np.ones(120), True)
    spec = _solvers.spectrum(design, need_U=True)
    steps = np.array([10, 50, 200])
    rec = _solvers.loo_gd(design, spec, 1.0 / spec.lam_max, 0.0, steps, method="recursion")
    eig = _solvers.loo_gd(design, spec, 1.0 / spec.lam_max, 0.0, steps, method="eigen")
    mse_rec, mse_eig = np.mean(rec**2, axis=(1, 2)), np.mean(eig**2, axis=(1, 2))
    np.testing.assert_allclose(mse_rec, mse_eig, rtol=1e-11)
