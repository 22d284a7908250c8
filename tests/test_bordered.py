"""The bordered one-chain solver (the fast exact path of 1-D ridge) against the
general 8-unknown system, against dense least squares, and its pieces: the
exact fast sort, the block sums and the certificate."""

import numpy as np
import pytest

from sklearn_shallowrelu import RandomFeatureReLURegressor
from sklearn_shallowrelu.init import ExplicitInit
from sklearn_shallowrelu._exact1d import bordered, general, moments, network


def _problem(seed, m=40, n=300, bias_scale=1.0, k=2, directions="both", inside=False):
    rng = np.random.RandomState(seed)
    xs = np.sort(rng.uniform(-1, 1, m))
    Y = rng.standard_normal((m, k))
    W = rng.uniform(0.5, 2.0, m)
    w = rng.standard_normal(n)
    if directions == "right":
        w = np.abs(w)
    elif directions == "left":
        w = -np.abs(w)
    knots = -rng.standard_normal(n) * bias_scale / w
    if inside:  # no knot left of x_1 or at or right of x_m: the outer blocks are empty
        knots = rng.uniform(xs[0], xs[-1], n) * (1 - 1e-12)
    order = np.argsort(knots)
    knots, w = knots[order], w[order]
    return xs, Y, W, knots, w**2 / n, w > 0


def _dense(xs, Y, W, knots, q, right, alpha, affine):
    """Fitted values and jumps of min sum W r^2 + alpha sum t^2 / q by one least-squares solve."""
    Phi = np.where(right, np.maximum(xs[:, None] - knots, 0), np.maximum(knots - xs[:, None], 0))
    cols = np.hstack([Phi, np.ones((len(xs), 1))]) if affine == "free_constant" else Phi
    n = len(knots)
    pen = np.zeros((n, cols.shape[1]))
    pen[:, :n] = np.diag(np.sqrt(alpha / q))
    A = np.vstack([np.sqrt(W)[:, None] * cols, pen])
    rhs = np.vstack([np.sqrt(W)[:, None] * Y, np.zeros((n, Y.shape[1]))])
    sol = np.linalg.lstsq(A, rhs, rcond=None)[0]
    return cols @ sol, sol[:n]


def _rel(a, ref):
    return np.max(np.abs(a - ref)) / np.max(np.abs(ref))


CASES = [
    dict(seed=0),
    dict(seed=1, bias_scale=5.0),  # most knots outside the data: a dominant affine part
    dict(seed=2, bias_scale=0.2),  # knots inside the data only
    dict(seed=3, directions="right"),
    dict(seed=4, directions="left"),
    dict(seed=5, m=300, n=200),  # more points than knots: empty gaps
    dict(seed=6, k=1),
    dict(seed=7, inside=True),
    dict(seed=8, inside=True, directions="left"),
]


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("affine", ["free_constant", "penalized"])
@pytest.mark.parametrize("alpha", [1.0, 1e-3, 1e-7])
def test_bordered_chain_equals_the_general_system(case, affine, alpha):
    xs, Y, W, knots, q, right = _problem(**case)
    blk = moments.Blocks(xs, knots, q, right)
    sol = bordered.solve(xs, Y, W, blk, alpha, affine)
    t = bordered.jumps(blk, sol)
    ref = general.solve(xs, Y, W, moments.knot_moments(xs, knots, q, right), alpha, affine)
    t_ref = network.knot_jumps(ref, knots, q, right)
    tol = 1e-9 if alpha >= 1e-3 else 1e-6  # near interpolation both carry the problem's conditioning
    assert _rel(sol.fitted, ref.fitted) < tol
    assert _rel(t, t_ref) < tol
    assert np.max(np.abs(sol.intercept - ref.intercept)) < tol * np.max(np.abs(ref.fitted))
    if affine == "penalized":
        assert np.all(sol.intercept == 0)


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("affine", ["free_constant", "penalized"])
def test_states_multipliers_and_leverages_equal_the_general_system(case, affine):
    # to_solution splits the fit into right- and left-facing parts as the general
    # system does; the leverages add the border's rank-one or rank-two correction
    xs, Y, W, knots, q, right = _problem(**case)
    alpha = 1e-3
    blk = moments.Blocks(xs, knots, q, right)
    sol = bordered.solve(xs, Y, W, blk, alpha, affine, leverages=True)
    out = bordered.to_solution(xs, blk, sol)
    ref = general.solve(xs, Y, W, moments.knot_moments(xs, knots, q, right), alpha, affine, leverages=True)
    scale = np.max(np.abs(ref.fitted))
    for name in ("R", "L"):
        assert np.max(np.abs(getattr(out, name) - getattr(ref, name))) < 1e-9 * scale, name
    for name in ("mult_right", "mult_left"):
        assert _rel(getattr(out, name), getattr(ref, name)) < 1e-9, name
    np.testing.assert_allclose(out.fitted, ref.fitted, rtol=0, atol=1e-9 * scale)
    np.testing.assert_allclose(sol.leverages, ref.leverages, rtol=0, atol=1e-9)
    # in [0, 1] up to the same rounding: with a penalised affine part and every unit facing
    # left (case 8) the fit is 0 right of the last knot whatever y is there, so those
    # points' leverages are exactly 0, computed as +-1e-13
    assert np.all((sol.leverages > -1e-9) & (sol.leverages < 1 + 1e-9))


@pytest.mark.parametrize("affine", ["free_constant", "penalized"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_bordered_chain_equals_dense_least_squares(affine, seed):
    xs, Y, W, knots, q, right = _problem(seed, bias_scale=[1.0, 4.0, 0.3][seed])
    alpha = 1e-4
    blk = moments.Blocks(xs, knots, q, right)
    sol = bordered.solve(xs, Y, W, blk, alpha, affine)
    fitted, t = _dense(xs, Y, W, knots, q, right, alpha, affine)
    assert _rel(sol.fitted, fitted) < 1e-9
    assert _rel(bordered.jumps(blk, sol), t) < 1e-8


def test_knots_on_data_points_and_outside_go_to_the_right_blocks():
    xs = np.array([0.0, 1.0, 2.0, 3.0])
    knots = np.array([-1.0, 0.0, 0.5, 1.0, 3.0, 4.0])
    blk = moments.Blocks(xs, knots, np.ones(6), np.ones(6, bool))
    # block 0 left of x_1; [x_b, x_b+1) is block b + 1; at or right of x_m block m
    np.testing.assert_array_equal(blk.block, [0, 1, 1, 2, 4, 4])
    np.testing.assert_allclose(blk.d, [1.0, 1.0, 0.5, 1.0, 0.0, -1.0])


@pytest.mark.parametrize("inside", [False, True])
def test_certificate_sums_equal_the_piecewise_linear_network(inside):
    xs, Y, W, knots, q, right = _problem(7, m=30, n=200, bias_scale=2.0, inside=inside)
    rng = np.random.RandomState(0)
    t = rng.standard_normal((len(knots), 2))
    blk = moments.Blocks(xs, knots, q, right)
    const = np.array([0.3, -1.0])
    net = network.PiecewiseLinear.from_jumps(knots, right, t, const)
    np.testing.assert_allclose(bordered.network_at_data(blk, t, const), net(xs), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("n", [10, 60_000, 300_000])
def test_sort_order_is_an_exact_ascending_order(n):
    rng = np.random.RandomState(n)
    values = rng.standard_normal(n) / rng.standard_normal(n)
    values[: n // 3] = np.round(values[: n // 3], 1)  # many ties
    values[-5:] = [0.0, -0.0, 1e-300, -1e-300, 1e300]
    order, sorted_values = network.sort_order(values)
    np.testing.assert_array_equal(np.sort(order), np.arange(n))  # a permutation
    np.testing.assert_array_equal(values[order], sorted_values)
    np.testing.assert_array_equal(sorted_values, np.sort(values))


def test_sort_order_with_nonfinite_values_falls_back_to_argsort():
    values = np.r_[np.random.RandomState(0).standard_normal(60_000), np.inf, -np.inf]
    order, sorted_values = network.sort_order(values)
    assert sorted_values[0] == -np.inf and sorted_values[-1] == np.inf
    np.testing.assert_array_equal(sorted_values, np.sort(values))


def test_estimator_falls_back_to_the_general_system_when_the_certificate_fails(monkeypatch):
    rng = np.random.RandomState(0)
    x = rng.uniform(-1, 1, (80, 1))
    y = np.sin(3 * x[:, 0])
    ref = RandomFeatureReLURegressor(n_hidden=400, alpha=1e-3, random_state=0).fit(x, y)
    calls = []

    real = bordered.jumps

    def spoiled(blk, sol):  # jumps that do not reproduce the fitted values
        calls.append("bordered")
        return 2.0 * real(blk, sol)

    monkeypatch.setattr(bordered, "jumps", spoiled)
    est = RandomFeatureReLURegressor(n_hidden=400, alpha=1e-3, random_state=0).fit(x, y)
    assert calls == ["bordered"] and est.algorithm_ == "knots"
    grid = np.linspace(-1.2, 1.2, 50)[:, None]
    assert _rel(est.predict(grid), ref.predict(grid)) < 1e-9


def test_estimator_without_intercept_uses_the_penalized_border():
    # the plain network (no intercept): its affine part is penalised through the
    # left-facing units; compare with the general system directly
    rng = np.random.RandomState(1)
    x = rng.uniform(0, 3, 50)
    W = rng.standard_normal((120, 1))
    b = rng.uniform(-4, 4, 120)
    y = np.cos(x) + 2.0
    est = RandomFeatureReLURegressor(n_hidden=120, init=ExplicitInit(W, b), alpha=1e-3, fit_intercept=False,
                                     algorithm="knots", random_state=0).fit(x[:, None], y)
    dense = RandomFeatureReLURegressor(n_hidden=120, init=ExplicitInit(W, b), alpha=1e-3, fit_intercept=False,
                                       algorithm="primal", random_state=0).fit(x[:, None], y)
    grid = np.linspace(-1, 4, 60)[:, None]
    assert est.intercept_ == 0.0
    assert _rel(est.predict(grid), dense.predict(grid)) < 1e-8


def test_badly_scaled_inputs_keep_the_network_closest_to_the_exact_fit_and_warn():
    # x spread 1e8 times wider than the knots: the output weights are so
    # ill-conditioned that no network reproduces the exact fit; the estimator
    # keeps the candidate closest to the exact states' values and says so.
    import warnings

    from sklearn_shallowrelu import ReLURandomFeatures

    from test_knots import _lstsq_ridge

    rng = np.random.RandomState(0)
    x0 = np.sort(rng.uniform(-1, 1, 100))
    y = np.sin(3 * x0) + 0.1 * rng.standard_normal(100)
    for scale, fit_intercept, should_warn in ((1e4, False, False), (1e8, True, True)):
        x = (x0 * scale)[:, None]
        Phi = ReLURandomFeatures(300, random_state=0).fit(x).transform(x)
        v, c = _lstsq_ridge(Phi, y, np.ones(100), 1e-3, fit_intercept)
        ref = (Phi @ v + c)[:, 0]
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            est = RandomFeatureReLURegressor(n_hidden=300, alpha=1e-3, fit_intercept=fit_intercept,
                                             random_state=0).fit(x, y)
        # the certificate's warning (the inputs' coverage by the knots has its own)
        told = any("reproduces the exact ridge fit" in str(w.message) for w in caught)
        assert told == should_warn
        # what 'auto' falls back to with fewer samples than units
        dense = RandomFeatureReLURegressor(n_hidden=300, alpha=1e-3, fit_intercept=fit_intercept, random_state=0,
                                           algorithm="dual").fit(x, y)
        err = np.max(np.abs(est.predict(x) - ref))
        assert err <= np.max(np.abs(dense.predict(x) - ref))
        if not should_warn:
            assert err < 1e-6 * np.max(np.abs(ref))
