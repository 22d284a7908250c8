"""The entry point of the exact 1-D engine: one solve, one Fit, one certificate policy.

The systems themselves are checked against dense and high-precision references
in test_knots.py and test_bordered.py; here, that every route through
:func:`_exact1d.solve` gives the same fit and that its policy holds.
"""

import numpy as np
import pytest

from sklearn_shallowrelu import _exact1d
from sklearn_shallowrelu._exact1d import bordered, general, network
from sklearn_shallowrelu.init import Gaussian, RademacherUniform

from test_knots import _C, _EPS, _chain_condition  # the engine's backward-error constant and conditioning


def _problem(m=40, n=300, seed=0):
    rng = np.random.RandomState(seed)
    xs = np.sort(rng.uniform(-1.5, 1.5, m))
    Y = np.column_stack([np.sin(2 * xs), np.cos(3 * xs)]) + 0.05 * rng.standard_normal((m, 2))
    weights = rng.uniform(0.5, 2.0, m)
    w, b = rng.standard_normal(n), rng.standard_normal(n)
    order, knots = network.sort_order(-b / w)
    w = w[order]
    return xs, Y, weights, knots, w * w / n, w > 0


def _rel(a, b):
    return float(np.max(np.abs(a - b)) / np.max(np.abs(b)))


def _dense_condition(xs, weights, knots, q, right, alpha, affine):
    """Componentwise condition numbers (relative to the largest entry) of a
    network's jumps and fitted values, from the same ridge problem as a dense
    system in the jumps and the free affine coefficients: ``eps`` times them
    bounds what a backward-stable solve of the problem may lose."""
    s = np.where(right, 1.0, -1.0)
    free = {"penalized": [], "free_constant": [np.ones_like(xs)], "free": [np.ones_like(xs), xs]}[affine]
    A = np.column_stack([np.maximum(s * (xs[:, None] - knots[None, :]), 0)] + free)
    H = A.T @ (weights[:, None] * A) + alpha * np.diag(np.r_[1 / q, np.zeros(len(free))])
    Hinv = np.linalg.inv(H)
    rhs = A.T @ weights
    t = Hinv @ rhs
    bound = np.abs(Hinv) @ (np.abs(H) @ np.abs(t) + np.abs(rhs))
    return bound.max() / np.abs(t).max(), (np.abs(A) @ bound).max() / np.abs(A @ t).max()


@pytest.mark.parametrize("affine", _exact1d.AFFINE)
def test_sorted_and_unsorted_knots_give_the_general_systems_fit(affine):
    # the same measure given sorted (blocks, certified) or in any order (gap
    # moments): the fit of the general 8-unknown system, the independent route
    xs, Y, weights, knots, q, right = _problem()
    perm = np.random.RandomState(1).permutation(len(knots))
    ref = general.solve(xs, Y, weights, _exact1d.Knots(knots, q, right).gap_moments(xs), 1e-3, affine)
    ref_jumps = network.knot_jumps(ref, knots, q, right)
    kappa_jumps = _dense_condition(xs, weights, knots, q, right, 1e-3, affine)[0]
    # the fitted values' componentwise condition from the banded chain (as test_knots
    # bounds the bordered and general systems by it): far below the dense one
    kappa_fit = np.max(_chain_condition(xs, Y, weights, knots, q, 1e-3)[1]) / np.max(np.abs(Y))
    for measure in (_exact1d.Knots(knots, q, right, presorted=True),
                    _exact1d.Knots(knots[perm], q[perm], right[perm])):
        fit = _exact1d.solve(xs, Y, weights, measure, 1e-3, affine)
        assert fit.system == ("chain" if affine == "free" else "bordered")
        # each within C eps kappa of the exact fit, so within twice that of each other
        assert _rel(fit.fitted, ref.fitted) <= 2 * _C * _EPS * kappa_fit
        jumps = fit.jumps() if measure.presorted else fit.jumps()[np.argsort(perm)]
        assert _rel(jumps, ref_jumps) <= 2 * _C * _EPS * kappa_jumps
        # the network of the jumps, with its own affine part, is the fit
        net = network.PiecewiseLinear.from_jumps(knots, right, jumps, np.zeros(2))
        affine_part = fit.affine_part()
        rebuilt = net(xs) + affine_part[0] + (xs - xs[0])[:, None] * affine_part[1]
        assert _rel(rebuilt, fit.fitted) <= _C * _EPS * (kappa_jumps + kappa_fit)


def test_the_certificate_passes_on_a_well_posed_network():
    xs, Y, weights, knots, q, right = _problem()
    fit = _exact1d.solve(xs, Y, weights, _exact1d.Knots(knots, q, right, presorted=True), 1e-3)
    assert fit.discrepancy is not None and fit.discrepancy <= _exact1d.CERTIFICATE_TOL
    # evaluation of a network: piecewise linear, values and slopes
    grid = np.linspace(-2, 2, 30)
    assert _rel(fit.evaluate(grid), fit.network()(grid)) == 0.0
    with pytest.raises(ValueError, match="order"):
        fit.evaluate(grid, order=2)


def test_a_failed_certificate_falls_back_then_raises_with_the_best_attempt(monkeypatch):
    xs, Y, weights, knots, q, right = _problem()
    measure = _exact1d.Knots(knots, q, right, presorted=True)
    real = bordered.jumps
    monkeypatch.setattr(bordered, "jumps", lambda blk, sol: 2.0 * real(blk, sol))
    fit = _exact1d.solve(xs, Y, weights, measure, 1e-3)  # the general system passes
    assert fit.system == "general" and fit.discrepancy <= _exact1d.CERTIFICATE_TOL

    real_general = general.solve
    monkeypatch.setattr(general, "solve", lambda *a, **k: _spoil(real_general(*a, **k)))
    with pytest.raises(_exact1d.InaccurateFit) as failed:
        _exact1d.solve(xs, Y, weights, _exact1d.Knots(knots, q, right, presorted=True), 1e-3)
    best = failed.value.best
    assert best.discrepancy > _exact1d.CERTIFICATE_TOL
    assert failed.value.reference.shape == Y.shape
    # without certification the first system's fit is returned as it is
    fit = _exact1d.solve(xs, Y, weights, _exact1d.Knots(knots, q, right, presorted=True), 1e-3, certify=False)
    assert fit.system == "bordered" and fit.discrepancy is None


def _spoil(sol):
    sol.mult_right = 3.0 * sol.mult_right
    sol.mult_left = 3.0 * sol.mult_left
    return sol


def test_alpha_zero_is_the_interpolation_limit():
    xs, Y, weights, knots, q, right = _problem(m=20, n=400)
    for measure in (_exact1d.Knots(knots, q, right, presorted=True), _exact1d.Continuum(Gaussian())):
        fit = _exact1d.solve(xs, Y, weights, measure, 0.0)
        # f(x_i) = y_i are rows of the system, met to its backward error: a few
        # eps per row, accumulated along the chain of m points
        assert _rel(fit.fitted, Y) <= _C * _EPS * len(xs)
        tiny = _exact1d.solve(xs, Y, weights, measure, _exact1d.INTERPOLATION_ALPHA)
        np.testing.assert_array_equal(fit.fitted, tiny.fitted)


@pytest.mark.parametrize("affine", _exact1d.AFFINE)
def test_continuum_fit_evaluates_to_its_fitted_values_with_leverages(affine):
    xs, Y, weights, _, _, _ = _problem()
    measure = _exact1d.Continuum(RademacherUniform(bias_range=2.0))
    fit = _exact1d.solve(xs, Y, weights, measure, 1e-2, affine, leverages=True)
    assert _rel(fit.evaluate(xs), fit.fitted) <= _C * _EPS  # at a data point: its state, a few roundings
    # the leverages are d fitted_i / d Y_i: check two by finite differences (the fit is linear in Y)
    for i in (0, 17):
        bumped = Y.copy()
        bumped[i] += 1.0
        again = _exact1d.solve(xs, bumped, weights, measure, 1e-2, affine)
        # two solves, each within C eps (1 + max |Y|) per fitted value (kappa_lev is of order
        # one here: test_knots._chain_condition), and the leverage's own error
        assert abs((again.fitted[i, 0] - fit.fitted[i, 0]) - fit.leverages[i]) <= 3 * _C * _EPS * (
            1 + np.max(np.abs(bumped)))
    # the moments are computed once per data set and reused by the next solve
    assert measure.chain_moments(xs) is measure.chain_moments(xs)


def test_affine_options_are_checked_in_one_place():
    xs, Y, weights, knots, q, right = _problem()
    with pytest.raises(ValueError, match="affine must be one of"):
        _exact1d.solve(xs, Y, weights, _exact1d.Continuum(Gaussian()), 1.0, affine="none")
    with pytest.raises(ValueError, match="affine must be one of"):
        general.solve(xs, Y, weights, _exact1d.Knots(knots, q, right).gap_moments(xs), 1.0, affine="none")
    assert _exact1d.network_affine(True) == "free_constant" and _exact1d.network_affine(False) == "penalized"


@pytest.mark.parametrize("affine", _exact1d.AFFINE)
@pytest.mark.parametrize("presorted", [True, False])
def test_a_network_fit_evaluates_to_its_fitted_values_and_slopes(affine, presorted):
    # the network with its affine part, from knots given in any order
    xs, Y, weights, knots, q, right = _problem()
    perm = np.arange(len(knots)) if presorted else np.random.RandomState(2).permutation(len(knots))
    measure = _exact1d.Knots(knots[perm], q[perm], right[perm], presorted=presorted)
    fit = _exact1d.solve(xs, Y, weights, measure, 1e-3, affine)
    kappa_jumps, kappa_fit = _dense_condition(xs, weights, knots, q, right, 1e-3, affine)
    assert _rel(fit.evaluate(xs), fit.fitted) <= _C * _EPS * (kappa_jumps + kappa_fit)
    # slopes: the right derivative against a one-sided difference inside the
    # linear piece (half the distance to the nearest knot), exact up to the
    # rounding of the two values divided by the step
    grid = np.linspace(-2.0, 2.0, 13)
    h = 0.5 * np.min(np.abs(grid[:, None] - knots[None, :]), axis=1)
    values = fit.evaluate(grid)
    slope = (fit.evaluate(grid + h) - values) / h[:, None]
    tol = _C * _EPS * np.max(np.abs(values)) / h[:, None]
    assert np.all(np.abs(fit.evaluate(grid, order=1) - slope) <= tol)


@pytest.mark.parametrize("margin, span", [(0.0, (0.0, 4.0)), (0.25, (0.0, 4.0)), (0.0, (-1.0, 5.0))])
def test_chain_moments_of_a_constant_weight_match_adaptive_quadrature(margin, span):
    """The closed form ``g h^(k+1) / (k+1)`` on gaps where a piecewise-constant
    weight has no breakpoint, and the quadrature where it has (inputs beyond
    the bound range), against scipy's adaptive quadrature of the definition."""
    from scipy.integrate import quad

    from sklearn_shallowrelu._exact1d import continuum
    from sklearn_shallowrelu.init import UniformKnots

    init = UniformKnots(margin=margin).bind(np.array([[0.0], [4.0]]))
    xs = np.sort(np.random.default_rng(3).uniform(*span, 30))
    mom = continuum.chain_moments(init, xs)
    for j in range(1, len(xs)):
        a, b = xs[j - 1], xs[j]
        for k in range(3):
            both = quad(lambda c: sum(init.curvature_weight_parts(np.array([c])))[0] * (b - c) ** k, a, b,
                        points=[p for p in init.breakpoints() if a < p < b] or None, epsabs=0, epsrel=1e-13)[0]
            left = quad(lambda c: init.curvature_weight_parts(np.array([c]))[1][0] * (b - c) ** k, a, b,
                        points=[p for p in init.breakpoints() if a < p < b] or None, epsabs=0, epsrel=1e-13)[0]
            # both sides are sums of positive terms: relative agreement to rounding
            assert mom.M[k, j] == pytest.approx(both, rel=1e-12, abs=1e-300)
            assert mom.ML[k, j] == pytest.approx(left, rel=1e-12, abs=1e-300)
