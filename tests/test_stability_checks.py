"""Minima stability after training (check C7) and the loss-normalisation guard (C8).

C7 as first stated -- "``weighted_curvature_`` at eta = 0.2 is
below that at eta = 0.02 on chebyshev-3-20" (0.326 against 0.414 there) -- was
not reproduced, and the tests below document why instead of asserting it:

* every interpolant of chebyshev-3-20 has ``weighted_curvature_ >= T* =
  0.3968`` (the linear interpolant, optimal in a linear programme over 2000
  knots), so the 0.326 reported for it at a final loss of 3.7e-4 describes a run
  that had not interpolated, not a flatter interpolant;
* where GD still interpolates (eta <= 0.2) the bound ``1 / eta - 1 / 2 >= 4.5``
  is at least ten times the weighted curvature: the stability constraint is not
  active and selects nothing in function space; at eta >= 0.3 GD no longer fits
  the data;
* measured over three seeds and four step sizes, the converged runs all land
  within about 12% of T*; at equal numbers of steps the median even *rises*
  with eta (larger steps fit further), and at 60k steps the
  sign of ``TV(0.2) - TV(0.02)`` depends on the seed (+0.000, +0.013, +0.062).

What the step size does order is the sharpness (edge of stability and
catapult), and the bound holds wherever the run converged; both are asserted.
"""

import warnings

import numpy as np
import pytest
from scipy.optimize import linprog

from sklearn_shallowrelu import ShallowReLURegressor
from sklearn_shallowrelu.diagnostics import CurvatureDiagnostics, stability_weight

ETAS = (0.02, 0.05, 0.1, 0.2)
SEEDS = (0, 1, 2)
# 8k steps instead of the 60k of the original statement: enough for every run with eta >= 0.05
# to reach a final loss below CONVERGED and for eta = 0.1 to sit at the edge of
# stability; eta = 0.02 is then still fitting and is excluded from the checks that
# need convergence (at 60k steps its loss is 1.6e-4 to 5.5e-4, its curvature no lower)
MAX_ITER = 8000
CONVERGED = 1e-3


def chebyshev_3_20():
    X = np.linspace(-1, 1, 20).reshape(-1, 1)
    return X, 4 * X[:, 0] ** 3 - 3 * X[:, 0]


def min_weighted_curvature_of_interpolants(x, y, n_grid=2001):
    """``min sum_k |a_k| g_s(c_k)`` over ``f = alpha + beta x + sum_k a_k relu(x - c_k)`` with
    ``f(x_i) = y_i``, knots on a grid that contains the inputs (a linear programme).

    Knots outside the data cost nothing (``g_s = 0`` there), so this is the smallest
    ``weighted_curvature_`` of any interpolating network with an output bias, up to the grid.
    """
    c = np.unique(np.concatenate([np.linspace(x.min(), x.max(), n_grid)[1:-1], x[1:-1]]))
    g = stability_weight(x, c)
    hinge = np.maximum(x[:, None] - c[None, :], 0.0)
    A = np.hstack([np.ones((x.size, 1)), x[:, None], hinge, -hinge])
    res = linprog(np.concatenate([[0.0, 0.0], g, g]), A_eq=A, b_eq=y,
                  bounds=[(None, None)] * 2 + [(0, None)] * (2 * c.size), method="highs")
    assert res.status == 0
    return res.fun


@pytest.fixture(scope="module")
def step_size_runs():
    """CurvatureDiagnostics of ShallowReLURegressor(n_hidden=100) (PyTorch init, output bias,
    full-batch GD) on chebyshev-3-20, per (eta, seed)."""
    X, y = chebyshev_3_20()
    runs = {}
    for eta in ETAS:
        for seed in SEEDS:
            net = ShallowReLURegressor(n_hidden=100, learning_rate=eta, max_iter=MAX_ITER, random_state=seed)
            with warnings.catch_warnings():
                warnings.simplefilter("error")  # a divergence warning would mean another regime
                net.fit(X, y)
            runs[eta, seed] = CurvatureDiagnostics(net, prefit=True).fit(X, y)
    return runs


# ------------------------------------------------------------------ C7
def test_chebyshev_interpolants_have_weighted_curvature_at_least_0_3968():
    X, y = chebyshev_3_20()
    x = X[:, 0]
    t_star = min_weighted_curvature_of_interpolants(x, y)
    slopes = np.diff(y) / np.diff(x)
    linear_interpolant = np.sum(np.abs(np.diff(slopes)) * stability_weight(x, x[1:-1]))
    assert t_star == pytest.approx(linear_interpolant, rel=1e-6)
    assert t_star == pytest.approx(0.3968, abs=1e-4)
    # the 0.326 once reported at eta = 0.2 is out of reach for any interpolant
    assert 0.326 < 0.85 * t_star


def test_step_size_orders_the_sharpness_not_the_weighted_curvature(step_size_runs):
    """chebyshev-3-20, width 100, GD, 8k steps, three seeds, eta in {0.02, 0.05, 0.1, 0.2}.

    Measured (seeds 0, 1, 2): sharpness_ 23.1/25.3/20.9, 24.0/26.2/22.1, 20.0/20.0/20.0,
    5.7/4.3/5.7; weighted_curvature_ 0.353/0.335/0.337 (eta = 0.02, loss ~2e-3, not
    converged), 0.384/0.370/0.350, 0.396/0.393/0.350, 0.397/0.397/0.422.
    """
    runs = step_size_runs
    X, y = chebyshev_3_20()
    t_star = min_weighted_curvature_of_interpolants(X[:, 0], y)
    converged = {key: r for key, r in runs.items() if r.training_loss_ < CONVERGED}
    assert {eta for eta, _ in converged} >= {0.05, 0.1, 0.2}

    # the bound holds wherever the run converged, and is linear stability itself
    for (eta, seed), r in converged.items():
        bound = r.stability_bound(eta)
        assert (r.sharpness_ - 1) / 2 <= bound * 1.02, (eta, seed)
        assert r.is_linearly_stable(eta)
        assert r.weighted_curvature_ <= (r.gn_sharpness_ - 1) / 2
        assert r.sharpness_ >= r.gn_sharpness_ * (1 - 1e-3)  # near a minimum the Hessian is the GN matrix
        # ... but it is inactive: ten times the curvature or more, so it selects nothing
        assert r.weighted_curvature_ <= bound / 10, (eta, seed)
        # every converged run sits close to the smallest curvature an interpolant can have
        assert 0.85 * t_star <= r.weighted_curvature_ <= 1.12 * t_star, (eta, seed, r.weighted_curvature_)

    sharp = {eta: np.median([runs[eta, s].sharpness_ for s in SEEDS]) for eta in ETAS}
    # edge of stability at eta = 0.1 (2 / eta = 20), catapult far below 2 / eta at eta = 0.2
    for s in SEEDS:
        assert 19.8 <= runs[0.1, s].sharpness_ <= 20.2
        assert runs[0.2, s].sharpness_ <= 0.6 * 2 / 0.2
    assert sharp[0.2] < sharp[0.1] < min(sharp[0.02], sharp[0.05])

    # the ordering TV(0.2) < TV(0.02) of the original statement does not hold at equal step counts:
    # the large-step runs have fitted further and sit at (not below) the interpolation floor
    tv = {eta: np.median([runs[eta, s].weighted_curvature_ for s in SEEDS]) for eta in ETAS}
    assert tv[0.2] >= tv[0.02]


# ------------------------------------------------------------------ C8
def test_loss_scale_doubles_the_sharpness_and_halves_the_admissible_step(step_size_runs):
    """GD with step eta on the package's loss is GD with step eta / 2 on the mean squared error
    without the half: the run at eta = 0.1 is at the edge of stability of both."""
    X, y = chebyshev_3_20()
    half = step_size_runs[0.1, 0]
    with pytest.warns(UserWarning, match=r"loss_scale=1\b.*ShallowReLURegressor.*loss_scale=0.5"):
        full = CurvatureDiagnostics(half.estimator_, prefit=True, loss_scale=1.0).fit(X, y)
    for name in ("sharpness_", "gn_sharpness_", "hessian_lower_bound_", "training_loss_"):
        assert getattr(full, name) == pytest.approx(2 * getattr(half, name), rel=1e-8), name
    for name in ("weighted_curvature_", "weighted_curvature_per_neuron_"):
        assert getattr(full, name) == getattr(half, name)
    assert full.max_stable_learning_rate_ == pytest.approx(half.max_stable_learning_rate_ / 2, rel=1e-8)
    assert half.max_stable_learning_rate_ == pytest.approx(0.1, rel=0.01)
    assert full.max_stable_learning_rate_ == pytest.approx(0.05, rel=0.01)
    assert half.is_linearly_stable(0.1) and not half.is_linearly_stable(0.2)
    assert full.is_linearly_stable(0.05) and not full.is_linearly_stable(0.1)
    # the step that the bound 1 / (2 loss_scale eta) - 1 / 2 admits halves too
    for eta in (0.05, 0.1, 0.3):
        assert full.stability_bound(eta / 2) == pytest.approx(half.stability_bound(eta))
    assert full.stability_bound(0.1) == pytest.approx(1 / (2 * 0.1) - 0.5)
    assert full.hessian_lower_bound_ <= full.gn_sharpness_


def test_loss_scale_warning_only_on_a_mismatch():
    X, y = chebyshev_3_20()
    net = ShallowReLURegressor(n_hidden=8, max_iter=5, random_state=0).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        CurvatureDiagnostics(net, prefit=True).fit(X, y)
        CurvatureDiagnostics(net, prefit=True, loss_scale=0.5).fit(X, y)
    with pytest.warns(UserWarning, match=r"loss_scale=2\b.*loss_scale=0.5"):
        CurvatureDiagnostics(ShallowReLURegressor(n_hidden=8, max_iter=5, random_state=0), loss_scale=2.0).fit(X, y)
    # a model that declares the loss it was trained on is taken at its word
    net.loss_scale_ = 1.0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        CurvatureDiagnostics(net, prefit=True, loss_scale=1.0).fit(X, y)
    with pytest.warns(UserWarning, match=r"loss_scale=0.5\b.*loss_scale=1\b"):
        CurvatureDiagnostics(net, prefit=True).fit(X, y)


@pytest.mark.parametrize("bad", [0.0, -0.5, "half"])
def test_loss_scale_is_validated(bad):
    X, y = chebyshev_3_20()
    with pytest.raises(ValueError, match="loss_scale"):
        CurvatureDiagnostics(ShallowReLURegressor(n_hidden=4, max_iter=2), loss_scale=bad).fit(X, y)
