"""Every public estimator and transformer against bad input, failed refits and raw data.

Each case asserts one of two outcomes: a clear error (a ``ValueError`` or
``TypeError`` whose message says what is wrong, with nothing from LAPACK on
stderr), or a fit whose outputs are finite.  A refit that fails leaves every
fitted attribute the same object and predictions bit-identical.
"""

import os
import pickle
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import sklearn_shallowrelu
from sklearn_shallowrelu import (CurvatureDiagnostics, RandomFeatureReLURegressor, RandomFeatureReLURegressorCV,
                                 RankDiagnostics, ReLURandomFeatures, ShallowReLURegressor,
                                 SmoothingSplineEquivalent)
from sklearn_shallowrelu._coverage import layer_coverage

PACKAGE_DIR = os.path.dirname(os.path.abspath(sklearn_shallowrelu.__file__)) + os.sep
RNG = np.random.RandomState(0)
X1 = np.sort(RNG.uniform(-2, 2, 60))[:, None]
Y1 = np.sin(2 * X1[:, 0]) + 0.1 * RNG.standard_normal(60)
X3 = RNG.standard_normal((60, 3))
Y3 = X3[:, 0]


def _estimators():
    """(id, factory, takes several features) for every public estimator and transformer."""
    return [
        ("features", lambda: ReLURandomFeatures(50, random_state=0), True),
        ("rf_ridge", lambda: RandomFeatureReLURegressor(n_hidden=100, alpha=1e-2, random_state=0), True),
        ("rf_gd", lambda: RandomFeatureReLURegressor(n_hidden=100, solver="gd", max_iter=50, random_state=0), True),
        ("rf_mirror", lambda: RandomFeatureReLURegressor(n_hidden=100, solver="mirror", potential="hyperbolic_entropy",
                                                         max_iter=50, random_state=0), True),
        ("cv_ridge", lambda: RandomFeatureReLURegressorCV(n_hidden=100, random_state=0), True),
        ("cv_gd", lambda: RandomFeatureReLURegressorCV(n_hidden=100, solver="gd", max_iter=50, random_state=0), True),
        ("shallow", lambda: ShallowReLURegressor(n_hidden=20, max_iter=50, random_state=0), True),
        ("spline", lambda: SmoothingSplineEquivalent(alpha=1e-2), False),
        ("spline_gcv", lambda: SmoothingSplineEquivalent(alpha="gcv"), False),
        ("curvature", lambda: CurvatureDiagnostics(ShallowReLURegressor(n_hidden=10, max_iter=20, random_state=0)),
         True),
        ("rank", lambda: RankDiagnostics(ShallowReLURegressor(n_hidden=10, max_iter=20, random_state=0)), True),
    ]


ESTIMATORS = {name: (make, multi) for name, make, multi in _estimators()}


def _output(est, X):
    return est.transform(X) if not hasattr(est, "predict") else est.predict(X)


def _clear_error_or_finite(est, X, y, sw, capfd):
    """The contract: a clear error, or a fit with finite outputs on X."""
    try:
        with warnings.catch_warnings(record=True) as record:
            warnings.simplefilter("always")
            est.fit(X, y, sample_weight=sw)
    except (ValueError, TypeError) as exc:
        msg = str(exc)
        assert len(msg) > 20, f"unclear error: {msg!r}"
        err = capfd.readouterr().err
        assert "LAPACK" not in err and "On entry" not in err, err
        return "error"
    # warnings are allowed, but each points at the caller's line, never inside the package
    # (a numpy RuntimeWarning there would mean an unguarded overflow or division)
    inside = [f"{r.filename}:{r.lineno}: {r.message}" for r in record if r.filename.startswith(PACKAGE_DIR)]
    assert not inside, inside
    out = np.asarray(_output(est, X), dtype=float)
    assert np.all(np.isfinite(out)), f"non-finite output after a fit that did not raise: {type(est).__name__}"
    return "fit"


def _bad_inputs():
    x, y = X1, Y1
    n = len(y)
    cases = {
        "nan_x": (np.where(np.arange(n)[:, None] == 3, np.nan, x), y, None),
        "inf_x": (np.where(np.arange(n)[:, None] == 3, np.inf, x), y, None),
        "nan_y": (x, np.where(np.arange(n) == 3, np.nan, y), None),
        "empty": (x[:0], y[:0], None),
        "one_sample": (x[:1], y[:1], None),
        "two_samples": (x[:2], y[:2], None),
        "constant_x": (np.ones_like(x), y, None),
        "zero_weights": (x, y, np.zeros(n)),
        "negative_weight": (x, y, np.r_[-1.0, np.ones(n - 1)]),
        "one_positive_weight": (x, y, np.r_[1.0, np.zeros(n - 1)]),
        "huge_weights": (x, y, np.full(n, 1e300)),
        "tiny_weights": (x, y, np.full(n, 1e-300)),
        "nan_weight": (x, y, np.r_[np.nan, np.ones(n - 1)]),
        "huge_y": (x, y * 1e150, None),
    }
    return cases


BAD = _bad_inputs()
MUST_RAISE = {"nan_x", "inf_x", "nan_y", "empty", "zero_weights", "negative_weight", "nan_weight"}


@pytest.mark.parametrize("case", sorted(BAD))
@pytest.mark.parametrize("name", sorted(ESTIMATORS))
def test_bad_input_gives_a_clear_error_or_a_finite_model(name, case, capfd):
    est = ESTIMATORS[name][0]()
    X, y, sw = BAD[case]
    outcome = _clear_error_or_finite(est, X, y, sw, capfd)
    if case in MUST_RAISE:
        assert outcome == "error", f"{name} accepted {case}"


def _fitted(est):
    """Every attribute but the constructor's parameters (set_params may change those)."""
    params = est.get_params(deep=False)
    return {key: value for key, value in vars(est).items() if key not in params}


def _snapshot(est):
    return _fitted(est)


def _assert_unchanged(est, before, X, out_before):
    after = _fitted(est)
    assert set(after) == set(before), set(after) ^ set(before)
    for key, value in before.items():
        assert after[key] is value, f"attribute {key} was replaced by a failed refit"
    np.testing.assert_array_equal(_output(est, X), out_before)


# A refit that passes validation (n_features_in_ is reset to the new width) and
# then fails, for each estimator: what to change and what to fit on.
FAILING_REFITS = {
    "features": ({"init": (np.ones((50, 1)), np.zeros(50))}, X3, Y3),
    "rf_ridge": ({"algorithm": "knots"}, X3, Y3),
    "rf_gd": ({"learning_rate": 1e6}, X3, Y3),
    "rf_mirror": ({"init": (np.ones((100, 1)), np.zeros(100))}, X3, Y3),
    "cv_ridge": ({"init": (np.ones((100, 1)), np.zeros(100))}, X3, Y3),
    "cv_gd": ({"learning_rate": 1e6}, X3, Y3),
    "shallow": ({"init": "no such init"}, X3, Y3),
    "spline": ({}, np.r_[np.zeros(30), np.ones(30)][:, None], Y1),
    "spline_gcv": ({}, np.r_[np.zeros(30), np.ones(30)][:, None], Y1),
    "curvature": ({"estimator": RandomFeatureReLURegressor(n_hidden=30, solver="gd", learning_rate=1e6)}, X3, Y3),
    "rank": ({"estimator": RandomFeatureReLURegressor(n_hidden=30, solver="gd", learning_rate=1e6)}, X3, Y3),
}


@pytest.mark.parametrize("name", sorted(ESTIMATORS))
def test_a_failed_refit_changes_nothing(name):
    est = ESTIMATORS[name][0]().fit(X1, Y1)
    out = _output(est, X1)  # first, so that lazily built caches are part of the snapshot
    before = _snapshot(est)
    params, X, y = FAILING_REFITS[name]
    try:
        est.set_params(**params)
    except ValueError:
        pass
    with pytest.raises((ValueError, TypeError)):
        est.fit(X, y)
    _assert_unchanged(est, before, X1, out)
    # the model still refits once the cause is gone
    est.set_params(**ESTIMATORS[name][0]().get_params()).fit(X1, Y1)
    np.testing.assert_allclose(_output(est, X1), out, rtol=1e-12, atol=1e-12 * np.max(np.abs(out)))


def test_a_failed_partial_fit_changes_nothing():
    est = ShallowReLURegressor(n_hidden=20, max_iter=20, random_state=0).fit(X1, Y1)
    out = est.predict(X1)
    before = _snapshot(est)
    with pytest.raises(ValueError):
        est.partial_fit(X3, Y3)  # another number of features
    _assert_unchanged(est, before, X1, out)


# ------------------------------------------------------------ unscaled inputs
UNSCALED = {"times_1e-4": X1 * 1e-4, "times_1e4": X1 * 1e4, "ages": 20 + 15 * (X1 + 2), "times_1e8": X1 * 1e8}


def _network_factories():
    return {
        "rf_ridge": lambda: RandomFeatureReLURegressor(n_hidden=200, alpha=1e-2, random_state=0),
        "rf_gd": lambda: RandomFeatureReLURegressor(n_hidden=200, solver="gd", max_iter=100, random_state=0),
        "cv_ridge": lambda: RandomFeatureReLURegressorCV(n_hidden=200, random_state=0),
        "features": lambda: ReLURandomFeatures(200, random_state=0),
        "spline_fixed_alpha": lambda: SmoothingSplineEquivalent(alpha=1e-2),
    }


@pytest.mark.parametrize("scale", sorted(UNSCALED))
@pytest.mark.parametrize("name", sorted(_network_factories()))
def test_unscaled_inputs_warn_and_name_the_fix(name, scale):
    est = _network_factories()[name]()
    with pytest.warns(UserWarning, match="Standardize X|standardize X") as record:
        est.fit(UNSCALED[scale], Y1)
    # the warning points at the caller's line (this file), not at the package
    assert any(r.filename == __file__ for r in record), [r.filename for r in record]


@pytest.mark.parametrize("name", sorted(_network_factories()))
def test_standardised_inputs_do_not_warn(name):
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        _network_factories()[name]().fit(X1, Y1)


def test_the_unscaled_warning_is_right_about_the_fit():
    """Where the check warns, the fit really is poor, and the named fixes repair it."""
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    good = RandomFeatureReLURegressor(n_hidden=200, alpha=1e-2, random_state=0).fit(X1, Y1).score(X1, Y1)
    for X in UNSCALED.values():
        with pytest.warns(UserWarning, match="nearly affine"):
            poor = RandomFeatureReLURegressor(n_hidden=200, alpha=1e-2, random_state=0).fit(X, Y1).score(X, Y1)
        assert poor < good - 0.3
        with warnings.catch_warnings():
            warnings.simplefilter("error", UserWarning)
            scaled = make_pipeline(StandardScaler(), RandomFeatureReLURegressor(n_hidden=200, alpha=1e-2,
                                                                                random_state=0)).fit(X, Y1)
            knots = RandomFeatureReLURegressorCV(n_hidden=200, init="uniform_knots",
                                                 alphas=np.logspace(-15, 3, 19), random_state=0).fit(X, Y1)
        assert scaled.score(X, Y1) > good - 0.05
        assert knots.score(X, Y1) > good - 0.05


@pytest.mark.parametrize("init", ["gaussian", "rademacher_uniform", "uniform", "he"])
def test_standardised_inputs_never_warn_at_any_width(init):
    """The false-alarm side of the check, over widths, sample sizes and skewed samples."""
    from sklearn_shallowrelu._coverage import warn_if_affine_on_data
    from sklearn_shallowrelu.init import check_init

    rng = np.random.RandomState(2)
    for m in (10, 60, 2000):
        for x in (rng.uniform(-2, 2, m), rng.standard_normal(m), rng.lognormal(size=m)):
            x = ((x - x.mean()) / x.std())[:, None]
            for n in (5, 40, 200, 5000):
                for seed in range(3):
                    W, b = check_init(init).sample(n, 1, seed)
                    with warnings.catch_warnings():
                        warnings.simplefilter("error", UserWarning)
                        assert not warn_if_affine_on_data(W, b, x, repr(init))


def test_gcv_spline_adapts_to_the_scale_and_does_not_warn():
    ref = SmoothingSplineEquivalent(alpha="gcv").fit(X1, Y1).score(X1, Y1)
    for X in UNSCALED.values():
        if np.ptp(X) > 1e6:
            continue  # 1e8: the limit's own accuracy warning applies there
        with warnings.catch_warnings():
            warnings.simplefilter("error", UserWarning)
            assert SmoothingSplineEquivalent(alpha="gcv").fit(X, Y1).score(X, Y1) > ref - 0.05


def test_layer_coverage_against_a_direct_count():
    """layer_coverage against counting, over all inputs and units, the units that change sign."""
    rng = np.random.RandomState(1)
    for X in (X1, X1 * 1e3, X3, X3 * 1e-3):
        W, b = rng.standard_normal((300, X.shape[1])), rng.standard_normal(300)
        active = X @ W.T + b > 0
        bending, units, spread = layer_coverage(W, b, X)
        assert (bending, units) == (np.count_nonzero(active.any(0) & ~active.all(0)), 300)
        if X.shape[1] == 1:
            knots = np.sort(-b / W[:, 0])
            inside = knots[(knots > X.min()) & (knots < X.max())]
            n = len(inside)  # the interquartile range by hand (linear interpolation, as numpy's default)
            q = [np.interp(f * (n - 1), np.arange(n), inside) for f in (0.25, 0.75)]
            assert spread == pytest.approx((q[1] - q[0]) / np.ptp(X), rel=1e-12)
        else:
            assert spread is None


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(log_scale=st.sampled_from([-6, -5, -4, -3, 3, 4, 5, 6, 7]), shift=st.sampled_from([0.0, 0.5, 20.0]))
def test_unscaled_x_either_fits_or_warns(log_scale, shift):
    """Raw inputs far from unit scale: a good fit, or a warning that says why not."""
    X = (X1 + shift) * 10.0**log_scale
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        score = RandomFeatureReLURegressor(n_hidden=200, alpha=1e-2, random_state=0).fit(X, Y1).score(X, Y1)
    warned = any("nearly affine" in str(r.message) for r in record)
    assert warned or score > 0.9, (score, [str(r.message) for r in record])


# ------------------------------------------------------------------ pickling
def test_pickled_models_predict_identically():
    for name, (make, multi) in ESTIMATORS.items():
        est = make().fit(X1, Y1)
        clone = pickle.loads(pickle.dumps(est))
        np.testing.assert_array_equal(_output(clone, X1), _output(est, X1))


# ---------------------------------------------------------- absurd settings
HUGE = 10**12  # 8 TB per vector of this length: refused on any machine


@pytest.mark.parametrize("make", [
    lambda: ReLURandomFeatures(HUGE),
    lambda: RandomFeatureReLURegressor(n_hidden=HUGE),
    lambda: RandomFeatureReLURegressorCV(n_hidden=HUGE),
    lambda: ShallowReLURegressor(n_hidden=HUGE),
    lambda: RandomFeatureReLURegressor(n_hidden=50, solver="gd", max_iter=HUGE),
    lambda: ShallowReLURegressor(n_hidden=5, max_iter=HUGE),
], ids=["features", "rf", "cv", "shallow", "rf_gd_max_iter", "shallow_max_iter"])
def test_what_cannot_fit_is_refused_before_it_is_allocated(make):
    import tracemalloc

    tracemalloc.start()
    try:
        with pytest.raises(MemoryError, match="smaller"):
            make().fit(X1, Y1)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 50 * 2**20  # nothing of the refused size was allocated


@pytest.mark.parametrize("make", [
    lambda: RandomFeatureReLURegressor(n_hidden=10**6, alpha=1e-2, random_state=0),
    lambda: RandomFeatureReLURegressor(n_hidden=10**6, solver="gd", max_iter=10, random_state=0),
    lambda: RandomFeatureReLURegressorCV(n_hidden=10**6, random_state=0),
], ids=["rf_ridge", "rf_gd", "cv_ridge"])
def test_a_wide_layer_on_few_samples_takes_memory_linear_in_the_width(make):
    """10^6 units on 60 samples: the n x n Gram matrix (8 TB) must never be formed."""
    import tracemalloc

    tracemalloc.start()
    try:
        est = make().fit(X1, Y1)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert np.all(np.isfinite(est.predict(X1)))
    assert peak < 200 * 8 * 10**6  # 200 vectors of the width; the Gram matrix would be 10^6 of them


@pytest.mark.parametrize("alpha", [1e-300, 1e300])
def test_extreme_penalties_give_finite_fits(alpha):
    for est in (RandomFeatureReLURegressor(n_hidden=100, alpha=alpha, random_state=0),
                RandomFeatureReLURegressorCV(n_hidden=100, alphas=[alpha], random_state=0),
                SmoothingSplineEquivalent(alpha=alpha)):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a nearly interpolating fit may warn; it must not be NaN
            pred = est.fit(X1, Y1).predict(X1)
        assert np.all(np.isfinite(pred))
        if alpha > 1:  # a penalty beyond any data term leaves the free constant: the mean
            np.testing.assert_allclose(pred, np.mean(Y1), atol=1e-8)


def test_absurd_steps_raise_before_changing_anything():
    for est in (RandomFeatureReLURegressor(n_hidden=50, solver="gd", learning_rate=1e300, random_state=0),
                ShallowReLURegressor(n_hidden=5, learning_rate=1e300, max_iter=10, random_state=0)):
        with pytest.raises(ValueError, match="learning_rate"):
            est.fit(X1, Y1)
        assert not hasattr(est, "n_features_in_")
