"""ShallowReLURegressor against independent references: MLPRegressor's trajectory,
hand-written updates, conservation laws, the kernel limit and the edge of stability."""

import warnings

import numpy as np
import pytest
from numpy.polynomial import chebyshev
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPRegressor
from sklearn.utils.estimator_checks import parametrize_with_checks

from sklearn_shallowrelu import ShallowReLURegressor
from sklearn_shallowrelu._network import Batch, Params
from sklearn_shallowrelu.datasets import load_jin_montufar
from sklearn_shallowrelu.init import Uniform
from sklearn_shallowrelu.potentials import HyperbolicEntropy


def _data(m=40, d=3, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.uniform(-1, 1, (m, d))
    return X, np.sin(2 * X[:, 0]) + X[:, -1]


def _mlp_trajectory(X, y, p0, n, eta, T):
    """MLPRegressor as full-batch GD from the same start (its loss_curve_[t] is the loss before step t+1)."""
    mlp = MLPRegressor(hidden_layer_sizes=(n,), solver="sgd", batch_size=len(y), momentum=0.0, alpha=0.0,
                       learning_rate_init=eta, learning_rate="constant", shuffle=False, max_iter=1,
                       n_iter_no_change=10**6, tol=0.0, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        mlp.fit(X, y)  # to build its internal state; the start is overwritten next
        mlp.coefs_ = [p0["hidden_weights"].T.copy(), p0["output_weights"].copy()]
        mlp.intercepts_ = [p0["hidden_bias"].copy(), p0["intercept"].copy()]
        mlp.loss_curve_, mlp.n_iter_, mlp.t_ = [], 0, 0
        mlp.set_params(warm_start=True, max_iter=T).fit(X, y)
    return mlp


@pytest.mark.parametrize("d", [1, 5])
def test_gd_trajectory_equals_mlpregressor(d):
    X, y = _data(d=d)
    n, T, eta = 30, 60, 0.05
    net = ShallowReLURegressor(n_hidden=n, learning_rate=eta, max_iter=T, random_state=0)
    p0 = net.initialize(X, y)
    net.fit(X, y, init_params=p0)
    mlp = _mlp_trajectory(X, y, p0, n, eta, T)
    assert net.n_iter_ == T and net.loss_curve_.shape == (T + 1,)
    np.testing.assert_allclose(net.loss_curve_[:T], mlp.loss_curve_, rtol=1e-10)
    np.testing.assert_allclose(net.predict(X), mlp.predict(X), rtol=1e-10, atol=1e-12)


def test_mirror_with_quadratic_potential_is_gd_step_for_step():
    X, y = _data()
    kw = dict(n_hidden=20, learning_rate=0.1, max_iter=40, random_state=1)
    gd = ShallowReLURegressor(solver="gd", **kw).fit(X, y)
    md = ShallowReLURegressor(solver="mirror", potential="quadratic", **kw).fit(X, y)
    np.testing.assert_allclose(md.loss_curve_, gd.loss_curve_, rtol=1e-12)
    np.testing.assert_allclose(md.hidden_weights_, gd.hidden_weights_, rtol=1e-12)


def test_mirror_hyperbolic_entropy_matches_a_direct_update():
    X, y = _data(m=25, d=2)
    beta, eta, T, n = 0.5, 0.05, 30, 8
    net = ShallowReLURegressor(n_hidden=n, solver="mirror", potential=HyperbolicEntropy(beta),
                               learning_rate=eta, max_iter=T, random_state=2)
    p0 = net.initialize(X, y)
    net.fit(X, y, init_params=p0)
    # the update written out: arcsinh((theta_{t+1} - theta_0) / beta) = arcsinh((theta_t - theta_0) / beta) - eta grad
    W, b, v, c = (p0[k].copy() for k in ("hidden_weights", "hidden_bias", "output_weights", "intercept"))
    start = [a.copy() for a in (W, b, v, c)]
    z = [np.zeros_like(a) for a in start]
    m = len(y)
    for _ in range(T):
        Z = X @ W.T + b
        A = np.maximum(Z, 0)
        r = A @ v[:, 0] + c[0] - y
        gv = A.T @ r[:, None] / m
        gc = np.array([r.sum() / m])
        D = (r[:, None] * v[:, 0][None]) * (Z > 0) / m
        grads = [D.T @ X, D.sum(0), gv, gc]
        z = [zi - eta * g for zi, g in zip(z, grads)]
        W, b, v, c = (a0 + beta * np.sinh(zi) for a0, zi in zip(start, z))
    np.testing.assert_allclose(net.hidden_weights_, W, rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(net.output_weights_, v[:, 0], rtol=1e-10, atol=1e-13)


def test_balanced_start_keeps_the_balance_for_small_steps():
    X, y = _data(m=30, d=2)
    net = ShallowReLURegressor(n_hidden=20, output_init="balanced", learning_rate=1e-3, max_iter=2000,
                               record_every=2000, random_state=0).fit(X, y)
    h = net.param_history_
    balance = h["output_weights"][:, :, 0] ** 2 - np.sum(h["hidden_weights"] ** 2, axis=2) - h["hidden_bias"] ** 2
    moved = np.abs(h["output_weights"][-1, :, 0] ** 2 - h["output_weights"][0, :, 0] ** 2)
    assert np.max(moved) > 0.05  # the parameters did move
    # gradient flow conserves v^2 - |(w, b)|^2; GD with step eta does up to O(eta)
    assert np.max(np.abs(balance[-1] - balance[0])) < 0.02 * np.max(moved)


def test_antisymmetric_start_is_zero_and_wider_nets_end_nearer_the_kernel_limit():
    # Jin & Montufar: both layers trained from an antisymmetric start; standard
    # parametrisation; the limit is the kernel interpolant of the init's kernel.
    X, y = load_jin_montufar()
    init = Uniform(1.0, 2.0)
    grid = np.linspace(-2, 2, 201)
    limit = init.kernel(grid, X[:, 0]) @ np.linalg.solve(init.kernel(X[:, 0]), y)
    errors = []
    for n in (40, 160, 640):
        e = []
        for seed in range(3):
            net = ShallowReLURegressor(n_hidden=n, init=init, output_init="antisymmetric", random_state=seed)
            p0 = net.initialize(X, y)
            assert np.max(np.abs(net.set_params(max_iter=1, learning_rate=1e-9).fit(X, y, init_params=p0)
                                 .loss_curve_[0] - 0.5 * np.mean(y**2))) < 1e-12
            eta = 1.0 / net.sharpness(X, y)
            net.set_params(learning_rate=eta, max_iter=15000).fit(X, y, init_params=p0)
            e.append(np.max(np.abs(net.predict(grid.reshape(-1, 1)) - limit)))
        errors.append(np.mean(e))
    assert errors[0] > errors[1] > errors[2]
    assert errors[2] < 0.5 * errors[0]


def test_edge_of_stability_sharpness_hovers_at_two_over_eta():
    # Cohen et al.: 20 evenly spaced points labelled by the Chebyshev polynomial T_3
    X = np.linspace(-1, 1, 20).reshape(-1, 1)
    y = chebyshev.chebval(X[:, 0], [0, 0, 0, 1])
    eta = 0.1
    net = ShallowReLURegressor(n_hidden=100, learning_rate=eta, max_iter=6000, compute_sharpness=True,
                               sharpness_every=100, random_state=0).fit(X, y)
    assert net.sharpness_curve_[0] > 0.9 * 2 / eta  # it starts near the threshold and reaches it
    assert np.median(net.sharpness_curve_[-20:]) == pytest.approx(2 / eta, rel=0.05)
    small = ShallowReLURegressor(n_hidden=100, learning_rate=0.02, max_iter=6000, compute_sharpness=True,
                                 sharpness_every=500, random_state=0).fit(X, y)
    assert np.max(small.sharpness_curve_) < 0.5 * 2 / 0.02  # far below its own threshold


def test_sgd_with_one_batch_is_gd_and_shuffling_is_seeded():
    X, y = _data()
    gd = ShallowReLURegressor(n_hidden=15, learning_rate=0.1, max_iter=20, random_state=0).fit(X, y)
    sgd = ShallowReLURegressor(n_hidden=15, solver="sgd", batch_size=len(y), learning_rate=0.1, max_iter=20,
                               random_state=0).fit(X, y)
    np.testing.assert_allclose(sgd.loss_curve_, gd.loss_curve_, rtol=1e-12)
    a = ShallowReLURegressor(n_hidden=15, solver="sgd", batch_size=7, max_iter=5, random_state=3).fit(X, y)
    b = ShallowReLURegressor(n_hidden=15, solver="sgd", batch_size=7, max_iter=5, random_state=3).fit(X, y)
    np.testing.assert_array_equal(a.loss_curve_, b.loss_curve_)
    assert a.t_ == 5 * int(np.ceil(len(y) / 7))


@pytest.mark.parametrize("learning_rate", [0.05, "auto"])
@pytest.mark.parametrize("solver", ["gd", "sgd", "mirror"])
def test_warm_start_and_partial_fit_continue_the_same_trajectory(solver, learning_rate):
    X, y = _data()
    kw = dict(n_hidden=15, solver=solver, learning_rate=learning_rate, batch_size=9, random_state=0)
    full = ShallowReLURegressor(max_iter=12, **kw).fit(X, y)
    warm = ShallowReLURegressor(max_iter=5, warm_start=True, **kw).fit(X, y)
    warm.set_params(max_iter=7).fit(X, y)
    part = ShallowReLURegressor(**kw)
    for _ in range(12):
        part.partial_fit(X, y)
    for other in (warm, part):
        assert other.n_iter_ == 12
        np.testing.assert_allclose(other.loss_curve_, full.loss_curve_, rtol=1e-12)
        np.testing.assert_allclose(other.predict(X), full.predict(X), rtol=1e-12)
        assert other.learning_rate_ == full.learning_rate_


def test_early_stopping_keeps_the_best_validation_parameters():
    X, y = _data(m=200, d=1)
    y = y + 0.3 * np.random.RandomState(0).standard_normal(200)
    net = ShallowReLURegressor(n_hidden=50, learning_rate=0.2, max_iter=3000, early_stopping=True,
                               n_iter_no_change=50, tol=1e-6, random_state=0).fit(X, y)
    v = net.validation_loss_curve_
    assert net.n_iter_ < 3000 and v.shape == net.loss_curve_.shape
    assert net.best_iteration_ == int(np.argmin(v[1:]) + 1)


def test_plain_gd_runs_exactly_max_iter_and_tol_can_stop_it():
    X, y = _data()
    net = ShallowReLURegressor(n_hidden=10, learning_rate=0.05, max_iter=300, random_state=0).fit(X, y)
    assert net.n_iter_ == 300
    net = ShallowReLURegressor(n_hidden=10, learning_rate=0.05, max_iter=100000, tol=1e-6, random_state=0).fit(X, y)
    assert net.n_iter_ < 100000


def test_bad_input_keeps_the_fitted_model():
    X, y = _data()
    net = ShallowReLURegressor(n_hidden=10, max_iter=20, random_state=0).fit(X, y)
    before = net.predict(X)
    Xn = X.copy()
    Xn[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        net.fit(Xn, y)
    with pytest.raises(ValueError, match="even"):
        ShallowReLURegressor(n_hidden=9, output_init="antisymmetric").fit(X, y)
    with pytest.raises(ValueError, match="init_params"):
        net.fit(X, y, init_params={"hidden_weights": np.ones((3, 3)), "hidden_bias": np.ones(10),
                                   "output_weights": np.ones(10), "intercept": np.ones(1)})
    with pytest.raises(ValueError, match="'hidden' and 'output'"):
        ShallowReLURegressor(solver="mirror", potential={"hidden": "quadratic"}).fit(X, y)
    np.testing.assert_array_equal(net.predict(X), before)


@pytest.mark.parametrize("activation", ["relu", "leaky_relu", "abs"])
def test_knots_and_slope_jumps_rebuild_the_network(activation):
    X, y = _data(d=1)
    net = ShallowReLURegressor(n_hidden=12, activation=activation, learning_rate=0.1, max_iter=50,
                               random_state=0).fit(X, y)
    x0 = net.knots_[0] - 1.0
    grid = np.linspace(x0, net.knots_[-1] + 1.0, 300)
    f0, s0 = net.predict([[x0]])[0], net.predict_derivative([[x0]])[0, 0]
    rebuilt = f0 + s0 * (grid - x0) + np.maximum(grid[:, None] - net.knots_[None], 0) @ net.slope_jumps_
    np.testing.assert_allclose(net.predict(grid.reshape(-1, 1)), rebuilt, rtol=1e-9, atol=1e-10)


@pytest.mark.parametrize("activation", ["relu", "tanh", "x2tanh"])
def test_predict_derivative_against_finite_differences(activation):
    X, y = _data(d=3)
    net = ShallowReLURegressor(n_hidden=20, activation=activation, max_iter=20, random_state=0).fit(X, y)
    h = 1e-6
    for j in range(3):
        E = np.zeros(3)
        E[j] = h
        fd = (net.predict(X + E) - net.predict(X - E)) / (2 * h)
        np.testing.assert_allclose(net.predict_derivative(X)[:, j], fd, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("solver", ["gd", "sgd", "mirror"])
def test_float32_multi_output_and_weights(solver):
    X, y = _data()
    Y = np.column_stack([y, -y])
    sw = np.random.RandomState(0).uniform(0.5, 2, len(y))
    net = ShallowReLURegressor(n_hidden=10, solver=solver, max_iter=30, random_state=0)
    net.fit(X.astype(np.float32), Y.astype(np.float32), sample_weight=sw)
    assert net.predict(X.astype(np.float32)).dtype == np.float32 and net.predict(X).shape == (40, 2)
    assert net.hidden_weights_.dtype == np.float32
    ref = ShallowReLURegressor(n_hidden=10, solver=solver, max_iter=30, random_state=0).fit(X, Y, sample_weight=sw)
    np.testing.assert_allclose(net.predict(X), ref.predict(X), atol=1e-4)


def test_mirror_sharpness_is_preconditioned():
    X, y = _data(m=20, d=1)
    net = ShallowReLURegressor(n_hidden=10, solver="mirror", potential=HyperbolicEntropy(0.5), learning_rate=0.05,
                               max_iter=20, compute_sharpness=True, sharpness_every=20, random_state=0).fit(X, y)
    # at the start the potential's Hessian is 1/beta everywhere: M^{-1/2} H M^{-1/2} = beta H
    plain = ShallowReLURegressor(n_hidden=10, max_iter=1, learning_rate=1e-12, random_state=0).fit(X, y).sharpness(X, y)
    assert net.sharpness_curve_[0] == pytest.approx(0.5 * plain, rel=1e-6)


def test_degenerate_potential_gives_nan_sharpness_not_a_crash():
    X, y = _data(m=20, d=1)
    net = ShallowReLURegressor(n_hidden=8, solver="mirror", potential="power", learning_rate=0.01, max_iter=10,
                               compute_sharpness=True, sharpness_every=5, random_state=0).fit(X, y)
    assert np.isnan(net.sharpness_curve_[0])  # phi''(0) = 0 for |x|^3: undefined at the start
    # a step that diverges at once: the message says why no sharpness is given, instead of crashing
    with pytest.raises(ValueError, match="no sharpness is defined"):
        ShallowReLURegressor(n_hidden=8, solver="mirror", potential="power", learning_rate=1e3, max_iter=50,
                             random_state=0).fit(X, y)


def test_refit_removes_stale_knots():
    X, y = _data(d=1)
    net = ShallowReLURegressor(n_hidden=10, max_iter=5, random_state=0).fit(X, y)
    assert hasattr(net, "knots_")
    net.set_params(activation="tanh").fit(X, y)
    assert not hasattr(net, "knots_") and not hasattr(net, "slope_jumps_")
    net.set_params(activation="relu").fit(np.hstack([X, X]), y)
    assert not hasattr(net, "knots_")


@pytest.mark.parametrize("solver", ["gd", "mirror"])
def test_without_intercept_c_stays_zero_and_the_rest_follows_its_gradient(solver):
    X, y = _data()
    kw = dict(n_hidden=20, solver=solver, potential="quadratic", learning_rate=0.1, max_iter=30, random_state=0)
    with_c = ShallowReLURegressor(**kw)
    net = ShallowReLURegressor(fit_intercept=False, **kw)
    p0 = net.initialize(X, y)
    assert np.all(p0["intercept"] == 0) and np.any(with_c.initialize(X, y)["intercept"] != 0)
    for key in ("hidden_weights", "hidden_bias", "output_weights"):  # same draws as with an intercept
        np.testing.assert_array_equal(p0[key], with_c.initialize(X, y)[key])
    net.fit(X, y)
    assert net.intercept_ == 0.0
    # hand-written GD on (W, b, v) with c = 0, from the network's gradient (finite-difference tested)
    network, batch = net._network(), Batch(X, y[:, None], np.ones(len(y)))
    p = Params(p0["hidden_weights"], p0["hidden_bias"], p0["output_weights"], p0["intercept"])
    for _ in range(30):
        g = network.loss_and_grad(p, batch)[1]
        p = Params(p.W - 0.1 * g.W, p.b - 0.1 * g.b, p.v - 0.1 * g.v, p.c)
    np.testing.assert_allclose(net.hidden_weights_, p.W, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(net.output_weights_, p.v[:, 0], rtol=1e-12, atol=1e-14)
    assert net.loss_curve_[-1] == pytest.approx(network.loss(p, batch), rel=1e-12)


@pytest.mark.parametrize("solver", ["gd", "sgd", "mirror"])
def test_without_intercept_multi_output_intercepts_are_zeros(solver):
    X, y = _data()
    Y = np.column_stack([y + 3.0, -y])  # an offset the intercept would have taken
    net = ShallowReLURegressor(n_hidden=10, solver=solver, potential="hyperbolic_entropy", fit_intercept=False,
                               max_iter=20, random_state=0).fit(X, Y)
    np.testing.assert_array_equal(net.intercept_, np.zeros(2))
    assert net.intercept_.shape == (2,) and net.loss_curve_[-1] < net.loss_curve_[0]


def test_without_intercept_the_sharpness_leaves_out_c():
    X, y = _data(m=20, d=1)
    net = ShallowReLURegressor(n_hidden=8, fit_intercept=False, max_iter=5, compute_sharpness=True,
                               sharpness_every=5, random_state=0).fit(X, y)
    params, batch = net._params(), Batch(X, y[:, None], np.ones(len(y)))
    dim = params.flat().size
    H = np.column_stack([net._network().hvp(params, batch, params.like(e)).flat() for e in np.eye(dim)])
    top_trained, top_all = np.linalg.eigvalsh(H[:-1, :-1])[-1], np.linalg.eigvalsh(H)[-1]
    assert top_all > top_trained * (1 + 1e-3)  # the intercept's curvature would change the answer
    assert net.sharpness(X, y) == pytest.approx(top_trained, rel=1e-6)
    assert net.sharpness_curve_[-1] == pytest.approx(top_trained, rel=1e-6)


def test_without_intercept_init_params_may_leave_it_out_but_not_set_it():
    X, y = _data()
    net = ShallowReLURegressor(n_hidden=6, fit_intercept=False, max_iter=3, random_state=0)
    p0 = net.initialize(X, y)
    net.fit(X, y, init_params={k: a for k, a in p0.items() if k != "intercept"})
    assert net.intercept_ == 0.0
    with pytest.raises(ValueError, match="must be zero"):
        net.fit(X, y, init_params={**p0, "intercept": np.ones(1)})


@parametrize_with_checks([ShallowReLURegressor(n_hidden=50, fit_intercept=False, max_iter=300, random_state=0)])
def test_sklearn_checks_without_intercept(estimator, check):
    check(estimator)


# ---------------------------------------------------------------- learning_rate='auto'


def _diabetes(m=None):
    from sklearn.datasets import load_diabetes
    from sklearn.preprocessing import StandardScaler

    X, y = load_diabetes(return_X_y=True)  # raw targets, 25 to 346
    X = StandardScaler().fit_transform(X)
    return (X, y) if m is None else (X[:m], y[:m])


def _dense_hessian(net, X, y, params=None):
    params = net._params() if params is None else params
    batch = Batch(X, np.reshape(y, (len(y), -1)), np.ones(len(y)))
    dim = params.flat().size
    H = np.column_stack([net._network().hvp(params, batch, params.like(e)).flat() for e in np.eye(dim)])
    return 0.5 * (H + H.T)


def test_default_converges_on_raw_diabetes_targets():
    from sklearn.model_selection import cross_val_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.datasets import load_diabetes

    X, y = load_diabetes(return_X_y=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)  # no divergence in any fold
        scores = cross_val_score(make_pipeline(StandardScaler(), ShallowReLURegressor(random_state=0)), X, y, cv=5)
    # a fixed step of 0.01 (the former default) gives R^2 of -2e7 here; hand-tuned steps 0.44 to 0.50
    assert np.all(np.isfinite(scores)) and np.all(scores > 0.3)
    net = ShallowReLURegressor(random_state=0).fit(*_diabetes())
    assert np.all(np.diff(net.loss_curve_) <= 64 * np.finfo(float).eps * net.loss_curve_[:-1])
    assert net.n_iter_ == 200 and 0 < net.learning_rate_ < 2 / net.sharpness(*_diabetes())


@pytest.mark.parametrize("solver", ["gd", "mirror"])
def test_auto_step_is_half_the_stability_limit_at_the_start(solver):
    # one step, and small targets: nothing is rejected, so learning_rate_ is the estimate
    X, y = _data(m=30, d=2)
    beta = 0.5
    net = ShallowReLURegressor(n_hidden=12, solver=solver, potential=HyperbolicEntropy(beta), max_iter=1,
                               random_state=0)
    net.fit(X, y, init_params=net.initialize(X, y))
    H = _dense_hessian(net, X, y, Params(*(np.reshape(a, s) for a, s in zip(
        net.initialize(X, y).values(), [(12, 2), (12,), (12, 1), (1,)]))))
    top = np.max(np.abs(np.linalg.eigvalsh(H)))
    if solver == "mirror":
        top *= beta  # M = I / beta at the start: M^{-1/2} H M^{-1/2} = beta H
    assert net.loss_curve_[1] < net.loss_curve_[0]
    # the power iteration approaches |lambda|_max from below; 20 steps come within 20 % here.
    # Converged, the two agree to rounding: eigvalsh's top eigenvalue is exact to about
    # n eps |H| (n = 49 parameters), and the step 1 / lambda rounds once more
    assert 1.0 - 64 * H.shape[0] * np.finfo(float).eps <= net.learning_rate_ * top <= 1.2


@pytest.mark.parametrize("solver", ["gd", "sgd", "mirror"])
@pytest.mark.parametrize("scale", [1e-2, 1.0, 1e4])
def test_auto_never_raises_the_loss_whatever_the_targets_scale(solver, scale):
    X, y = _data(m=60, d=2)
    y = scale * (3.0 + y)
    net = ShallowReLURegressor(n_hidden=30, solver=solver, potential="hyperbolic_entropy", batch_size=20,
                               max_iter=100, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        net.fit(X, y)
    curve = net.loss_curve_
    assert np.all(np.isfinite(curve)) and np.all(np.diff(curve) <= 64 * np.finfo(float).eps * curve[:-1])
    assert net.n_iter_ == 100 and curve[-1] < 0.1 * curve[0]
    # an affine change of the targets' scale changes the step by about its square (the
    # output weights and the curvature along the hidden layer grow with the scale)
    assert np.isfinite(net.learning_rate_) and net.learning_rate_ > 0


# ---------------------------------------------------------------- divergence


@pytest.mark.parametrize("solver, extra", [("gd", {}), ("sgd", {"batch_size": 60}),
                                           ("mirror", {"potential": "hyperbolic_entropy"})])
def test_divergence_keeps_the_best_iterate_and_names_the_targets_scale(solver, extra):
    X, y = _diabetes(m=120)
    kw = dict(n_hidden=20, solver=solver, learning_rate=0.02, random_state=0, **extra)
    net = ShallowReLURegressor(**kw)
    with pytest.warns(ConvergenceWarning, match=r"(?s)standard deviation 7\d.*TransformedTargetRegressor.*'auto'"):
        net.fit(X, y)
    # rolled back to the iterate of lowest training loss: the curves end there
    assert 1 <= net.n_iter_ < 200 and net.loss_curve_.shape == (net.n_iter_ + 1,)
    assert net.loss_curve_[-1] == np.min(net.loss_curve_) < net.loss_curve_[0]
    assert net.t_ == net.n_iter_ * (2 if solver == "sgd" else 1)
    # the same trajectory stopped there by max_iter
    ref = ShallowReLURegressor(max_iter=net.n_iter_, **kw).fit(X, y)
    np.testing.assert_array_equal(net.predict(X), ref.predict(X))
    # and a consistent state to continue from with a stable step
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        net.set_params(warm_start=True, learning_rate=1e-4, max_iter=3).fit(X, y)
    assert net.n_iter_ == ref.n_iter_ + 3 and net.loss_curve_[-1] < ref.loss_curve_[-1]


@pytest.mark.parametrize("refit", ["fit", "partial_fit", "warm_start"])
def test_a_refit_that_diverges_at_once_raises_and_keeps_the_model_bit_for_bit(refit):
    X, y = _data()
    net = ShallowReLURegressor(n_hidden=30, max_iter=300, random_state=0).fit(X, y)
    assert net.score(X, y) > 0.8
    before = {key: np.copy(val) for key, val in vars(net).items() if key.endswith("_") and val is not None}
    pred = net.predict(X)
    net.set_params(learning_rate=1e6)  # blows up in one step: partial_fit takes only one
    with pytest.raises(ValueError, match=r"(?s)no step improved.*exceeds the stability limit.*"
                                         r"sharpness at the kept parameters.*below"):
        if refit == "fit":
            net.fit(X, y)
        elif refit == "partial_fit":
            net.partial_fit(X, y)
        else:
            net.set_params(warm_start=True).fit(X, y)
    np.testing.assert_array_equal(net.predict(X), pred)
    for key, val in before.items():
        np.testing.assert_array_equal(getattr(net, key), val)
    # the kept state is intact too: continuing with the old step follows the old trajectory
    cont = net.set_params(learning_rate="auto", warm_start=True, max_iter=5).fit(X, y)
    ref = ShallowReLURegressor(n_hidden=30, max_iter=300, random_state=0, warm_start=True).fit(X, y)
    ref.set_params(max_iter=5).fit(X, y)
    np.testing.assert_array_equal(cont.loss_curve_, ref.loss_curve_)


def test_divergence_message_does_not_blame_standardized_targets():
    X, y = _data()
    with pytest.raises(ValueError) as info:
        ShallowReLURegressor(n_hidden=30, learning_rate=100.0, random_state=0).fit(X, y)
    assert "standard deviation" not in str(info.value) and "learning_rate='auto'" in str(info.value)


def test_divergence_message_bounds_the_memory_of_its_sharpness_estimate():
    from sklearn import config_context

    X, y = _data(m=40, d=3)
    net = ShallowReLURegressor(n_hidden=2000, learning_rate=100.0, random_state=0)
    # about 4 MiB for Lanczos and 1.1 MiB for the power iteration on 10^4 parameters
    with config_context(working_memory=2), pytest.raises(ValueError, match="power iteration"):
        net.fit(X, y)
    with config_context(working_memory=0.5), pytest.raises(ValueError, match=r"not estimated.*working_memory"):
        net.fit(X, y)


def test_a_wide_diverging_network_reports_quickly():
    from sklearn import config_context
    import time

    # 9 * 10^5 parameters on 60 samples: Lanczos would need 380 MB, the power iteration 100 MB
    X = np.linspace(-1, 1, 60).reshape(-1, 1)
    y = 100 * np.sin(3 * X[:, 0])
    started = time.perf_counter()
    with config_context(working_memory=16), pytest.raises(ValueError, match=r"(?s)standard deviation.*not estimated"):
        ShallowReLURegressor(n_hidden=3 * 10**5, learning_rate=10.0, random_state=0).fit(X, y)
    assert time.perf_counter() - started < 60


# ---------------------------------------------------------------- input checks and memory


def test_init_params_with_wrong_keys_names_them():
    X, y = _data()
    net = ShallowReLURegressor(n_hidden=6, max_iter=3, random_state=0)
    p0 = net.initialize(X, y)
    bad = {("hidden_weight" if k == "hidden_weights" else k): a for k, a in p0.items()}
    with pytest.raises(ValueError, match=r"missing: \['hidden_weights'\], unexpected: \['hidden_weight'\]"):
        net.fit(X, y, init_params=bad)
    with pytest.raises(ValueError, match=r"missing: \['intercept'\], unexpected: none"):
        net.fit(X, y, init_params={k: a for k, a in p0.items() if k != "intercept"})
    with pytest.raises(ValueError, match="must be a dict"):
        net.fit(X, y, init_params=[1, 2])
    assert not hasattr(net, "n_features_in_")  # nothing of the failed fits stayed


def test_a_network_that_cannot_fit_in_memory_is_refused_before_allocating():
    import time

    X, y = _data(m=60, d=1)
    started = time.perf_counter()
    # 3 * 10^12 parameters: 24 TB each copy
    with pytest.raises(MemoryError, match=r"n_hidden=1000000000000\).*smaller n_hidden"):
        ShallowReLURegressor(n_hidden=10**12).fit(X, y)
    with pytest.raises(MemoryError, match="smaller n_hidden"):
        ShallowReLURegressor(n_hidden=10**12).initialize(X, y)
    assert time.perf_counter() - started < 5


def test_the_memory_prediction_names_the_part_that_does_not_fit(monkeypatch):
    import sklearn_shallowrelu.shallow as shallow

    X, y = _data(m=60, d=1)
    # 3 * 10^5 parameters (2.4 MB an array) on 60 samples: about 22 MB for training, 82 MB
    # for the 'auto' step's power iteration (with the 48 MB of 60 x 10^5 activations), 180 MB
    # with Lanczos
    monkeypatch.setattr(shallow, "available_memory", lambda: 150 * 2**20)
    ShallowReLURegressor(n_hidden=10**5, max_iter=2, random_state=0).fit(X, y)
    with pytest.raises(MemoryError, match=r"compute_sharpness.*compute_sharpness=False"):
        ShallowReLURegressor(n_hidden=10**5, compute_sharpness=True, max_iter=2).fit(X, y)
    with pytest.raises(MemoryError, match="record_every"):  # 41 snapshots
        ShallowReLURegressor(n_hidden=10**5, record_every=1, max_iter=40).fit(X, y)
    with pytest.raises(MemoryError, match=r"about \d+ would fit"):
        ShallowReLURegressor(n_hidden=10**6, max_iter=2).fit(X, y)


def test_wide_predictions_in_row_blocks_match_the_formula():
    rng = np.random.RandomState(0)
    X = rng.standard_normal((300, 3))
    net = ShallowReLURegressor(n_hidden=5000, max_iter=2, random_state=0).fit(X, X[:, 0])  # 105 rows a block
    W, b, v, c = net.hidden_weights_, net.hidden_bias_, net.output_weights_, net.intercept_
    Z = X @ W.T + b
    np.testing.assert_allclose(net.predict(X), np.maximum(Z, 0) @ v + c, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(net.predict_derivative(X), ((Z > 0) * v) @ W, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("gauss_newton", [False, True])
def test_sharpness_with_activations_recomputed_in_row_chunks(gauss_newton):
    from sklearn import config_context

    X, y = _data(m=50, d=2)
    net = ShallowReLURegressor(n_hidden=400, max_iter=20, random_state=0).fit(X, np.column_stack([y, -y]))
    cached = net.sharpness(X, np.column_stack([y, -y]), gauss_newton=gauss_newton)
    with config_context(working_memory=0.05):  # 50 x 400 doubles are 0.15 MiB: recomputed in chunks
        chunked = net.sharpness(X, np.column_stack([y, -y]), gauss_newton=gauss_newton)
    # the same products up to rounding (Lanczos against the dense Hessian: tests/test_network.py)
    assert chunked == pytest.approx(cached, rel=1e-10)


def test_a_fixed_step_that_ends_worse_than_its_start_warns():
    """No blow-up, but a useless model: the final loss is above twice the starting one."""
    rng = np.random.RandomState(0)
    X, y = rng.standard_normal((20, 2)), rng.standard_normal(20)
    with pytest.warns(ConvergenceWarning, match="above its value at the start") as record:
        net = ShallowReLURegressor(n_hidden=3, learning_rate=2.0, max_iter=100, random_state=0).fit(X, y)
    assert net.loss_curve_[-1] > 2 * net.loss_curve_[0]
    assert record[0].filename == __file__
    with warnings.catch_warnings():  # a stable step that helps does not warn
        warnings.simplefilter("error", ConvergenceWarning)
        net = ShallowReLURegressor(n_hidden=3, learning_rate=0.1, max_iter=100, random_state=0).fit(X, y)
    assert net.loss_curve_[-1] < net.loss_curve_[0]
