"""Choosing the smoothing: GCV and leave-one-out find the global minimum over the
whole range of alpha, per column by default, and a df target is met; checked
against brute force on dense smoother matrices written here (independent of
the engine and of the search)."""

import numpy as np
import pytest

from sklearn_shallowrelu import SmoothingSplineEquivalent
from sklearn_shallowrelu.init import Gaussian, RademacherUniform

from test_spline import _kernel_free, _wahba

# scipy's own test data for make_smoothing_spline's GCV (a multi-output y)
X_SCIPY = np.linspace(0, 10, 10)
Y_SCIPY = np.random.default_rng(4329872134985134).random((10, 24))


def _dense_system(init, affine, x):
    """The kernel (m, m) and the unpenalised columns (m, p) of the limit on ``x``
    (the kernel by quadrature with a free affine part, else in closed form)."""
    m = len(x)
    if affine == "free":
        return _kernel_free(init, x, x), np.column_stack([np.ones(m), x])
    T = np.ones((m, 1)) if affine == "free_constant" else np.zeros((m, 0))
    return init.kernel(x), T


def _dense_smoother(K, T, w, alpha):
    """The smoother matrix (m, m) at ``alpha`` from the dense semiparametric
    kernel ridge system, and that system's condition number."""
    S, cond = _wahba(K, K, T, T, np.eye(len(w)), w, alpha, with_cond=True)
    return S, cond


def _criteria(S, y, w):
    """Weighted GCV and LOO of smoother ``S`` on ``y`` (m,)."""
    r = y - S @ y
    lev = np.diag(S)
    gcv = np.average(r**2, weights=w) / (1 - np.trace(S) / len(y)) ** 2
    loo = np.average((r / (1 - lev)) ** 2, weights=w)
    return {"gcv": gcv, "loo": loo}


@pytest.mark.parametrize("column, lam, score", [(23, 2.762, 0.0529525), (4, None, 0.0157731)])
def test_scipy_test_data_finds_the_interior_minimum_and_the_interpolation_limit(column, lam, score):
    est = SmoothingSplineEquivalent(init="uniform_knots", affine="free", alpha="gcv").fit(X_SCIPY, Y_SCIPY[:, column])
    # the GCV minima of the report, where the decade search failed (0.0533765 and 0.01810)
    assert est.gcv_score_ == pytest.approx(score, rel=1e-3)
    if lam is not None:
        assert est.lam_scipy_ == pytest.approx(lam, rel=2e-2)
    else:  # the minimum is the limit alpha -> 0: the fit is within 1e-5 of interpolating
        assert est.df_ > 10 - 1e-3


def test_multi_output_chooses_per_column_by_default_and_shares_on_request():
    per = SmoothingSplineEquivalent(init="uniform_knots", affine="free", alpha="gcv").fit(X_SCIPY, Y_SCIPY)
    assert per.alpha_.shape == (24,) and per.df_.shape == (24,) and per.leverages_.shape == (10, 24)
    assert per.cv_scores_.shape == (len(per.cv_alphas_), 24)
    # the same minimum as a fit of the column alone, to the search's tolerance (the
    # compiled kernel runs columns in blocks, so rounding differs from a lone column:
    # in a flat stretch, such as column 4's interpolation limit, alpha may differ)
    for j in (0, 4, 11, 23):
        one = SmoothingSplineEquivalent(init="uniform_knots", affine="free", alpha="gcv").fit(X_SCIPY, Y_SCIPY[:, j])
        assert per.gcv_score_[j] == pytest.approx(one.gcv_score_, rel=1e-6)
        if j != 4:  # interior minima: alpha to the refinement's tolerance in log(alpha)
            assert per.alpha_[j] == pytest.approx(one.alpha_, rel=1e-2)
    shared = SmoothingSplineEquivalent(init="uniform_knots", affine="free", alpha="gcv",
                                       alpha_per_target=False).fit(X_SCIPY, Y_SCIPY)
    assert np.ndim(shared.alpha_) == 0 and np.ndim(shared.df_) == 0
    # one value minimises the summed criterion, so each column does at least as well on its own
    assert np.sum(per.gcv_score_) <= shared.gcv_score_ * (1 + 1e-12)


@pytest.mark.parametrize("seed", [0, 1, 2, 5, 14])
@pytest.mark.parametrize("affine", ["free", "free_constant", "penalized"])
@pytest.mark.parametrize("criterion", ["gcv", "loo"])
def test_the_search_finds_the_global_minimum_of_a_dense_brute_force(seed, affine, criterion):
    rng = np.random.RandomState(seed)
    m = 18
    x = np.sort(rng.uniform(-2, 2, m))
    y = np.sin(3 * x) * rng.choice([0.2, 1.0]) + rng.standard_normal(m) * rng.choice([0.05, 0.5])
    w = rng.uniform(0.5, 2.0, m)
    init = RademacherUniform(bias_range=3.0) if affine == "free" else Gaussian()
    est = SmoothingSplineEquivalent(init=init, alpha=criterion, affine=affine).fit(x, y, sample_weight=w)
    chosen = getattr(est, f"{criterion}_score_")
    # brute force: the dense smoother on a grid of 0.02 decades over the ladder's range,
    # where rounding in 1 - df / m stays below 1e-6 of the criterion
    K, T = _dense_system(init, affine, x)
    brute = []
    for alpha in est.cv_alphas_[0] * 10.0 ** -np.arange(0, 50, 0.02):
        S, _ = _dense_smoother(K, T, w, alpha)
        if m - np.trace(S) < 1e-6 * m or 1 - np.max(np.diag(S)) < 1e-6:
            break
        brute.append(_criteria(S, y, w)[criterion])
    assert chosen <= min(brute) * (1 + 1e-3), (chosen, min(brute))
    # and the reported score is that of the dense smoother at the chosen alpha, to
    # the dense reference's accuracy: cond * eps relative in S, amplified in the
    # criterion by the cancellation in its residuals and in 1 - leverage
    # (where the dense reference resolves it: not at the interpolation end, where its
    # rounding is as large as 1 - h_ii)
    S, cond = _dense_smoother(K, T, w, est.alpha_)
    if m - np.trace(S) >= 1e-6 * m and 1 - np.max(np.diag(S)) >= 1e-6:
        ref = _criteria(S, y, w)[criterion]
        r = y - S @ y
        amplification = np.max(np.abs(y)) / np.min(np.abs(r)) + 1 / np.min(1 - np.diag(S))
        assert chosen == pytest.approx(ref, rel=max(1e-9, 10 * cond * np.finfo(float).eps * amplification))


@pytest.mark.parametrize("affine, low", [("free", 2), ("free_constant", 1), ("penalized", 0)])
def test_df_target_is_met_to_1e_8(affine, low):
    rng = np.random.RandomState(3)
    x = np.round(np.sort(rng.uniform(-2, 2, 300)), 2)  # ties: pooled
    y = np.column_stack([np.sin(2 * x), np.cos(x)]) + 0.3 * rng.standard_normal((300, 2))
    w = rng.uniform(0.2, 3.0, 300)
    m = len(np.unique(x))
    for df in (low + 0.5, 4.0, 12.5, m / 2, m - 0.5):
        est = SmoothingSplineEquivalent(df=df, affine=affine).fit(x, y, sample_weight=w)
        assert abs(est.df_ - df) <= 1e-8 * df, (df, est.df_)
        assert np.ndim(est.alpha_) == 0  # df does not depend on y: one alpha for all columns
    exact = SmoothingSplineEquivalent(df=m, affine=affine).fit(x, y, sample_weight=w)
    assert exact.alpha_ == 0.0
    for bad in (low, m + 1):
        with pytest.raises(ValueError, match="df"):
            SmoothingSplineEquivalent(df=bad, affine=affine).fit(x, y)
    with pytest.raises(ValueError, match="df chooses alpha"):
        SmoothingSplineEquivalent(df=4.0, alpha="gcv").fit(x, y)


def test_per_target_fit_pickles_and_predicts_bit_identically():
    import pickle

    est = SmoothingSplineEquivalent(init="uniform_knots", affine="free", alpha="loo").fit(X_SCIPY, Y_SCIPY[:, :5])
    grid = np.linspace(-1, 11, 57)
    back = pickle.loads(pickle.dumps(est))
    assert np.array_equal(back.predict(grid), est.predict(grid))
    assert np.array_equal(back.predict_derivative(grid, order=2), est.predict_derivative(grid, order=2))
    for name in ("alpha_", "df_", "loo_score_", "gcv_score_", "leverages_"):
        assert np.array_equal(getattr(back, name), getattr(est, name)), name


@pytest.mark.parametrize("criterion", ["gcv", "loo"])
@pytest.mark.parametrize("affine", ["free", "free_constant", "penalized"])
def test_the_bound_between_rungs_is_below_the_criterion_everywhere_between(criterion, affine):
    """The branch and bound may skip a gap only if the criterion cannot go below the
    bound inside it: checked on a fine grid in every gap of a coarse ladder, with
    ties, weights and two targets."""
    from sklearn_shallowrelu import _exact1d
    from sklearn_shallowrelu._exact1d.network import pool_ties
    from sklearn_shallowrelu._exact1d._search import interval_bound
    from sklearn_shallowrelu.spline import _Criteria

    rng = np.random.RandomState(7)
    x = np.round(np.sort(rng.uniform(-2, 2, 60)), 1)
    Y = np.column_stack([np.sin(3 * x), x**2]) + 0.3 * rng.standard_normal((60, 2))
    sw = rng.uniform(0.5, 2.0, 60)
    xs, Ym, weights = pool_ties(x, Y, sw)
    crit = _Criteria(Y, sw, xs, Ym, weights, np.searchsorted(xs, x), _exact1d.Continuum(Gaussian()), affine)
    coarse = crit.scale() * 10.0 ** np.arange(4, -12, -1.0)
    sc = crit.scores(coarse, criterion)
    lo, hi = coarse[1:], coarse[:-1]
    bound = interval_bound(lo[:, None], hi[:, None], sc.num[1:], sc.num[:-1], sc.den[1:, None], sc.den[:-1, None])
    for g in range(len(lo)):
        fine = np.geomspace(lo[g], hi[g], 41)
        inside = crit.scores(fine, criterion).values
        # rounding: the bound and the values are each exact to a few eps of the criterion
        assert np.all(bound[g] <= inside.min(axis=0) * (1 + 1e-12)), (g, bound[g], inside.min(axis=0))
    # and the bound is not vacuous: within a factor of ten of the criterion on most gaps
    assert np.mean(bound > 0.1 * np.minimum(sc.values[1:], sc.values[:-1])) > 0.5


def test_a_failed_rung_bounds_nothing():
    """A rung whose evaluation failed carries no information: the gaps next to it
    cannot be excluded (their bound is not above any value)."""
    from sklearn_shallowrelu._exact1d._search import interval_bound

    lo, hi = np.array([[1e-3]]), np.array([[1e-2]])
    # the upper end failed (numerator 0, denominator inf), the lower end is known
    assert interval_bound(lo, hi, np.array([[1.0]]), np.array([[0.0]]), np.array([[0.5]]), np.array([[np.inf]])) <= 1.0 / 0.5**2
    # the lower end failed: the bound is at most what the known upper end allows
    assert interval_bound(lo, hi, np.array([[0.0]]), np.array([[1.0]]), np.array([[np.inf]]), np.array([[0.5]])) <= 1.0 / 0.5**2
    # both failed: nothing is known
    assert interval_bound(lo, hi, np.array([[0.0]]), np.array([[0.0]]), np.array([[np.inf]]), np.array([[np.inf]])) <= 0.0
