"""Weight decay (``alpha``) of ShallowReLURegressor against independent references:
finite differences of a penalty written out here, MLPRegressor's trajectory with
the same penalty, hand-written SGD updates, and the balance of a stationary point."""

import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPRegressor

from sklearn_shallowrelu import ShallowReLURegressor
from sklearn_shallowrelu import _sorted1d
from sklearn_shallowrelu._network import Batch, L2Penalty, Network, Params
from sklearn_shallowrelu.activations import ACTIVATIONS
from sklearn_shallowrelu.diagnostics import CurvatureDiagnostics


def _data(m=40, d=3, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.uniform(-1, 1, (m, d))
    return X, np.sin(2 * X[:, 0]) + X[:, -1]


def _penalty(params, alpha, weight_sum, bias):
    """The penalty as the estimator documents it, written out."""
    total = np.sum(params.W**2) + np.sum(params.v**2) + (np.sum(params.b**2) if bias else 0.0)
    return 0.5 * alpha * total / weight_sum


def _problem(d, k, seed=0, n=7, m=11):
    rng = np.random.RandomState(seed)
    X, Y = rng.standard_normal((m, d)), rng.standard_normal((m, k))
    sw = rng.uniform(0.5, 2, m)
    params = Params(rng.standard_normal((n, d)), rng.standard_normal(n), rng.standard_normal((n, k)),
                    rng.standard_normal(k))
    return Batch(X, Y, sw), params, rng


@pytest.mark.parametrize("d, sorted_path", [(1, False), (1, True), (3, False)])
@pytest.mark.parametrize("bias", [False, True])
def test_gradient_and_hvp_against_finite_differences_of_the_written_out_objective(monkeypatch, d, sorted_path,
                                                                                  bias):
    # sorted_path: the 1-D O((m + n) log(m + n)) step, forced at this small size
    monkeypatch.setattr(_sorted1d, "MIN_PRODUCTS", 0 if sorted_path else 1 << 62)
    batch, params, rng = _problem(d, 2)
    alpha = 0.7
    plain = Network(ACTIVATIONS["relu"], 0.5)
    net = Network(ACTIVATIONS["relu"], 0.5, L2Penalty.weight_decay(alpha, batch.weight_sum, bias))
    assert batch.weight_sum == pytest.approx(np.sum(batch.p) * batch.weight_sum)

    def objective(theta):
        p = params.like(theta)
        return plain.loss(p, batch) + _penalty(p, alpha, batch.weight_sum, bias)

    loss, grad = net.loss_and_grad(params, batch)
    theta = params.flat()
    assert loss == pytest.approx(objective(theta), rel=1e-13)
    assert net.loss(params, batch, penalized=False) == pytest.approx(plain.loss(params, batch), rel=1e-14)
    h = 1e-6
    for _ in range(4):
        u = rng.standard_normal(theta.size)
        fd = (objective(theta + h * u) - objective(theta - h * u)) / (2 * h)
        assert grad.flat() @ u == pytest.approx(fd, rel=1e-6, abs=1e-9)
        Hu = net.hvp(params, batch, params.like(u)).flat()
        gp = net.loss_and_grad(params.like(theta + h * u), batch)[1].flat()
        gm = net.loss_and_grad(params.like(theta - h * u), batch)[1].flat()
        np.testing.assert_allclose(Hu, (gp - gm) / (2 * h), rtol=1e-5, atol=1e-7)


def test_the_penalty_adds_its_diagonal_to_the_dense_hessian():
    batch, params, _ = _problem(2, 1, seed=3)
    alpha = 2.0
    lam = alpha / batch.weight_sum
    plain = Network(ACTIVATIONS["relu"], 1.0)
    net = Network(ACTIVATIONS["relu"], 1.0, L2Penalty.weight_decay(alpha, batch.weight_sum))
    dim = params.flat().size
    H = np.column_stack([plain.hvp(params, batch, params.like(e)).flat() for e in np.eye(dim)])
    mask = params.like(np.zeros(dim))
    mask.W[...], mask.v[...] = lam, lam  # W and v only: biases and c are not penalised
    top = np.linalg.eigvalsh(0.5 * (H + H.T) + np.diag(mask.flat()))[-1]
    assert net.sharpness(params, batch, tol=1e-12) == pytest.approx(top, rel=1e-9)
    assert net.sharpness(params, batch, method="dense") == pytest.approx(top, rel=1e-12)


def _mlp_trajectory(X, y, p0, n, eta, T, alpha, sample_weight=None):
    mlp = MLPRegressor(hidden_layer_sizes=(n,), solver="sgd", batch_size=len(y), momentum=0.0, alpha=alpha,
                       learning_rate_init=eta, learning_rate="constant", shuffle=False, max_iter=1,
                       n_iter_no_change=10**6, tol=0.0, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        mlp.fit(X, y, sample_weight=sample_weight)
        mlp.coefs_ = [p0["hidden_weights"].T.copy(), p0["output_weights"].copy()]
        mlp.intercepts_ = [p0["hidden_bias"].copy(), p0["intercept"].copy()]
        mlp.loss_curve_, mlp.n_iter_, mlp.t_ = [], 0, 0
        mlp.set_params(warm_start=True, max_iter=T).fit(X, y, sample_weight=sample_weight)
    return mlp


@pytest.mark.parametrize("d", [1, 5])
@pytest.mark.parametrize("weighted", [False, True])
def test_gd_with_weight_decay_follows_mlpregressor(d, weighted):
    X, y = _data(d=d)
    sw = np.random.RandomState(1).uniform(0.2, 3.0, len(y)) if weighted else None
    n, T, eta, alpha = 30, 60, 0.05, 0.8
    net = ShallowReLURegressor(n_hidden=n, alpha=alpha, learning_rate=eta, max_iter=T, random_state=0)
    p0 = net.initialize(X, y)
    net.fit(X, y, sample_weight=sw, init_params=p0)
    mlp = _mlp_trajectory(X, y, p0, n, eta, T, alpha, sw)
    np.testing.assert_allclose(net.loss_curve_[:T], mlp.loss_curve_, rtol=1e-10)
    np.testing.assert_allclose(net.predict(X), mlp.predict(X), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(net.hidden_weights_, mlp.coefs_[0].T, rtol=1e-10, atol=1e-12)
    # the penalty changed the trajectory: without it the run ends elsewhere
    free = ShallowReLURegressor(n_hidden=n, learning_rate=eta, max_iter=T).fit(X, y, sample_weight=sw,
                                                                             init_params=p0)
    assert np.max(np.abs(free.hidden_weights_ - net.hidden_weights_)) > 1e-4


def test_loss_curve_is_the_penalised_objective():
    X, y = _data(m=60, d=2)
    sw = np.random.RandomState(2).uniform(0.5, 2.0, len(y))
    alpha = 3.0
    net = ShallowReLURegressor(n_hidden=12, alpha=alpha, penalize_bias=True, learning_rate=0.05, max_iter=30,
                               random_state=0).fit(X, y, sample_weight=sw)
    p = net._params()
    data = Network(ACTIVATIONS["relu"], 1.0).loss(p, Batch(X, y.reshape(-1, 1), sw))
    assert net.loss_curve_[-1] == pytest.approx(data + _penalty(p, alpha, sw.sum(), True), rel=1e-12)
    assert _penalty(p, alpha, sw.sum(), True) > 0.1 * data  # the penalty is a visible part of it


def test_the_validation_loss_is_the_error_only():
    # a huge penalty dwarfs the error; the validation curve must not contain it
    X, y = _data(m=60, d=2)
    net = ShallowReLURegressor(n_hidden=12, alpha=1e6, learning_rate=1e-12, max_iter=3, early_stopping=True,
                               random_state=0).fit(X, y)
    assert net.loss_curve_[0] > 1e3
    assert net.validation_loss_curve_[0] < 0.5 * np.max((np.abs(y) + 3) ** 2)


def test_sgd_batches_use_the_whole_training_sets_weight():
    X, y = _data(m=30, d=2)
    n, eta, alpha, B = 6, 0.05, 1.5, 7
    net = ShallowReLURegressor(n_hidden=n, solver="sgd", batch_size=B, shuffle=False, alpha=alpha,
                               penalize_bias=True, learning_rate=eta, max_iter=2, random_state=0)
    p0 = net.initialize(X, y)
    net.fit(X, y, init_params=p0)
    W, b, v, c = (p0[k].copy() for k in ("hidden_weights", "hidden_bias", "output_weights", "intercept"))
    m, lam = len(y), alpha / len(y)
    for _ in range(2):
        for lo in range(0, m, B):
            Xb, yb = X[lo : lo + B], y[lo : lo + B]
            Z = Xb @ W.T + b
            A = np.maximum(Z, 0)
            r = A @ v[:, 0] + c[0] - yb
            mb = len(yb)
            D = (r[:, None] * v[:, 0][None]) * (Z > 0) / mb
            gW, gb = D.T @ Xb + lam * W, D.sum(0) + lam * b
            gv, gc = A.T @ r[:, None] / mb + lam * v, np.array([r.sum() / mb])
            W, b, v, c = W - eta * gW, b - eta * gb, v - eta * gv, c - eta * gc
    np.testing.assert_allclose(net.hidden_weights_, W, rtol=1e-11, atol=1e-13)
    np.testing.assert_allclose(net.output_weights_, v[:, 0], rtol=1e-11, atol=1e-13)


def test_mirror_descent_with_the_quadratic_potential_is_gd_with_weight_decay():
    X, y = _data()
    kw = dict(n_hidden=20, alpha=0.5, learning_rate=0.1, max_iter=40, random_state=1)
    gd = ShallowReLURegressor(solver="gd", **kw).fit(X, y)
    md = ShallowReLURegressor(solver="mirror", potential="quadratic", **kw).fit(X, y)
    np.testing.assert_allclose(md.loss_curve_, gd.loss_curve_, rtol=1e-12)
    np.testing.assert_allclose(md.hidden_weights_, gd.hidden_weights_, rtol=1e-12)


# starts from which GD reaches a point where the loss is differentiable (from others it can end
# with a knot on a data point, where the gradient is not defined and a fixed step oscillates)
@pytest.mark.parametrize("bias, seed", [(False, 0), (True, 1)])
def test_a_stationary_point_of_weight_decay_is_balanced(bias, seed):
    # at a critical point of L + lam/2 (|W|^2 + |v|^2 [+ |b|^2]), the positive homogeneity
    # of ReLU in (w_k, b_k) -> (t w_k, t b_k), v_k -> v_k / t gives v_k^2 = |w_k|^2 [+ b_k^2]
    # (without bias decay, the rescaling of (w_k, b_k) changes b's cost-free part: only w counts)
    X, y = _data(m=25, d=1)
    net = ShallowReLURegressor(n_hidden=8, alpha=0.5, penalize_bias=bias, max_iter=20000, random_state=seed).fit(X, y)
    W, b, v = net.hidden_weights_, net.hidden_bias_, net.output_weights_
    batch = Batch(X, y.reshape(-1, 1), np.ones(len(y)))
    grad = net._network(batch).loss_and_grad(net._params(), batch)[1].flat()
    assert np.linalg.norm(grad) < 1e-6  # stationary
    hidden = np.sum(W**2, axis=1) + (b**2 if bias else 0.0)
    np.testing.assert_allclose(v**2, hidden, atol=1e-9)
    assert np.max(hidden) > 0.1  # and not the trivial zero network


def test_curvature_diagnostics_see_the_weight_decay():
    X, y = _data(m=30, d=2)
    net = ShallowReLURegressor(n_hidden=10, alpha=5.0, learning_rate=0.05, max_iter=200, random_state=0).fit(X, y)
    diag = CurvatureDiagnostics(net, prefit=True).fit(X, y)
    # the diagnostics' default loss is the package's (loss_scale=0.5), with the penalty
    assert diag.sharpness_ == pytest.approx(net.sharpness(X, y), rel=1e-6)
    unpenalised = net.sharpness(X, y) - 5.0 / len(y)  # at most: the penalty adds alpha / m on W and v only
    plain = CurvatureDiagnostics(net.set_params(alpha=0.0), prefit=True).fit(X, y)
    assert unpenalised - 1e-9 <= plain.sharpness_ < diag.sharpness_


def test_auto_step_grows_back_after_halvings_at_kinks():
    # weight decay, penalised biases: near a kink of the loss the 'auto' step is halved
    # again and again; kept for good it fell to 1e-9 and the run stalled 1.3% above what a
    # fixed step reaches (0.026585 against 0.026246); doubled back after 20 steps in a row
    # without a halving it ends within 0.1% of it
    rng = np.random.RandomState(0)
    x = np.sort(rng.uniform(-1.5, 1.5, 12))
    y = np.sin(3 * x) + 0.1 * rng.standard_normal(12)
    kw = dict(n_hidden=80, alpha=0.05, penalize_bias=True, max_iter=20000, random_state=0)
    auto = ShallowReLURegressor(**kw).fit(x[:, None], y)
    fixed = ShallowReLURegressor(learning_rate=0.05, **kw).fit(x[:, None], y)
    assert auto.loss_curve_[-1] <= fixed.loss_curve_[-1] * 1.002
    slack = 64 * np.finfo(float).eps
    assert np.all(np.diff(auto.loss_curve_) <= slack * auto.loss_curve_[:-1])  # it never raised the loss
