"""Non-quadratic curvature penalties (width-scaled mirror potentials) by dual
Newton on the banded 1-D structure: against the quadratic solver, against
mirror descent on the finite network, against dense optimality conditions, and
finite width against infinite width."""

import numpy as np
import pytest

from sklearn_shallowrelu import RandomFeatureReLURegressor
from sklearn_shallowrelu._exact1d import bregman, continuum, general, moments, network
from sklearn_shallowrelu.init import Gaussian, RademacherUniform, UniformKnots
from sklearn_shallowrelu.potentials import (
    HyperbolicEntropy,
    Power,
    Quadratic,
    QuadraticPlusPower,
    WidthScaled,
)

AFFINES = ["free_constant", "penalized", "free"]


def _data(m=12, seed=0):
    rng = np.random.RandomState(seed)
    xs = np.sort(rng.uniform(-1.5, 1.5, m))
    return xs, np.sin(2 * xs) + 0.3 * rng.standard_normal(m), rng.uniform(0.5, 2.0, m)


@pytest.mark.parametrize("affine", AFFINES)
@pytest.mark.parametrize("alpha", [0.0, 0.1])
def test_quadratic_potential_is_the_banded_ridge_solver(affine, alpha):
    xs, y, W = _data()
    init = RademacherUniform(2.0)
    w, b = init.sample(400, 1, random_state=1)
    units = bregman.network_units(w[:, 0], b)
    # alpha = 0 is the interpolation limit of the ridge solver (weights then do not matter)
    ridge_alpha, ridge_W = (alpha, W) if alpha > 0 else (1e-200, np.ones_like(W))
    sol = general.solve(xs, y[:, None], ridge_W, moments.knot_moments(xs, units.knots, units.q, units.right),
                       ridge_alpha, affine)
    fit = bregman.bregman_fit((w[:, 0], b), xs, y, W, Quadratic(), alpha, affine)
    t = network.knot_jumps(sol, units.knots, units.q, units.right)
    assert np.max(np.abs(fit.jumps_ - t)) < 1e-8 * np.max(np.abs(t))
    assert np.max(np.abs(fit.fitted - sol.fitted)) < 1e-10 * np.max(np.abs(y))
    assert fit.n_iter_[0] <= 2  # a linear problem: one Newton step, up to rounding

    grid = np.linspace(-2.5, 2.5, 151)
    fit = bregman.bregman_fit(init, xs, y, W, Quadratic(), alpha, affine)
    sol = general.solve(xs, y[:, None], ridge_W, continuum.gap_moments(init, xs), ridge_alpha, affine)
    for order in (0, 1, 2):
        ref = continuum.evaluate(init, sol, grid, order)
        assert np.max(np.abs(fit.evaluate(grid, order) - ref)) < 1e-8 * np.max(np.abs(ref)), order


@pytest.mark.parametrize("potential", [QuadraticPlusPower(p=4, c=0.01), HyperbolicEntropy(beta=2.0)])
def test_mirror_descent_converges_to_the_newton_projection(potential):
    # scaled mirror descent from v = 0 ends at the Bregman projection (doc/theory.md, section 4)
    x = np.array([-0.9, -0.3, 0.3, 0.9])
    y = 0.3 * np.array([1.0, -1.0, 1.5, 0.0])
    n = 100
    md = RandomFeatureReLURegressor(n_hidden=n, init=RademacherUniform(1.0), solver="mirror",
                                    potential=WidthScaled(potential), alpha=0.0, max_iter=10000,
                                    random_state=0).fit(x[:, None], y)
    fit = bregman.bregman_fit((md.hidden_weights_[:, 0], md.hidden_bias_), x, y, np.ones(4), potential)
    grid = np.linspace(-1.5, 1.5, 301)
    assert np.max(np.abs(md.predict(grid[:, None]) - fit.evaluate(grid)[:, 0])) < 1e-6 * np.max(np.abs(y))
    # the same point in parameter space: alpha_k = sqrt(n) v_k
    assert np.max(np.abs(np.sqrt(n) * md.coef_ - fit.coef_[:, 0])) < 1e-5 * np.max(np.abs(fit.coef_))
    assert abs(md.intercept_ - fit.affine_part()[0, 0]) < 1e-6
    # and the potential mattered at this scale
    quad = bregman.bregman_fit((md.hidden_weights_[:, 0], md.hidden_bias_), x, y, np.ones(4), Quadratic())
    assert np.max(np.abs(quad.evaluate(grid) - fit.evaluate(grid))) > 0.02 * np.max(np.abs(y))


def _dense_features(w, b, x):
    return np.maximum(np.outer(x, w) + b, 0.0) / np.sqrt(len(w))


@pytest.mark.parametrize("alpha", [0.0, 0.05])
def test_optimality_conditions_on_the_dense_network(alpha):
    # Independent of the banded solver: a convex problem is solved when its KKT
    # conditions hold, checked with the explicit m x n feature matrix.
    xs, y, W = _data(m=8, seed=3)
    w, b = RademacherUniform(2.0).sample(60, 1, random_state=2)
    w = w[:, 0] * np.random.RandomState(5).uniform(0.5, 2.0, 60)  # |w| not constant
    pot = QuadraticPlusPower(p=3, c=1.0)
    fit = bregman.bregman_fit((w, b), xs, y, W, pot, alpha, "free_constant")
    coef = fit.coef_[:, 0]
    Phi = _dense_features(w, b, xs)
    f = Phi @ (coef / np.sqrt(len(w))) + fit.affine_part()[0, 0]  # v = alpha / sqrt(n)
    assert np.max(np.abs(f - fit.fitted[:, 0])) < 1e-10
    # phi'(alpha_k) - phi'(0) = sqrt(n) * (Phi^T lambda)_k with sum(lambda) = 0
    grad = pot.grad(coef) - pot.grad(0.0)
    if alpha > 0:
        mult = W * (y - f) / alpha
        assert abs(mult.sum()) < 1e-9 * np.max(np.abs(mult))
    else:
        assert np.max(np.abs(f - y)) < 1e-11
        # lambda from the interpolation conditions, then the residual of the stationarity
        A = np.vstack([np.sqrt(len(w)) * Phi.T, np.ones((1, len(xs)))])
        mult = np.linalg.lstsq(A, np.append(grad, 0.0), rcond=None)[0]
    assert np.max(np.abs(np.sqrt(len(w)) * Phi.T @ mult - grad)) < 1e-8 * np.max(np.abs(grad))


@pytest.mark.parametrize("potential", [HyperbolicEntropy(beta=0.5), QuadraticPlusPower(p=4, c=1.0)])
def test_finite_width_projection_approaches_infinite_width(potential):
    x = np.array([-0.9, -0.5, -0.3, 0.1, 0.3, 0.9])
    y = np.array([1.0, 0.2, -1.0, 0.3, 1.5, 0.0])
    init = RademacherUniform(1.0)
    grid = np.linspace(-0.9, 0.9, 181)
    ref = bregman.bregman_fit(init, x, y, np.ones(6), potential).evaluate(grid)
    errors = []
    for n in (100, 1000, 10000):
        e = []
        for seed in range(4):
            w, b = init.sample(n, 1, random_state=seed)
            fit = bregman.bregman_fit((w[:, 0], b), x, y, np.ones(6), potential)
            e.append(np.max(np.abs(fit.evaluate(grid) - ref)))
        errors.append(np.mean(e))
    slope = np.polyfit(np.log([100, 1000, 10000]), np.log(errors), 1)[0]
    assert errors[0] > errors[1] > errors[2]
    assert -0.8 < slope < -0.3, (errors, slope)


def test_infinite_width_quadrature_is_converged():
    x = np.array([-0.9, -0.5, -0.3, 0.1, 0.3, 0.9])
    y = np.array([1.0, 0.2, -1.0, 0.3, 1.5, 0.0])
    init = RademacherUniform(1.0)
    grid = np.linspace(-1.2, 1.2, 121)
    # steep potential: the jump density has cusps where the dual function vanishes
    pot = QuadraticPlusPower(p=4, c=1.0)
    coarse = bregman.bregman_fit(init, x, y, np.ones(6), pot)
    fine = bregman.bregman_fit(init, x, y, np.ones(6), pot, refine=3)
    assert np.max(np.abs(coarse.evaluate(grid) - fine.evaluate(grid))) < 1e-9
    assert np.max(np.abs(coarse.evaluate(x)[:, 0] - y)) < 1e-11
    # f'' is the sum of the two jump densities; its integral over a gap is the slope change
    a, b = x[1], x[2]
    c = np.linspace(a, b, 20001)
    curv = coarse.evaluate(c, order=2)[:, 0]
    integral = np.sum((curv[1:] + curv[:-1]) / 2 * np.diff(c))
    slopes = coarse.evaluate(np.array([a, b]), order=1)[:, 0]
    assert abs(integral - (slopes[1] - slopes[0])) < 1e-5 * np.max(np.abs(curv)) * (b - a)


@pytest.mark.parametrize("affine", AFFINES)
def test_the_potential_changes_the_function(affine):
    # quadratic: the fit is linear in y; a non-quadratic penalty is not, and it
    # tends to the quadratic fit for small targets (phi''(0) = 1)
    x = np.linspace(-1, 1, 7)
    y = np.array([0.0, 1.0, -1.0, 0.5, 2.0, -0.5, 0.0])
    init = UniformKnots(margin=0.1).bind(x[:, None])
    grid = np.linspace(-1, 1, 201)
    pot = HyperbolicEntropy(beta=0.3)
    gaps = []
    for scale in (1e-4, 1.0):
        quad = bregman.bregman_fit(init, x, scale * y, np.ones(7), Quadratic(), affine=affine).evaluate(grid)
        ent = bregman.bregman_fit(init, x, scale * y, np.ones(7), pot, affine=affine).evaluate(grid)
        gaps.append(np.max(np.abs(ent - quad)) / scale)
    assert gaps[1] > 0.1 * np.max(np.abs(y))
    assert gaps[0] < 1e-3 * gaps[1]


def test_newton_converges_in_few_iterations():
    x = np.linspace(-1, 1, 9)
    Y = np.column_stack([np.cos(3 * x), 2 * np.abs(x) - 1])
    init = RademacherUniform(1.5)
    w, b = init.sample(2000, 1, random_state=0)
    for pot in (QuadraticPlusPower(p=3), QuadraticPlusPower(p=4), HyperbolicEntropy(beta=0.2)):
        for source in (init, (w[:, 0], b)):
            fit = bregman.bregman_fit(source, x, Y, np.ones(9), pot)
            for it, res in zip(fit.n_iter_, fit.residuals_):
                assert it <= 25
                assert res[-1] <= 1e-12 * np.max(np.abs(Y))
                if isinstance(source, tuple):  # one Newton run: quadratic convergence at its end
                    rel = res / np.max(np.abs(Y))
                    # (the very last step meets the rounding floor of the banded solve instead)
                    assert rel[-3] < 1e-3 and rel[-2] < 10 * rel[-3] ** 2, rel
            # multi-output: each column is its own problem
            one = bregman.bregman_fit(source, x, Y[:, 1], np.ones(9), pot)
            assert np.max(np.abs(one.evaluate(x)[:, 0] - fit.evaluate(x)[:, 1])) < 1e-10


def test_unsupported_inputs_raise():
    x = np.linspace(-1, 1, 5)
    with pytest.raises(NotImplementedError, match="product grid"):
        bregman.bregman_fit(Gaussian(), x, x**2, np.ones(5), HyperbolicEntropy())
    with pytest.raises(ValueError, match="phi''"):
        bregman.bregman_fit(RademacherUniform(), x, x**2, np.ones(5), Power(3))
    with pytest.raises(ValueError, match="affine"):
        bregman.bregman_fit(RademacherUniform(), x, x**2, np.ones(5), Quadratic(), affine="none")
