"""MinimumNormNetwork against independent references: Boursier et al.'s closed form,
linear programs on fine knot grids written here, the duality gap of the penalised
problem computed from its definition, and weight-decay training of finite networks
(which can only reach the minimum-norm objective from above)."""

import warnings

import numpy as np
import pytest
from scipy.optimize import linprog

from sklearn_shallowrelu import MinimumNormNetwork, ShallowReLURegressor


def _grid_lp(x, y, grid, penalize_bias, free_constant):
    """min sum omega(c) |a| (+ 2 |e|) s.t. f(x_i) = y_i, units relu(+-(x - c)) for c in grid."""
    knots = np.concatenate([grid, grid])
    signs = np.concatenate([np.ones(len(grid)), -np.ones(len(grid))])
    Phi = np.maximum(signs * (x[:, None] - knots), 0.0)
    omega = 2 * np.sqrt(1 + knots**2) if penalize_bias else np.full(len(knots), 2.0)
    p, one = len(knots), np.ones((len(x), 1))
    if free_constant:
        A, cost = np.hstack([Phi, -Phi, one]), np.concatenate([omega, omega, [0.0]])
        bounds = [(0, None)] * (2 * p) + [(None, None)]
    else:
        A, cost = np.hstack([Phi, -Phi, one, -one]), np.concatenate([omega, omega, [2.0, 2.0]])
        bounds = [(0, None)] * (2 * p + 2)
    res = linprog(cost, A_eq=A, b_eq=y, bounds=bounds, method="highs")
    assert res.status == 0
    return res.fun


def _data(m, seed):
    rng = np.random.RandomState(seed)
    x = np.sort(rng.uniform(-2, 2, m))
    return x, rng.standard_normal(m)


def test_boursier_closed_form():
    X, y = np.array([[-0.5], [2.0]]), np.array([-1.0, 1.0])
    net = MinimumNormNetwork(penalize_bias=True, fit_intercept=False).fit(X, y)
    assert net.norm_ == pytest.approx(2 * (np.sqrt(0.2) + np.sqrt(0.8)), rel=1e-13)
    assert net.norm_ == pytest.approx(2.683282, abs=5e-7)
    grid = np.linspace(-3, 4, 141).reshape(-1, 1)
    expected = np.maximum(0.4 * grid[:, 0] + 0.2, 0) - np.maximum(0.8 - 0.4 * grid[:, 0], 0)
    np.testing.assert_allclose(net.predict(grid), expected, atol=1e-14)
    # the balanced network it reports has that squared norm and that function
    W, b, v = net.hidden_weights_[:, 0], net.hidden_bias_, net.output_weights_
    assert np.sum(W**2) + np.sum(b**2) + np.sum(v**2) == pytest.approx(net.norm_, rel=1e-13)
    np.testing.assert_allclose(np.maximum(grid @ W[None] + b, 0) @ v + net.intercept_, expected, atol=1e-14)


@pytest.mark.parametrize("penalize_bias, fit_intercept", [(True, False), (True, True), (False, True)])
@pytest.mark.parametrize("m, seed", [(8, 1), (25, 3)])
def test_interpolant_against_linear_programs_on_fine_knot_grids(penalize_bias, fit_intercept, m, seed):
    x, y = _data(m, seed)
    net = MinimumNormNetwork(penalize_bias=penalize_bias, fit_intercept=fit_intercept).fit(x.reshape(-1, 1), y)
    np.testing.assert_allclose(net.predict(x.reshape(-1, 1)), y, atol=1e-9 * np.max(np.abs(y)) * m)
    free = fit_intercept or not penalize_bias
    gaps = []
    for n in (401, 4001):
        # the data points are in the grid: a grid LP is the problem restricted to its knots,
        # never below the optimum, and above it by O(h^2) when a kink lies between grid points
        value = _grid_lp(x, y, np.union1d(np.linspace(-8, 8, n), x), penalize_bias, free)
        assert value >= net.norm_ * (1 - 1e-9)
        gaps.append((value - net.norm_) / net.norm_)
    if penalize_bias:
        assert gaps[1] < 1e-5
        assert gaps[1] <= max(gaps[0] / 30, 1e-10)
    else:  # knots at the data are optimal: the grid LP is exact
        assert gaps[1] < 1e-10


def test_with_penalised_biases_the_optimum_needs_knots_between_the_data():
    x, y = _data(25, 3)
    net = MinimumNormNetwork(penalize_bias=True, fit_intercept=False).fit(x.reshape(-1, 1), y)
    inside = ~np.isin(net.knots_, x)
    assert np.sum(inside) >= 1
    data_only = _grid_lp(x, y, x, True, False)  # knots at the data only
    assert data_only > net.norm_ * (1 + 1e-6)
    # without bias penalty the knots are at the data
    plain = MinimumNormNetwork(penalize_bias=False).fit(x.reshape(-1, 1), y)
    assert np.all(np.isin(plain.knots_, x))


@pytest.mark.parametrize("penalize_bias, fit_intercept", [(True, False), (True, True), (False, True)])
@pytest.mark.parametrize("alpha", [1e-3, 0.1, 3.0])
def test_penalised_fit_has_a_zero_duality_gap(penalize_bias, fit_intercept, alpha):
    # dual of  min sum w r^2 / 2 + (alpha / 2) R:  max u.y - u.W^-1.u / 2  over u with
    # |<u, relu(s (x - c))>| <= (alpha / 2) omega(c) for every c and s (and sum u = 0 with a free
    # constant, |sum u| <= alpha otherwise); at the optimum u = W (y - f) and the gap is zero
    rng = np.random.RandomState(2)
    m = 30
    x = np.sort(rng.uniform(-2, 2, m))
    y = np.sin(2 * x) + 0.3 * rng.standard_normal(m)
    w = rng.uniform(0.5, 2.0, m)
    net = MinimumNormNetwork(alpha=alpha, penalize_bias=penalize_bias, fit_intercept=fit_intercept)
    net.fit(x.reshape(-1, 1), y, sample_weight=w)
    f = net.predict(x.reshape(-1, 1))
    u = w * (y - f)
    primal = 0.5 * w @ (f - y) ** 2 + 0.5 * alpha * net.norm_
    dual = u @ y - 0.5 * u @ (u / w)
    assert primal - dual <= 1e-9 * primal
    assert net.objective_ == pytest.approx(primal / w.sum(), rel=1e-12)
    c = np.union1d(np.linspace(-50, 50, 200001), x)
    omega = 2 * np.sqrt(1 + c**2) if penalize_bias else np.full(len(c), 2.0)
    for s in (1.0, -1.0):
        price = np.abs(np.maximum(s * (x[None, :] - c[:, None]), 0) @ u)
        assert np.all(price <= 0.5 * alpha * omega * (1 + 1e-7))
    if fit_intercept or not penalize_bias:
        assert abs(np.sum(u)) <= 1e-9 * np.sum(np.abs(u)) + 1e-14
    else:
        assert abs(np.sum(u)) <= alpha * (1 + 1e-9)


def test_small_alpha_tends_to_the_interpolant_and_a_large_one_to_a_constant():
    x, y = _data(12, 5)
    X = x.reshape(-1, 1)
    interp = MinimumNormNetwork(penalize_bias=True).fit(X, y)
    errs = [np.max(np.abs(MinimumNormNetwork(alpha=a, penalize_bias=True).fit(X, y).predict(X) - y))
            for a in (1e-2, 1e-4, 1e-6)]
    assert errs[0] > errs[1] > errs[2] and errs[2] < 1e-4
    near = MinimumNormNetwork(alpha=1e-7, penalize_bias=True).fit(X, y)
    assert near.norm_ == pytest.approx(interp.norm_, rel=1e-4)
    flat = MinimumNormNetwork(alpha=1e6, penalize_bias=True).fit(X, y)
    np.testing.assert_allclose(flat.predict(X), np.mean(y), atol=1e-12)
    assert flat.norm_ == 0


def test_weights_are_repeated_rows_and_ties_are_pooled():
    x, y = _data(10, 7)
    counts = np.arange(1, 11) % 3 + 1
    kw = dict(alpha=0.05, penalize_bias=True, fit_intercept=False)
    weighted = MinimumNormNetwork(**kw).fit(x.reshape(-1, 1), y, sample_weight=counts)
    repeated = MinimumNormNetwork(**kw).fit(np.repeat(x, counts).reshape(-1, 1), np.repeat(y, counts))
    np.testing.assert_allclose(weighted.norm_, repeated.norm_, rtol=1e-9)
    np.testing.assert_allclose(weighted.predict(x.reshape(-1, 1)), repeated.predict(x.reshape(-1, 1)), atol=1e-9)
    # interpolation of tied inputs: their weighted mean
    Xt, yt = np.array([[0.0], [0.0], [1.0]]), np.array([1.0, 3.0, 0.0])
    tied = MinimumNormNetwork().fit(Xt, yt, sample_weight=[3.0, 1.0, 1.0])
    np.testing.assert_allclose(tied.predict(Xt), [1.5, 1.5, 0.0], atol=1e-12)


def test_weight_decay_training_approaches_it_from_above_as_the_width_grows():
    rng = np.random.RandomState(0)
    X = np.sort(rng.uniform(-1, 1, 15)).reshape(-1, 1)
    y = np.sin(3 * X[:, 0]) + 0.1 * rng.standard_normal(15)
    kw = dict(alpha=0.05, penalize_bias=True)
    mean_gap = []
    for n in (5, 80):
        gaps = []
        for seed in range(3):
            net = ShallowReLURegressor(n_hidden=n, max_iter=10000, random_state=seed, **kw).fit(X, y)
            limit = MinimumNormNetwork.from_estimator(net).fit(X, y)
            # the objective of any network is at least the minimum over all widths
            assert net.loss_curve_[-1] >= limit.objective_ * (1 - 1e-12)
            gaps.append(net.loss_curve_[-1] / limit.objective_ - 1)
        mean_gap.append(np.mean(gaps))
    assert mean_gap[1] < 0.5 * mean_gap[0]
    assert mean_gap[1] < 0.1


def test_from_estimator_maps_the_parametrisation_and_refuses_other_activations():
    net = ShallowReLURegressor(n_hidden=16, parametrization="ntk", alpha=0.2, fit_intercept=False)
    mapped = MinimumNormNetwork.from_estimator(net)
    assert mapped.alpha == pytest.approx(0.2 * 4) and not mapped.fit_intercept
    with pytest.raises(ValueError, match="ReLU"):
        MinimumNormNetwork.from_estimator(ShallowReLURegressor(activation="tanh"))
    with pytest.raises(TypeError):
        MinimumNormNetwork.from_estimator(MinimumNormNetwork())


def test_bad_input_is_refused_with_a_clear_message():
    with pytest.raises(ValueError, match="one input feature"):
        MinimumNormNetwork().fit(np.zeros((3, 2)), np.zeros(3))
    with pytest.raises(ValueError, match="MultiOutputRegressor"):
        MinimumNormNetwork().fit(np.zeros((3, 1)), np.zeros((3, 2)))
    with pytest.raises(ValueError, match="non-zero"):
        MinimumNormNetwork().fit(np.zeros((3, 1)), np.zeros(3), sample_weight=np.zeros(3))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        MinimumNormNetwork().fit(np.array([[1.0]]), np.array([2.0]))


def test_estimator_conventions_in_one_dimension(tmp_path):
    """What scikit-learn's common checks test with several columns, on one column."""
    import pickle

    import pandas as pd
    from sklearn.base import clone
    from sklearn.exceptions import NotFittedError

    x, y = _data(30, 11)
    w = np.random.RandomState(0).uniform(0.5, 2, len(x))
    X = x[:, None]
    est = MinimumNormNetwork(alpha=0.05, penalize_bias=True)
    params = clone(est).get_params()
    est.fit(X, y, sample_weight=w)
    assert est.get_params() == params and est.n_features_in_ == 1
    pred = est.predict(X)
    assert np.array_equal(pickle.loads(pickle.dumps(est)).predict(X), pred)
    np.testing.assert_allclose(clone(est).fit(X, y, sample_weight=w).predict(X), pred, rtol=1e-12)
    np.testing.assert_allclose(clone(est).fit(x[:, None].tolist(), y.tolist(), sample_weight=w.tolist()).predict(X),
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
    assert clone(est).fit(X.astype(np.float32), y).predict(X.astype(np.float32)).dtype == np.float32
    wcopy = w.copy()
    clone(est).fit(X, y, sample_weight=w)
    assert np.array_equal(w, wcopy)
    state = dict(est.__dict__)
    perm = np.random.RandomState(0).permutation(len(x))
    np.testing.assert_allclose(est.predict(X[perm]), pred[perm], rtol=1e-12)
    np.testing.assert_allclose(est.predict(X[:7]), pred[:7], rtol=1e-12)
    assert est.__dict__.keys() == state.keys()
    ints = MinimumNormNetwork(alpha=0.1).fit(np.arange(20)[:, None], np.arange(20) % 3)
    assert np.all(np.isfinite(ints.predict(np.arange(20)[:, None])))
    assert clone(est).fit(X[:1], y[:1]).predict(X[:3]).shape == (3,)
    with pytest.raises(ValueError, match="1 features|one input feature"):
        est.predict(np.column_stack([x, x]))
    with pytest.raises(ValueError, match="sample_weight"):
        clone(est).fit(X, y, sample_weight=w[:-1])
    with pytest.raises(ValueError, match="[Ii]nfinity|NaN"):
        clone(est).fit(np.where(np.arange(len(x))[:, None] == 2, np.inf, X), y)
    with pytest.raises(NotFittedError):
        clone(est).predict(X)


def test_a_small_start_tends_to_the_least_norm_interpolant():
    # Boursier et al.'s two points, no weight decay, no output bias: gradient descent from
    # smaller and smaller starts interpolates with a norm that tends to the least one
    X, y = np.array([[-0.5], [2.0]]), np.array([-1.0, 1.0])
    least = MinimumNormNetwork(penalize_bias=True, fit_intercept=False).fit(X, y)
    grid = np.linspace(-1, 3, 81)[:, None]
    sups, norms = [], []
    for scale in (1e-1, 1e-3):
        net = ShallowReLURegressor(n_hidden=50, init="gaussian", init_scale=scale, fit_intercept=False,
                                   learning_rate=0.05, max_iter=30000, random_state=0).fit(X, y)
        assert net.loss_curve_[-1] < 1e-20
        norms.append(np.sum(net.hidden_weights_**2) + np.sum(net.hidden_bias_**2) + np.sum(net.output_weights_**2))
        sups.append(np.max(np.abs(net.predict(grid) - least.predict(grid))))
    assert norms[0] > norms[1] >= least.norm_ * (1 - 1e-9)  # an interpolant's norm is at least the least
    assert norms[1] < least.norm_ * 1.001
    assert sups[1] < 0.1 * sups[0] and sups[1] < 0.02


def test_degenerate_and_small_problems_from_review():
    # constant and linear targets with penalised biases (a polished structure rejected by its
    # pricing used to crash), one point without output bias (a unit with its knot at -1/x is
    # cheaper than the constant: 2|y| / sqrt(1 + x^2)), targets of scale 1e6
    const = MinimumNormNetwork(penalize_bias=True, fit_intercept=False).fit([[-1.0], [1.0]], [3.0, 3.0])
    # the grid LP (data points included) bounds the optimum from above
    assert const.norm_ <= _grid_lp(np.array([-1.0, 1.0]), np.array([3.0, 3.0]), np.linspace(-8, 8, 1601),
                                   True, False) * (1 + 1e-9)
    one = MinimumNormNetwork(penalize_bias=True, fit_intercept=False).fit([[0.7]], [2.0])
    assert one.norm_ == pytest.approx(4.0 / np.sqrt(1 + 0.49), rel=1e-9)
    assert one.predict([[0.7]])[0] == pytest.approx(2.0, rel=1e-12)
    rng = np.random.default_rng(0)
    x = np.sort(rng.uniform(-1, 1, 20))
    y = 1e6 * rng.standard_normal(20)
    big = MinimumNormNetwork(penalize_bias=True).fit(x[:, None], y)
    np.testing.assert_allclose(big.predict(x[:, None]), y, rtol=1e-9, atol=1e-3)


def test_the_reported_network_with_intercept_realises_the_function():
    net = MinimumNormNetwork(alpha=0.1, penalize_bias=True, fit_intercept=False).fit([[-1.0], [0.0], [1.0]],
                                                                                  [3.0, 3.0, 3.0])
    grid = np.linspace(-2, 2, 41)[:, None]
    hidden = np.maximum(grid @ net.hidden_weights_.T + net.hidden_bias_, 0) @ net.output_weights_
    np.testing.assert_allclose(hidden + net.intercept_, net.predict(grid), atol=1e-12)
    squared = np.sum(net.hidden_weights_**2) + np.sum(net.hidden_bias_**2) + np.sum(net.output_weights_**2)
    assert squared + 2 * abs(net.intercept_) == pytest.approx(net.norm_, rel=1e-12)
