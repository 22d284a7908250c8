"""KernelLimitRegressor: the lazy-training limit against independent solves, literal
descent loops, wide networks, and scikit-learn's conventions."""

import numpy as np
import pytest
from sklearn.gaussian_process import GaussianProcessRegressor
from sklearn.kernel_ridge import KernelRidge
from sklearn.utils._param_validation import InvalidParameterError
from sklearn.utils.estimator_checks import parametrize_with_checks

from sklearn_shallowrelu import RandomFeatureReLURegressor, ShallowReLURegressor
from sklearn_shallowrelu import _memory
from sklearn_shallowrelu.init import Gaussian
from sklearn_shallowrelu.kernels import RandomFeatureKernel, TangentKernel
from sklearn_shallowrelu.lazy import KernelLimitRegressor

EPS = np.finfo(np.float64).eps


def _data(m=20, d=2, seed=0, k=None):
    rng = np.random.default_rng(seed)
    X = rng.uniform(-1, 1, (m, d))
    y = np.sin(3 * X[:, 0]) + X[:, -1] ** 2
    if k is not None:
        y = np.column_stack([y] + [np.cos((j + 1) * X[:, 0]) for j in range(k - 1)])
    return X, y, rng.uniform(-1, 1, (40, d))


def _log_slope(widths, errors):
    return float(np.polyfit(np.log(widths), np.log(errors), 1)[0])


def _mean_distances(widths, n_seeds, predictions, X):
    """For each width ``n``: the mean over seeds of ``max |f_net - f_limit|`` on ``X``,
    with ``predictions(n, seed, X)`` -> (the network's, the limit's)."""
    errors = []
    for n in widths:
        errors.append(float(np.mean([np.max(np.abs(np.subtract(*predictions(n, seed, X))))
                                     for seed in range(n_seeds)])))
    return errors


# ------------------------------------------------------------------- 1. ridge
def test_ridge_equals_kernel_ridge_and_the_gaussian_process_mean():
    """No intercept, unit weights: min sum (f - y)^2 + alpha |f|^2 is (K + alpha I)^-1 y.
    All three solve the same well-conditioned system (cond(K + alpha I) <= 1 + lam_max / alpha,
    about 1e2 here), so they agree to a few hundred eps of |f|."""
    X, y, Xt = _data()
    kernel, alpha = RandomFeatureKernel(0.9, 1.1), 0.1
    est = KernelLimitRegressor(kernel, alpha=alpha, fit_intercept=False).fit(X, y)
    kr = KernelRidge(alpha=alpha, kernel="precomputed").fit(kernel(X), y)
    gp = GaussianProcessRegressor(kernel, alpha=alpha, optimizer=None).fit(X, y)
    ref = kr.predict(kernel(Xt, X))
    np.testing.assert_allclose(est.predict(Xt), ref, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(gp.predict(Xt), ref, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(est.dual_coef_, kr.dual_coef_, rtol=1e-10, atol=1e-12)
    assert est.intercept_ == 0.0 and est.alpha_ == alpha
    # and with weights, KernelRidge's sample_weight minimises sum w (f - y)^2 + alpha |f|^2 too
    w = np.random.default_rng(1).uniform(0.2, 3.0, len(y))
    est.fit(X, y, sample_weight=w)
    kr.fit(kernel(X), y, sample_weight=w)
    np.testing.assert_allclose(est.predict(Xt), kr.predict(kernel(Xt, X)), rtol=1e-10, atol=1e-12)


def test_weighted_ridge_with_an_intercept_equals_the_bordered_normal_equations():
    """min_{a, c} sum_i w_i (K a + c - y)_i^2 + alpha a^T K a.  Setting its gradient to
    zero (and dropping a factor K) gives, independently of the estimator's centring:
    [[W K + alpha I, W 1], [1^T W K, 1^T W 1]] [a; c] = [W y; 1^T W y]."""
    X, y, Xt = _data(m=25, d=3, seed=2)
    kernel, alpha = RandomFeatureKernel(1.3, 0.7), 0.05
    w = np.random.default_rng(3).uniform(0.1, 5.0, len(y))
    w[4] = 0.0  # a sample that does not count
    K, m = kernel(X), len(y)
    W = np.diag(w)
    M = np.block([[W @ K + alpha * np.eye(m), (W @ np.ones(m))[:, None]],
                  [(np.ones(m) @ W @ K)[None, :], np.array([[w.sum()]])]])
    sol = np.linalg.solve(M, np.append(W @ y, w @ y))
    a, c = sol[:m], sol[m]
    est = KernelLimitRegressor(kernel, alpha=alpha).fit(X, y, sample_weight=w)
    # cond(M) is about 1e4 here: agreement to 1e-9 is a thousand times above the rounding
    np.testing.assert_allclose(est.predict(Xt), kernel(Xt, X) @ a + c, rtol=1e-9, atol=1e-10)
    np.testing.assert_allclose(est.intercept_, c, rtol=1e-9, atol=1e-10)
    assert abs(est.dual_coef_.sum()) < 1e-10 * np.abs(est.dual_coef_).sum()  # the constant is unpenalised
    # the weights are relative: scaling them and alpha together changes nothing
    again = KernelLimitRegressor(kernel, alpha=alpha * 1e6).fit(X, y, sample_weight=w * 1e6)
    np.testing.assert_allclose(again.predict(Xt), est.predict(Xt), rtol=1e-9, atol=1e-10)


# ---------------------------------------------------------------- 2. descent
def test_gradient_descent_equals_the_literal_loop_without_intercept():
    """t = 50 steps of f <- f - eta K P (f - y), and at new points the coefficients
    a <- a - eta P (f - y) that the loop accumulates (f = K a).  A stable loop of 50
    steps adds rounding of order 50 eps |K| |y|: 1e-10 is far above it and far below
    any difference of convention (a step in other units changes f by O(1))."""
    X, y, Xt = _data(m=15, seed=4)
    kernel = RandomFeatureKernel(0.8, 1.2)
    w = np.random.default_rng(5).uniform(0.5, 2.0, len(y))
    K, P = kernel(X), np.diag(w / w.sum())
    lam_max = np.linalg.eigvalsh(np.sqrt(P) @ K @ np.sqrt(P))[-1]
    eta, t = 1.5 / lam_max, 50
    f, a = np.zeros(len(y)), np.zeros(len(y))
    for _ in range(t):
        a = a - eta * P @ (f - y)
        f = f - eta * K @ P @ (f - y)
    np.testing.assert_allclose(K @ a, f, rtol=1e-10, atol=1e-12)  # the loop's own bookkeeping
    est = KernelLimitRegressor(kernel, n_steps=t, learning_rate=eta, fit_intercept=False).fit(X, y, sample_weight=w)
    np.testing.assert_allclose(est.predict(X), f, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(est.predict(Xt), kernel(Xt, X) @ a, rtol=1e-10, atol=1e-10)
    assert est.learning_rate_ == eta and est.alpha_ == 0.0
    np.testing.assert_allclose(est.eigenvalues_[0], lam_max, rtol=1e-12)


def test_gradient_descent_with_intercept_and_ridge_term_equals_its_loop():
    """What RandomFeatureReLURegressor(solver='gd') does in function space: the
    intercept at its optimum c = p^T (y - K a) for the current a, the ridge term
    alpha |v|^2 / (2 sum w) shrinking a by (1 - eta mu), mu = alpha / sum w."""
    X, y, Xt = _data(m=18, d=3, seed=6, k=2)
    kernel = RandomFeatureKernel(1.0, 0.5)
    w = np.random.default_rng(7).uniform(0.5, 2.0, len(y))
    p = w / w.sum()
    alpha, eta, t = 0.3, 0.7, 50
    mu = alpha / w.sum()
    K = kernel(X)
    a = np.zeros_like(y)
    for _ in range(t):
        f = K @ a + p @ (y - K @ a)
        a = (1 - eta * mu) * a - eta * p[:, None] * (f - y)
    c = p @ (y - K @ a)
    est = KernelLimitRegressor(kernel, alpha=alpha, n_steps=t, learning_rate=eta).fit(X, y, sample_weight=w)
    np.testing.assert_allclose(est.predict(Xt), kernel(Xt, X) @ a + c, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(est.intercept_, c, rtol=1e-10, atol=1e-10)
    # each output is fitted on its own, with the same kernel
    one = KernelLimitRegressor(kernel, alpha=alpha, n_steps=t, learning_rate=eta).fit(X, y[:, 1], sample_weight=w)
    np.testing.assert_allclose(est.predict(Xt)[:, 1], one.predict(Xt), rtol=1e-12, atol=1e-12)
    assert one.predict(Xt).shape == (40,) and isinstance(one.intercept_, float)


@pytest.mark.parametrize("fit_intercept", [False, True])
def test_a_billion_small_steps_reach_the_minimum_norm_interpolant(fit_intercept):
    """t = 1e9 steps of eta = 0.05 / lam_max, without a loop.  The gap to the interpolant
    in the eigenbasis is (1 - eta lam)^t per mode, at most decay = (1 - eta lam_min)^t
    for the smallest eigenvalue kept; the rest is the rounding of an interpolant,
    eps cond |y| with cond = lam_max / lam_min."""
    X, y, Xt = _data(m=16, seed=8)
    kernel = RandomFeatureKernel()
    interp = KernelLimitRegressor(kernel, alpha=0.0, fit_intercept=fit_intercept).fit(X, y)
    lam = interp.eigenvalues_[: interp.rank_]
    assert interp.rank_ == len(y) - fit_intercept  # the centring removes one direction
    eta, t = 0.05 / lam[0], 10**9
    gd = KernelLimitRegressor(kernel, n_steps=t, learning_rate=eta, fit_intercept=fit_intercept).fit(X, y)
    decay = (1 - eta * lam[-1]) ** t
    cond = lam[0] / lam[-1]
    scale = np.abs(y).max() * np.sqrt(len(y))
    tol = decay * scale + 1e3 * EPS * cond * scale
    assert tol < 1e-6  # the test means something: the run converged in every mode
    np.testing.assert_allclose(interp.predict(X), y, atol=tol)
    np.testing.assert_allclose(gd.predict(X), y, atol=tol)
    # at new points the coefficients are amplified by at most cond
    np.testing.assert_allclose(gd.predict(Xt), interp.predict(Xt), atol=cond * tol)
    # and the early path is far from it: 1e9 steps were not a single step
    early = KernelLimitRegressor(kernel, n_steps=10, learning_rate=eta, fit_intercept=fit_intercept).fit(X, y)
    assert np.abs(early.predict(X) - y).max() > 0.1


def test_interpolation_with_a_singular_kernel_matrix_is_the_pseudo_inverse_solution():
    """A repeated input with two targets: no interpolant exists; the limit of gradient
    descent (and the pseudo-inverse) fits their weighted mean there."""
    X, y, _ = _data(m=10, seed=9)
    X = np.vstack([X, X[:1]])
    y = np.append(y, y[0] + 1.0)
    w = np.append(np.ones(10), 3.0)
    est = KernelLimitRegressor(alpha=0.0).fit(X, y, sample_weight=w)
    assert est.rank_ == len(y) - 2  # the pair spans one direction, the centring removes another
    expected = (y[0] + 3.0 * y[-1]) / 4.0
    np.testing.assert_allclose(est.predict(X[:1]), [expected], atol=1e-8)
    np.testing.assert_allclose(est.predict(X[1:10]), y[1:10], atol=1e-8)
    gd = KernelLimitRegressor(n_steps=10**9).fit(X, y, sample_weight=w)
    np.testing.assert_allclose(gd.predict(X), est.predict(X), atol=1e-6)


def test_the_auto_step_is_the_limit_of_the_networks_auto_step():
    """'auto' is 1 / (lam_max + mu), as for the network, whose top eigenvalue of A^T A
    tends to lam_max: at width 16000 the two steps agree to the features' Monte-Carlo
    error, about 1e-2 relative."""
    X, y, _ = _data(m=30, d=3, seed=3)
    w = np.random.default_rng(0).uniform(0.5, 2.0, len(y))
    net = RandomFeatureReLURegressor(n_hidden=16000, solver="gd", alpha=2.0, max_iter=5, random_state=0)
    net.fit(X, y, sample_weight=w)
    est = KernelLimitRegressor(n_steps=5, alpha=2.0).fit(X, y, sample_weight=w)
    np.testing.assert_allclose(est.learning_rate_, 1.0 / (est.eigenvalues_[0] + 2.0 / w.sum()), rtol=1e-14)
    np.testing.assert_allclose(net.learning_rate_, est.learning_rate_, rtol=0.05)
    limit = KernelLimitRegressor.from_estimator(net.set_params(learning_rate="auto"))
    assert limit.learning_rate == net.learning_rate_  # the fitted step


def test_a_step_above_the_stability_limit_is_refused():
    X, y, _ = _data()
    lam_max = KernelLimitRegressor(n_steps=1).fit(X, y).eigenvalues_[0]
    KernelLimitRegressor(n_steps=100, learning_rate=1.99 / lam_max).fit(X, y)
    with pytest.raises(ValueError, match="stability limit 2/lambda_max"):
        KernelLimitRegressor(n_steps=100, learning_rate=2.01 / lam_max).fit(X, y)


# --------------------------------------------------- 3. random-feature networks
@pytest.mark.parametrize("solver, params", [("ridge", {"alpha": 0.1}),
                                            ("gd", {"learning_rate": 1.0, "max_iter": 100})])
def test_random_feature_networks_approach_the_limit_like_one_over_root_width(solver, params):
    """d = 3.  The distance is the features' Monte-Carlo error, O(n^-1/2); averaged over
    six seeds its log-log slope over 250..16000 was measured between -0.47 and -0.50.
    A wrong alpha, step or intercept convention leaves a gap that does not shrink
    (slope near 0); -0.8 .. -0.3 leaves room for the seeds' spread."""
    X, y, Xt = _data(m=30, d=3, seed=3)
    widths = (250, 1000, 4000, 16000)

    def predictions(n, seed, X_eval):
        net = RandomFeatureReLURegressor(n_hidden=n, init=Gaussian(0.9, 1.1), solver=solver,
                                         random_state=seed, **params).fit(X, y)
        return net.predict(X_eval), KernelLimitRegressor.from_estimator(net).fit(X, y).predict(X_eval)

    errors = _mean_distances(widths, 6, predictions, Xt)
    slope = _log_slope(widths, errors)
    assert -0.8 < slope < -0.3, (errors, slope)
    assert errors[-1] < 0.03, errors


# ------------------------------------------------------ 4. two trained layers
def test_ntk_networks_approach_the_tangent_kernel_limit_like_one_over_root_width():
    """Both layers trained, NTK parametrisation, zero output at the start: the error is
    the tangent kernel's fluctuation at the start and its drift along training, both
    O(n^-1/2).  Eight seeds: slopes -0.43 .. -0.51 measured on three sets of seeds."""
    X, y, Xt = _data(m=10, d=2, seed=1)
    settings = dict(parametrization="ntk", output_init="antisymmetric", init=Gaussian(1.0, 1.0),
                    learning_rate=0.5, max_iter=200)
    limit = KernelLimitRegressor.from_estimator(ShallowReLURegressor(**settings)).fit(X, y)
    assert isinstance(limit.kernel_, TangentKernel) and not limit.fit_intercept
    widths = (250, 1000, 4000, 16000)
    errors = _mean_distances(widths, 8, lambda n, seed, X_eval: (
        ShallowReLURegressor(n_hidden=n, random_state=seed, **settings).fit(X, y).predict(X_eval),
        limit.predict(X_eval)), Xt)
    slope = _log_slope(widths, errors)
    assert -0.8 < slope < -0.3, (errors, slope)
    assert errors[-1] < 0.05, errors


def test_standard_networks_with_a_step_over_the_width_approach_the_random_feature_limit():
    """Both layers trained, output scale 1, step eta0 / n from a zero output: the output
    weights carry n K1, the hidden layer O(1), so the limit is the random-feature kernel's
    GD filter with step eta0; the error is the kernel's O(n^-1/2) fluctuation plus the
    hidden layer's O(1 / n) share."""
    X, y, Xt = _data(m=10, d=2, seed=2)
    eta0 = 0.5
    settings = dict(output_init="antisymmetric", init=Gaussian(1.0, 1.0), max_iter=200)
    widths = (250, 1000, 4000, 16000)
    limits = {}
    for n in widths:
        net = ShallowReLURegressor(n_hidden=n, learning_rate=eta0 / n, **settings)
        limits[n] = KernelLimitRegressor.from_estimator(net).fit(X, y)
        assert isinstance(limits[n].kernel_, RandomFeatureKernel) and limits[n].learning_rate == pytest.approx(eta0)
    errors = _mean_distances(widths, 8, lambda n, seed, X_eval: (
        ShallowReLURegressor(n_hidden=n, learning_rate=eta0 / n, random_state=seed, **settings).fit(X, y)
        .predict(X_eval), limits[n].predict(X_eval)), Xt)
    slope = _log_slope(widths, errors)
    assert -0.8 < slope < -0.3, (errors, slope)
    assert errors[-1] < 0.05, errors


def test_from_estimator_maps_the_parameters():
    rf = RandomFeatureReLURegressor(init=Gaussian(2.0, 0.5), alpha=None, fit_intercept=False)
    lim = KernelLimitRegressor.from_estimator(rf)
    assert (lim.kernel.sigma_w, lim.kernel.sigma_b, lim.alpha, lim.n_steps, lim.fit_intercept) == \
        (2.0, 0.5, 1.0, None, False)
    gd = RandomFeatureReLURegressor(solver="gd", max_iter=30)
    lim = KernelLimitRegressor.from_estimator(gd)
    assert (lim.alpha, lim.n_steps, lim.learning_rate, lim.fit_intercept) == (0.0, 30, "auto", True)
    X, y, _ = _data()
    gd.set_params(n_hidden=50, random_state=0).fit(X, y)
    lim = KernelLimitRegressor.from_estimator(gd, alpha=0.5)
    assert (lim.n_steps, lim.learning_rate, lim.alpha) == (30, gd.learning_rate_, 0.5)
    net = ShallowReLURegressor(parametrization="ntk", output_init="zero", init="gaussian", init_scale=0.5,
                               learning_rate=0.1, max_iter=7, fit_intercept=False)
    lim = KernelLimitRegressor.from_estimator(net)
    k = lim.kernel
    assert (k.sigma_w, k.sigma_b, k.output_variance, k.output_bias) == (0.5, 0.5, 0.0, False)
    assert (lim.n_steps, lim.learning_rate, lim.alpha, lim.fit_intercept) == (7, 0.1, 0.0, False)


# ------------------------------------------------------------------- 5. errors
@pytest.mark.parametrize("change, message", [
    ({"parametrization": "mean_field"}, "feature learning"),
    ({"output_init": "auto"}, "random nonzero function"),
    ({"learning_rate": "auto"}, "pass a float"),
    ({"solver": "sgd"}, "full-batch"),
    ({"alpha": 1e-3}, "weight decay"),
    ({"activation": "tanh"}, "activation='tanh'"),
    ({"early_stopping": True}, "early_stopping"),
    ({"init": lambda n, d, rng: (rng.standard_normal((n, d)), rng.standard_normal(n))}, "knot distribution"),
    ({"tol": 1e-4}, "fit the network first"),
])
def test_shallow_settings_without_a_fixed_tangent_kernel_are_refused(change, message):
    settings = dict(parametrization="ntk", output_init="antisymmetric", init="gaussian", learning_rate=0.1)
    settings.update(change)
    with pytest.raises(ValueError, match=message) as info:
        KernelLimitRegressor.from_estimator(ShallowReLURegressor(**settings))
    if "init" not in change and "tol" not in change:
        assert "output_init in {'antisymmetric', 'zero'}" in str(info.value)  # the settings that work


@pytest.mark.parametrize("change, message", [
    ({"init": lambda n, d, rng: (rng.standard_normal((n, d)), rng.standard_normal(n))}, "knot distribution"),
    ({"solver": "mirror"}, "mirror descent has no kernel limit"),
    ({"solver": "gd", "early_stopping": True}, "early_stopping"),
    ({"solver": "gd", "tol": 1e-4}, "n_iter_"),
])
def test_random_feature_settings_without_a_kernel_limit_are_refused(change, message):
    with pytest.raises(ValueError, match=message):
        KernelLimitRegressor.from_estimator(RandomFeatureReLURegressor(**change))


def test_other_estimators_and_parameters_are_refused():
    with pytest.raises(TypeError, match="RandomFeatureReLURegressor or a ShallowReLURegressor"):
        KernelLimitRegressor.from_estimator(KernelRidge())
    X, y, _ = _data()
    for bad in ({"alpha": -1.0}, {"n_steps": 0}, {"learning_rate": 0.0}, {"kernel": "rbf"}):
        with pytest.raises(InvalidParameterError):
            KernelLimitRegressor(**bad).fit(X, y)
    with pytest.raises(ValueError, match="non-zero"):
        KernelLimitRegressor().fit(X, y, sample_weight=np.zeros(len(y)))


def test_memory_is_predicted_and_refused_before_allocating(monkeypatch):
    X, y, _ = _data(m=300)
    fitted = KernelLimitRegressor().fit(X[:20], y[:20])
    # five 300 x 300 float64 squares are 3.6 MB: a machine with 1 MB free cannot hold them
    monkeypatch.setattr(_memory, "available_memory", lambda: 10**6)
    with pytest.raises(MemoryError, match="Nystroem") as info:
        fitted.fit(X, y)
    assert "fewer samples" in str(info.value) and "300 x 300" in str(info.value)
    assert fitted.X_fit_.shape == (20, 2)  # the failed fit left the fitted model as it was
    KernelLimitRegressor().fit(X[:100], y[:100])  # 0.4 MB fits


# --------------------------------------------------------- conventions
def test_float32_is_kept_and_zero_weights_drop_samples():
    X, y, Xt = _data()
    est64 = KernelLimitRegressor(alpha=1e-2).fit(X, y)
    est32 = KernelLimitRegressor(alpha=1e-2).fit(X.astype(np.float32), y)
    assert est32.X_fit_.dtype == np.float32 and est32.predict(Xt.astype(np.float32)).dtype == np.float32
    # float32 inputs differ from float64 by 6e-8 relative; cond(K + alpha I) ~ 1e2 amplifies it
    np.testing.assert_allclose(est32.predict(Xt), est64.predict(Xt), atol=1e-4)
    w = np.ones(len(y))
    w[:5] = 0.0
    for params in ({"alpha": 0.1}, {"n_steps": 40}, {"alpha": 0.0}):
        full = KernelLimitRegressor(**params).fit(X, y, sample_weight=w)
        part = KernelLimitRegressor(**params).fit(X[5:], y[5:])
        np.testing.assert_allclose(full.predict(Xt), part.predict(Xt), rtol=1e-8, atol=1e-8)


def test_verbose_reports_the_path(capsys):
    X, y, _ = _data()
    KernelLimitRegressor(n_steps=5, verbose=1).fit(X, y)
    out = capsys.readouterr().out
    assert "[KernelLimitRegressor] 5 gradient steps" in out and "rank 19 of 20" in out


@parametrize_with_checks(
    [KernelLimitRegressor(), KernelLimitRegressor(n_steps=100), KernelLimitRegressor(alpha=0.0),
     KernelLimitRegressor(TangentKernel(), alpha=1e-3, fit_intercept=False)])
def test_sklearn_compatible(estimator, check):
    check(estimator)


# ------------------------------------------- 6. other initialisations, in 1-D
def test_the_issue_example_ntk_network_with_uniform_weights_approaches_its_tangent_kernel_limit():
    """Both layers trained in the NTK parametrisation with W ~ U(-1, 1), B ~ U(-2, 2) from an
    antisymmetric start, on five points, to a small loss: the limit is the GD filter of the
    tangent kernel of that init (``InitializationKernel``)."""
    from sklearn_shallowrelu.init import Uniform
    from sklearn_shallowrelu.kernels import InitializationKernel

    X = np.arange(-2.0, 3.0).reshape(-1, 1)
    y = np.array([1.5, 0.5, 1.5, 0.5, 1.5])
    grid = np.linspace(-2.5, 2.5, 101).reshape(-1, 1)
    settings = dict(parametrization="ntk", init=Uniform(1.0, 2.0), output_init="antisymmetric",
                    learning_rate=0.5, max_iter=3000)
    limit = KernelLimitRegressor.from_estimator(ShallowReLURegressor(**settings)).fit(X, y)
    assert isinstance(limit.kernel_, InitializationKernel)
    assert np.max(np.abs(limit.predict(X) - y)) < 2e-2  # trained to a small loss
    # measured over widths 40 to 10240 (6 seeds): 0.342, 0.298, 0.166, 0.103, 0.067, a slope of
    # -0.31 overall and -0.35 from 640 on: slower than n^-1/2 in this range (the tangent kernel
    # of these few points changes as knots cross them); a wrong kernel would level off instead
    widths = (160, 640, 2560)
    errors = _mean_distances(widths, 6, lambda n, seed, X_eval: (
        ShallowReLURegressor(n_hidden=n, random_state=seed, **settings).fit(X, y).predict(X_eval),
        limit.predict(X_eval)), grid)
    slope = _log_slope(widths, errors)
    assert -0.8 < slope < -0.25, (errors, slope)
    assert errors[-1] < 0.45 * errors[0], errors


@pytest.mark.parametrize("kernel", [RandomFeatureKernel(1.2, 0.7), "uniform", "he", "rademacher_uniform"],
                         ids=["gaussian", "uniform", "he", "rademacher_uniform"])
def test_one_input_ridge_goes_through_the_spline_engine_and_equals_dense_kernel_ridge(kernel):
    """On 1-D inputs the random-feature kernel's ridge is fitted by the O(m) spline engine;
    it equals a dense solve with the kernel matrix written out in the test: KernelRidge
    without intercept, the bordered system [[K + alpha W^-1, 1], [1^T W, 0]] with one."""
    from sklearn_shallowrelu.kernels import InitializationKernel

    kernel = kernel if isinstance(kernel, RandomFeatureKernel) else InitializationKernel(kernel, init_scale=0.8)
    X, y, Xt = _data(m=40, d=1, seed=4)
    Xt = np.vstack([Xt, [[-1.7], [1.6]]])  # outside the data too
    alpha = 0.05
    plain = KernelLimitRegressor(kernel, alpha=alpha, fit_intercept=False).fit(X, y)
    assert plain.spline_ is not None and plain.dual_coef_ is None
    K, Kt = kernel(X), kernel(Xt, X)
    np.testing.assert_allclose(plain.predict(Xt), KernelRidge(alpha=alpha, kernel="precomputed").fit(K, y).predict(Kt),
                               rtol=1e-9, atol=1e-11)
    w = np.random.default_rng(1).uniform(0.5, 2.0, len(y))
    withc = KernelLimitRegressor(kernel, alpha=alpha).fit(X, y, sample_weight=w)
    m = len(y)
    A = np.block([[K + alpha * np.diag(1 / w), np.ones((m, 1))], [w[None, :] * 0 + 1.0, np.zeros((1, 1))]])
    sol = np.linalg.solve(A, np.append(y, 0.0))
    np.testing.assert_allclose(withc.predict(Xt), Kt @ sol[:m] + sol[m], rtol=1e-9, atol=1e-11)


def test_one_input_ridge_on_many_samples_needs_no_dense_matrix(monkeypatch):
    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, (50000, 1))
    y = np.sin(3 * X[:, 0]) + 0.1 * rng.standard_normal(len(X))
    monkeypatch.setattr(_memory, "available_memory", lambda: 10**8)  # a dense fit needs 100 GB
    fit = KernelLimitRegressor(alpha=1.0).fit(X, y)
    assert fit.score(X, y) > 0.95
    with pytest.raises(MemoryError):  # the descent is dense
        KernelLimitRegressor(n_steps=10).fit(X, y)


@pytest.mark.parametrize("init", ["uniform", "he", "rademacher_uniform"])
def test_initialization_kernel_against_sampled_features(init):
    """K1 and K0 against features sampled here from the init's own law (numpy, not the
    package's sampler): the Monte-Carlo error is about sqrt(var / n)."""
    from sklearn_shallowrelu.init import check_init
    from sklearn_shallowrelu.kernels import InitializationKernel

    x = np.linspace(-2.5, 2.5, 9)
    rng = np.random.default_rng(0)
    n = 400_000
    spec = check_init(init)
    if init == "rademacher_uniform":
        w, b = rng.choice([-1.0, 1.0], n), rng.uniform(-spec.bias_range, spec.bias_range, n)
    else:
        aw, ab = spec._ranges(1)
        w, b = rng.uniform(-aw, aw, n), rng.uniform(-ab, ab, n)
    Z = np.outer(x, w) + b
    A, A1 = np.maximum(Z, 0), (Z > 0).astype(float)
    kernel = InitializationKernel(init, output_variance=0.7, output_bias=True)
    expected = A @ A.T / n + 0.7 * (A1 @ A1.T / n) * (np.outer(x, x) + 1) + 1
    scale = np.sqrt(np.var(A[4] * A[4]) / n)  # the Monte-Carlo error at the largest diagonal entry
    np.testing.assert_allclose(kernel(x[:, None]), expected, atol=8 * max(scale, 1e-3))
    np.testing.assert_allclose(kernel.diag(x[:, None]), np.diag(kernel(x[:, None])), rtol=1e-10)


def test_initialization_kernel_of_a_gaussian_init_is_the_closed_form_and_fits_in_a_gaussian_process():
    from sklearn_shallowrelu.kernels import InitializationKernel

    X, y, _ = _data(m=15, d=1, seed=6)
    closed = TangentKernel(1.3, 0.6, 0.4, True)
    ours = InitializationKernel(Gaussian(1.3, 0.6), output_variance=0.4, output_bias=True)
    np.testing.assert_allclose(ours(X), closed(X), rtol=1e-12, atol=1e-14)
    # the gradient in log(output_variance), against finite differences
    K, G = ours(X, eval_gradient=True)
    h = 1e-6
    plus = ours.clone_with_theta(ours.theta + h)(X)
    minus = ours.clone_with_theta(ours.theta - h)(X)
    np.testing.assert_allclose(G[:, :, 0], (plus - minus) / (2 * h), rtol=1e-6, atol=1e-10)
    gp = GaussianProcessRegressor(ours, alpha=1e-2).fit(X, y)
    assert gp.kernel_.output_variance != 0.4  # the marginal likelihood moved it
    with pytest.raises(ValueError, match="1-D closed form"):
        ours(np.zeros((3, 2)))
