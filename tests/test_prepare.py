"""The compiled preparation of a 1-D problem (pooling ties, the kernel's
diagonal) against plain numpy formulas and integrals, and the validation fast
path of the spline's fit against scikit-learn's ``validate_data``."""

import numpy as np
import pytest
from scipy import integrate
from sklearn.base import BaseEstimator
from sklearn.utils.validation import validate_data

from sklearn_shallowrelu import SmoothingSplineEquivalent, _exact1d
from sklearn_shallowrelu._exact1d import _prepare
from sklearn_shallowrelu._exact1d.network import pool_ties
from sklearn_shallowrelu._validation import validate_xy_1d
from sklearn_shallowrelu.init import Gaussian, RademacherUniform, UniformKnots, check_init

EPS = np.finfo(float).eps


# ---------------------------------------------------------------- pooling
def _pool_reference(x, Y, w):
    """Distinct inputs of positive weight, weighted means, summed weights, and
    each sample's group as ``searchsorted`` gives it (numpy throughout)."""
    keep = w > 0
    xs = np.unique(x[keep])
    weights = np.array([w[keep & (x == u)].sum() for u in xs])
    Ym = np.array([w[keep & (x == u)] @ Y[keep & (x == u)] for u in xs]).reshape(len(xs), -1) / weights[:, None]
    return xs, Ym, weights, np.minimum(np.searchsorted(xs, x), len(xs) - 1)


@pytest.mark.parametrize("k", [1, 3])
def test_pooling_equals_the_numpy_formulas(k):
    rng = np.random.default_rng(0)
    for trial in range(100):
        n = int(rng.integers(1, 40))
        x = np.round(rng.uniform(-1, 1, n), 1) + (1e6 if trial % 4 == 0 else 0.0)  # ties; far from 0
        Y = rng.standard_normal((n, k))
        w = rng.uniform(0.1, 2.0, n) * (rng.random(n) < 0.8)  # zero weights, some in tied groups
        if not np.any(w > 0):
            continue
        xs, Ym, weights, group = pool_ties(x, Y, w, return_group=True)
        ref = _pool_reference(x, Y, w)
        np.testing.assert_array_equal(xs, ref[0])
        np.testing.assert_array_equal(group, ref[3])
        # sums of at most n positive terms in another order: n eps relative
        np.testing.assert_allclose(weights, ref[2], rtol=n * EPS)
        scale = np.abs(Y).max() * n * EPS
        np.testing.assert_allclose(Ym, ref[1], rtol=0, atol=4 * scale)


def test_pooling_keeps_a_single_sample_per_input_and_sorts():
    x = np.array([3.0, -1.0, 2.0, -0.0, 0.0])
    Y = np.arange(5.0)[:, None]
    w = np.array([1.0, 2.0, 0.0, 1.0, 3.0])
    xs, Ym, weights, group = pool_ties(x, Y, w, return_group=True)
    np.testing.assert_array_equal(xs, [-1.0, 0.0, 3.0])  # -0.0 and 0.0 tie; x = 2 has no weight
    np.testing.assert_allclose(Ym[:, 0], [1.0, (3.0 + 3 * 4.0) / 4.0, 0.0])
    np.testing.assert_array_equal(weights, [2.0, 4.0, 1.0])
    np.testing.assert_array_equal(group, [2, 0, 2, 1, 1])  # x = 2 (zero weight): the next input up
    assert pool_ties(x, Y, w)[0] is not None and len(pool_ties(x, Y, w)) == 3


# ------------------------------------------------------- kernel's diagonal
def test_the_compiled_diagonal_equals_its_recursion_written_out():
    rng = np.random.default_rng(1)
    m = 30
    xs = np.sort(rng.uniform(-3, 3, m))
    right, left = rng.uniform(0, 1, (3, m)), rng.uniform(0, 1, (3, m))
    got = _prepare.kernel_diagonal(xs, right, left)
    want = np.zeros(m)
    for i in range(m):  # every block's knots seen from x_i: sum q (d + distance)^2, expanded
        for j in range(i + 1):
            t = xs[i] - xs[j]
            want[i] += right[2, j] + 2 * t * right[1, j] + t * t * right[0, j]
        for j in range(i, m):
            t = xs[j] - xs[i]
            want[i] += left[2, j] + 2 * t * left[1, j] + t * t * left[0, j]
    np.testing.assert_allclose(got, want, rtol=4 * m * EPS)


@pytest.mark.parametrize("offset", [0.0, 1e3])
def test_continuum_diagonal_equals_the_closed_form_of_constant_weights(offset):
    # knots uniform on [lo, hi]: g_+ = g_- = 1 / (2 (hi - lo)), so
    # K(x, x) = ((x - lo)^3 + (hi - x)^3) / (6 (hi - lo)); the cumulative moments
    # of c^k about the origin lose six digits of it at offset 1e3
    rng = np.random.default_rng(2)
    xs = np.sort(rng.uniform(-2, 2, 60)) + offset
    init = RademacherUniform(bias_range=3.0).bind(xs[:, None] - offset)
    shifted = _exact1d.Continuum(init).kernel_diagonal(xs - offset)
    lo, hi = -3.0, 3.0
    u = xs - offset
    want = ((u - lo) ** 3 + (hi - u) ** 3) / (6 * (hi - lo))
    np.testing.assert_allclose(shifted, want, rtol=1e-13)
    bound = check_init("uniform_knots").bind(xs[:, None])
    lo, hi = bound.support()
    got = _exact1d.Continuum(bound).kernel_diagonal(xs)
    want = ((xs - lo) ** 3 + (hi - xs) ** 3) / (6 * (hi - lo))
    # the differences x - lo are exact to eps |x|, relative eps |x| / (x - lo)
    np.testing.assert_allclose(got, want, rtol=1e-13 + 10 * EPS * (abs(offset) + 2) / (hi - lo))


def test_continuum_diagonal_equals_quadrature_for_gaussian_weights():
    init = Gaussian().bind(np.zeros((1, 1)))
    xs = np.sort(np.random.default_rng(3).uniform(-4, 4, 25))
    got = _exact1d.Continuum(init).kernel_diagonal(xs)

    def side(x, sign):
        def f(c):
            gp, gm = init.curvature_weight_parts(np.array([c]))
            return (gp[0] if sign > 0 else gm[0]) * (x - c) ** 2
        lim = (-np.inf, x) if sign > 0 else (x, np.inf)
        return integrate.quad(f, *lim, epsabs=0, epsrel=1e-13, limit=200)[0]

    want = np.array([side(x, 1) + side(x, -1) for x in xs])
    # quadrature of smooth integrands to 1e-13 against a 10-point Gauss rule per piece
    np.testing.assert_allclose(got, want, rtol=1e-11)


# ------------------------------------------------------------- validation
def _sklearn(est, X, y):
    return validate_data(est, X, y, dtype=[np.float64, np.float32], multi_output=True, y_numeric=True,
                         ensure_2d=False)


@pytest.mark.parametrize("X, y", [
    (np.linspace(0, 1, 7), np.arange(7.0)),
    (np.linspace(0, 1, 7)[:, None], np.ones((7, 2))),
    (np.linspace(0, 1, 7).astype(np.float32), np.arange(7, dtype=np.float32)),
    (np.asfortranarray(np.linspace(0, 1, 7)[:, None]), np.arange(14.0).reshape(7, 2)[:, ::2]),
    (np.ones(1), np.ones((1, 1))),
])
def test_the_fast_path_returns_what_validate_data_returns(X, y):
    est = SmoothingSplineEquivalent()
    X1, y1 = validate_xy_1d(est, X, y)
    X2, y2 = _sklearn(SmoothingSplineEquivalent(), X, y)
    assert X1 is X and y1 is y  # nothing to convert: the inputs themselves, as validate_data gives
    for a, b in ((X1, X2), (y1, y2)):
        assert a.dtype == b.dtype and a.shape == b.shape
        np.testing.assert_array_equal(a, b)
    assert not hasattr(est, "n_features_in_")  # with ensure_2d=False the caller records it


@pytest.mark.parametrize("X, y", [
    (np.array([0.0, np.nan, 1.0]), np.ones(3)),
    (np.zeros(3), np.array([0.0, np.inf, 1.0])),
    (np.full(3, 1e308), np.ones(3)),  # finite, but the sum overflows: the full check decides
    (np.zeros((3, 2)), np.ones(3)),
    (np.zeros(3), np.ones(4)),
    (np.zeros(0), np.ones(0)),
    (np.zeros((3, 1, 1)), np.ones(3)),
    (np.zeros(3), np.ones((3, 0))),
    ([0.0, 1.0, 2.0], [1.0, 2.0, 3.0]),
    (np.arange(3), np.ones(3)),
    (np.zeros(3, dtype=np.float16), np.ones(3)),
    (np.zeros(3, dtype=">f8"), np.ones(3)),
    (np.zeros(3), np.array(["a", "b", "c"], dtype=object)),
])
def test_anything_else_gets_scikit_learns_own_outcome(X, y):
    try:
        want = _sklearn(SmoothingSplineEquivalent(), X, y)
    except Exception as exc:  # the same error, message and all
        with pytest.raises(type(exc)) as info:
            validate_xy_1d(SmoothingSplineEquivalent(), X, y)
        assert str(info.value) == str(exc)
        return
    got = validate_xy_1d(SmoothingSplineEquivalent(), X, y)
    for a, b in zip(got, want):
        assert a.dtype == b.dtype
        np.testing.assert_array_equal(a, b)


def test_a_refit_on_an_array_forgets_the_feature_names():
    pd = pytest.importorskip("pandas")
    x = np.linspace(0, 1, 20)
    est = SmoothingSplineEquivalent(alpha=1e-3).fit(pd.DataFrame({"t": x}), np.sin(x))
    assert list(est.feature_names_in_) == ["t"]
    est.fit(x, np.sin(x))
    assert not hasattr(est, "feature_names_in_")


def test_the_parameter_names_are_scikit_learns():
    class Wider(SmoothingSplineEquivalent):
        def __init__(self, extra=1, **kwargs):
            super().__init__(**kwargs)
            self.extra = extra

    for cls in (SmoothingSplineEquivalent, Wider, SmoothingSplineEquivalent):
        assert cls._get_param_names() == BaseEstimator._get_param_names.__func__(cls)
    names = SmoothingSplineEquivalent._get_param_names()
    names.append("changed")  # a caller's copy
    assert "changed" not in SmoothingSplineEquivalent._get_param_names()


def test_scikit_learns_parameter_validation_check_passes():
    from sklearn.utils.estimator_checks import check_param_validation

    check_param_validation("SmoothingSplineEquivalent", SmoothingSplineEquivalent())


def test_a_changed_parameter_is_validated_again():
    x = np.linspace(0, 1, 20)
    est = SmoothingSplineEquivalent(alpha="gcv").fit(x, np.sin(x))
    est.fit(x, np.cos(x))  # the same parameters: accepted again
    est.alpha = -1.0
    with pytest.raises(ValueError, match="alpha"):
        est.fit(x, np.sin(x))
    est.set_params(alpha="nope")
    with pytest.raises(ValueError, match="alpha"):
        est.fit(x, np.sin(x))
    est.set_params(alpha=1e-3, affine="free")
    est.fit(x, np.sin(x))
    est.affine = "bent"
    with pytest.raises(ValueError, match="affine"):
        est.fit(x, np.sin(x))


# ------------------------------------------------------------ tail moments
@pytest.mark.parametrize("offset", [0.0, 1e4])
def test_constant_weight_tails_equal_their_integrals(offset):
    # knots uniform on [lo, hi] (g_+ = g_- = 1 / (2 (hi - lo))): the tail beyond x is
    # dens ((far)^(k+1) - (near)^(k+1)) / (k+1), here with exact distances
    init = UniformKnots().bind(np.array([[-1.0], [3.0]]) + offset)
    lo, hi = init.support()
    dens = 0.5 / (hi - lo)
    x = np.array([-5.0, -1.0, 0.25, 1.0, 2.5, 3.0, 7.0]) + offset
    for side in "+-":
        got = init.tail_moments(x, side)
        far = np.maximum(x - lo if side == "+" else hi - x, 0.0)
        near = np.maximum(x - hi if side == "+" else lo - x, 0.0)
        want = np.array([dens * (far**(k + 1) - near**(k + 1)) / (k + 1) for k in range(3)])
        # the distances carry the rounding of x: eps |x| over a distance of at least 0.75
        np.testing.assert_allclose(got, want, rtol=8 * EPS * (1 + offset), atol=0)
        if offset == 0.0:  # the generic expansion agrees near the origin
            from sklearn_shallowrelu.init import Initialization

            np.testing.assert_allclose(got, Initialization.tail_moments(init, x, side), rtol=1e-14, atol=1e-15)


def test_constant_weight_tails_take_scalars():
    init = RademacherUniform(bias_range=2.0).bind(np.zeros((1, 1)))
    for side in "+-":
        got = init.tail_moments(0.5, side)
        assert got.shape == (3,)
        np.testing.assert_allclose(got, init.tail_moments(np.array([0.5]), side)[:, 0], rtol=0)


def test_the_compiled_passes_refuse_inconsistent_shapes():
    with pytest.raises(ValueError, match="samples"):
        pool_ties(np.arange(4.0), np.ones((2, 1)), np.ones(4))
    with pytest.raises(ValueError, match="must be"):
        _prepare.kernel_diagonal(np.arange(4.0), np.ones((3, 3)), np.ones((3, 4)))


@pytest.mark.parametrize("init, shrink, want", [
    ("uniform_knots", 1.0, True),  # knots uniform on the data range: constant by structure
    ("uniform", 2.0, True),  # smooth weights, constant on their middle part: seen on the grid
    ("he", 4.0, True),
    ("gaussian", 1.0, False),
    (RademacherUniform(bias_range=0.5), 1.0, False),  # a breakpoint inside the data range
])
def test_scipy_lam_is_given_exactly_where_the_weight_is_constant(init, shrink, want):
    x = np.linspace(-2, 2, 40) / shrink
    est = SmoothingSplineEquivalent(alpha=1e-2, affine="free", init=init).fit(x, np.sin(x))
    g = est.curvature_weight_
    assert (est.lam_scipy_ is not None) == want
    if want:
        np.testing.assert_allclose(g, g[0], rtol=1e-12)
        assert est.lam_scipy_ == pytest.approx(1e-2 / g[0], rel=1e-12)
    else:
        assert np.ptp(g) > 1e-12 * g.max()
    unfitted = SmoothingSplineEquivalent()
    for name in ("curvature_grid_", "curvature_weight_"):
        with pytest.raises(AttributeError, match="set by fit"):
            getattr(unfitted, name)
