"""SmoothingSplineEquivalent against independent references: scipy's and csaps'
cubic smoothing splines, dense kernel ridge regression with the closed-form
kernels, the finite-width networks, and brute-force leverages."""

import numpy as np
import pytest
from scipy import integrate
from scipy.interpolate import make_smoothing_spline

from sklearn_shallowrelu import RandomFeatureReLURegressor, SmoothingSplineEquivalent
from sklearn_shallowrelu.init import ExplicitInit, Gaussian, RademacherUniform, Uniform

INITS = [Gaussian(), RademacherUniform(bias_range=3.0), Uniform(weight_range=1.0, bias_range=2.0)]


def _data(m=40, seed=0, k=None):
    rng = np.random.RandomState(seed)
    x = np.sort(rng.uniform(-2, 2, m))
    y = np.sin(2 * x) + 0.2 * rng.standard_normal(m)
    if k:
        y = np.column_stack([y] + [np.cos(j * x) for j in range(1, k)])
    return x, y, rng.uniform(0.5, 2.0, m)


def _wahba(K, Kg, T, Tg, y, w, alpha, with_cond=False):
    """Kernel ridge with an unpenalised part spanned by T: [[K + alpha W^-1, T], [T^T, 0]]
    (and that matrix's condition number, whose product with eps bounds the
    relative error of this dense reference up to a modest constant)."""
    m, p = T.shape
    A = np.block([[K + alpha * np.diag(1 / w), T], [T.T, np.zeros((p, p))]])
    Y = y.reshape(m, -1)
    z = np.linalg.solve(A, np.vstack([Y, np.zeros((p, Y.shape[1]))]))
    out = Kg @ z[:m] + Tg @ z[m:]
    return (out, np.linalg.cond(A)) if with_cond else out


_EPS = np.finfo(float).eps


def _kernel_free(init, a, b):
    """G(x, x') = int g(c) [x - c]_+ [x' - c]_+ dc by quadrature (the kernel of the free-affine problem)."""
    out = np.zeros((len(a), len(b)))
    for i, u in enumerate(a):
        for j, v in enumerate(b):
            lo = min(u, v)
            edges = [-np.inf] + sorted(p for p in init.breakpoints() if p < lo) + [lo]
            f = lambda c: init.curvature_weight(c) * (u - c) * (v - c)  # noqa: E731
            out[i, j] = sum(integrate.quad(f, e0, e1, limit=400, epsabs=1e-14, epsrel=1e-12)[0]
                            for e0, e1 in zip(edges[:-1], edges[1:]))
    return out


@pytest.mark.parametrize("init", INITS, ids=lambda i: type(i).__name__)
@pytest.mark.parametrize("affine", ["penalized", "free_constant"])
def test_infinite_width_equals_dense_kernel_ridge(init, affine):
    x, y, w = _data(k=2)
    grid = np.linspace(-3.5, 3.5, 301)  # also outside the data
    K, Kg = init.kernel(x), init.kernel(grid, x)
    if affine == "penalized":
        ref = Kg @ np.linalg.solve(K + 0.05 * np.diag(1 / w), y)
    else:
        ref = _wahba(K, Kg, np.ones((len(x), 1)), np.ones((len(grid), 1)), y, w, 0.05)
    est = SmoothingSplineEquivalent(init=init, alpha=0.05, affine=affine).fit(x[:, None], y, sample_weight=w)
    assert np.max(np.abs(est.predict(grid[:, None]) - ref)) < 1e-10 * np.max(np.abs(ref))


@pytest.mark.parametrize("init", INITS[:2], ids=lambda i: type(i).__name__)
def test_free_affine_equals_semiparametric_kernel_ridge(init):
    x, y, w = _data(m=20)
    grid = np.linspace(-3.0, 3.0, 41)
    T, Tg = np.column_stack([np.ones(len(x)), x]), np.column_stack([np.ones(len(grid)), grid])
    ref = _wahba(_kernel_free(init, x, x), _kernel_free(init, grid, x), T, Tg, y, w, 0.05)[:, 0]
    est = SmoothingSplineEquivalent(init=init, alpha=0.05, affine="free").fit(x, y, sample_weight=w)
    assert np.max(np.abs(est.predict(grid) - ref)) < 1e-9 * np.max(np.abs(ref))


def _cubic_kernel(u, v, a):
    """G for the constant weight g = 1 / (2 a) on [-a, a]: int_{-a}^{min} (u - c)(v - c) dc / (2 a)."""
    U, V = np.meshgrid(u, v, indexing="ij")
    F = lambda c: U * V * c - (U + V) * c**2 / 2 + c**3 / 3  # noqa: E731
    return (F(np.minimum(U, V)) - F(-a)) / (2 * a)


@pytest.mark.parametrize("lam", [1e-5, 1e-2, 1.0, 100.0])
def test_constant_weight_and_free_affine_is_the_cubic_smoothing_spline(lam):
    x, y, w = _data(m=200, seed=3)
    a = 2.5  # g = 1 / (2 a) on [-a, a], which contains the data
    est = SmoothingSplineEquivalent(init=RademacherUniform(bias_range=a), alpha=lam / (2 * a), affine="free")
    est.fit(x[:, None], y, sample_weight=w)
    assert est.lam_scipy_ == pytest.approx(lam)
    inside = np.linspace(x[0], x[-1], 2000)
    T, Tg = np.column_stack([np.ones(len(x)), x]), np.column_stack([np.ones(len(inside)), inside])
    dense, cond = _wahba(_cubic_kernel(x, x, a), _cubic_kernel(inside, x, a), T, Tg, y, w, lam / (2 * a),
                         with_cond=True)
    dense = dense[:, 0]
    ours = est.predict(inside[:, None])
    # the dense LU solve is normwise backward stable: its relative error is about
    # eps cond(A) (measured 0.03 to 0.08 of it; cond 5e2 at lam=100 to 3e8 at
    # lam=1e-5); ten times that allows for the constant, and ours is more accurate
    assert np.max(np.abs(ours - dense)) < 10 * _EPS * cond * np.max(np.abs(dense))
    ref = make_smoothing_spline(x, y, w=w, lam=lam)
    if lam <= 0.01:
        # scipy's error (3e-9 relative at lam=1e-5) is of the size of the dense one
        assert np.max(np.abs(ours - ref(inside))) < 10 * _EPS * cond * np.max(np.abs(dense))
    else:
        # scipy's own error grows with lam (measured against the dense solve:
        # 1e-8 at lam=1, 8e-7 at lam=100; ours 6e-14): compare at its accuracy
        assert np.max(np.abs(ours - ref(inside))) <= 2 * np.max(np.abs(ref(inside) - dense)) + 1e-12
    # outside the data scipy continues the end cubics; the natural spline is linear
    # there, with the value and slope it has at x_m (checked against the dense fit
    # above, whose grid ends at x_m).  Against scipy's end slope this was a fixed
    # 1e-6, half of which was scipy's own error at lam=100.  Here only the rounding
    # of two evaluations of the same line differs: a few eps times its size.
    right = x[-1] + np.linspace(0.1, 1.0, 10)
    end, slope = est.predict([[x[-1]]])[0], est.predict_derivative([[x[-1]]])[0]
    linear = end + slope * (right - x[-1])
    size = abs(end) + abs(slope) * (right[-1] - x[-1])
    assert np.max(np.abs(est.predict(right[:, None]) - linear)) <= 100 * _EPS * size


def test_constant_weight_and_free_affine_is_csaps():
    import csaps  # a test dependency (the "test" extra)
    x, y, w = _data(m=150, seed=4)
    lam = 0.01  # csaps is accurate to 3e-11 here (its error grows with lam, like scipy's)
    est = SmoothingSplineEquivalent(init=RademacherUniform(bias_range=3.0), alpha=lam / 6.0, affine="free")
    est.fit(x[:, None], y, sample_weight=w)
    ref = csaps.CubicSmoothingSpline(x, y, weights=w, smooth=1.0 / (1.0 + lam))
    inside = np.linspace(x[0], x[-1], 1000)
    assert np.max(np.abs(est.predict(inside[:, None]) - ref(inside))) < 1e-8 * np.max(np.abs(ref(inside)))


def test_derivatives_and_the_spatially_adaptive_shape():
    x, y, w = _data(m=30)
    est = SmoothingSplineEquivalent(init=Gaussian(), alpha=0.01).fit(x[:, None], y, sample_weight=w)
    grid = np.linspace(-3, 3, 601)
    h = 1e-6
    fd1 = (est.predict((grid + h)[:, None]) - est.predict((grid - h)[:, None])) / (2 * h)
    assert np.max(np.abs(est.predict_derivative(grid[:, None]) - fd1)) < 1e-6
    d2 = est.predict_derivative(grid[:, None], order=2)
    fd2 = (est.predict_derivative((grid + h)[:, None]) - est.predict_derivative((grid - h)[:, None])) / (2 * h)
    assert np.max(np.abs(d2 - fd2)) < 1e-5
    # f'' / g is piecewise linear with knots at the data (doc/theory.md, section 2):
    # its second differences vanish on a grid inside one gap
    j = int(np.argmax(np.diff(x)))
    inner = np.linspace(x[j], x[j + 1], 9)[1:-1]
    ratio = est.predict_derivative(inner[:, None], order=2) / Gaussian().curvature_weight(inner)
    assert np.max(np.abs(np.diff(ratio, 2))) < 1e-9 * np.max(np.abs(ratio))


@pytest.mark.parametrize("init", ["gaussian", "rademacher_uniform"])
def test_random_feature_networks_approach_it_like_one_over_sqrt_width(init):
    x, y, w = _data(m=60, seed=1)
    grid = np.linspace(-2, 2, 400)[:, None]
    limit = SmoothingSplineEquivalent(init=init, alpha=0.1).fit(x[:, None], y).predict(grid)
    errors = []
    for n in (1_000, 10_000, 100_000):
        errs = [np.max(np.abs(RandomFeatureReLURegressor(n_hidden=n, init=init, alpha=0.1, random_state=s)
                              .fit(x[:, None], y).predict(grid) - limit)) for s in range(3)]
        errors.append(np.mean(errs))
    ratios = np.array(errors[:-1]) / np.array(errors[1:])
    # n^-1/2: a factor sqrt(10) ~ 3.2 per decade (Monte-Carlo noise: accept 1.8 to 6)
    assert np.all(ratios > 1.8) and np.all(ratios < 6), (errors, ratios)


def _brute_smoother(est, x, w):
    m = len(x)
    return np.column_stack([est.fit(x[:, None], np.eye(m)[:, i], sample_weight=w).predict(x[:, None])
                            for i in range(m)])


@pytest.mark.parametrize("affine", ["penalized", "free_constant", "free"])
def test_leverages_df_and_loo_against_brute_force(affine):
    x, y, w = _data(m=30, seed=2)
    x[5] = x[4]  # a tie: pooled, each sample keeps its share of the leverage
    est = SmoothingSplineEquivalent(init="uniform", alpha=0.02, affine=affine)
    S = _brute_smoother(est, x, w)
    est.fit(x[:, None], y, sample_weight=w)
    np.testing.assert_allclose(est.leverages_, np.diag(S), atol=1e-10)
    assert est.df_ == pytest.approx(np.trace(S), abs=1e-9)
    # exact leave-one-out: refit without each sample
    loo = []
    for i in range(len(x)):
        keep = np.arange(len(x)) != i
        fit = SmoothingSplineEquivalent(init="uniform", alpha=0.02, affine=affine).fit(
            x[keep, None], y[keep], sample_weight=w[keep])
        loo.append((y[i] - fit.predict(x[i:i + 1, None])[0]) ** 2)
    assert est.loo_score_ == pytest.approx(np.average(loo, weights=w), rel=1e-8)
    rss = np.average((y - est.predict(x[:, None])) ** 2, weights=w)
    assert est.gcv_score_ == pytest.approx(rss / (1 - np.trace(S) / len(x)) ** 2, rel=1e-10)


def test_gcv_matches_scipy_where_scipy_works():
    x, y, _ = _data(m=120, seed=5)
    a = 3.0
    est = SmoothingSplineEquivalent(init=RademacherUniform(bias_range=a), alpha="gcv", affine="free").fit(x, y)
    ref = make_smoothing_spline(x, y)  # GCV
    grid = np.linspace(x[0], x[-1], 500)
    # both minimise the same GCV criterion: the fits agree to the search tolerance
    assert np.max(np.abs(est.predict(grid) - ref(grid))) < 1e-3


@pytest.mark.parametrize("case", ["ties", "x_times_1e-6", "x_times_1e6", "large"])
def test_gcv_returns_a_sensible_fit_where_scipy_fails_or_is_off(case):
    rng = np.random.RandomState(0)
    m = 5_000 if case == "large" else 150
    x = np.sort(rng.uniform(0, 1, m))
    truth = np.sin(6 * x)
    y = truth + 0.3 * rng.standard_normal(m)
    if case == "ties":
        x = np.round(x, 1)  # 11 distinct values: scipy needs strictly increasing x
        truth = np.sin(6 * x)
        with pytest.raises(ValueError):
            make_smoothing_spline(x, y)
    scale = {"x_times_1e-6": 1e-6, "x_times_1e6": 1e6}.get(case, 1.0)
    for affine in ("free", "free_constant", "penalized"):
        est = SmoothingSplineEquivalent(init="gaussian", alpha="gcv", affine=affine).fit(x * scale, y)
        err = np.mean((est.predict((x * scale)[:, None]) - truth) ** 2)
        assert np.isfinite(est.alpha_) and 2 <= est.df_ < len(np.unique(x))
        assert err < 0.03, (affine, err, est.df_)  # noise variance 0.09


def test_loo_selection_and_limits():
    x, y, _ = _data(m=80, seed=6)
    est = SmoothingSplineEquivalent(alpha="loo", affine="free_constant").fit(x, y)
    # the chosen alpha refines the best rung of the ladder between its neighbours
    i = int(np.argmin(est.cv_scores_))
    lo, hi = est.cv_alphas_[min(i + 1, len(est.cv_alphas_) - 1)], est.cv_alphas_[max(i - 1, 0)]
    assert lo <= est.alpha_ <= hi and est.loo_score_ <= np.min(est.cv_scores_) * (1 + 1e-12)
    # a huge penalty leaves the unpenalised part: the weighted least-squares line / mean
    line = SmoothingSplineEquivalent(init="rademacher_uniform", alpha=1e12, affine="free").fit(x, y)
    np.testing.assert_allclose(line.predict(x[:, None]), np.polyval(np.polyfit(x, y, 1), x), atol=1e-6)
    const = SmoothingSplineEquivalent(alpha=1e14, affine="free_constant").fit(x, y)
    np.testing.assert_allclose(const.predict(x[:, None]), np.full_like(x, y.mean()), atol=1e-6)
    zero = SmoothingSplineEquivalent(alpha=1e14, affine="penalized").fit(x, y)
    assert np.max(np.abs(zero.predict(x[:, None]))) < 1e-6
    # alpha = 0 is the interpolating limit itself (to rounding: 1e-14 measured)
    exact = SmoothingSplineEquivalent(alpha=0.0).fit(x, y)
    np.testing.assert_allclose(exact.predict(x[:, None]), y, atol=1e-10)
    assert exact.df_ == pytest.approx(len(x))
    # and tiny penalties approach it at first order: the residual is alpha W^-1 c
    # with c tending to a finite limit, so alpha / 100 divides the residual and the
    # distance to the interpolant by 100, up to a relative O(alpha) (0.14% here).
    # Both are far above rounding (3e-7 and 1e-5 at alpha = 1e-16), so the ratios
    # do not depend on the machine, as a fixed bound on them would.
    grid = np.linspace(-2, 2, 300)[:, None]
    resid, dist = [], []
    for alpha in (1e-14, 1e-16):
        interp = SmoothingSplineEquivalent(alpha=alpha).fit(x, y)
        resid.append(np.max(np.abs(interp.predict(x[:, None]) - y)))
        dist.append(np.max(np.abs(interp.predict(grid) - exact.predict(grid))))
    assert 90 < resid[0] / resid[1] < 110 and 90 < dist[0] / dist[1] < 110, (resid, dist)
    assert resid[1] < 1e-5 * np.max(np.abs(y))  # nearly interpolating


def test_multi_output_weights_and_float32():
    x, y, w = _data(k=3)
    both = SmoothingSplineEquivalent(alpha=0.1).fit(x[:, None], y, sample_weight=w)
    for j in range(3):
        one = SmoothingSplineEquivalent(alpha=0.1).fit(x[:, None], y[:, j], sample_weight=w)
        np.testing.assert_allclose(both.predict(x[:, None])[:, j], one.predict(x[:, None]), rtol=1e-12)
    # integer weights are repetitions
    rep = np.repeat(np.arange(len(x)), 2)
    twice = SmoothingSplineEquivalent(alpha=0.1).fit(x[rep, None], y[rep, 0])
    once = SmoothingSplineEquivalent(alpha=0.1).fit(x[:, None], y[:, 0], sample_weight=np.full(len(x), 2.0))
    np.testing.assert_allclose(twice.predict(x[:, None]), once.predict(x[:, None]), rtol=1e-10)
    f32 = SmoothingSplineEquivalent(alpha=0.1).fit(x.astype(np.float32)[:, None], y[:, 0].astype(np.float32))
    assert f32.predict(x.astype(np.float32)[:, None]).dtype == np.float32


def test_bad_input_has_clear_errors_and_keeps_the_fitted_model():
    x, y, _ = _data()
    est = SmoothingSplineEquivalent(alpha=0.1).fit(x, y)
    before = est.predict(x)
    with pytest.raises(ValueError, match="one input feature"):
        est.fit(np.column_stack([x, x]), y)
    with pytest.raises(ValueError, match="at least 3 distinct"):
        est.fit(np.array([0.0, 0.0, 1.0, 1.0]), np.arange(4.0))
    with pytest.raises(ValueError, match="NaN"):
        est.fit(np.where(np.arange(len(x)) == 3, np.nan, x), y)
    with pytest.raises(ValueError, match="[Nn]egative"):
        est.fit(x, y, sample_weight=np.where(np.arange(len(x)) == 3, -1.0, 1.0))
    with pytest.raises(ValueError, match="curvature weight"):
        SmoothingSplineEquivalent(init=ExplicitInit(np.ones((5, 1)), np.zeros(5))).fit(x, y)
    np.testing.assert_array_equal(est.predict(x), before)


def test_from_estimator_maps_ridge_and_gradient_descent():
    x, y, _ = _data(m=50)
    net = RandomFeatureReLURegressor(n_hidden=20_000, init="uniform", alpha=0.3, fit_intercept=False,
                                     random_state=0)
    spline = SmoothingSplineEquivalent.from_estimator(net)
    assert (spline.init, spline.alpha, spline.affine, spline.n_steps) == ("uniform", 0.3, "penalized", None)
    grid = np.linspace(-2, 2, 100)[:, None]
    gap = np.max(np.abs(spline.fit(x, y).predict(grid) - net.fit(x[:, None], y).predict(grid)))
    assert gap < 0.02
    gd = RandomFeatureReLURegressor(n_hidden=50_000, solver="gd", max_iter=200, random_state=0).fit(x[:, None], y)
    mapped = SmoothingSplineEquivalent.from_estimator(gd).fit(x, y)
    assert mapped.n_steps == 200 and mapped.learning_rate == gd.learning_rate_
    assert np.max(np.abs(mapped.predict(grid) - gd.predict(grid))) < 0.02
    assert mapped.equivalent_alpha_ == pytest.approx(len(x) / (gd.learning_rate_ * 200))
    with pytest.raises(TypeError):
        SmoothingSplineEquivalent.from_estimator(object())


@pytest.mark.parametrize("affine", ["free_constant", "penalized"])
def test_gradient_descent_limit_is_approached_by_wide_networks(affine):
    x, y, w = _data(m=40, seed=7)
    grid = np.linspace(-3, 3, 200)[:, None]
    lim = SmoothingSplineEquivalent(n_steps=300, alpha=0.0, affine=affine, learning_rate=1.0)
    lim.fit(x, y, sample_weight=w)
    errors = []
    for n in (1_000, 100_000):
        nets = [RandomFeatureReLURegressor(n_hidden=n, solver="gd", alpha=0.0, max_iter=300, learning_rate=1.0,
                                           fit_intercept=affine == "free_constant", random_state=s)
                .fit(x[:, None], y, sample_weight=w) for s in range(3)]
        errors.append(np.mean([np.max(np.abs(net.predict(grid) - lim.predict(grid))) for net in nets]))
    assert errors[0] / errors[1] > 4, errors  # n^-1/2: 10 over two decades
    # leverages and derivatives of the filter
    S = _brute_smoother(SmoothingSplineEquivalent(n_steps=300, alpha=0.0, affine=affine, learning_rate=1.0), x, w)
    lim.fit(x, y, sample_weight=w)
    np.testing.assert_allclose(lim.leverages_, np.diag(S), atol=1e-10)
    h, g = 1e-6, grid[:, 0]
    fd = (lim.predict((g + h)[:, None]) - lim.predict((g - h)[:, None])) / (2 * h)
    assert np.max(np.abs(lim.predict_derivative(grid) - fd)) < 1e-6
    fd2 = (lim.predict_derivative((g + h)[:, None]) - lim.predict_derivative((g - h)[:, None])) / (2 * h)
    assert np.max(np.abs(lim.predict_derivative(grid, order=2) - fd2)) < 1e-5
    with pytest.raises(ValueError, match="stability limit"):
        SmoothingSplineEquivalent(n_steps=10, alpha=0.0, learning_rate=1e3).fit(x, y)


def test_estimator_conventions_in_one_dimension(tmp_path):
    """What scikit-learn's common checks test with several columns, on one column."""
    import pickle

    import pandas as pd
    from sklearn.base import clone

    x, y, w = _data(m=40, seed=9)
    X = x[:, None]
    est = SmoothingSplineEquivalent(alpha="gcv")
    params = clone(est).get_params()
    est.fit(X, y, sample_weight=w)
    assert est.get_params() == params and est.n_features_in_ == 1
    pred = est.predict(X)
    # pickling, idempotence, input types and memory layouts
    assert np.array_equal(pickle.loads(pickle.dumps(est)).predict(X), pred)
    np.testing.assert_allclose(clone(est).fit(X, y, sample_weight=w).predict(X), pred, rtol=1e-12)
    np.testing.assert_allclose(clone(est).fit(x.tolist(), y.tolist(), sample_weight=w.tolist()).predict(X),
                               pred, rtol=1e-12)
    np.testing.assert_allclose(clone(est).fit(pd.DataFrame({"x": x}), pd.Series(y),
                                              sample_weight=pd.Series(w)).predict(pd.DataFrame({"x": x})),
                               pred, rtol=1e-12)
    mm = np.memmap(tmp_path / "x.dat", dtype=np.float64, mode="w+", shape=X.shape)
    mm[:] = X
    mm.flags.writeable = False
    np.testing.assert_allclose(clone(est).fit(mm, y, sample_weight=w).predict(mm), pred, rtol=1e-12)
    np.testing.assert_allclose(clone(est).fit(np.asfortranarray(X), y, sample_weight=w).predict(X), pred,
                               rtol=1e-12)
    wcopy = w.copy()
    clone(est).fit(X, y, sample_weight=w)
    assert np.array_equal(w, wcopy)
    # predict is row-wise: order and subsets do not matter, and it leaves the estimator as it was
    state = dict(est.__dict__)
    perm = np.random.RandomState(0).permutation(len(x))
    np.testing.assert_allclose(est.predict(X[perm]), pred[perm], rtol=1e-12)
    np.testing.assert_allclose(est.predict(X[:7]), pred[:7], rtol=1e-12)
    assert est.__dict__.keys() == state.keys()
    # integer inputs, a column vector y, shape errors
    ints = SmoothingSplineEquivalent(alpha=0.1).fit(np.arange(20)[:, None], np.arange(20) % 3)
    assert np.all(np.isfinite(ints.predict(np.arange(20)[:, None])))
    assert SmoothingSplineEquivalent(alpha=0.1).fit(X, y[:, None]).predict(X).shape == (len(x), 1)
    with pytest.raises(ValueError, match="one input feature"):
        est.predict(np.column_stack([x, x]))
    with pytest.raises(ValueError, match="sample_weight"):
        clone(est).fit(X, y, sample_weight=w[:-1])
    with pytest.raises(ValueError, match="weight.*non-zero"):
        clone(est).fit(X, y, sample_weight=np.zeros(len(x)))
    with pytest.raises(ValueError, match="at least 3 distinct x values with positive weight"):
        clone(est).fit(X, y, sample_weight=(np.arange(len(x)) < 2).astype(float))
    with pytest.raises(ValueError, match="at least 3 distinct"):
        clone(est).fit(X[:1], y[:1])
    with pytest.raises(ValueError, match="[Ii]nfinity|NaN"):
        clone(est).fit(np.where(np.arange(len(x))[:, None] == 2, np.inf, X), y)
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        clone(est).predict(X)


def test_width_scaled_mirror_descent_limit_through_the_estimator():
    from sklearn_shallowrelu.potentials import QuadraticPlusPower, WidthScaled

    x = np.array([-0.8, -0.3, 0.1, 0.5, 0.9])
    y = np.array([0.3, -0.2, 0.4, 0.1, -0.3])
    pot = QuadraticPlusPower(p=4, c=1.0)
    lim = SmoothingSplineEquivalent(init="rademacher_uniform", alpha=0.0, potential=pot).fit(x, y)
    np.testing.assert_allclose(lim.predict(x), y, atol=1e-10)  # interpolates
    quad = SmoothingSplineEquivalent(init="rademacher_uniform", alpha=1e-14).fit(x, y)
    grid = np.linspace(-0.8, 0.9, 200)
    assert np.max(np.abs(lim.predict(grid) - quad.predict(grid))) > 1e-3  # a different curvature penalty
    with pytest.raises(AttributeError, match="non-quadratic"):
        lim.df_
    # the network's mirror descent with the width-scaled potential, mapped by from_estimator
    net = RandomFeatureReLURegressor(n_hidden=100, init="rademacher_uniform", solver="mirror", alpha=0.0,
                                     potential=WidthScaled(pot), max_iter=10_000, random_state=0)
    mapped = SmoothingSplineEquivalent.from_estimator(net)
    assert mapped.potential is pot and mapped.alpha == 0.0
    # the derivative of order 2 is the jump density: it integrates to the change of slope
    d1 = lim.predict_derivative(grid)
    d2 = lim.predict_derivative(grid, order=2)
    trap = np.sum(0.5 * (d2[1:] + d2[:-1]) * np.diff(grid))
    assert trap == pytest.approx(d1[-1] - d1[0], rel=1e-2, abs=1e-3)
    with pytest.raises(ValueError, match="numeric alpha"):
        SmoothingSplineEquivalent(init="rademacher_uniform", alpha="gcv", potential=pot).fit(x, y)
    with pytest.raises(NotImplementedError, match="product grid"):
        SmoothingSplineEquivalent(init="gaussian", alpha=0.0, potential=pot).fit(x, y)


def test_interpolation_without_knots_over_part_of_the_data_is_refused():
    x = np.linspace(-3, 3, 30)
    y = np.sin(2 * x)
    # knots only on [-1, 1]: no interpolant through the points outside
    with pytest.raises(ValueError, match="no knots there"):
        SmoothingSplineEquivalent(init=RademacherUniform(bias_range=1.0), alpha=0.0, affine="free").fit(x, y)
    # with a positive alpha the fit exists, linear where g = 0, and GCV works
    fit = SmoothingSplineEquivalent(init=RademacherUniform(bias_range=1.0), alpha="gcv", affine="free").fit(x, y)
    outside = np.linspace(1.5, 3, 20)
    assert np.max(np.abs(fit.predict_derivative(outside, order=2))) < 1e-12
    assert np.isfinite(fit.df_) and 2 <= fit.df_ <= len(x)


def test_a_failed_refit_leaves_the_fitted_model_as_it_was():
    x = np.linspace(-3, 3, 30)
    y = np.sin(2 * x)
    est = SmoothingSplineEquivalent(init=RademacherUniform(bias_range=1.0), alpha="gcv", affine="free").fit(x, y)
    before = (est.predict(x), est.alpha_, est.cv_alphas_.copy(), est.df_)
    est.set_params(alpha=0.0)  # no interpolant exists (g = 0 on part of the data)
    with pytest.raises(ValueError, match="no knots there"):
        est.fit(x, y)
    np.testing.assert_array_equal(est.predict(x), before[0])
    assert est.alpha_ == before[1] and est.df_ == before[3]
    np.testing.assert_array_equal(est.cv_alphas_, before[2])


def _arccos_kernel_mp(x, mp):
    """The Gaussian init's kernel (half the degree-1 arc-cosine kernel of (x, 1)) in mpmath."""
    K = mp.matrix(len(x), len(x))
    for i, a in enumerate(x):
        for j, b in enumerate(x):
            a_, b_ = mp.mpf(float(a)), mp.mpf(float(b))
            na, nb = mp.sqrt(a_**2 + 1), mp.sqrt(b_**2 + 1)
            cos = min(max((a_ * b_ + 1) / (na * nb), -1), 1)
            theta = mp.acos(cos)
            K[i, j] = na * nb / (2 * mp.pi) * (mp.sin(theta) + (mp.pi - theta) * cos)
    return K


def _mp_kernel_ridge(K, y, alpha, affine, mp, leverages=False):
    """Kernel ridge with a free constant (``[[K + alpha I, 1], [1^T, 0]]``) or
    without (``penalized``) in the working precision of ``mp``: the fitted values
    (m,) as floats, and with ``leverages`` the diagonal of the smoother too."""
    m = len(y)
    A = mp.matrix(m + 1, m + 1)
    for i in range(m):
        for j in range(m):
            A[i, j] = K[i, j] + (alpha if i == j else 0)
    if affine == "free_constant":
        for i in range(m):
            A[i, m] = A[m, i] = 1
    else:
        A[m, m] = 1
    rhs = mp.matrix([float(v) for v in y] + [0])
    if not leverages:
        z = mp.lu_solve(A, rhs)
        return np.array([float(sum(K[i, j] * z[j] for j in range(m)) + z[m]) for i in range(m)])
    G = A ** -1
    z = G * rhs
    fitted = np.array([float(sum(K[i, j] * z[j] for j in range(m)) + z[m]) for i in range(m)])
    return fitted, np.array([float(1 - alpha * G[i, i]) for i in range(m)])


@pytest.mark.parametrize("scale", [1.0, 1e3])
@pytest.mark.parametrize("affine", ["free_constant", "penalized"])
def test_limit_matches_kernel_ridge_in_60_digit_arithmetic(scale, affine):
    # With x spread far beyond the knots' scale the kernel matrix has condition
    # numbers of 1e15 to 1e20, so float64 kernel ridge is no reference there: the
    # reference is solved in 60 digits.  The 8-unknown system measured 1e-8 to
    # 2e-5 relative error on these cases (x 1e3), the bordered chain 1e-10 or better.
    import mpmath as mp  # in the test extra

    mp.mp.dps = 60
    rng = np.random.RandomState(0)
    m = 25
    x = np.sort(rng.uniform(-1, 1, m)) * scale
    y = np.sin(3 * x / scale) + 0.1 * rng.standard_normal(m)
    K = _arccos_kernel_mp(x, mp)
    for alpha in (1.0, 1e-4, 1e-8):
        ref = _mp_kernel_ridge(K, y, alpha, affine, mp)
        est = SmoothingSplineEquivalent(init=Gaussian(), alpha=alpha, affine=affine).fit(x, y)
        assert np.max(np.abs(est.predict(x) - ref)) < 1e-9 * np.max(np.abs(ref)), alpha


@pytest.mark.parametrize("params", [dict(alpha=1e-3), dict(alpha="gcv", affine="penalized"),
                                    dict(alpha=1e-2, affine="free", init="rademacher_uniform")])
def test_pickle_is_a_small_multiple_of_the_data_and_predicts_bit_identically(params):
    import pickle

    rng = np.random.RandomState(0)
    x = rng.uniform(-2, 2, 20_000)
    y = np.sin(3 * x) + 0.1 * rng.standard_normal(x.size)
    model = SmoothingSplineEquivalent(**params).fit(x, y)
    blob = pickle.dumps(model)
    # pooled inputs, mean targets and weights (3 per distinct x) and the per-sample
    # leverages (1 per sample): 4 x.nbytes plus fixed overhead; before, 21 times
    assert len(blob) <= 4 * x.nbytes + 50_000
    loaded = pickle.loads(blob)
    grid = np.concatenate([np.linspace(-3, 3, 1001), x[:100]])
    np.testing.assert_array_equal(loaded.predict(grid), model.predict(grid))
    np.testing.assert_array_equal(loaded.predict_derivative(grid, 2), model.predict_derivative(grid, 2))
    np.testing.assert_array_equal(loaded.leverages_, model.leverages_)
    for name in ("df_", "gcv_score_", "loo_score_", "alpha_", "intercept_"):
        assert getattr(loaded, name) == getattr(model, name), name
    assert len(pickle.dumps(loaded)) == len(blob)  # a second round trip keeps the small form


def test_newton_failure_at_alpha_zero_names_alpha_above_zero():
    rng = np.random.RandomState(0)
    x = rng.uniform(-2, 2, 300)
    y = np.sin(3 * x) + 0.1 * rng.standard_normal(300)
    spline = SmoothingSplineEquivalent(alpha=0.0, potential="hyperbolic_entropy", init="rademacher_uniform")
    with pytest.raises(RuntimeError, match=r"Use alpha > 0"):
        spline.fit(x, y)
    # and the named fix works on the same data
    fixed = SmoothingSplineEquivalent(alpha=0.3, potential="hyperbolic_entropy", init="rademacher_uniform").fit(x, y)
    assert np.all(np.isfinite(fixed.predict(x)))


def test_pickle_of_a_mirror_potential_fit_drops_its_quadrature_nodes():
    import pickle

    rng = np.random.RandomState(0)
    x = rng.uniform(-2, 2, 300)
    y = np.sin(3 * x) + 0.1 * rng.standard_normal(300)
    model = SmoothingSplineEquivalent(alpha=0.1, potential="quadratic_plus_power", init="uniform_knots").fit(x, y)
    blob = pickle.dumps(model)
    # the fit is solved on about 50 quadrature nodes per data point here (with
    # their coefficients and jumps, 514 x.nbytes of pickle); prediction needs
    # O(1) numbers per data point (the dual functions and the states at the
    # data: 16 x.nbytes measured, most of it fixed overhead at 300 points)
    assert len(blob) <= 100 * x.nbytes
    loaded = pickle.loads(blob)
    grid = np.linspace(-3, 3, 501)
    for order in (1, 2):
        np.testing.assert_array_equal(loaded.predict_derivative(grid, order), model.predict_derivative(grid, order))
    np.testing.assert_array_equal(loaded.predict(grid), model.predict(grid))


def test_parameters_are_validated_again_unless_plain_values_passed_before(monkeypatch):
    """The spline skips scikit-learn's parameter validation only for the very
    objects that passed in this instance, or for plain immutable values that
    passed in any instance of the class; anything else is validated, and bad
    values are refused every time."""
    from sklearn.base import BaseEstimator
    from sklearn.utils._param_validation import InvalidParameterError

    calls = []
    original = BaseEstimator._validate_params
    monkeypatch.setattr(BaseEstimator, "_validate_params", lambda self: (calls.append(1), original(self))[1])
    x = np.linspace(-1, 1, 20)
    y = np.sin(3 * x)
    SmoothingSplineEquivalent(alpha=0.25, affine="free").fit(x, y)
    n = len(calls)
    SmoothingSplineEquivalent(alpha=0.25, affine="free").fit(x, y)  # a new instance, the same plain values
    assert len(calls) == n
    SmoothingSplineEquivalent(alpha=np.float64(0.25), affine="free").fit(x, y)  # not of a plain type
    assert len(calls) == n + 1
    SmoothingSplineEquivalent(alpha=0.5, affine="free").fit(x, y)  # another value
    assert len(calls) == n + 2
    for _ in range(2):
        with pytest.raises(InvalidParameterError):
            SmoothingSplineEquivalent(alpha=-1.0, affine="free").fit(x, y)
        with pytest.raises(InvalidParameterError):
            SmoothingSplineEquivalent(alpha=0.25, affine="nope").fit(x, y)
    est = SmoothingSplineEquivalent(alpha=0.25, affine="free").fit(x, y)
    est.set_params(alpha=True)  # True == 1 but a bool: its own key, validated (and accepted as a Real)
    n = len(calls)
    est.fit(x, y)
    assert len(calls) == n + 1


def test_lam_scipy_is_that_of_the_fit_and_survives_a_pickle():
    """lam_scipy_, computed when first read, follows the affine option of the fit
    (not a later set_params) and reads the same after a pickle round trip."""
    import pickle

    x = np.linspace(-1, 1, 40)
    y = np.sin(3 * x) + 0.1 * np.random.RandomState(0).standard_normal(40)
    est = SmoothingSplineEquivalent(init="uniform_knots", affine="free", alpha=0.3).fit(x, y)
    g = est.curvature_weight_[0]
    assert est.lam_scipy_ == pytest.approx(0.3 / g, rel=1e-12)
    est.set_params(affine="penalized")  # no refit: still the fit's lam
    assert est.lam_scipy_ == pytest.approx(0.3 / g, rel=1e-12)
    assert pickle.loads(pickle.dumps(est)).lam_scipy_ == est.lam_scipy_
    assert SmoothingSplineEquivalent(init="uniform_knots", affine="penalized", alpha=0.3).fit(x, y).lam_scipy_ is None
    with pytest.raises(AttributeError):
        SmoothingSplineEquivalent().lam_scipy_
