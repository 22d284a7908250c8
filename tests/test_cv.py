"""RandomFeatureReLURegressorCV: exact leave-one-out and GCV against brute force."""

import tracemalloc

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


def _assert_gcv_equals_the_smoother_matrix(X, y, solver, max_iter):
    """cv_results_ of criterion='gcv' against ``m |y - H y|^2 / (m - tr H)^2`` from the
    explicit smoother matrix ``H`` of each grid value's refit."""
    m = len(y)
    if solver == "ridge":
        alphas = [0.05, 1.0]
        cv = RandomFeatureReLURegressorCV(alphas=alphas, criterion="gcv", n_hidden=25, random_state=0).fit(X, y)
        makes = [lambda a=a: RandomFeatureReLURegressor(n_hidden=25, alpha=a, random_state=0) for a in alphas]
    else:
        cv = RandomFeatureReLURegressorCV(solver="gd", criterion="gcv", n_hidden=25, max_iter=max_iter,
                                          random_state=0).fit(X, y)
        makes = [lambda t=t: RandomFeatureReLURegressor(n_hidden=25, solver="gd", max_iter=t,
                                                        learning_rate=cv.learning_rate_, random_state=0)
                 for t in range(1, max_iter + 1)]
    ref = []
    for make in makes:
        H = _hat_matrix(lambda yy: make().fit(X, yy).predict(X), m)
        r = y - H @ y
        ref.append(np.mean(r**2) / (1 - np.trace(H) / m) ** 2)
    np.testing.assert_allclose(cv.cv_results_["mean_squared_error"], ref, rtol=1e-8)


@pytest.mark.parametrize("solver", ["ridge", "gd"])
def test_gcv_against_the_explicit_smoother_matrix(solver):
    X, y = _data(18)
    _assert_gcv_equals_the_smoother_matrix(X, y, solver, max_iter=30)


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


def _gd_spectrum(X, y, sw, n_hidden, fit_intercept=True):
    """The weighted design of ``n_hidden`` random features, its spectrum and the 'auto' step."""
    from sklearn_shallowrelu import _solvers
    from sklearn_shallowrelu._design import Design

    rf = ReLURandomFeatures(n_hidden, random_state=0).fit(X)
    design = Design(X, rf.weights_, rf.bias_, y.reshape(-1, 1), sw, fit_intercept)
    spec = _solvers.spectrum(design, need_U=True)
    return design, spec, 1.0 / spec.eigval_max


@pytest.mark.parametrize("fit_intercept", [True, False])
def test_both_exact_gd_loo_methods_agree(fit_intercept):
    from sklearn_shallowrelu import _solvers

    X, y = _data(30)
    sw = np.random.RandomState(4).randint(1, 3, 30).astype(float)
    design, spec, eta = _gd_spectrum(X, y, sw, 50, fit_intercept)
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

    rng = np.random.RandomState(0)
    X = rng.uniform(-2, 2, (120, 1))
    y = np.tanh(2 * X[:, 0]) + 0.3 * rng.standard_normal(120)
    design, spec, eta = _gd_spectrum(X, y, np.ones(120), 300)
    steps = np.array([10, 50, 200])
    rec = _solvers.loo_gd(design, spec, eta, 0.0, steps, method="recursion")
    eig = _solvers.loo_gd(design, spec, eta, 0.0, steps, method="eigen")
    mse_rec, mse_eig = np.mean(rec**2, axis=(1, 2)), np.mean(eig**2, axis=(1, 2))
    np.testing.assert_allclose(mse_rec, mse_eig, rtol=1e-11)


# ------------------------------------------------ tied inputs pooled into one row
def _tied_data(m=36, levels=9, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.randint(0, levels, m).astype(float)[:, None] * 0.4 - 1.6  # 1-D, many ties
    y = np.sin(2 * X[:, 0]) + 0.2 * rng.standard_normal(m)
    sw = rng.randint(1, 4, m).astype(float)  # several weights inside a tied group
    return X, y, sw


def _unpooled_scores(X, y, sw, cv, solver, alphas, steps, fit_intercept):
    """The scores computed on the unpooled design (one row per sample)."""
    from sklearn_shallowrelu import _solvers
    from sklearn_shallowrelu._design import Design

    design = Design(X, cv.hidden_weights_, cv.hidden_bias_, y.reshape(-1, 1), sw, fit_intercept)
    spec = _solvers.spectrum(design, need_U=True)
    mus = np.array([design.penalty(a) for a in alphas])
    if solver == "ridge":
        return _solvers.loo_ridge_mse(design, spec, mus)
    return np.concatenate([_solvers.loo_gd_mse(design, spec, cv.learning_rate_, mu, steps) for mu in mus])


@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("solver", ["ridge", "gd"])
def test_pooled_ties_give_the_unpooled_leave_one_out(solver, fit_intercept):
    X, y, sw = _tied_data()
    assert len(np.unique(X)) < len(X) // 3
    alphas = [0.05, 0.5, 5.0] if solver == "ridge" else [0.0, 0.5]
    T = 40
    cv = RandomFeatureReLURegressorCV(solver=solver, alphas=alphas, n_hidden=30, max_iter=T,
                                      fit_intercept=fit_intercept, random_state=0).fit(X, y, sample_weight=sw)
    mse = cv.cv_results_["mean_squared_error"]
    ref = _unpooled_scores(X, y, sw, cv, solver, alphas, np.arange(1, T + 1), fit_intercept)
    np.testing.assert_allclose(mse, ref, rtol=1e-9)
    assert np.argmin(mse) == np.argmin(ref)
    # and against refits without each sample (independent of every formula above)
    if solver == "ridge":
        brute = [_brute_force_loo(X, y, sw, lambda a=a: RandomFeatureReLURegressor(
            n_hidden=30, alpha=a, fit_intercept=fit_intercept, random_state=0), staged=False) for a in alphas]
    else:
        brute = np.concatenate([_brute_force_loo(X, y, sw, lambda a=a: RandomFeatureReLURegressor(
            solver="gd", n_hidden=30, max_iter=T, alpha=a, learning_rate=cv.learning_rate_,
            fit_intercept=fit_intercept, random_state=0), staged=True) for a in alphas])
    np.testing.assert_allclose(mse, brute, rtol=1e-7)


@pytest.mark.parametrize("solver", ["ridge", "gd"])
def test_pooled_ties_gcv_against_the_explicit_smoother_matrix(solver):
    X, y, _ = _tied_data(30, levels=7, seed=1)
    _assert_gcv_equals_the_smoother_matrix(X, y, solver, max_iter=20)


def test_pooled_ties_scale_with_distinct_inputs_not_samples():
    rng = np.random.RandomState(0)
    X = np.round(rng.uniform(-2, 2, (1000, 1)) * 10) / 10  # 41 distinct inputs
    y = np.sin(2 * X[:, 0]) + 0.1 * rng.standard_normal(len(X))
    sw = rng.randint(1, 3, len(X)).astype(float)
    cv = RandomFeatureReLURegressorCV(solver="gd", n_hidden=60, max_iter=300, random_state=0)
    cv.fit(X, y, sample_weight=sw)
    ref = _unpooled_scores(X, y, sw, cv, "gd", [0.0], np.arange(1, 301), True)
    np.testing.assert_allclose(cv.cv_results_["mean_squared_error"], ref, rtol=1e-9)
    # the selected network: pooling leaves A^T A and A^T b, hence the fit, unchanged
    net = RandomFeatureReLURegressor(solver="gd", n_hidden=60, max_iter=cv.n_iter_, learning_rate=cv.learning_rate_,
                                     random_state=0).fit(X, y, sample_weight=sw)
    np.testing.assert_allclose(cv.predict(X), net.predict(X), rtol=1e-9, atol=1e-12)
    # 100_000 samples: memory of a few arrays of length m, not m x m nor m x n_hidden
    big = np.round(rng.uniform(-2, 2, (100_000, 1)) * 10) / 10
    yb = np.sin(2 * big[:, 0]) + 0.1 * rng.standard_normal(len(big))
    tracemalloc.start()
    RandomFeatureReLURegressorCV(solver="gd", n_hidden=100, max_iter=300, random_state=0).fit(big, yb)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 20 * big.nbytes  # m x 100 features alone would be 100 times X


def test_few_positive_weights():
    X, y = _data(20, d=1)
    for n_positive in (1, 2):
        sw = np.zeros(20)
        sw[:n_positive] = 1.0
        with pytest.raises(ValueError, match="at least 3 samples with positive sample_weight"):
            RandomFeatureReLURegressorCV(solver="gd", max_iter=10).fit(X, y, sample_weight=sw)
    sw = np.zeros(20)
    sw[:3] = 1.0
    for solver in ("ridge", "gd"):
        cv = RandomFeatureReLURegressorCV(solver=solver, max_iter=10, n_hidden=30, random_state=0).fit(
            X, y, sample_weight=sw)
        assert np.isfinite(cv.best_score_) and np.all(np.isfinite(cv.predict(X)))


# ---------------------------------------------------------- memory and blocks
def test_gd_scores_in_blocks_equal_all_at_once(monkeypatch):
    from sklearn_shallowrelu import _solvers

    X, y = _data(25)
    sw = np.random.RandomState(3).randint(1, 3, 25).astype(float)
    design, spec, eta = _gd_spectrum(X, y, sw, 40)
    T = 3000
    steps = np.arange(1, T + 1)
    ref = np.einsum("m,tmk->t", design.p, _solvers.loo_gd(design, spec, eta, 0.01, steps, method="eigen") ** 2)
    # tiny blocks: the consecutive-step tables and many blocks of steps
    monkeypatch.setattr(_solvers, "BLOCK_ENTRIES", 2**12)
    blocked = _solvers.loo_gd_mse(design, spec, eta, 0.01, steps, method="eigen")
    np.testing.assert_allclose(blocked, ref, rtol=1e-10)
    # the tables against the filter evaluated step by step, for a start past the tables
    beta = np.abs(np.random.RandomState(0).standard_normal((3, 5)))
    beta[0, 0] = 0.0  # F_t = eta t
    coef = np.random.RandomState(1).standard_normal((3, 5, 2))
    for eta_ in (0.3, 1.9 / beta.max()):  # q > 0 and q < 0
        table = _solvers._ConsecutiveFilters(beta, coef, eta_, 16)
        for t0 in (1, 5, 700):
            got = table(t0, 16)
            want = np.stack([np.einsum("cr,crk->ck", _solvers.gd_filter(beta.ravel(), eta_, 0.0, [t]).reshape(3, 5),
                                       coef) for t in range(t0, t0 + 16)])
            np.testing.assert_allclose(got, want, rtol=1e-11, atol=1e-12 * np.abs(want).max())


def test_gd_cv_memory_does_not_grow_with_the_stopping_grid(monkeypatch):
    from sklearn_shallowrelu import _solvers

    X, y = _data(40, d=1)
    T = 100_000
    monkeypatch.setattr(_solvers, "BLOCK_ENTRIES", 2**16)
    tracemalloc.start()
    cv = RandomFeatureReLURegressorCV(solver="gd", n_hidden=40, max_iter=T, random_state=0).fit(X, y)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    # the leave-one-out residuals of every step would be T x m floats (32 MB);
    # cv_results_ is 3 x T floats (2.4 MB)
    assert peak < 8 * 40 * T / 4
    assert cv.cv_results_["mean_squared_error"].shape == (T,)


def test_refuses_what_does_not_fit_before_allocating(monkeypatch):
    from sklearn_shallowrelu import _memory

    X, y = _data(30, d=2)
    monkeypatch.setattr(_memory, "available_memory", lambda: 2 * 2**20)  # 2 MiB
    with pytest.raises(MemoryError, match="stopping_times"):
        RandomFeatureReLURegressorCV(solver="gd", max_iter=10**6).fit(X, y)
    # 30 samples, 2000 units: the 30 x 30 dual fits, the 2000 x 2000 primal does not
    cv = RandomFeatureReLURegressorCV(n_hidden=2000, random_state=0).fit(X, y)
    assert np.isfinite(cv.best_score_)
    with pytest.raises(MemoryError, match="n_hidden"):
        RandomFeatureReLURegressorCV(n_hidden=2000, random_state=0).fit(np.repeat(X, 20, axis=0) + np.arange(600)[:, None] * 1e-3,
                                                                          np.repeat(y, 20))
    with pytest.raises(MemoryError, match="algorithm='auto'"):
        RandomFeatureReLURegressor(n_hidden=2000, algorithm="primal", random_state=0).fit(X, y)
    net = RandomFeatureReLURegressor(n_hidden=2000, random_state=0).fit(X, y)
    assert net.algorithm_ == "dual"


def test_wide_cv_needs_neither_the_features_nor_the_right_singular_vectors():
    from sklearn import config_context

    X, y = _data(30, d=2)
    n = 40_000
    ref = RandomFeatureReLURegressorCV(n_hidden=n, random_state=0).fit(X, y)
    gd_ref = RandomFeatureReLURegressorCV(solver="gd", max_iter=50, n_hidden=n, random_state=0).fit(X, y)
    with config_context(working_memory=1):  # 30 x 40_000 features take 9.6 MB
        tracemalloc.start()
        ReLURandomFeatures(n, random_state=0).fit(X)
        draw = tracemalloc.get_traced_memory()[1]  # the hidden layer's own checks
        tracemalloc.reset_peak()
        cv = RandomFeatureReLURegressorCV(n_hidden=n, random_state=0).fit(X, y)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        gd = RandomFeatureReLURegressorCV(solver="gd", max_iter=50, n_hidden=n, random_state=0).fit(X, y)
    # V (n x 30) would be as large as the features: a few vectors of length n and 1 MiB blocks
    assert peak < draw + 0.3 * 30 * n * 8
    np.testing.assert_allclose(cv.cv_results_["mean_squared_error"], ref.cv_results_["mean_squared_error"], rtol=1e-9)
    np.testing.assert_allclose(cv.coef_, ref.coef_, rtol=1e-8, atol=1e-10 * np.abs(ref.coef_).max())
    np.testing.assert_allclose(gd.cv_results_["mean_squared_error"], gd_ref.cv_results_["mean_squared_error"],
                               rtol=1e-9)
    np.testing.assert_allclose(gd.predict(X), gd_ref.predict(X), rtol=1e-9)
