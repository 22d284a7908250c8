"""CurvatureDiagnostics: stability weights, weighted curvature, sharpness (checks C1-C6; C7, C8 in test_stability_checks.py).

References are closed forms or independent computations: brute-force conditional
means, explicit Jacobians, finite-difference Hessians.
"""

import numpy as np
import pytest
from sklearn.exceptions import NotFittedError
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_shallowrelu import RandomFeatureReLURegressor, ShallowReLURegressor
from sklearn_shallowrelu._network import Batch, Network, Params
from sklearn_shallowrelu.activations import get_activation
from sklearn_shallowrelu.diagnostics.curvature import (
    CurvatureDiagnostics,
    stability_weight,
    stability_weight_multi,
    weighted_curvature,
)

SQ2_4 = np.sqrt(2) / 4


# ------------------------------------------------------------------ helpers
def brute_g(x, c):
    """Mulayoff's g_s(c) straight from the definition (1-D, unweighted)."""
    x = np.asarray(x, dtype=float)
    if c <= x.min() or c >= x.max():
        return 0.0
    lo, hi = x[x < c], x[x > c]
    gm = (lo.size / x.size) ** 2 * (c - lo.mean()) * np.sqrt(1 + lo.mean() ** 2)
    gp = (hi.size / x.size) ** 2 * (hi.mean() - c) * np.sqrt(1 + hi.mean() ** 2)
    return min(gm, gp)


def jacobian(X, W, b, v, output_bias=True):
    """Explicit Jacobian of f(x_i) = sum_k v_k relu(w_k.x_i + b_k) + c in (v, W, b[, c])."""
    n = X.shape[0]
    Z = X @ W.T + b
    ind = (Z > 0).astype(float)
    blocks = [np.maximum(Z, 0), ((ind * v)[:, :, None] * X[:, None, :]).reshape(n, -1), ind * v]
    if output_bias:
        blocks.append(np.ones((n, 1)))
    return np.hstack(blocks)


def gn_top(X, W, b, v, output_bias=True):
    J = jacobian(X, W, b, v, output_bias)
    return np.linalg.eigvalsh(J @ J.T / X.shape[0])[-1]


def random_net(rng, d, K):
    W = rng.standard_normal((K, d)) * rng.choice([0.1, 1.0, 10.0])
    b = rng.standard_normal(K) * rng.choice([0.1, 1.0, 3.0])
    v = rng.standard_normal(K) * rng.choice([0.01, 0.3, 1.0, 3.0, 30.0])
    return W, b, v


def fitted_net(W, b, v, c=0.0, activation="relu"):
    """A ShallowReLURegressor carrying the given parameters."""
    W = np.asarray(W, dtype=float)
    d = W.shape[1]
    X = np.random.RandomState(0).standard_normal((4, d))
    net = ShallowReLURegressor(n_hidden=len(b), activation=activation, max_iter=1, random_state=0)
    net.fit(X, np.zeros(4) if np.ndim(v) == 1 else np.zeros((4, np.shape(v)[1])))
    net.hidden_weights_, net.hidden_bias_ = W, np.asarray(b, dtype=float)
    net.output_weights_ = np.asarray(v, dtype=float)
    net.intercept_ = c if np.ndim(v) == 1 else np.asarray(c, dtype=float) * np.ones(np.shape(v)[1])
    return net


def diagnose(net, X, y=None, **kw):
    y = np.zeros(len(X)) if y is None else y
    return CurvatureDiagnostics(net, prefit=True, **kw).fit(X, y)


# ------------------------------------------------------------------ C1, C2
def test_c1_closed_form_two_points():
    c = np.linspace(-1.5, 1.5, 61)
    expected = np.where(np.abs(c) < 1, SQ2_4 * (1 - np.abs(c)), 0.0)
    np.testing.assert_allclose(stability_weight([-1.0, 1.0], c), expected, rtol=1e-13, atol=1e-15)
    assert stability_weight(np.array([[-1.0], [1.0]]), 0.0) == pytest.approx(0.3535534, abs=1e-7)
    assert stability_weight([-1.0, 1.0], 1.0) == 0.0 and stability_weight([-1.0, 1.0], -1.0) == 0.0


@pytest.mark.parametrize("seed", range(5))
def test_c1_matches_the_definition_on_random_data(seed):
    rng = np.random.RandomState(seed)
    x = np.round(rng.standard_normal(rng.randint(2, 30)) * 2, 1)  # with ties
    c = np.concatenate([rng.uniform(x.min() - 1, x.max() + 1, 40), x])  # also exactly at data points
    np.testing.assert_allclose(stability_weight(x, c), [brute_g(x, ci) for ci in c], rtol=1e-11, atol=1e-14)


def test_integer_sample_weights_equal_repeated_points():
    rng = np.random.RandomState(0)
    x = rng.standard_normal(12)
    reps = rng.randint(1, 4, size=12)
    c = rng.uniform(-2, 2, 30)
    np.testing.assert_allclose(stability_weight(x, c, sample_weight=reps), stability_weight(np.repeat(x, reps), c),
                               rtol=1e-12, atol=1e-15)
    X = rng.standard_normal((12, 3))
    U = rng.standard_normal((7, 3))
    U /= np.linalg.norm(U, axis=1, keepdims=True)
    t = rng.uniform(-1, 1, 7)
    np.testing.assert_allclose(stability_weight_multi(X, U, t, sample_weight=reps),
                               stability_weight_multi(np.repeat(X, reps, axis=0), U, t), rtol=1e-12, atol=1e-15)


def test_c2_closed_form_two_points_in_3d():
    rng = np.random.RandomState(0)
    X = np.array([[1.0, 0, 0], [-1.0, 0, 0]])
    U = rng.standard_normal((200, 3))
    U /= np.linalg.norm(U, axis=1, keepdims=True)
    t = rng.uniform(-1.2, 1.2, 200)
    expected = SQ2_4 * np.maximum(np.abs(U[:, 0]) - np.abs(t), 0)
    np.testing.assert_allclose(stability_weight_multi(X, U, t), expected, rtol=1e-12, atol=1e-15)
    assert stability_weight_multi(X, [1.0, 0, 0], 0.0) == pytest.approx(SQ2_4, rel=1e-14)


@pytest.mark.parametrize("seed", range(5))
def test_c2_multivariate_weight_reduces_to_the_1d_weight(seed):
    rng = np.random.RandomState(seed)
    x = rng.standard_normal(rng.randint(2, 30)) + rng.standard_normal()
    c = np.concatenate([rng.uniform(x.min() - 1, x.max() + 1, 30), x])
    g1 = stability_weight(x, c)
    assert np.any(g1 > 0)
    # (u, t) = (1, c) and (-1, -c) are the same hyperplane
    np.testing.assert_allclose(stability_weight_multi(x[:, None], np.ones((c.size, 1)), c), g1, rtol=1e-11, atol=1e-14)
    np.testing.assert_allclose(stability_weight_multi(x[:, None], -np.ones((c.size, 1)), -c), g1, rtol=1e-11,
                               atol=1e-14)


def test_weight_vanishes_outside_the_convex_hull():
    rng = np.random.RandomState(0)
    X = rng.uniform(-1, 1, (30, 2))
    u = np.array([0.6, 0.8])
    proj = X @ u
    assert stability_weight_multi(X, u, proj.max() + 1e-9) == 0.0
    assert stability_weight_multi(X, u, proj.min() - 1e-9) == 0.0
    assert stability_weight_multi(X, u, proj.mean()) > 0


# ------------------------------------------------------------------ C3, C4
def _random_net(seed, d):
    rng = np.random.RandomState(seed)
    X = rng.standard_normal((25, d))
    W, b, v = random_net(rng, d, 6)
    W, b = W / np.abs(W).max(), b / np.abs(W).max() * 0.3  # knots inside the data
    return X, W, b, v


@pytest.mark.parametrize("d", [1, 3])
def test_c3_invariances(d):
    X, W, b, v = _random_net(d, d)
    rng = np.random.RandomState(1)
    base = diagnose(fitted_net(W, b, v), X)
    tv, pn = base.weighted_curvature_, base.weighted_curvature_per_neuron_
    assert tv > 0

    alpha = rng.uniform(0.1, 10, len(b))  # (v / a, a w, a b)
    r = diagnose(fitted_net(W * alpha[:, None], b * alpha, v / alpha), X)
    assert r.weighted_curvature_ == pytest.approx(tv, rel=1e-10)
    assert r.weighted_curvature_per_neuron_ == pytest.approx(pn, rel=1e-10)

    r = diagnose(fitted_net(np.vstack([W, W[:1]]), np.r_[b, b[0]], np.r_[v[0] / 2, v[1:], v[0] / 2]), X)  # split
    assert r.weighted_curvature_ == pytest.approx(tv, rel=1e-10)
    assert r.weighted_curvature_per_neuron_ == pytest.approx(pn, rel=1e-10)

    perm = rng.permutation(len(b))
    r = diagnose(fitted_net(W[perm], b[perm], v[perm]), X)
    assert r.weighted_curvature_ == pytest.approx(tv, rel=1e-12)

    # moving neuron 0's hyperplane out of the data's convex hull removes its contribution
    W2, b2 = W.copy(), b.copy()
    u0 = W[0] / np.linalg.norm(W[0])
    b2[0] = -np.linalg.norm(W[0]) * ((X @ u0).max() + 0.5)
    r = diagnose(fitted_net(W2, b2, v), X)
    assert r.ridge_weights_[0] == 0.0
    assert r.weighted_curvature_ == pytest.approx(tv - abs(v[0]) * np.linalg.norm(W[0]) * base.ridge_weights_[0],
                                                  rel=1e-10)
    r = diagnose(fitted_net(W2[:1], b2[:1], v[:1]), X)
    assert r.weighted_curvature_ == 0.0 and r.weighted_curvature_per_neuron_ == 0.0


def test_c3_amplitude_uses_the_absolute_value_of_w():
    # v relu(x - c) + v relu(c - x) = v |x - c|: the slope jumps by 2 v at c (v w would give 0)
    X = np.linspace(-1, 1, 9)[:, None]
    v, c = -0.7, 0.3
    r = diagnose(fitted_net([[1.0], [-1.0]], [-c, c], [v, v]), X)
    assert r.weighted_curvature_ == pytest.approx(2 * abs(v) * stability_weight(X, c), rel=1e-12)
    np.testing.assert_allclose(r.merged_amplitudes_, [2 * v])
    np.testing.assert_allclose(r.ridge_amplitudes_, [v, v])
    # and relu(z) - relu(-z) = z has no curvature, also for d > 1
    X3 = np.random.RandomState(0).standard_normal((20, 3))
    w = np.array([0.3, -1.0, 0.5])
    r = diagnose(fitted_net(np.vstack([w, -2 * w]), [0.2, -0.4], [1.0, -0.5]), X3)
    assert r.weighted_curvature_ == pytest.approx(0.0, abs=1e-12)
    assert r.weighted_curvature_per_neuron_ > 0


@pytest.mark.parametrize("d", [1, 2])
def test_c4_cancellation(d):
    rng = np.random.RandomState(d)
    X = rng.standard_normal((15, d))
    w = rng.standard_normal(d)
    r = diagnose(fitted_net(np.vstack([w, 3 * w]), [0.1, 0.3], [1.5, -0.5]), X)  # same ridge, a = +-1.5 |w|
    assert r.weighted_curvature_ == pytest.approx(0.0, abs=1e-12)
    assert r.weighted_curvature_per_neuron_ > 0.1
    assert r.merged_offsets_.shape == (1,)
    assert weighted_curvature(r.params_, X) == pytest.approx(0.0, abs=1e-12)
    assert weighted_curvature(r.params_, X, per_neuron=True) == pytest.approx(r.weighted_curvature_per_neuron_)


def test_merge_tol():
    X = np.linspace(-1, 1, 11)[:, None]
    net = fitted_net([[1.0], [1.0]], [0.0, -1e-6], [1.0, -1.0])
    assert diagnose(net, X, merge_tol=1e-9).weighted_curvature_ > 0.1
    assert diagnose(net, X, merge_tol=1e-5).weighted_curvature_ == pytest.approx(0.0, abs=1e-12)


# ------------------------------------------------------------------ C5
def test_c5_gauss_newton_sharpness_bounds_the_weighted_curvature():
    """lambda_max(J J^T / n) >= 1 + 2 sum_k |v_k||w_k| g(u_k, t_k), with J built explicitly.

    The same trials also check that the test has power: the bound is nearly
    attained in some trials, and a bound 1.5 times larger (or with P instead of
    P^2) is violated.  Without the output bias, lambda_max >= 2 sum |a| g held
    in every trial as well (not proved; checked here empirically).
    """
    rng = np.random.RandomState(0)
    n_trials, violations, violations_nobias, mutant, ratios = 1500, 0, 0, 0, []
    for _ in range(n_trials):
        d, n, K = rng.randint(1, 6), rng.randint(2, 41), rng.randint(1, 11)
        X = rng.standard_normal((n, d)) * rng.choice([0.3, 1.0, 3.0]) + rng.standard_normal(d) * rng.choice([0, 1])
        W, b, v = random_net(rng, d, K)
        if rng.rand() < 0.2:  # some knots exactly on data points
            on = rng.rand(K) < 0.5
            b[on] = -np.sum(W[on] * X[rng.randint(n, size=on.sum())], axis=1)
        tv = weighted_curvature(Params(W, b, v[:, None], np.zeros(1)), X, per_neuron=True)
        lam = gn_top(X, W, b, v)
        violations += lam < (1 + 2 * tv) * (1 - 1e-9)
        violations_nobias += gn_top(X, W, b, v, output_bias=False) < 2 * tv * (1 - 1e-9)
        mutant += lam < (1 + 3 * tv) * (1 - 1e-9)
        if tv > 0:
            ratios.append((1 + 2 * tv) / lam)
    assert violations == 0
    assert violations_nobias == 0
    assert mutant > 0
    assert max(ratios) > 0.99


def test_c5_fitted_attributes_agree_with_the_explicit_jacobian():
    rng = np.random.RandomState(1)
    for _ in range(30):
        d, n, K = rng.randint(1, 4), rng.randint(3, 30), rng.randint(2, 8)
        X = rng.standard_normal((n, d))
        W, b, v = random_net(rng, d, K)
        c = rng.standard_normal()
        r = diagnose(fitted_net(W, b, v, c), X, rng.standard_normal(n))
        lam = gn_top(X, W, b, v)
        assert r.gn_sharpness_ == pytest.approx(lam, rel=1e-7)
        assert r.gn_sharpness_ >= r.hessian_lower_bound_ * (1 - 1e-9)
        assert r.hessian_lower_bound_ == pytest.approx(1 + 2 * r.weighted_curvature_per_neuron_)
        assert r.weighted_curvature_ <= r.weighted_curvature_per_neuron_ * (1 + 1e-12)
        np.testing.assert_allclose(r.activation_rate_, np.mean(X @ W.T + b > 0, axis=0))


# ------------------------------------------------------------------ C6
def fd_hessian(net, params, batch, fixed_c=False, h=1e-6):
    """Dense Hessian by central differences of the package's gradient."""
    x0 = params.flat()
    dim = x0.size - (params.c.size if fixed_c else 0)
    H = np.empty((dim, dim))
    for i in range(dim):
        e = np.zeros_like(x0)
        e[i] = h
        gp = net.loss_and_grad(params.like(x0 + e), batch)[1].flat()[:dim]
        gm = net.loss_and_grad(params.like(x0 - e), batch)[1].flat()[:dim]
        H[:, i] = (gp - gm) / (2 * h)
    return 0.5 * (H + H.T)


@pytest.mark.parametrize("d,k", [(1, 1), (3, 1), (2, 2)])
def test_c6_lanczos_sharpness_equals_dense_eigenvalue(d, k):
    rng = np.random.RandomState(d + k)
    X = rng.standard_normal((15, d))
    Y = rng.standard_normal((15, k))
    net = ShallowReLURegressor(n_hidden=8, learning_rate=0.05, max_iter=50, random_state=0).fit(X, Y if k > 1 else Y[:, 0])
    r = CurvatureDiagnostics(net, prefit=True).fit(X, Y if k > 1 else Y[:, 0])
    p = r.params_
    params = Params(p.W, p.b, p.v, p.c)
    batch = Batch(X, Y, np.ones(len(X)))
    H = fd_hessian(Network(get_activation("relu"), 1.0), params, batch)
    top = np.linalg.eigvalsh(H)[-1]
    assert r.sharpness_ == pytest.approx(top, rel=1e-6)
    assert r.training_loss_ > 0.01 and abs(r.sharpness_ - r.gn_sharpness_) > 1e-4  # residual terms matter here


def test_c6_without_output_bias_the_intercept_is_not_a_parameter():
    rng = np.random.RandomState(0)
    X = rng.standard_normal((20, 1))
    y = np.sin(3 * X[:, 0])
    model = ShallowReLURegressor(n_hidden=10, fit_intercept=False, learning_rate=0.05, max_iter=50,
                                 random_state=0).fit(X, y)
    r = CurvatureDiagnostics(model, prefit=True).fit(X, y)
    p = r.params_
    assert not p.has_output_bias and r.trained_parameters_ == "all"
    H = fd_hessian(Network(get_activation("relu"), 1.0), Params(p.W, p.b, p.v, p.c), Batch(X, y[:, None], np.ones(20)),
                   fixed_c=True)
    assert r.sharpness_ == pytest.approx(np.linalg.eigvalsh(H)[-1], rel=1e-6)
    assert r.gn_sharpness_ == pytest.approx(gn_top(X, p.W, p.b, p.v[:, 0], output_bias=False), rel=1e-7)
    assert r.hessian_lower_bound_ == pytest.approx(2 * r.weighted_curvature_per_neuron_)
    assert r.gn_sharpness_ >= r.hessian_lower_bound_


# ------------------------------------------------------------------ random-feature networks: the output layer
def output_layer_hessian(X, model, sample_weight=None, centred=True):
    """``F_c^T diag(w) F_c / sum w`` of the features ``relu(X W^T + b) / sqrt(n)``, dense, numpy only.

    The Hessian in ``coef_`` of ``sum w r^2 / (2 sum w)`` with the intercept at
    its optimum (the weighted-centred features), or of the raw features.
    """
    w = np.ones(len(X)) if sample_weight is None else np.asarray(sample_weight, dtype=float)
    F = np.maximum(X @ model.hidden_weights_.T + model.hidden_bias_, 0.0) / np.sqrt(model.n_hidden)
    if centred:
        F = F - (w @ F) / w.sum()
    return F.T @ (w[:, None] * F) / w.sum()


# Tolerance of the comparisons below: the diagnostic runs ARPACK with tol 1e-8 (relative accuracy
# of the Ritz value) on a positive semi-definite matrix, numpy's eigvalsh is backward stable
# (error ~ n eps |H|, 1e-13 here), so 1e-7 relative leaves an order of magnitude.
RF_RTOL = 1e-7


@pytest.mark.parametrize("d,k,weighted,intercept", [(1, 1, False, True), (3, 1, True, True), (2, 2, False, True),
                                                    (3, 1, True, False)])
def test_random_feature_sharpness_is_the_output_layer_hessian(d, k, weighted, intercept):
    rng = np.random.RandomState(d + k)
    X = rng.standard_normal((40, d))
    Y = np.column_stack([np.sin(2 * X[:, 0]), X[:, -1] ** 2])[:, :k]
    y = Y if k > 1 else Y[:, 0]
    sw = rng.uniform(0.0, 3.0, 40) if weighted else None
    model = RandomFeatureReLURegressor(n_hidden=80, solver="gd", max_iter=50, fit_intercept=intercept,
                                       random_state=0).fit(X, y, sample_weight=sw)
    r = CurvatureDiagnostics(model, prefit=True).fit(X, y, sample_weight=sw)
    lam = np.linalg.eigvalsh(output_layer_hessian(X, model, sw, centred=intercept))[-1]
    assert r.trained_parameters_ == "output_layer"
    assert r.sharpness_ == pytest.approx(lam, rel=RF_RTOL)
    assert r.gn_sharpness_ == pytest.approx(lam, rel=RF_RTOL)  # the loss is quadratic in coef_
    assert r.max_stable_learning_rate_ == pytest.approx(2 / lam, rel=RF_RTOL)
    # 'auto' is half the estimator's limit 2 / lambda_max
    assert model.learning_rate_ == pytest.approx(1 / lam, rel=RF_RTOL)
    assert np.isnan(r.hessian_lower_bound_) and r.stability_bound(0.1) == np.inf
    # the function-space side is that of the network as before
    assert r.weighted_curvature_ == pytest.approx(weighted_curvature(model, X, sample_weight=sw), rel=1e-12)


def test_random_feature_stability_agrees_with_the_estimators_limit_on_both_sides():
    # a well-conditioned step of the kind: far below the all-parameter sharpness
    rng = np.random.RandomState(0)
    X = rng.uniform(-1, 1, (60, 2))
    y = np.sin(3 * X[:, 0]) * X[:, 1]
    lam = np.linalg.eigvalsh(output_layer_hessian(
        X, RandomFeatureReLURegressor(n_hidden=100, random_state=0).fit(X, y)))[-1]
    limit = 2 / lam
    for factor, stable in ((0.95, True), (1.05, False)):
        eta = factor * limit
        est = RandomFeatureReLURegressor(n_hidden=100, solver="gd", learning_rate=eta, max_iter=30, random_state=0)
        if stable:
            est.fit(X, y)
        else:  # the estimator refuses a step above its limit ...
            with pytest.raises(ValueError, match="stability limit"):
                est.fit(X, y)
            est = RandomFeatureReLURegressor(n_hidden=100, solver="gd", max_iter=30, random_state=0).fit(X, y)
        r = CurvatureDiagnostics(est, prefit=True).fit(X, y)
        # ... and the diagnostic agrees on which side of 2 / lambda_max the step is
        assert r.is_linearly_stable(eta) is stable
        assert r.is_linearly_stable(eta, rtol=0.0) is stable
    # the all-parameter sharpness of the same network is far larger: that was the old, wrong answer
    p = r.params_
    H = fd_hessian(Network(get_activation("relu"), 1.0), Params(p.W, p.b, p.v, p.c), Batch(X, y[:, None], np.ones(60)))
    assert np.linalg.eigvalsh(H)[-1] > 10 * r.sharpness_


def test_random_feature_penalty_enters_the_sharpness():
    rng = np.random.RandomState(1)
    X = rng.standard_normal((30, 2))
    y = X[:, 0] - X[:, 1] ** 2
    sw = rng.uniform(0.5, 2.0, 30)
    alpha = 3.0
    model = RandomFeatureReLURegressor(n_hidden=50, solver="gd", alpha=alpha, max_iter=20, random_state=0).fit(
        X, y, sample_weight=sw)
    r = CurvatureDiagnostics(model, prefit=True).fit(X, y, sample_weight=sw)
    lam = np.linalg.eigvalsh(output_layer_hessian(X, model, sw))[-1]
    top = lam + alpha / sw.sum()  # Hessian of L + alpha |coef|^2 / (2 sum w)
    assert r.sharpness_ == pytest.approx(top, rel=RF_RTOL)
    assert r.gn_sharpness_ == pytest.approx(lam, rel=RF_RTOL)
    assert model.learning_rate_ == pytest.approx(1 / top, rel=RF_RTOL)
    # the same objective with ridge: the default alpha=1 of solver='ridge' is in it too
    ridge = RandomFeatureReLURegressor(n_hidden=50, random_state=0).fit(X, y, sample_weight=sw)
    rr = CurvatureDiagnostics(ridge, prefit=True).fit(X, y, sample_weight=sw)
    assert rr.sharpness_ == pytest.approx(lam + 1.0 / sw.sum(), rel=RF_RTOL)
    # loss_scale multiplies the whole objective's Hessian
    with pytest.warns(UserWarning, match="loss_scale"):
        r1 = CurvatureDiagnostics(model, prefit=True, loss_scale=1.0).fit(X, y, sample_weight=sw)
    assert r1.sharpness_ == pytest.approx(2 * top, rel=RF_RTOL)


def test_random_feature_cv_uses_its_selected_alpha_and_the_1d_operator():
    from sklearn_shallowrelu import RandomFeatureReLURegressorCV
    from sklearn_shallowrelu._exact1d.operator import operator_1d_helps

    rng = np.random.RandomState(2)
    X = np.sort(rng.uniform(-2, 2, 600))[:, None]
    y = np.sin(2 * X[:, 0])
    n = 2000
    assert operator_1d_helps(len(X), n)  # the O(m + n) operator path of the diagnostic
    model = RandomFeatureReLURegressorCV(n_hidden=n, alphas=[0.1, 1.0], random_state=0).fit(X, y)
    r = CurvatureDiagnostics(model, prefit=True).fit(X, y)
    lam = np.linalg.eigvalsh(output_layer_hessian(X, model))[-1]
    assert r.sharpness_ == pytest.approx(lam + model.alpha_ / len(X), rel=RF_RTOL)


def test_random_feature_in_a_pipeline_and_as_a_scorer():
    from sklearn_shallowrelu.diagnostics import diagnostic_scorer

    rng = np.random.RandomState(3)
    X = rng.uniform(0, 10, (40, 2))
    y = np.sin(X[:, 0])
    pipe = make_pipeline(StandardScaler(), RandomFeatureReLURegressor(n_hidden=60, solver="gd", max_iter=10,
                                                                      random_state=0)).fit(X, y)
    lam = np.linalg.eigvalsh(output_layer_hessian(pipe[0].transform(X), pipe[-1]))[-1]
    assert CurvatureDiagnostics(pipe, prefit=True).fit(X, y).sharpness_ == pytest.approx(lam, rel=RF_RTOL)
    assert diagnostic_scorer("sharpness_")(pipe, X, y) == pytest.approx(lam, rel=RF_RTOL)


# C7 (trained networks on chebyshev-3-20) and C8 (loss_scale) are in test_stability_checks.py


# ------------------------------------------------------------------ estimator API
def test_transform_values_slopes_and_weights_1d():
    rng = np.random.RandomState(0)
    X = rng.uniform(-1, 1, (30, 1))
    y = np.abs(X[:, 0])
    r = CurvatureDiagnostics(ShallowReLURegressor(n_hidden=12, max_iter=50, random_state=0)).fit(X, y)
    Xt = rng.uniform(-1.5, 1.5, (25, 1))
    out = r.transform(Xt)
    assert list(r.get_feature_names_out()) == ["value", "slope", "stability_weight"]
    np.testing.assert_allclose(out[:, 0], r.estimator_.predict(Xt), rtol=1e-12)
    h = 1e-7
    fd = (r.estimator_.predict(Xt + h) - r.estimator_.predict(Xt - h)) / (2 * h)
    np.testing.assert_allclose(out[:, 1], fd, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(out[:, 2], stability_weight(X, Xt[:, 0]), rtol=1e-12)


def test_transform_gradient_norm_multioutput():
    rng = np.random.RandomState(0)
    X = rng.standard_normal((30, 3))
    Y = np.column_stack([X[:, 0] * X[:, 1], np.abs(X[:, 2])])
    r = CurvatureDiagnostics(ShallowReLURegressor(n_hidden=12, max_iter=30, random_state=0)).fit(X, Y)
    assert list(r.get_feature_names_out()) == ["value0", "value1", "gradient_norm0", "gradient_norm1"]
    Xt = rng.standard_normal((10, 3))
    out = r.transform(Xt)
    np.testing.assert_allclose(out[:, :2], r.estimator_.predict(Xt), rtol=1e-12)
    h = 1e-7
    grads = np.stack([(r.estimator_.predict(Xt + h * e) - r.estimator_.predict(Xt - h * e)) / (2 * h)
                      for e in np.eye(3)], axis=-1)  # (m, k, d)
    np.testing.assert_allclose(out[:, 2:], np.linalg.norm(grads, axis=-1), rtol=1e-5, atol=1e-6)
    assert r.ridge_amplitudes_.shape == (12, 2) and r.knots_ is None and r.n_linear_regions_ is None
    per_output = max(np.abs(r.ridge_amplitudes_[:, j]) @ r.ridge_weights_ for j in range(2))
    assert r.hessian_lower_bound_ == pytest.approx(1 + 2 * per_output)
    assert r.gn_sharpness_ >= r.hessian_lower_bound_


def test_prefit_matches_fit_and_copies():
    X = np.linspace(-1, 1, 15)[:, None]
    y = X[:, 0] ** 2
    net = ShallowReLURegressor(n_hidden=10, max_iter=40, random_state=0)
    a = CurvatureDiagnostics(net).fit(X, y)
    assert not hasattr(net, "hidden_weights_")  # the unfitted estimator was cloned
    fitted = net.fit(X, y)
    b = CurvatureDiagnostics(fitted, prefit=True).fit(X, y)
    assert b.estimator_ is not fitted
    for name in ("weighted_curvature_", "sharpness_", "gn_sharpness_", "hessian_lower_bound_"):
        assert getattr(a, name) == pytest.approx(getattr(b, name), rel=1e-12)
    with pytest.raises(NotFittedError):
        CurvatureDiagnostics(ShallowReLURegressor(), prefit=True).fit(X, y)


def test_pipeline_estimator_measures_in_the_network_input_space():
    rng = np.random.RandomState(0)
    X = rng.uniform(0, 10, (25, 1))
    y = np.sin(X[:, 0])
    pipe = make_pipeline(StandardScaler(), ShallowReLURegressor(n_hidden=10, max_iter=30, random_state=0))
    r = CurvatureDiagnostics(pipe).fit(X, y)
    Z = r.estimator_[0].transform(X)
    inner = CurvatureDiagnostics(r.estimator_[-1], prefit=True).fit(Z, y)
    assert r.weighted_curvature_ == pytest.approx(inner.weighted_curvature_, rel=1e-12)
    assert r.sharpness_ == pytest.approx(inner.sharpness_, rel=1e-10)
    np.testing.assert_allclose(r.transform(X), inner.transform(Z), rtol=1e-12)


def test_set_output_pandas_in_a_pipeline():
    pd = pytest.importorskip("pandas")
    X = pd.DataFrame({"x": np.linspace(-1, 1, 12)})
    y = X["x"].to_numpy() ** 2
    pipe = make_pipeline(CurvatureDiagnostics(ShallowReLURegressor(n_hidden=5, max_iter=10, random_state=0)))
    out = pipe.set_output(transform="pandas").fit(X, y).transform(X)
    assert isinstance(out, pd.DataFrame)
    assert list(out.columns) == ["value", "slope", "stability_weight"]


def test_sample_weight_equals_repeated_samples():
    rng = np.random.RandomState(0)
    X = rng.standard_normal((10, 2))
    y = rng.standard_normal(10)
    reps = rng.randint(1, 4, size=10)
    net = ShallowReLURegressor(n_hidden=6, max_iter=20, random_state=0).fit(X, y)
    a = CurvatureDiagnostics(net, prefit=True).fit(X, y, sample_weight=reps)
    b = CurvatureDiagnostics(net, prefit=True).fit(np.repeat(X, reps, axis=0), np.repeat(y, reps))
    for name in ("weighted_curvature_", "weighted_curvature_per_neuron_", "sharpness_", "gn_sharpness_",
                 "training_loss_"):
        assert getattr(a, name) == pytest.approx(getattr(b, name), rel=1e-8)
    np.testing.assert_allclose(a.activation_rate_, b.activation_rate_)


def test_1d_summaries_on_a_hand_built_network():
    # f = relu(x + 0.5) - 2 relu(x) + relu(x - 0.5) + relu(x - 2): a hat on [-0.5, 0.5], a kink at 2 (outside)
    X = np.linspace(-1, 1, 21)[:, None]
    net = fitted_net([[1.0], [2.0], [1.0], [1.0], [0.0]], [0.5, 0.0, -0.5, -2.0, 1.0], [1.0, -1.0, 1.0, 1.0, 3.0])
    r = diagnose(net, X)
    np.testing.assert_allclose(r.merged_knots_, [-0.5, 0.0, 0.5, 2.0])
    np.testing.assert_allclose(r.merged_amplitudes_, [1.0, -2.0, 1.0, 1.0])
    assert np.isnan(r.knots_[4]) and r.ridge_amplitudes_[4] == 0.0
    assert r.total_variation_derivative_ == pytest.approx(5.0)
    assert r.n_linear_regions_ == 4
    g = stability_weight(X, np.array([-0.5, 0.0, 0.5]))
    assert r.weighted_curvature_ == pytest.approx(g @ [1, 2, 1], rel=1e-12)
    assert r.knots_on_data_  # -0.5, 0 and 0.5 are grid points
    assert not diagnose(net, X + 0.025).knots_on_data_


def test_stability_bound_and_is_linearly_stable():
    X = np.linspace(-1, 1, 10)[:, None]
    with pytest.raises(NotFittedError):
        CurvatureDiagnostics().stability_bound(0.1)
    r = diagnose(fitted_net([[1.0]], [0.0], [1.0]), X)
    assert r.trained_parameters_ == "all"
    assert r.stability_bound(0.1) == pytest.approx(9.5)
    assert r.is_linearly_stable(2 / r.sharpness_)
    assert r.is_linearly_stable(2 / r.sharpness_ * 1.005)
    assert not r.is_linearly_stable(2 / r.sharpness_ * 1.05)
    with pytest.raises(ValueError):
        r.stability_bound(0.0)


def test_activations():
    X = np.linspace(-1, 1, 10)[:, None]
    y = X[:, 0] ** 2
    with pytest.raises(ValueError, match="piecewise-linear"):
        CurvatureDiagnostics(ShallowReLURegressor(n_hidden=4, activation="tanh", max_iter=5)).fit(X, y)
    with pytest.raises(ValueError, match="piecewise-linear"):
        weighted_curvature(ShallowReLURegressor(n_hidden=4, activation="tanh", max_iter=5).fit(X, y), X)
    r = diagnose(fitted_net([[2.0]], [0.0], [1.0], activation="leaky_relu"), X)
    np.testing.assert_allclose(r.ridge_amplitudes_, [0.99 * 2.0])
    assert np.isnan(r.hessian_lower_bound_)
    r = diagnose(fitted_net([[2.0]], [0.0], [1.0], activation="abs"), X)
    np.testing.assert_allclose(r.ridge_amplitudes_, [4.0])



# ------------------------------------------------------------------ fast paths = brute force
def _brute_weight_multi(X, S, w):
    """The former dense definition: conditional means over the (n_samples, n_hyperplanes) matrix
    ``S`` of signed distances ``u . x - t`` (given, so that inputs on a hyperplane up to rounding
    are on the same side as in the code under test)."""
    def one_sided(S):
        M = (S > 0) * w[:, None]
        mass = M.sum(axis=0)
        safe = np.where(mass > 0, mass, 1.0)
        g = (mass / w.sum()) ** 2 * np.sum(M * S, axis=0) / safe * np.sqrt(1 + np.sum(((M.T @ X) / safe[:, None]) ** 2, axis=1))
        return np.where(mass > 0, g, 0.0)

    return np.minimum(one_sided(S), one_sided(-S))


def test_weights_rates_and_knot_distances_equal_the_dense_definitions():
    rng = np.random.RandomState(0)
    for d in (1, 3):
        X = np.round(rng.standard_normal((60, d)), 1)  # a grid: inputs on hyperplanes, ties
        sw = rng.uniform(0.2, 3.0, 60)
        W = np.round(rng.standard_normal((40, d)), 1)
        b = np.round(rng.standard_normal(40), 1)
        W[:5] = 0.0  # no ridge: all or nothing active
        b[:5] = [1.0, -1.0, 0.0, 0.5, -0.5]
        W[5:10], b[5:10] = W[10:15], -(X[:5] * W[10:15]).sum(axis=1)  # hyperplanes through inputs
        b[15] = -np.max(X @ W[15]) - 1.0  # outside the data
        net = fitted_net(W, b, rng.standard_normal(40))
        r = CurvatureDiagnostics(net, prefit=True).fit(X, np.zeros(60), sample_weight=sw)
        pre = X @ W.T + b
        np.testing.assert_allclose(r.activation_rate_, sw @ (pre > 0) / sw.sum(), rtol=1e-13, atol=1e-15)
        has = np.linalg.norm(W, axis=1) > 0
        S = pre[:, has] / np.linalg.norm(W[has], axis=1)  # the signs of the pre-activations
        assert np.sum(pre[:, has] == 0) >= 3  # ties: inputs on hyperplanes
        np.testing.assert_allclose(r.ridge_weights_[has], _brute_weight_multi(X, S, sw), rtol=1e-10, atol=1e-14)
        assert r.ridge_weights_[15] == 0.0 and r.knots_on_data_
        U, T = rng.standard_normal((20, d)), rng.standard_normal(20)
        U /= np.linalg.norm(U, axis=1, keepdims=True)
        np.testing.assert_allclose(stability_weight_multi(X, U, T, sw), _brute_weight_multi(X, X @ U.T - T, sw),
                                   rtol=1e-10, atol=1e-14)
        keep = np.flatnonzero(np.linalg.norm(W, axis=1) > 0)[5:]
        for shift, on_data in ((0.0, True), (0.0123457, False)):  # on the grid, then off it
            W2, b2 = W[keep], b[keep] + shift * np.linalg.norm(W[keep], axis=1)
            r2 = CurvatureDiagnostics(fitted_net(W2, b2, np.ones(len(keep))), prefit=True).fit(X, np.zeros(60))
            dense = np.min(np.abs(X @ r2.normals_.T - r2.offsets_))
            assert r2.knots_on_data_ == (dense < 1e-6 * max(1, np.abs(X).max())) == on_data


def test_merging_equals_the_kd_tree_pairs():
    from scipy.spatial import cKDTree

    from sklearn_shallowrelu.diagnostics.curvature import _close_pairs

    rng = np.random.RandomState(0)
    P = rng.standard_normal((300, 4))
    P[100:150] = P[:50] + 1e-10 * rng.standard_normal((50, 4))  # near duplicates
    P[150:160] = P[0]  # exact duplicates
    for tol in (1e-9, 1e-3, 0.5):
        fast = {tuple(sorted(p)) for p in _close_pairs(P, tol)}
        ref = {tuple(p) for p in cKDTree(P).query_pairs(r=tol, output_type="ndarray")}
        assert fast == ref and len(ref) >= 50


# ------------------------------------------------------------------ sample weights are checked
@pytest.mark.parametrize("weights,message", [
    ([1.0, -0.5, 1.0, 1.0], "negative"),
    ([0.0, 0.0, 0.0, 0.0], "sums to zero"),
    ([1.0, np.nan, 1.0, 1.0], "finite"),
    ([1.0, np.inf, 1.0, 1.0], "finite"),
    ([1.0, 1.0], "one weight per sample"),
])
@pytest.mark.parametrize("prefit", [True, False])
def test_bad_sample_weights_raise_a_clear_error(weights, message, prefit, capfd):
    X = np.linspace(-1, 1, 4)[:, None]
    y = X[:, 0] ** 2
    net = ShallowReLURegressor(n_hidden=5, max_iter=3, random_state=0)
    if prefit:
        net.fit(X, y)
    with pytest.raises(ValueError, match=message):
        CurvatureDiagnostics(net, prefit=prefit).fit(X, y, sample_weight=weights)
    assert capfd.readouterr().err == ""  # no solver (LAPACK, ARPACK) message on the way
    w = np.asarray(weights)
    if w.size == 4:
        for call in (lambda: stability_weight(X[:, 0], 0.0, w), lambda: stability_weight_multi(X, [1.0], 0.0, w),
                     lambda: weighted_curvature(net.fit(X, y), X, sample_weight=w)):
            with pytest.raises(ValueError, match=message):
                call()


def test_zero_weights_leave_samples_out():
    X = np.linspace(-1, 1, 9)[:, None]
    y = np.abs(X[:, 0])
    net = ShallowReLURegressor(n_hidden=6, max_iter=20, random_state=0).fit(X, y)
    keep = np.arange(9) % 3 != 0
    a = CurvatureDiagnostics(net, prefit=True).fit(X, y, sample_weight=keep.astype(float))
    b = CurvatureDiagnostics(net, prefit=True).fit(X[keep], y[keep])
    for name in ("weighted_curvature_", "sharpness_", "gn_sharpness_", "training_loss_"):
        assert getattr(a, name) == pytest.approx(getattr(b, name), rel=1e-9)


# ------------------------------------------------------------------ a failed refit changes nothing
def _snapshot(obj):
    """Every attribute: the object itself and a deep copy of its value."""
    import copy

    return {k: (v, copy.deepcopy(v)) for k, v in vars(obj).items()}


def _assert_unchanged(obj, snap):
    assert set(vars(obj)) == set(snap)
    for k, (ref, value) in snap.items():
        now = vars(obj)[k]
        assert now is ref, k  # the same object ...
        if isinstance(value, np.ndarray):  # ... with the same contents (nothing modified in place)
            np.testing.assert_array_equal(now, value, err_msg=k)
        elif isinstance(value, (float, int, bool, str)) or value is None:
            assert now == value or (now != now and value != value), k


@pytest.mark.parametrize("model", ["shallow", "random_features"])
def test_failed_refit_leaves_every_attribute_unchanged(model, monkeypatch):
    from sklearn_shallowrelu.diagnostics import curvature

    rng = np.random.RandomState(0)
    X = rng.standard_normal((30, 2))
    y = np.sin(X[:, 0])
    net = (ShallowReLURegressor(n_hidden=6, max_iter=5, random_state=0) if model == "shallow"
           else RandomFeatureReLURegressor(n_hidden=20, solver="gd", max_iter=5, random_state=0))
    r = CurvatureDiagnostics(net).fit(X, y)
    r.transform(X[:3])
    snap = _snapshot(r)
    # fails late, after the new data passed validation and most attributes were measured
    def broken(*args, **kwargs):
        raise RuntimeError("eigensolver failed")

    monkeypatch.setattr(curvature, "_top_eigenvalue", broken)
    monkeypatch.setattr(curvature, "_output_layer_top_eigenvalue", broken)
    with pytest.raises(RuntimeError, match="eigensolver"):
        r.fit(rng.standard_normal((12, 2)), rng.standard_normal(12))
    _assert_unchanged(r, snap)
    monkeypatch.undo()
    # fails early: other features than the prefit network's
    r.set_params(estimator=r.estimator_, prefit=True)
    snap = _snapshot(r)
    with pytest.raises(ValueError, match="features"):
        r.fit(rng.standard_normal((12, 3)), rng.standard_normal(12))
    _assert_unchanged(r, snap)
    with pytest.raises(ValueError, match="negative"):
        r.fit(X, y, sample_weight=-np.ones(30))
    _assert_unchanged(r, snap)
