"""The compiled fast chain (:mod:`sklearn_shallowrelu._exact1d.fastchain`): the
numpy engine's fitted values and leverages, the 30- and 60-digit references of
test_knots.py and test_spline.py, and the GCV/LOO sums of its scan.

Tolerances are those of the engine's own tests (test_knots.py): a backward-stable
solve is within ``_C eps kappa`` of the exact fit, ``kappa`` the componentwise
condition number of the chain's banded system computed here from that matrix,
so two solvers are within twice that of each other.
"""

import numpy as np
import pytest
from scipy import sparse

from sklearn_shallowrelu import _exact1d
from sklearn_shallowrelu._exact1d import _fastchain  # a plain import: a missing build fails here
from sklearn_shallowrelu._exact1d import banded, bordered, chain, fastchain, network
from sklearn_shallowrelu._exact1d.moments import knot_gaps
from sklearn_shallowrelu.init import Gaussian, check_init

from test_knots import _C, _EPS, _chain_condition, _chain_problem, _dense_chain, _mp_reference, _system_condition

AFFINE = ["free", "free_constant", "penalized"]
INITS = ["gaussian", "uniform_knots", "rademacher_uniform", "he"]
FACTORS = [1e-12, 1e-9, 1e-6, 1e-3, 1.0, 1e3, 1e6]  # times the penalty scale (0: test_alpha_zero_interpolates)
_SLOPE_LIMIT = 5.0  # the filter's slopes near interpolation: 1e4 eps kappa (test_states_and_multipliers_...)


def test_the_compiled_kernel_is_built_and_used():
    assert fastchain.Kernel is _fastchain.Kernel
    assert _fastchain.__file__.endswith((".so", ".pyd"))


# ---------------------------------------------------------------- problems
def _inputs(layout, seed=0):
    rng = np.random.RandomState(seed)
    if layout == "random":
        xs = np.sort(rng.uniform(-2, 2, 100))
        xs[40] = xs[39] + 4e-9  # a near-tie: a gap of 1e-9 of the range
        return xs
    centres = np.sort(rng.uniform(-2, 2, 30))  # clusters of 5 points 1e-9 of the range apart
    return np.sort((centres[:, None] + 4e-9 * np.arange(5)[None, :]).ravel())


def _targets(xs, k, equal_weights, seed=1):
    rng = np.random.RandomState(seed)
    m = len(xs)
    Y = np.column_stack([np.sin(2 * xs), np.abs(xs), np.cos(5 * xs)])[:, :k] + 0.1 * rng.standard_normal((m, k))
    return Y, (np.ones(m) if equal_weights else rng.uniform(0.5, 2.0, m))


def _network(xs, seed=2):
    """Sorted knots of a finite network with gaps of no knot (singular, zero
    moments), a gap of one knot (singular moments) and knots outside the data."""
    rng = np.random.RandomState(seed)
    m = len(xs)
    n = 8 * m
    w, b = rng.standard_normal(n), rng.uniform(-2.5, 2.5, n)
    knots = -b / w
    gap = knot_gaps(xs, knots)
    keep = ~np.isin(gap, [m // 4, m // 2, 3 * m // 4])  # three empty gaps, none adjacent
    single = np.flatnonzero(gap == m // 3)
    keep[single[1:]] = False
    knots, w = knots[keep], w[keep]
    order, knots = network.sort_order(knots)
    w = w[order]
    return _exact1d.Knots(knots, w * w / len(w), w > 0, presorted=True)


def _measure(name, xs):
    if name == "knots":
        return _network(xs)
    return _exact1d.Continuum(check_init(name).bind(xs[:, None]))


def _scale(measure, xs, weights):
    """The data's penalty scale ``sum_i w_i K(x_i, x_i)`` (as the spline's search sets it)."""
    if isinstance(measure, _exact1d.Continuum):
        diag = measure.kernel_diagonal(xs)
    else:
        s = np.where(measure.right, 1.0, -1.0)
        diag = (np.maximum(s * (xs[:, None] - measure.knots), 0.0) ** 2) @ measure.q
    return float(weights @ diag)


def _condition(xs, Y, weights, mom, alpha):
    """Componentwise condition numbers of the chain's leverages (m,) and fitted
    values (m, k) (:func:`test_knots._system_condition`, for any moments)."""
    return _system_condition(xs, Y, weights, mom.M[:, 1:], max(alpha, _exact1d.INTERPOLATION_ALPHA))


def _banded(xs, Y, weights, measure, alpha, affine):
    """The banded systems' own fit and leverages (LAPACK's pivoted LU and block
    cyclic reduction): the reference, since the entry point takes its
    leverages from the kernel under test."""
    alpha = alpha if alpha > 0 else _exact1d.INTERPOLATION_ALPHA
    mom = measure.chain_moments(xs)
    if affine == "free":
        return chain.solve_free(xs, Y, weights, mom.M[:, 1:], alpha, leverages=True)
    return bordered.solve(xs, Y, weights, mom, alpha, affine, leverages=True)


def _compare(xs, Y, weights, measure, affine, factors):
    mom = measure.chain_moments(xs)
    scale = _scale(measure, xs, weights)
    for factor in factors:
        alpha = factor * scale
        ref = _banded(xs, Y, weights, measure, alpha, affine)
        fitted, lev = fastchain.fit_values(xs, Y, weights, mom, alpha, affine)
        kappa_lev, kappa_fit = _condition(xs, Y, weights, mom, alpha)
        # each within _C eps kappa of the exact fit (the chain's condition stands
        # in for the bordered system's, as in test_knots)
        assert np.max(np.abs(fitted - ref.fitted)) <= 2 * _C * _EPS * np.max(kappa_fit), (affine, factor)
        assert np.max(np.abs(lev - ref.leverages)) <= 2 * _C * _EPS * np.max(kappa_lev), (affine, factor)


# ---------------------------------------------------- against the engine
@pytest.mark.parametrize("affine", AFFINE)
@pytest.mark.parametrize("name", INITS + ["knots"])
def test_fit_values_equal_the_numpy_engine(name, affine):
    xs = _inputs("random")
    measure = _measure(name, xs)
    for k, equal in ((1, False), (3, True)):
        Y, weights = _targets(xs, k, equal)
        _compare(xs, Y, weights, measure, affine, FACTORS)


@pytest.mark.parametrize("affine", AFFINE)
@pytest.mark.parametrize("name", ["gaussian", "uniform_knots", "knots"])
def test_clustered_inputs_with_gaps_of_1e_9(name, affine):
    xs = _inputs("clustered")
    Y, weights = _targets(xs, 2, False)
    _compare(xs, Y, weights, _measure(name, xs), affine, FACTORS)


def _unknowns_condition(xs, Y, weights, right, alpha):
    """Componentwise (Skeel) condition numbers of every unknown of the chain's
    banded system, ``|A^-1| (|A| |z| + |b|)``, as (m, 4, k) in its units."""
    A, b, _, _ = _dense_chain(xs, Y, weights, right, alpha)
    Ai = np.linalg.inv(A)
    return (np.abs(Ai) @ (np.abs(A) @ np.abs(Ai @ b) + np.abs(b))).reshape(len(xs), 4, -1)


@pytest.mark.parametrize("layout", ["random", "clustered"])
@pytest.mark.parametrize("name", INITS + ["knots"])
def test_states_and_multipliers_equal_the_banded_solve(name, layout):
    """The whole solution of ``affine='free'`` from the smoother (states,
    multipliers, leverages) against the band matrix's LU, within twice the
    backward-stable bound ``_C eps kappa`` of the unknowns' conditions."""
    xs = _inputs(layout)
    measure = _measure(name, xs)
    Y, weights = _targets(xs, 2, False)
    right = measure.chain_moments(xs).M[:, 1:]
    sigma, _, _, mass = chain.rescaled(xs, right)
    unit = np.array([1.0, sigma])[None, :, None]
    for factor in FACTORS:
        alpha = factor * _scale(measure, xs, weights)
        ref = chain.solve_free(xs, Y, weights, right, alpha, leverages=True)
        fast = fastchain.solve_free(xs, Y, weights, measure.chain_moments(xs), alpha)
        kappa = _unknowns_condition(xs, Y, weights, right, alpha)
        # in the system's units: the multipliers times mass / (1, sigma), the states times (1, sigma)
        for got, want, cond in ((fast.mult_right * mass / unit, ref.mult_right * mass / unit, kappa[:, 0:2]),
                                (fast.R * unit, ref.R * unit, kappa[:, 2:4])):
            # LU with partial pivoting is backward stable normwise, not per entry (an
            # exactly zero multiplier comes out as 3e-17): the bound of each
            # component is its largest over the points, as for the fitted values
            bound = 2 * _C * _EPS * np.max(cond, axis=0)
            # the filter's slopes and second multipliers inside clusters of nearly tied
            # inputs near interpolation fall short of that (fastchain's docstring):
            # against a 50-digit solve of the banded system, at 1e-12 times the scale,
            # 500 to 3000 eps kappa over one-ulp changes of the moments (the LU 1 to 12),
            # with 2000 eps kappa allowed here they failed in a third of those changes
            bound[1] *= _SLOPE_LIMIT if factor <= 1e-12 else 1.0
            assert np.all(np.abs(got - want) <= bound), (name, factor)
        assert np.array_equal(fast.mult_left[:, 0], -np.concatenate([fast.mult_right[1:, 0], np.zeros((1, 2))]))
        assert np.max(np.abs(fast.leverages - ref.leverages)) <= 2 * _C * _EPS * np.max(
            _condition(xs, Y, weights, measure.chain_moments(xs), alpha)[0]), (name, factor)


def _sampled_condition(xs, Y, weights, mom, alpha, rows):
    """The condition numbers of ``_condition`` at the points ``rows`` only, from
    banded solves (two per point): for data too large for the dense inverse."""
    m = len(xs)
    full, omega, shrink, _, _ = chain.free_system(xs, weights, mom.M[:, 1:], alpha)
    ab = full[chain.KL:].copy()
    n = 4 * m
    A = sparse.dia_matrix((ab, [chain.KU - j for j in range(ab.shape[0])]), shape=(n, n)).tocsr()
    absA = abs(A)
    lu, piv = banded.banded_lu(full.copy(order="F"), chain.KL, chain.KU)
    b = np.zeros((n, Y.shape[1]))
    b[4 * np.arange(m) + chain.FV] = (omega * shrink)[:, None] * Y
    z = banded.lu_solve(lu, piv, chain.KL, chain.KU, b.copy(order="F"))
    g = absA @ np.abs(z) + np.abs(b)
    E = np.zeros((n, len(rows)), order="F")
    E[4 * rows + chain.FV, np.arange(len(rows))] = 1.0
    cols = np.abs(banded.lu_solve(lu, piv, chain.KL, chain.KU, E.copy(order="F")))  # |A^-1| e_r
    lines = np.abs(banded.lu_solve(lu, piv, chain.KL, chain.KU, E.copy(order="F"), trans=1))  # |A^-T| e_r
    lev = (omega * shrink)[rows] * np.einsum("ji,ji->i", lines, absA @ cols)
    fit = lines.T @ g
    return lev, fit


@pytest.mark.parametrize("affine", AFFINE)
def test_ten_thousand_random_inputs(affine):
    # random inputs at 1e4 points: gaps down to 1e-8 of the range
    rng = np.random.RandomState(3)
    xs = np.sort(rng.uniform(-2, 2, 10_000))
    Y, weights = _targets(xs, 1, False)
    gaps = np.argsort(np.diff(xs))[:10]
    rows = np.unique(np.concatenate([gaps, gaps + 1, [0, 1, len(xs) - 2, len(xs) - 1],
                                     rng.choice(len(xs), 20, replace=False)]))
    for name in ("gaussian", "uniform_knots"):
        measure = _measure(name, xs)
        mom = measure.chain_moments(xs)
        scale = _scale(measure, xs, weights)
        for factor in (1e-12, 1e-6, 1.0, 1e6):
            alpha = factor * scale
            ref = _banded(xs, Y, weights, measure, alpha, affine)
            fitted, lev = fastchain.fit_values(xs, Y, weights, mom, alpha, affine)
            kappa_lev, kappa_fit = _sampled_condition(xs, Y, weights, mom, alpha, rows)
            assert np.all(np.abs(fitted[rows] - ref.fitted[rows]) <= 2 * _C * _EPS * kappa_fit), (name, factor)
            assert np.all(np.abs(lev[rows] - ref.leverages[rows]) <= 2 * _C * _EPS * kappa_lev), (name, factor)
            # everywhere else: the leverages' trace, the criteria's input
            assert abs(lev.sum() - ref.leverages.sum()) <= 2 * _C * _EPS * len(xs) * np.max(kappa_lev)


@pytest.mark.parametrize("affine", AFFINE)
@pytest.mark.parametrize("name", INITS)
def test_alpha_zero_interpolates(name, affine):
    # f(x_i) = y_i and unit leverages, to the backward error of a chain of m
    # points (as test_exact1d's interpolation test)
    for layout in ("random", "clustered"):
        xs = _inputs(layout)
        Y, weights = _targets(xs, 2, False)
        fitted, lev = fastchain.fit_values(xs, Y, weights, _measure(name, xs).chain_moments(xs), 0.0, affine)
        assert np.max(np.abs(fitted - Y)) <= _C * _EPS * len(xs) * np.max(np.abs(Y))
        assert np.max(np.abs(lev - 1.0)) <= _C * _EPS * len(xs)


# ------------------------------------------------ high-precision references
@pytest.mark.parametrize("affine", AFFINE)
@pytest.mark.parametrize("alpha", [1e-11, 1e-8])
def test_leverages_and_fit_equal_the_30_digit_reference(affine, alpha):
    # test_knots.test_leverages_and_fit_equal_a_high_precision_reference, for this kernel
    x, Y, W, knots, q, right = _chain_problem(40, 130)
    lev, fit = _mp_reference(x, Y[:, 0], W, knots, q, right, alpha, affine)
    kappa_lev, kappa_fit = _chain_condition(x, Y[:, :1], W, knots, q, alpha)
    order = np.argsort(knots)
    measure = _exact1d.Knots(knots[order], q[order], right[order], presorted=True)
    fitted, leverages = fastchain.fit_values(x, Y[:, :1], W, measure.chain_moments(x), alpha, affine)
    assert np.max(np.abs(leverages - lev)) <= _C * _EPS * np.max(kappa_lev)
    assert np.max(np.abs(fitted[:, 0] - fit)) <= _C * _EPS * np.max(kappa_fit)


@pytest.mark.parametrize("scale", [1.0, 1e3])
def test_limit_matches_kernel_ridge_in_60_digit_arithmetic(scale):
    # test_spline.test_limit_matches_kernel_ridge_in_60_digit_arithmetic, for this
    # kernel, with the leverages 1 - alpha (A^-1)_ii of the same 60-digit system
    import mpmath as mp  # in the test extra

    from test_spline import _arccos_kernel_mp, _mp_kernel_ridge

    rng = np.random.RandomState(0)
    m = 25
    x = np.sort(rng.uniform(-1, 1, m)) * scale
    y = np.sin(3 * x / scale) + 0.1 * rng.standard_normal(m)
    mom = _exact1d.Continuum(Gaussian()).chain_moments(x)
    with mp.workdps(60):
        K = _arccos_kernel_mp(x, mp)
        for affine in ("free_constant", "penalized"):
            for alpha in (1.0, 1e-4, 1e-8):
                ref, ref_lev = _mp_kernel_ridge(K, y, alpha, affine, mp, leverages=True)
                fitted, lev = fastchain.fit_values(x, y[:, None], np.ones(m), mom, alpha, affine)
                assert np.max(np.abs(fitted[:, 0] - ref)) < 1e-9 * np.max(np.abs(ref)), (affine, alpha)
                assert np.max(np.abs(lev - ref_lev)) < 1e-9, (affine, alpha)


# ----------------------------------------------------------------- scan
def _samples(seed=4):
    rng = np.random.RandomState(seed)
    n = 90
    x = rng.uniform(-2, 2, n)
    x[10:14] = x[9]  # ties: pooled
    x[30] = x[31]
    Ys = np.column_stack([np.sin(2 * x), np.cos(x)]) + 0.1 * rng.standard_normal((n, 2))
    sw = rng.uniform(0.2, 3.0, n)
    sw[[5, 11, 50]] = 0.0  # zero weights, one of them in a tied group
    xs, Ym, weights = network.pool_ties(x, Ys, sw)
    group = np.searchsorted(xs, x).clip(0, len(xs) - 1)
    return x, Ys, sw, xs, Ym, weights, group


@pytest.mark.parametrize("affine", AFFINE)
def test_scan_equals_the_criteria_from_fit_values(affine):
    x, Ys, sw, xs, Ym, weights, group = _samples()
    measure = _measure("gaussian", xs)
    mom = measure.chain_moments(xs)
    alphas = _scale(measure, xs, weights) * np.logspace(3, -10, 27)
    rss, trace, free, loo, widest = fastchain.scan(xs, Ym, weights, mom, alphas, affine, group, sw, Ys)
    assert rss.shape == loo.shape == (len(alphas), 2) and trace.shape == free.shape == (len(alphas),)
    share = np.where(sw > 0, sw / weights[group], 0.0)
    for a, alpha in enumerate(alphas):
        fitted, lev = fastchain.fit_values(xs, Ym, weights, mom, alpha, affine)
        kappa_lev, kappa_fit = _condition(xs, Ym, weights, mom, alpha)
        # the scan forms the residuals and 1 - lev without subtraction; each is
        # within _C eps kappa of the exact values, as fitted and lev are
        dr = 2 * _C * _EPS * (kappa_fit + np.abs(Ym))
        dd = 2 * _C * _EPS * (kappa_lev + 1.0)
        r = Ym - fitted
        assert np.all(np.abs(rss[a] - weights @ r ** 2) <= weights @ (2 * np.abs(r) * dr + dr ** 2))
        assert abs(trace[a] - lev.sum()) <= _EPS * len(xs) * np.abs(lev).sum()
        # sum (1 - lev), each term within _C eps kappa of the exact one (no cancellation)
        assert abs(free[a] - np.sum(1.0 - lev)) <= np.sum(dd) + _EPS * len(xs) * np.sum(np.abs(1.0 - lev))
        rs = Ys - fitted[group]
        den = 1.0 - share * lev[group]
        terms = sw[:, None] * rs ** 2 / den[:, None] ** 2
        slack = sw[:, None] * (2 * np.abs(rs) * dr[group] / den[:, None] ** 2
                               + 2 * rs ** 2 * (share * dd[group])[:, None] / np.abs(den[:, None]) ** 3)
        assert np.all(np.abs(loo[a] - terms.sum(axis=0)) <= 2 * slack.sum(axis=0)), (affine, a)
        assert abs(widest[a] - np.max(den[sw > 0])) <= 2 * np.max((share * dd[group])[sw > 0]) + _EPS


def test_scan_gives_inf_where_an_evaluation_fails():
    x, Ys, sw, xs, Ym, weights, group = _samples()
    mom = _measure("uniform_knots", xs).chain_moments(xs)
    rss, trace, free, loo, widest = fastchain.scan(xs, Ym, weights, mom, np.array([1.0, np.nan, 0.0]), "free", group, sw,
                                                  Ys)
    assert np.all(np.isfinite(rss[[0, 2]])) and np.all(np.isfinite(trace[[0, 2]]))
    assert np.all(np.isinf(rss[1])) and np.isinf(trace[1]) and np.all(np.isinf(loo[1]))
    # alpha = 0 is the interpolation limit: unit leverages, zero residuals
    assert trace[2] == pytest.approx(len(xs), abs=_C * _EPS * len(xs))
    assert free[1] == 0.0 and 0.0 < free[2] <= _C * _EPS * len(xs)
    with pytest.raises(np.linalg.LinAlgError):
        fastchain.fit_values(xs, Ym, weights, mom, np.nan, "free")


def test_the_callers_floating_point_mode_is_restored():
    """The kernel flushes subnormal numbers to zero inside each evaluation only:
    afterwards the caller's arithmetic keeps them (a flushed mode would give 0)."""
    x, Ys, sw, xs, Ym, weights, group = _samples()
    mom = _measure("gaussian", xs).chain_moments(xs)
    fastchain.scan(xs, Ym, weights, mom, np.array([1e-16, 1.0]), "free_constant", group, sw, Ys)
    fastchain.fit_values(xs, Ym, weights, mom, 1e-16, "free")
    tiny = np.finfo(float).tiny
    assert np.array([tiny]) / 4 > 0 and np.array([1e-310]) * 3 == 3e-310


# ------------------------------------------- several alphas at once (lanes)
_NO_LANES = "this CPU or build has no AVX2 lanes: every alpha is evaluated alone, and there is nothing to compare"


def _lane_problem(name, layout, m=None):
    """A spline search's problem (a free affine part, one target) and its criteria."""
    if layout == "samples":
        _, Ys, sw, xs, Ym, weights, group = _samples()
        Ys, Ym = Ys[:, :1], Ym[:, :1]
    else:
        xs = _inputs(layout) if m is None else np.sort(np.random.RandomState(3).uniform(-2, 2, m))
        Ym, weights = _targets(xs, 1, equal_weights=False)
        Ys, sw, group = Ym, weights, np.arange(len(xs))
    measure = _measure(name, xs)
    scanner = fastchain.Scanner(xs, Ym, weights, measure.chain_moments(xs), "free", group, sw, Ys)
    return scanner.criterion, _scale(measure, xs, weights)


def _assert_lanes_equal(a, b, what):
    """Bit for bit: the lanes do the one-alpha kernel's operations in the same
    order, and the module is built without contracting products into sums."""
    np.testing.assert_array_equal(a, b, err_msg=what)


@pytest.mark.skipif(not _fastchain.LANES, reason=_NO_LANES)
@pytest.mark.parametrize("name, layout", [("gaussian", "samples"), ("uniform_knots", "samples"),
                                          ("uniform_knots", "clustered"), ("knots", "random"),
                                          ("gaussian", "small")])
def test_four_alphas_at_once_score_as_one_at_a_time(name, layout):
    """The lanes give each alpha the criteria the one-alpha kernel gives it,
    with failed evaluations (NaN, infinity, singular pivots near interpolation
    over a network's knot-free gaps) beside good ones in the same group of four."""
    criterion, scale = _lane_problem(name, layout if layout != "small" else "random", m=5 if layout == "small" else None)
    assert criterion.lanes == _fastchain.LANES == 4
    alphas = scale * np.logspace(6, -16, 45)
    alphas = np.concatenate([alphas, [0.0, np.nan, np.inf, 1e-300 * scale, -1.0]])
    alphas = alphas[np.random.RandomState(0).permutation(len(alphas))]  # failures among good lanes
    for loo in (False, True):
        criterion.lanes = True
        together = criterion.scores(alphas, loo, False)
        criterion.lanes = False
        assert criterion.lanes == 0
        alone = criterion.scores(alphas, loo, False)
        for q, what in enumerate(["values", "df", "num", "den"]):
            _assert_lanes_equal(together[q], alone[q], f"{what}, loo={loo}")
        values = together[0][:, 0]
        groups = values[: len(values) // 4 * 4].reshape(-1, 4)
        # the comparison covered groups with a failed lane beside finite ones
        assert np.any(np.isinf(groups).any(axis=1) & np.isfinite(groups).any(axis=1))


@pytest.mark.skipif(not _fastchain.LANES, reason=_NO_LANES)
@pytest.mark.parametrize("criterion_name", ["gcv", "loo"])
@pytest.mark.parametrize("name, layout", [("gaussian", "samples"), ("uniform_knots", "clustered"),
                                          ("knots", "random"), ("uniform_knots", "tiny")])
def test_the_search_in_lanes_is_the_search_one_alpha_at_a_time(name, layout, criterion_name):
    """The branch and bound evaluates rungs four at a time (dropping those past
    the end of its first pass): the same rungs, values and minimisers."""
    from sklearn_shallowrelu import _selection

    criterion, scale = _lane_problem(name, layout if layout != "tiny" else "random", m=4 if layout == "tiny" else None)
    results = []
    for on in (True, False):
        criterion.lanes = on
        results.append(_selection.minimise(criterion, scale, criterion_name == "loo", True, 1e9))
    assert results[0][2].shape == results[1][2].shape
    for q, what in enumerate(["best", "best_values", "alphas", "values"]):
        _assert_lanes_equal(results[0][q], results[1][q], what)
    # the df target's bracket, four decades at a time
    df = []
    for on in (True, False):
        criterion.lanes = on
        df.append(_selection.solve_df(criterion, scale, 2.5))
    _assert_lanes_equal(df[0], df[1], "the alpha of df=2.5")


def test_lanes_run_only_where_they_are_built_for():
    """One target and a free affine part, up to MAX_LANE_POINTS points, on a CPU
    with AVX2; elsewhere one alpha at a time (lanes 0)."""
    from sklearn_shallowrelu._exact1d._search import MAX_LANE_POINTS

    x, Ys, sw, xs, Ym, weights, group = _samples()
    mom = _measure("gaussian", xs).chain_moments(xs)
    assert fastchain.Scanner(xs, Ym, weights, mom, "free", group, sw, Ys).criterion.lanes == 0  # two targets
    for affine in ("free_constant", "penalized"):
        crit = fastchain.Scanner(xs, Ym[:, :1], weights, mom, affine, group, sw, Ys[:, :1]).criterion
        assert crit.lanes == 0
    crit = fastchain.Scanner(xs, Ym[:, :1], weights, mom, "free", group, sw, Ys[:, :1]).criterion
    assert crit.lanes == _fastchain.LANES
    criterion, _ = _lane_problem("gaussian", "random", m=MAX_LANE_POINTS + 1)
    assert criterion.lanes == 0
    criterion.lanes = True  # still too many points
    assert criterion.lanes == 0


@pytest.mark.skipif(not _fastchain.LANES, reason=_NO_LANES)
def test_the_lanes_arrays_are_freed_after_each_call():
    """A fitted spline keeps its criteria: the lanes' 256 bytes per point must not
    stay with them, after a search, a df target (also one that fails) or scores."""
    from sklearn_shallowrelu import _selection

    criterion, scale = _lane_problem("gaussian", "samples")
    criterion.scores(scale * np.logspace(2, -6, 9), True, False)
    assert not criterion.holds_lane_arrays
    _selection.minimise(criterion, scale, True, True, 1e9)
    assert not criterion.holds_lane_arrays
    _selection.solve_df(criterion, scale, 3.0)
    assert not criterion.holds_lane_arrays
    with pytest.raises(ValueError, match="at or below"):
        _selection.solve_df(criterion, scale, 1.5)
    assert not criterion.holds_lane_arrays
    x = np.random.RandomState(0).uniform(-2, 2, 500)
    est = _exact1d_spline_fit(x, np.sin(2 * x))
    assert not est._criteria.scanner.criterion.holds_lane_arrays


def _exact1d_spline_fit(x, y):
    from sklearn_shallowrelu import SmoothingSplineEquivalent

    return SmoothingSplineEquivalent(init="uniform_knots", affine="free", alpha="loo").fit(x, y)


def test_the_search_refuses_a_ladder_it_cannot_walk():
    criterion, scale = _lane_problem("gaussian", "samples")
    for bad in ({"coarse": 0}, {"fine": -1}, {"per_decade": 0}, {"last": -1}):
        args = {"per_decade": 4, "last": 240, "coarse": 12, "fine": 5} | bad
        with pytest.raises(ValueError, match="must be"):
            criterion.minimise(scale, False, True, 1e9, args["per_decade"], args["last"], 1e-3, 1e-5, 1.5,
                               args["coarse"], args["fine"])
    # a ladder shorter than the local grid (its work arrays hold both)
    best, _, keys, _ = criterion.minimise(scale, False, True, 1e9, 4, 0, 1e-3, 1e-5, 1.5, 12, 50)
    assert keys.tolist() == [0] and best[0] == pytest.approx(scale)
